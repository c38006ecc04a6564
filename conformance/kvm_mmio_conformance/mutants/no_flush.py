"""Mutant: DELETE and MOVE leave the old slot's sptes (FlushOnDelete off).

The mistake: kvm_arch_flush_shadow_memslot does nothing between the two installs of a DELETE or
MOVE, so a RAM spte of the deleted slot keeps mapping the old page: the guest reads memory where
the kernel's selftest (set_memory_region_test) requires an MMIO exit. Sequential operations show
it (access gfn 1, delete its slot, access it again), so the operations level rejects it.
"""

from kvm_mmio_conformance.mutants.model_base import SwitchedOff

__all__ = ["NoFlush"]


class NoFlush(SwitchedOff):
    name = "no-flush"
    mistake = "DELETE/MOVE do not zap the old slot's sptes (FlushOnDelete off)"
    imitates = "kvm_arch_flush_shadow_memslot left out"
    witness = "counterexample-bug-no-flush"
    switch = "FlushOnDelete"
    killed_at = "operations"
