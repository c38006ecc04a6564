"""Mutant: era B sizes the L1TF mask by MAXPHYADDR instead of the cache width.

The mistake: shadow_nonpresent_or_rsvd_mask placed under x86_phys_bits instead of x86_cache_bits,
as before 61455bf26236 (v5.2), in an era B profile: on CPUs whose L1 cache is addressed with more
bits than MAXPHYADDR the reserved bits land too low and miss the lines L1TF could reach.
"""

from kvm_mmio.spte import RSVD_MASK_LEN, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["L1tfPhysBits"]


class L1tfPhysBits(SpteArithmetic):
    name = "l1tf-phys-bits"
    mistake = "era B L1TF mask under phys_bits instead of cache_bits"
    imitates = "kvm_mmu_reset_all_pte_masks before 61455bf26236, in an era B profile"
    witness = "v6-shadow-p39c44-l1tf-encode-apic"

    def l1tf_window(self, p: Profile) -> tuple[int, int] | None:
        if p.family == "B" and p.l1tf and p.phys_bits < 52 - RSVD_MASK_LEN:
            return p.phys_bits - RSVD_MASK_LEN, p.phys_bits - 1
        return super().l1tf_window(p)
