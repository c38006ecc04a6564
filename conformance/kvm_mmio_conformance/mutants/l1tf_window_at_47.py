"""Mutant: the L1TF mask is still applied at a width of 47 bits (the switch off by one).

The mistake: kvm_mmu_reset_all_pte_masks sets shadow_nonpresent_or_rsvd_mask only while the width
is below 52 - SHADOW_NONPRESENT_OR_RSVD_MASK_LEN, i.e. up to 46 bits (x86_cache_bits in era B,
x86_phys_bits in v5.0); a port that writes `<=` keeps a window at 47 bits too, so the gpa bits
42-46 are relocated to 47-51 and bit 51, the shadow MMIO bit, collides with a relocated gpa bit.
Every example at 39, 44, 46 or 52 bits agrees with the kernel; only the width at the switch
shows it.
"""

from kvm_mmio.spte import L1TF_MAX_CACHE_BITS, RSVD_MASK_LEN, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["L1tfWindowAt47"]


class L1tfWindowAt47(SpteArithmetic):
    name = "l1tf-window-at-47"
    mistake = "an L1TF window while the width is <= 47 instead of < 47"
    imitates = "kvm_mmu_reset_all_pte_masks with its width test off by one"
    witness = "v6-shadow-p47c47-l1tf-encode-apic"

    def l1tf_window(self, p: Profile) -> tuple[int, int] | None:
        width = p.phys_bits if p.family == "A" else p.cache_bits
        applies = p.family == "A" or p.l1tf
        if applies and width == L1TF_MAX_CACHE_BITS:
            return width - RSVD_MASK_LEN, width - 1
        return super().l1tf_window(p)
