"""The reference with one decision of the model undone: the base of the model-level mutants.

Why: a mutant of the model levels is the reference adapter (so it answers every message the
right way but for its mistake). ModelMutant is that adapter with a name, its mistake, and the
levels it declares; a subclass changes the constants a reset builds the VM with
(`constants_for`) or what one operation does. SwitchedOff is the common case: one fix switch of
MODEL.md turned off in every config it resets to, the historical bug that fix closed, as an
implementation that forgot the fix would have it. `killed_at` says which level can tell a
mutant apart: "operations" when some sequence of whole operations does (distinguish.py finds
one on the bug model, or the wrap cases cross what it gets wrong), "steps" when only an
interleaving does (a race): then the steps level's counterexample replays reject it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from kvm_mmio.config import CONSTANT_NAMES, Constants
from kvm_mmio_conformance.protocol import PROTOCOL_VERSION
from kvm_mmio_conformance.reference_adapter import (
    ReferenceAdapter,
    model_level,
    operations_level,
)

__all__ = ["ModelMutant", "SwitchedOff"]


class ModelMutant(ReferenceAdapter):
    """The reference adapter under a mutant's name, declaring `levels`."""

    name = "model-mutant"
    mistake = ""
    imitates = ""
    witness = ""
    killed_at = "operations"
    # The model levels the mutant declares, and what it observes at each.
    levels: ClassVar[dict[str, list[str]]] = {"operations": ["outcome", "path", "generation"]}

    def hello(self) -> dict[str, Any]:
        sections = {
            layer: (operations_level if layer == "operations" else model_level)(observes)
            for layer, observes in self.levels.items()
        }
        return {
            "name": f"mutant {self.name}",
            "protocol": PROTOCOL_VERSION,
            "capabilities": {"layers": list(self.levels), **sections},
        }


class SwitchedOff(ModelMutant):
    """The reference with `switch` forced off (FALSE) in every configuration."""

    name = "switched-off"
    switch = ""
    levels: ClassVar[dict[str, list[str]]] = {
        "operations": ["outcome", "path", "generation"],
        "steps": ["enabled", "state"],
    }

    def constants_for(self, config: dict[str, Any]) -> Constants:
        constants = super().constants_for(config)
        return attrs.evolve(constants, **{CONSTANT_NAMES[self.switch]: False})
