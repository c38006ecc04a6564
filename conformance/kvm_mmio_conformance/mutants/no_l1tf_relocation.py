"""Mutant: the L1TF relocation is missing.

The mistake: the 5 reserved bits under the cache width are forced to 1, but the gpa bits found
there are not copied 5 bits higher (and not moved back on decode), so high gfns lose those bits.
It imitates a partial port of the 2018 L1TF mitigation for sptes (mmu.c v4.18 onwards):
shadow_nonpresent_or_rsvd_mask without the shadow_nonpresent_or_rsvd_lower_gfn_mask split of the
gpa that make_mmio_spte and get_mmio_spte_gfn both rely on.
"""

from kvm_mmio.spte import Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["NoL1tfRelocation"]


class NoL1tfRelocation(SpteArithmetic):
    name = "no-l1tf-relocation"
    mistake = "gpa bits under the L1TF mask are overwritten instead of moved 5 bits up"
    imitates = "the 2018 (v4.18) L1TF spte mitigation without its gpa relocation"
    witness = "v6-shadow-p46c46-l1tf-encode-max"

    def relocates(self, p: Profile) -> bool:
        return False
