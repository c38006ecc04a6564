"""Mutant: v5.0 compares the generations without bit 0, the in-progress mark.

The mistake: check_mmio_spte of v5.0 compares `kvm_memslots(kvm)->generation & MMIO_GEN_MASK`,
bit 0 included, with the spte's generation, in which bit 0 is never stored: an odd (in-progress)
generation therefore never matches, and that is the only in-progress test v5.0 has. A port that
"tidies" the compare by clearing bit 0 on both sides, as it is never stored, lets an spte hit
while its generation's update is in flight. Era B, whose mark is bit 63, is unaffected.
"""

from kvm_mmio.spte import Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["V50MarkMaskedOut"]


class V50MarkMaskedOut(SpteArithmetic):
    name = "v50-mark-masked-out"
    mistake = "v5.0 check_mmio_spte compares the generation with bit 0 cleared"
    imitates = "v5.0 mmu.c check_mmio_spte with `kvm_gen & ~1`"
    witness = "v5.0-shadow-p46c46-l1tf-check-in-progress"

    def check(self, p: Profile, spte: int, current_gen: int) -> bool:
        if p.era != "v5.0":
            return super().check(p, spte, current_gen)
        return (current_gen & self.gen_mask(p) & ~1) == self.generation(p, spte)
