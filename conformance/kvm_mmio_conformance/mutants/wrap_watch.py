"""The reference without its own wrap zap, and a hook that sees every memslot operation's
installs: the base of the mutants that get the wrap zap wrong in other ways.

Why: those mutants zap at another moment (one install late) or zap less (one address space)
than kvm_mmu_invalidate_mmio_sptes. So the VM runs with ZapOnWrap off, and after each memslot
operation (a repeated flags change included) `after_installs` is given the generations the
operation's installs went through; the subclass zaps what its mistake zaps. With every vCPU idle
during a whole operation, zapping when the operation ends is the same as zapping at the install.
"""

from __future__ import annotations

from typing import Any

import attrs

from kvm_mmio.config import Constants
from kvm_mmio.state import SPTE_NONE
from kvm_mmio_conformance.mutants.model_base import ModelMutant

__all__ = ["WrapWatch"]


class WrapWatch(ModelMutant):
    """Runs without the wrap zap; `after_installs(a, before, count)` decides what to zap."""

    def constants_for(self, config: dict[str, Any]) -> Constants:
        self.kernel = super().constants_for(config)  # with the zap, for the wrap test
        return attrs.evolve(self.kernel, zap_on_wrap=False)

    def operation(self, operation: Any) -> dict[str, Any]:
        memslot = isinstance(operation, dict) and operation.get("kind") != "access"
        if not memslot or self.vm is None or operation.get("as") not in self.vm.constants.ases:
            return super().operation(operation)
        a = operation["as"]
        before = self.vm.state.gen[a]
        answer = super().operation(operation)
        if "error" not in answer:
            count = (self.vm.state.gen[a] - before) // self.kernel.gen_step
            self.after_installs(a, before, count)
        return answer

    def after_installs(self, a: int, before: int, count: int) -> None:
        raise NotImplementedError

    def zap(self, ases: tuple[int, ...]) -> None:
        """Every spte of these address spaces gone."""
        state = self.vm.state
        spte = tuple(
            tuple(SPTE_NONE for _ in row) if a in ases else row for a, row in enumerate(state.spte)
        )
        self.vm.state = attrs.evolve(state, spte=spte)
