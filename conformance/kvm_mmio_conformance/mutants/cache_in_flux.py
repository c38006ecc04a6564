"""Mutant: the per-vCPU cache is filled while memslots are in flux (FixNoCacheInFlux off).

The mistake: vcpu_cache_mmio_info caches even when the generation carries the in-progress mark,
as before the seed, ddfd1730fd82 ("KVM: x86/mmu: Do not cache MMIO accesses while memslots are
in flux", 2019). Whole operations never run an access during an update (distinguish.py finds no
sequence on bug_cache_in_flux), so only the steps level rejects it: bug_cache_in_flux's
counterexample replay compares the state at every step, and the cache filled during the
update (tagged with the marked generation) is not the fixed model's.
"""

from kvm_mmio_conformance.mutants.model_base import SwitchedOff

__all__ = ["CacheInFlux"]


class CacheInFlux(SwitchedOff):
    name = "cache-in-flux"
    mistake = "the per-vCPU MMIO cache is filled during a memslot update (FixNoCacheInFlux off)"
    imitates = "before ddfd1730fd82, the seed (Do not cache MMIO accesses while memslots ...)"
    witness = "counterexample-bug-cache-in-flux"
    switch = "FixNoCacheInFlux"
    killed_at = "steps"
