"""Mutant: era B applies the L1TF mask to CPUs without the L1TF bug.

The mistake: kvm_mmu_reset_all_pte_masks (mmu/spte.c) sets shadow_nonpresent_or_rsvd_mask only
when boot_cpu_has_bug(X86_BUG_L1TF) and x86_cache_bits < 47; the mutant drops the bug test, as
era A (v5.0 mmu.c) did, so unaffected CPUs get the relocated layout.
"""

from kvm_mmio.spte import RSVD_MASK_LEN, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["L1tfFlagIgnored"]


class L1tfFlagIgnored(SpteArithmetic):
    name = "l1tf-flag-ignored"
    mistake = "era B L1TF mask applied without the X86_BUG_L1TF test"
    imitates = "era A kvm_mmu_reset_all_pte_masks (no bug-flag test) in an era B profile"
    witness = "v6-shadow-p46c46-nol1tf-encode-max"

    def l1tf_window(self, p: Profile) -> tuple[int, int] | None:
        if p.family == "B" and not p.l1tf and p.cache_bits < 52 - RSVD_MASK_LEN:
            return p.cache_bits - RSVD_MASK_LEN, p.cache_bits - 1
        return super().l1tf_window(p)
