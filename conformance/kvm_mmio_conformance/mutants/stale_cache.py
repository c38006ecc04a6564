"""Mutant: the per-vCPU MMIO cache has no generation (FixCacheGen off).

The mistake: vcpu_match_mmio_gen is missing, as before 56f17dd3fbc4 ("kvm: x86: fix stale mmio
cache bug", 2014): the per-vCPU cache matches on the gfn alone, so a gfn cached as MMIO stays
MMIO after a memslot is created over it. Sequential operations show it (the bug_stale_cache
model's distinguishing sequence: access gfn 2, create a slot there, access it again), so the
operations level rejects it.
"""

from kvm_mmio_conformance.mutants.model_base import SwitchedOff

__all__ = ["StaleCache"]


class StaleCache(SwitchedOff):
    name = "stale-cache"
    mistake = "the per-vCPU MMIO cache ignores generations (FixCacheGen off)"
    imitates = "before 56f17dd3fbc4 (kvm: x86: fix stale mmio cache bug)"
    witness = "counterexample-bug-stale-cache"
    switch = "FixCacheGen"
    killed_at = "operations"
