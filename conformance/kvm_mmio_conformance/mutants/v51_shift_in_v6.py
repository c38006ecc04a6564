"""Mutant: the v5.1 upper-half shift bug in a v6 profile.

The mistake: the high part of the generation is stored and read back shifted by its spte position
(52) instead of 52 - 8 = 44, so spte bits 52-62 hold generation bits 0-10 instead of 8-18. It is
the bug of cae7ed3c2cb0 ("KVM: x86: Refactor the MMIO SPTE generation handling", v5.1-v5.4; fixed
by 34c0f6f2695a) carried into the v6 layout: every spte of a generation >= 0x100 decodes wrong.
"""

from kvm_mmio.spte import GenPart, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["V51ShiftInV6"]


class V51ShiftInV6(SpteArithmetic):
    name = "v51-shift-in-v6"
    mistake = "v6 high generation part shifted by 52 instead of 44 (gen bits 0-10 in spte 52-62)"
    imitates = "cae7ed3c2cb0 (v5.1 bug, fixed by 34c0f6f2695a) in the v6 layout"
    witness = "v6-shadow-p46c46-l1tf-encode-apic"

    def store_parts(self, p: Profile) -> tuple[GenPart, ...]:
        if p.era != "v6":
            return super().store_parts(p)
        low, high = p.gen_layout
        return low, GenPart(0, high.spte_start, high.width)

    def load_parts(self, p: Profile) -> tuple[GenPart, ...]:
        return self.store_parts(p) if p.era == "v6" else super().load_parts(p)
