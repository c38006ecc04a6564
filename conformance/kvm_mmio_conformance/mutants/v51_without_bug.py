"""Mutant: the v5.1 profile without the v5.1 bug.

The mistake: a port of the v5.1-v5.4 era that shifts the high generation part correctly, as
34c0f6f2695a ("KVM: mmu: Fix SPTE encoding of MMIO generation upper half", Dec 2020) made the
kernel do, and so does not behave like those kernels: their sptes keep only generation bits 0-9,
and every check misses once the generation reaches 0x400.
"""

from kvm_mmio.spte import GenPart, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["V51WithoutBug"]


class V51WithoutBug(SpteArithmetic):
    name = "v51-without-bug"
    mistake = "v5.1 high generation part stored with its shift (the bug fixed early)"
    imitates = "34c0f6f2695a applied to a v5.1 profile"
    witness = "v5.1-shadow-p46c46-l1tf-encode-apic"

    def store_parts(self, p: Profile) -> tuple[GenPart, ...]:
        if p.era != "v5.1":
            return super().store_parts(p)
        low, high = p.gen_layout
        return low, GenPart(low.width, high.spte_start, high.width)

    def load_parts(self, p: Profile) -> tuple[GenPart, ...]:
        return self.store_parts(p) if p.era == "v5.1" else super().load_parts(p)
