"""Mutant: v6 keeps 18 generation bits, as Documentation/virt/kvm/x86/mmu.rst says.

The mistake: the documentation of the MMIO spte generation still says 18 bits, while
MMIO_SPTE_GEN_MASK in arch/x86/kvm/mmu/spte.h is GENMASK_ULL(18, 0), 19 bits (since v5.13's
layout: 8 low bits, 11 high). A port written from the document refuses generations from 2^18
on, and its check compares 18 bits: an spte whose generation has bit 18 set never matches.
"""

from kvm_mmio.spte import Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["GenMask18InV6"]


class GenMask18InV6(SpteArithmetic):
    name = "gen-mask-18-in-v6"
    mistake = "v6 keeps and compares 18 generation bits (mmu.rst) instead of 19"
    imitates = "Documentation/virt/kvm/x86/mmu.rst's stale 18-bit MMIO generation"
    witness = "v6-ept-p46c46-l1tf-encode-gen-bit18"

    def gen_mask(self, p: Profile) -> int:
        return (1 << 18) - 1 if p.era == "v6" else p.gen_mask
