"""Mutant: v5.0's 20-bit generation mask in the v6 layout.

The mistake: MMIO_GEN_MASK of v3.17-v5.0 ((1 << 20) - 1, mmu.c) kept with the era-B layout, whose
MMIO_SPTE_GEN_MASK is GENMASK_ULL(18, 0): encode accepts generations the spte cannot hold (bit 19
is lost), and check compares 20 bits against 19, so the two generations one MMIO wrap apart that
the kernel treats as equal (it zaps every MMIO spte on the wrap instead) no longer compare equal.
"""

from kvm_mmio.spte import Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["GenMask20InV6"]


class GenMask20InV6(SpteArithmetic):
    name = "gen-mask-20-in-v6"
    mistake = "v6 compares and accepts 20 generation bits (v5.0's MMIO_GEN_MASK)"
    imitates = "v5.0 mmu.c MMIO_GEN_MASK with the v5.13+ mmu/spte.h layout"
    witness = "v6-ept-p46c46-l1tf-check-wrap-alias"

    def gen_mask(self, p: Profile) -> int:
        return (1 << 20) - 1 if p.era == "v6" else p.gen_mask
