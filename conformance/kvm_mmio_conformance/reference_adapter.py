"""The kvm_mmio reference as an implementation under test: `--impl kvm_mmio_conformance.
reference_adapter:ReferenceAdapter`, or out of process through serve_reference.

Why: the suite must show that the reference passes every case it generated, in process and on the
wire, and implementers need a working adapter to copy. It implements every layer:

- spte: kvm_mmio.spte_requests answers each request, for every era and paging mode;
- reset: a kvm_mmio.vm.Vm with the config's constants (model_config.constants_from_wire), any
  era, one or two address spaces, MMIO sptes on or off, any fix switched off;
- operation: a whole memslot operation or access on that Vm (model_wire.perform);
- step and state: one action of the spec, answered with the actions then enabled; the state as
  ITF values (kvm_mmio.state.state_to_itf).

A request the reference refuses (malformed, or an action or operation the spec does not enable
now) is answered {"error": ...} and changes nothing. The mutants of the model levels subclass
this adapter and change `constants_for`, so they are the reference with one decision undone.
"""

from __future__ import annotations

from typing import Any

from kvm_mmio.config import Constants
from kvm_mmio.spte import ERAS, PAGING_MODES
from kvm_mmio.spte_requests import answer
from kvm_mmio.state import state_to_itf
from kvm_mmio.vm import Vm
from kvm_mmio_conformance.model_config import (
    CANDIDATE_FIXES,
    KERNEL_FIXES,
    constants_from_wire,
)
from kvm_mmio_conformance.model_wire import enabled_actions, perform, take_step
from kvm_mmio_conformance.protocol import PROTOCOL_VERSION, BaseAdapter

__all__ = ["NAME", "ReferenceAdapter", "capabilities", "model_level", "operations_level"]

NAME = "kvm_mmio reference"


def model_level(observes: list[str]) -> dict[str, Any]:
    """A model-level capabilities section: everything the reference supports."""
    return {
        "eras": ["A", "B"],
        "address_spaces": 2,
        "mmio_sptes": [True, False],
        "modes": ["native", "emulated"],
        "observes": observes,
        "switches": [*KERNEL_FIXES, *CANDIDATE_FIXES],
        "configs": ["constants"],
    }


def operations_level(observes: list[str]) -> dict[str, Any]:
    """The operations section: a model-level one, plus whole repeated flags changes in one
    message and a generation that starts exactly at InitGen (the cases run to the wrap)."""
    return {**model_level(observes), "repeat": True, "exact_generation": True}


def capabilities() -> dict[str, Any]:
    """What the reference declares: every layer, with everything it supports."""
    return {
        "layers": ["spte", "operations", "steps"],
        "spte": {"eras": list(ERAS), "paging": list(PAGING_MODES)},
        "operations": operations_level(["outcome", "path", "generation"]),
        "steps": model_level(["enabled", "state"]),
    }


class ReferenceAdapter(BaseAdapter):
    """The reference behind the adapter protocol."""

    name = NAME

    def __init__(self) -> None:
        self.vm: Vm | None = None

    def hello(self) -> dict[str, Any]:
        return {"name": self.name, "protocol": PROTOCOL_VERSION, "capabilities": capabilities()}

    def spte(self, request: Any) -> dict[str, Any]:
        return answer(request)

    def constants_for(self, config: dict[str, Any]) -> Constants:
        """The constants a reset to `config` builds the VM with (a mutant's hook)."""
        return constants_from_wire(config.get("constants"))

    def reset(self, config: Any) -> dict[str, Any]:
        if not isinstance(config, dict):
            return {"error": f"config: expected an object, got {config!r}"}
        try:
            constants = self.constants_for(config)
        except ValueError as error:
            self.vm = None
            return {"error": str(error)}
        label = config.get("model") or f"kernel:{config.get('kernel', 'constants')}"
        self.vm = Vm(constants, name=str(label))
        return {"ok": True, "enabled": enabled_actions(self.vm)}

    def _vm(self) -> Vm:
        if self.vm is None:
            raise ValueError("no configuration: send reset first")
        return self.vm

    def operation(self, operation: Any) -> dict[str, Any]:
        try:
            return perform(self._vm(), operation)
        except ValueError as error:
            return {"error": str(error)}

    def step(self, action: Any) -> dict[str, Any]:
        try:
            vm = self._vm()
            take_step(vm, action)
        except (ValueError, TypeError) as error:
            return {"error": str(error)}
        return {"enabled": enabled_actions(vm)}

    def state(self) -> dict[str, Any]:
        try:
            vm = self._vm()
        except ValueError as error:
            return {"error": str(error)}
        return {"state": state_to_itf(vm.constants, vm.state)}
