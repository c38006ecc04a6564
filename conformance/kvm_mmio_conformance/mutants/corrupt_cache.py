"""Mutant: no in-progress mark (FixInProgress off).

The mistake: an install adds the whole generation step at publish time, as before ee3d1570b586
("kvm: fix potentially corrupt mmio cache", 2014): there is no busy window, no StoreGen, and the
arch hook runs after synchronize_srcu with the stored generation, so an spte or cache entry
built from the old memslots can be tagged with the new generation. Every sequence of whole
operations gives the same observations as the fixed model (the search of distinguish.py on
bug_corrupt_cache's whole-operation graph finds none: generations end equal and no access sees
the update in flight), so only the steps level rejects it: after RunHook the fixed model still
has StoreGen to take, and bug_corrupt_cache's counterexample replay shows it.
"""

from kvm_mmio_conformance.mutants.model_base import SwitchedOff

__all__ = ["CorruptCache"]


class CorruptCache(SwitchedOff):
    name = "corrupt-cache"
    mistake = "publish bumps the generation at once: no in-progress mark (FixInProgress off)"
    imitates = "before ee3d1570b586 (kvm: fix potentially corrupt mmio cache)"
    witness = "counterexample-bug-corrupt-cache"
    switch = "FixInProgress"
    killed_at = "steps"
