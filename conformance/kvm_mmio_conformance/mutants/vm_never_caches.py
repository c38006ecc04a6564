"""Mutant: a VM that never caches (safe but useless), at the operations level.

The mistake: no MMIO spte is ever made (MmioSptes off) and the per-vCPU MMIO cache is emptied
after every step of an access, so every MMIO access takes the slow path and is decided by the
emulator reading the memslots. Every outcome is right; no path is ever "cache" or "spte".
DESIGN.md requires the suite to reject it: an implementation that never caches has not shown
the behaviour the spec is about. The operations level rejects it wherever the reference hits
the per-vCPU cache (on the live host, every MMIO access: the emulator hits the entry the slow
path has just filled).
"""

from typing import Any, ClassVar

import attrs

from kvm_mmio.state import NO_CACHE
from kvm_mmio.vm import STEP_LIMIT
from kvm_mmio_conformance.mutants.model_base import SwitchedOff

__all__ = ["VmNeverCaches"]


class VmNeverCaches(SwitchedOff):
    name = "vm-never-caches"
    mistake = "no MMIO spte, no per-vCPU cache entry: every MMIO access is emulated from scratch"
    imitates = "kvm.mmio_caching=0 with the per-vCPU MMIO cache compiled out"
    witness = "cover-live-host-1v-001"
    switch = "MmioSptes"
    killed_at = "operations"
    levels: ClassVar[dict[str, list[str]]] = {"operations": ["outcome", "path", "generation"]}

    def operation(self, operation: Any) -> dict[str, Any]:
        if not isinstance(operation, dict) or operation.get("kind") != "access" or not self.vm:
            return super().operation(operation)
        vm = self.vm
        try:
            v, g, m = operation["vcpu"], operation["gfn"], operation["mode"]
            i = vm.constants.vcpu_index(v)
            vm.step("BeginAccess", v=v, g=g, m=m)
            for _ in range(STEP_LIMIT):
                if (pc := vm.state.pc[i]) == "EndAccess":
                    break
                vm.step(pc, v=v)
                cache = (*vm.state.cache[:i], NO_CACHE, *vm.state.cache[i + 1 :])
                vm.state = attrs.evolve(vm.state, cache=cache)
            else:
                return {"error": f"the access of {v} to gfn {g} does not finish"}
            observed = {"outcome": vm.state.out[i], "path": vm.state.path[i]}
            vm.step("EndAccess", v=v)
        except (KeyError, ValueError) as error:
            return {"error": str(error)}
        return observed
