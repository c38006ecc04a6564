"""Mutant: ACC_EXEC kept in shadow-paging MMIO sptes.

The mistake: the access mask of an MMIO spte is ACC_ALL (7) instead of ACC_WRITE|ACC_USER (6)
(mmu.c mark_mmio_spte in era A, shadow_mmio_access_mask in era B), so in era B decode also
returns bit 0, which is the present bit of the shadow-paging MMIO value, as ACC_EXEC.
"""

from kvm_mmio.spte import ACC_ALL, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["AccessExecKept"]


class AccessExecKept(SpteArithmetic):
    name = "access-exec-kept"
    mistake = "shadow-paging MMIO access mask ACC_ALL instead of ACC_WRITE|ACC_USER"
    imitates = "mark_mmio_spte without its access &= ACC_WRITE_MASK | ACC_USER_MASK"
    witness = "v6-shadow-p46c46-l1tf-decode-apic"

    def access_mask(self, p: Profile) -> int:
        return ACC_ALL if p.paging == "shadow" else super().access_mask(p)
