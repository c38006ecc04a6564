"""Mutant: the in-progress mark is kept in the stored generation.

The mistake: make_mmio_spte stores the memslots generation as it is, mark included, instead of
masking it with MMIO_SPTE_GEN_MASK; the spte keeps bit 63, decode reads it back, and
check_mmio_spte compares the marked generations instead of missing on the mark. An spte made
during an update then hits during that update. It imitates 164bf7e56c5a ("KVM: Move the memslot
update in-progress flag to bit 63") without the masking that keeps the mark out of sptes.
"""

from kvm_mmio.spte import GenPart, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["InProgressStored"]

MARK = GenPart(63, 63, 1)


class InProgressStored(SpteArithmetic):
    name = "in-progress-stored"
    mistake = "the bit-63 in-progress mark stored in the spte and compared, not tested"
    imitates = "164bf7e56c5a without masking the mark out of the MMIO generation"
    witness = "v6-shadow-p46c46-l1tf-check-marked-spte"

    def _marked(self, p: Profile) -> bool:
        return p.update_in_progress_mask == MARK.spte_mask

    def gen_limit(self, p: Profile) -> int:
        return p.gen_mask | (MARK.spte_mask if self._marked(p) else 0)

    def store_parts(self, p: Profile) -> tuple[GenPart, ...]:
        return (*p.gen_layout, MARK) if self._marked(p) else p.gen_layout

    def load_parts(self, p: Profile) -> tuple[GenPart, ...]:
        return (*p.gen_load_layout, MARK) if self._marked(p) else p.gen_load_layout

    def check(self, p: Profile, spte: int, current_gen: int) -> bool:
        return (current_gen & self.gen_limit(p)) == self.generation(p, spte)
