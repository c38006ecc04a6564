"""Mutant: the wrong access mask for EPT.

The mistake: an era-B EPT MMIO spte keeps ACC_WRITE|ACC_USER like shadow paging. Era B's
kvm_mmu_set_ept_masks (mmu/spte.c) sets shadow_mmio_access_mask to 0 for EPT: the bits would
overlap the EPT misconfiguration value, so decode must give access 0. It imitates era A's fixed
mark_mmio_spte mask (mmu.c: access &= ACC_WRITE_MASK | ACC_USER_MASK) carried into era B.
"""

from kvm_mmio.spte import ACC_WRITE_USER, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["EptAccessMask"]


class EptAccessMask(SpteArithmetic):
    name = "ept-access-mask"
    mistake = "era B EPT keeps access W|U (6) instead of shadow_mmio_access_mask 0"
    imitates = "era A mark_mmio_spte's fixed access mask in an era B EPT profile"
    witness = "v6-ept-p46c46-l1tf-decode-apic"

    def access_mask(self, p: Profile) -> int:
        return ACC_WRITE_USER
