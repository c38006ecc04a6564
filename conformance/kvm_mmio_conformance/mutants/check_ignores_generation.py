"""Mutant: check_mmio_spte ignores the generation.

The mistake: an MMIO spte hits whenever no update is in progress, whatever generation it was made
in, as before f8f559422b6c ("KVM: MMU: fast invalidate all mmio sptes", v3.11) tagged MMIO sptes
with the memslots generation at all: a memslot created over an MMIO gfn stays MMIO for ever.
"""

from kvm_mmio.spte import Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["CheckIgnoresGeneration"]


class CheckIgnoresGeneration(SpteArithmetic):
    name = "check-ignores-generation"
    mistake = "check_mmio_spte hits for any generation (only the in-progress mark misses)"
    imitates = "MMIO sptes before f8f559422b6c (v3.11) tagged them with a generation"
    witness = "v6-ept-p46c46-l1tf-check-next"

    def check(self, p: Profile, spte: int, current_gen: int) -> bool:
        return not current_gen & self.in_progress_mask(p)
