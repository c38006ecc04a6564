"""The counterexamples of spec/models' bug and finding models, found by the reference explorer.

Why the explorer and not TLC: kvm_mmio.explore is the reference's breadth-first model checker,
whose state graph equals TLC's (tests/test_reference_models.py holds it to TLC's recorded
counts); it gives the same shortest counterexamples without Java, so the vectors regenerate
anywhere. A counterexample is returned as the actions of its ITF trace, in order.

`replay` plays such a sequence on other constants (the model with its fix on): an action that
the spec enables there is taken, one it does not is refused and skipped, which is exactly what a
correct implementation must do with the buggy interleaving; then `finish` lets every access and
operation in flight run to its end, so that the case ends in a quiescent state.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs

from kvm_mmio.actions import is_fair_step
from kvm_mmio.config import Model, load_model, spec_dir
from kvm_mmio.explore import explore_model
from kvm_mmio.trace import read_itf
from kvm_mmio.vm import ActionNotEnabled, Vm

__all__ = [
    "FINISH_LIMIT",
    "Counterexample",
    "Move",
    "bug_models",
    "counterexample",
    "finding_models",
    "finish",
    "replay",
]

FINISH_LIMIT = 200


def _manifest_models(kind: str) -> dict[str, str]:
    manifest = json.loads((spec_dir() / "models" / "manifest.json").read_text())
    return {entry["name"]: entry["switch"] for entry in manifest["models"] if entry["kind"] == kind}


def bug_models() -> dict[str, str]:
    """Each bug model of spec/models/manifest.json and the fix switch it turns off."""
    return _manifest_models("bug")


def finding_models() -> dict[str, str]:
    """Each finding model (the kernel's own behaviour fails) and its candidate fix switch."""
    return _manifest_models("finding")


@attrs.frozen
class Counterexample:
    """A model's shortest counterexample: the invariant it violates and its actions."""

    model: Model
    invariant: str
    actions: tuple[tuple[str, dict[str, Any]], ...]


@attrs.frozen
class Move:
    """One step of a replay: the action, and whether the spec enabled it (else it was refused,
    with the reason) ."""

    action: str
    params: dict[str, Any]
    taken: bool
    reason: str = ""


def counterexample(name: str) -> Counterexample:
    """The first counterexample of model `name` in its manifest's order of expected
    violations (ValueError if the explorer finds none: the model's verdict would be wrong)."""
    model = load_model(name)
    result = explore_model(model)
    found = result.counterexample
    if found is None:
        raise ValueError(f"{name}: the explorer found no counterexample")
    invariant, itf = found
    steps = read_itf(model.constants, itf)
    actions = tuple((step.action or "", dict(step.params or {})) for step in steps[1:])
    return Counterexample(model, invariant, actions)


def replay(vm: Vm, actions: Sequence[tuple[str, dict[str, Any]]]) -> list[Move]:
    """Take each action on `vm` if the spec enables it, else record its refusal."""
    moves = []
    for name, params in actions:
        try:
            vm.step(name, **params)
        except ActionNotEnabled as error:
            moves.append(Move(name, params, False, str(error)))
        else:
            moves.append(Move(name, params, True))
    return moves


def finish(vm: Vm) -> list[Move]:
    """Weakly fair steps until every vCPU is idle and no operation is in progress: the
    updater's step first when it has one (so that a vCPU retrying on an INVALID slot cannot
    starve it), else the first vCPU's."""
    moves = []
    for _ in range(FINISH_LIMIT):
        fair = [
            (name, params)
            for name, params in vm.enabled()
            if is_fair_step(vm.state, name, params) is not None
        ]
        if not fair:
            return moves
        updater = [(n, p) for n, p in fair if is_fair_step(vm.state, n, p) == "UpdaterStep"]
        name, params = (updater or fair)[0]
        vm.step(name, **params)
        moves.append(Move(name, params, True))
    raise AssertionError(f"{vm.name}: still not quiescent after {FINISH_LIMIT} steps")
