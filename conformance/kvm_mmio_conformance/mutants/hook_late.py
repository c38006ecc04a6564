"""Mutant: the wrap hook runs after the new generation is visible (FixHookFirst off).

The mistake: kvm_arch_memslots_updated is called after the final generation is stored, as
before 152482580a1b ("KVM: Call kvm_arch_memslots_updated() before updating memslots", 2019):
between StoreGen and RunHook a vCPU can reuse a pre-wrap MMIO spte that the hook is about to
zap. Sequential operations cannot see the order of two updater steps (distinguish.py finds no
sequence on bug_hook_late), so only the steps level rejects it: after SyncSrcu the fixed model
enables RunHook, not StoreGen, and bug_hook_late's counterexample replay must refuse StoreGen.
"""

from kvm_mmio_conformance.mutants.model_base import SwitchedOff

__all__ = ["HookLate"]


class HookLate(SwitchedOff):
    name = "hook-late"
    mistake = "RunHook after StoreGen: the wrap zap comes after the wrapped generation is visible"
    imitates = "before 152482580a1b (KVM: Call kvm_arch_memslots_updated() before updating ...)"
    witness = "counterexample-bug-hook-late"
    switch = "FixHookFirst"
    killed_at = "steps"
