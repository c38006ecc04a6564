"""Mutant: without an L1TF window, the gfn is read up to the cache width, not MAXPHYADDR.

The mistake: shadow_nonpresent_or_rsvd_lower_gfn_mask is GENMASK_ULL(low_phys_bits - 1, 12) with
low_phys_bits = x86_phys_bits unless the L1TF window lowers it; a port that starts from
x86_cache_bits (the width the window is placed under) reads the bits between MAXPHYADDR and the
cache width as gfn bits when there is no window. An spte KVM made has nothing there, so every
encode and its decode agree; an spte with those bits set, on a CPU whose L1 cache is wider than
MAXPHYADDR, decodes to a different gfn.
"""

from kvm_mmio.spte import PAGE_SHIFT, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic, _genmask

__all__ = ["GfnMaskByCacheBits"]


class GfnMaskByCacheBits(SpteArithmetic):
    name = "gfn-mask-by-cache-bits"
    mistake = "lower_gfn_mask up to cache_bits - 1 when no L1TF window applies"
    imitates = "kvm_mmu_reset_all_pte_masks with low_phys_bits = x86_cache_bits"
    witness = "v6-shadow-p39c44-nol1tf-decode-raw-all-ones"

    def lower_gfn_mask(self, p: Profile) -> int:
        window = self.l1tf_window(p)
        if window is None:
            return _genmask(p.cache_bits - 1, PAGE_SHIFT)
        return super().lower_gfn_mask(p)
