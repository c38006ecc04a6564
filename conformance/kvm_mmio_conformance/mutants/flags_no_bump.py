"""Mutant: a flags-only change of a memslot installs no new memslots, so the generation stays.

The mistake: KVM_SET_USER_MEMORY_REGION that only changes a slot's flags (dirty logging on or off)
still installs a new memslots array and bumps the generation (kvm_set_memslot, KVM_MR_FLAGS_ONLY);
a port that treats it as "nothing the MMU cares about" skips the install. MMIO sptes and the
per-vCPU cache entry made before it then stay current, and the MMIO generation never gets to its
wrap by flags changes, so the zap the kernel makes there never comes.
"""

from typing import Any

from kvm_mmio_conformance.mutants.model_base import ModelMutant

__all__ = ["FlagsNoBump"]


class FlagsNoBump(ModelMutant):
    name = "flags-no-bump"
    mistake = "a flags-only change installs nothing: no new generation, no wrap"
    imitates = "KVM_MR_FLAGS_ONLY handled without kvm_set_memslot's install"
    witness = "wrap-live-host-as0-across"
    killed_at = "operations"

    def operation(self, operation: Any) -> dict[str, Any]:
        flags = isinstance(operation, dict) and operation.get("kind") == "flags"
        if not flags or self.vm is None or operation.get("as") not in self.vm.constants.ases:
            return super().operation(operation)
        return {"generation": hex(self.vm.generation(operation["as"]))}
