"""Mutant: the in-progress mark is not checked.

The mistake: check_mmio_spte compares the generations but does not first miss when the memslots
generation carries KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS. Since 164bf7e56c5a ("KVM: Move the memslot
update in-progress flag to bit 63") the mark is bit 63, outside the compared mask, so without the
explicit test an spte made just before an update still hits while the update is in flight. (In
v5.0 the mark is bit 0, inside the compared value, so the mistake is invisible there.)
"""

from kvm_mmio.spte import Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["InProgressUnchecked"]


class InProgressUnchecked(SpteArithmetic):
    name = "in-progress-unchecked"
    mistake = "check_mmio_spte without the KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS test"
    imitates = "164bf7e56c5a's bit-63 mark without its check_mmio_spte test"
    witness = "v6-ept-p46c46-l1tf-check-in-progress"

    def check(self, p: Profile, spte: int, current_gen: int) -> bool:
        return (current_gen & self.gen_mask(p)) == self.generation(p, spte)
