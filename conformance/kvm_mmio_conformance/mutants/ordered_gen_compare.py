"""Mutant: check_mmio_spte orders the generations instead of comparing them for equality.

The mistake: an MMIO spte is taken as current when its generation is not older than the
memslots generation (`spte_gen >= kvm_gen`), as if generations only grew: the kernel hits only
on equality, so an spte from a newer generation than the vCPU's (after a wrap, or across address
spaces) is a miss. Every check in which the spte is the same age or older agrees; only an spte
newer than the current generation shows it.
"""

from kvm_mmio.spte import Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["OrderedGenCompare"]


class OrderedGenCompare(SpteArithmetic):
    name = "ordered-gen-compare"
    mistake = "check hits when the spte's generation >= the current one, not only when equal"
    imitates = "check_mmio_spte with `>=` for `==`"
    witness = "v6-ept-p46c46-l1tf-check-newer"

    def check(self, p: Profile, spte: int, current_gen: int) -> bool:
        if current_gen & self.in_progress_mask(p):
            return False
        return self.generation(p, spte) >= current_gen & self.gen_mask(p)
