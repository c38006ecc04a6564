"""The reference with one decision of the model undone: the base of the model-level mutants.

Why: a mutant of the model levels is the reference adapter (so it answers every message the
right way but for its mistake) with one fix switch of MODEL.md turned off in every config it
resets to: the historical bug that fix closed, as an implementation that forgot the fix would
have it. A subclass names the switch and documents the bug; `killed_at` says which level can
tell it apart: "operations" when some sequence of whole operations does (distinguish.py finds
one on the bug model), "steps" when only an interleaving does (a race): then the steps level's
counterexample replays reject it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from kvm_mmio.config import CONSTANT_NAMES, Constants
from kvm_mmio_conformance.protocol import PROTOCOL_VERSION
from kvm_mmio_conformance.reference_adapter import ReferenceAdapter, model_level

__all__ = ["SwitchedOff"]


class SwitchedOff(ReferenceAdapter):
    """The reference with `switch` forced off (FALSE) in every configuration."""

    name = "switched-off"
    mistake = ""
    imitates = ""
    witness = ""
    switch = ""
    killed_at = "operations"
    # The model levels the mutant declares, and what it observes at each.
    levels: ClassVar[dict[str, list[str]]] = {
        "operations": ["outcome", "path", "generation"],
        "steps": ["enabled", "state"],
    }

    def hello(self) -> dict[str, Any]:
        sections = {layer: model_level(observes) for layer, observes in self.levels.items()}
        return {
            "name": f"mutant {self.name}",
            "protocol": PROTOCOL_VERSION,
            "capabilities": {"layers": list(self.levels), **sections},
        }

    def constants_for(self, config: dict[str, Any]) -> Constants:
        constants = super().constants_for(config)
        return attrs.evolve(constants, **{CONSTANT_NAMES[self.switch]: False})
