"""Mutant: the gfn bits off by one.

The mistake: shadow_nonpresent_or_rsvd_lower_gfn_mask is GENMASK_ULL(low_phys_bits, PAGE_SHIFT)
instead of GENMASK_ULL(low_phys_bits - 1, PAGE_SHIFT) (kvm_mmu_reset_all_pte_masks, mmu.c and
mmu/spte.c), so decode reads one bit too many: the lowest L1TF reserved bit (forced to 1) or,
without L1TF, the first bit above the physical address width, lands in the gfn.
"""

from kvm_mmio.spte import PAGE_SHIFT, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["GfnOffByOne"]


class GfnOffByOne(SpteArithmetic):
    name = "gfn-off-by-one"
    mistake = "lower gfn mask GENMASK(low_phys_bits, 12): one bit too many"
    imitates = "kvm_mmu_reset_all_pte_masks with GENMASK_ULL's high bit off by one"
    witness = "v6-shadow-p46c46-l1tf-decode-apic"

    def lower_gfn_mask(self, p: Profile) -> int:
        window = self.l1tf_window(p)
        high = window[0] if window else p.phys_bits
        return ((1 << (high - PAGE_SHIFT + 1)) - 1) << PAGE_SHIFT
