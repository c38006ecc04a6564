"""Mutant: check_mmio_spte compares the whole memslots generation.

The mistake: the current generation is not masked to the bits an spte keeps (MMIO_SPTE_GEN_MASK,
or MMIO_GEN_MASK in v5.0) before the compare, so every spte misses once the generation has bits
above the mask; in particular the generation one MMIO wrap later, which the kernel's compare
finds equal (and guards against by zapping on the wrap), misses. Safe but wrong: a port that
"improves" the compare changes which accesses take the slow path.
"""

from kvm_mmio.spte import Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["FullGenerationCompare"]


class FullGenerationCompare(SpteArithmetic):
    name = "full-generation-compare"
    mistake = "check_mmio_spte compares the unmasked memslots generation"
    imitates = "check_mmio_spte without kvm_current_mmio_generation's mask (mmu.c)"
    witness = "v6-ept-p46c46-l1tf-check-wrap-alias"

    def check(self, p: Profile, spte: int, current_gen: int) -> bool:
        if current_gen & self.in_progress_mask(p):
            return False
        return current_gen == self.generation(p, spte)
