"""Behaviours as ITF documents (the Informal Trace Format, Apalache ADR-015): write, read, replay,
and render as a table of steps.

Why: ITF is how behaviours travel between TLC (kvm_mmio_tools.itf converts its traces), the
reference and other implementations.  A document is::

    {"#meta": {"format": "ITF", "format-description": ..., "source": ..., "model": ...,
               "description": ...},
     "vars": ["slots", ..., "upd"],
     "states": [{"#meta": {"index": 0}, "slots": ..., ...},
                {"#meta": {"index": 1, "action": "BeginAccess",
                           "params": {"v": "v1", "g": 2, "m": "native"}}, ...}, ...]}

Each state's ``#meta`` names the step that led to it (none for the initial state), with its
parameters by the spec's names: ``{"v": ...}`` for a vCPU step, ``{"a": 0, "c": {"kind", "gfn",
"to"}}`` for Publish, ``{}`` for SyncSrcu, RunHook, StoreGen and FlushSlot.  TLC cannot name the
parameters; such a step has ``"params": null`` and replay looks for any instance of the action.
Value encodings are kvm_mmio.state's (vCPU ids, TLC model values, as plain strings; every TLA+
function as ``#map``).  A liveness counterexample (a lasso) has ``#meta.loop``: the index of the
state the last one steps back to.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

from kvm_mmio.actions import ACTIONS, apply, successors
from kvm_mmio.config import Constants
from kvm_mmio.state import VARIABLES, State, initial_state, state_from_itf, state_to_itf

__all__ = [
    "ITF_DESCRIPTION_URL",
    "Mismatch",
    "Step",
    "itf_changes",
    "itf_diff",
    "itf_text",
    "read_itf",
    "render_trace",
    "replay",
    "write_itf",
]

ITF_DESCRIPTION_URL = "https://apalache-mc.org/docs/adr/015adr-trace.html"


@attrs.frozen
class Step:
    """One state of a behaviour and the action (with its parameters) that led to it; the initial
    state has neither.  ``params`` is None when the source did not record them (TLC)."""

    state: State
    action: str | None = None
    params: Mapping[str, Any] | None = None


def write_itf(
    consts: Constants,
    steps: Sequence[Step],
    *,
    model: str,
    description: str,
    source: str = "kvm_mmio",
    loop: int | None = None,
    meta: Mapping[str, Any] | None = None,
) -> dict:
    """The behaviour ``steps`` as an ITF document (``meta``: more fields for its ``#meta``)."""
    states = []
    for index, step in enumerate(steps):
        step_meta: dict[str, Any] = {"index": index}
        if step.action is not None:
            step_meta |= {"action": step.action, "params": _plain(step.params)}
        states.append({"#meta": step_meta, **state_to_itf(consts, step.state)})
    document_meta: dict[str, Any] = {
        "format": "ITF",
        "format-description": ITF_DESCRIPTION_URL,
        "source": source,
        "model": model,
        "description": description,
    }
    if loop is not None:
        document_meta["loop"] = loop
    document_meta |= meta or {}
    return {"#meta": document_meta, "vars": list(VARIABLES), "states": states}


def _plain(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if params is None else {key: value for key, value in params.items()}


def _fail(where: str, reason: str) -> ValueError:
    return ValueError(f"ITF {where}: {reason}")


def read_itf(consts: Constants, document: Any) -> tuple[Step, ...]:
    """The behaviour of an ITF document; a malformed document is a ValueError naming the place
    (``states[2].#meta.action``) and the reason."""
    if not isinstance(document, Mapping):
        raise _fail("document", f"expected a JSON object, got {type(document).__name__}")
    variables = document.get("vars")
    if not isinstance(variables, list) or sorted(map(str, variables)) != sorted(VARIABLES):
        raise _fail("vars", f"expected the spec's variables {list(VARIABLES)}, got {variables!r}")
    states = document.get("states")
    if not isinstance(states, list) or not states:
        raise _fail("states", "expected a non-empty list of states")
    loop = (
        document.get("#meta", {}).get("loop")
        if isinstance(document.get("#meta"), Mapping)
        else None
    )
    if loop is not None and (not isinstance(loop, int) or not 0 <= loop < len(states)):
        raise _fail("#meta.loop", f"expected a state index below {len(states)}, got {loop!r}")
    steps = []
    for index, raw in enumerate(states):
        where = f"states[{index}]"
        if not isinstance(raw, Mapping):
            raise _fail(where, f"expected a JSON object, got {type(raw).__name__}")
        meta = raw.get("#meta", {})
        if not isinstance(meta, Mapping):
            raise _fail(f"{where}.#meta", f"expected a JSON object, got {meta!r}")
        if "index" in meta and meta["index"] != index:
            raise _fail(f"{where}.#meta.index", f"expected {index}, got {meta['index']!r}")
        action = meta.get("action")
        params = meta.get("params")
        if index == 0:
            if action not in (None, "Init"):
                raise _fail(
                    f"{where}.#meta.action", f"the initial state has no action, got {action!r}"
                )
            action = params = None
        else:
            if action not in ACTIONS:
                raise _fail(
                    f"{where}.#meta.action",
                    f"expected one of {', '.join(ACTIONS)}, got {action!r}",
                )
            if params is not None and not isinstance(params, Mapping):
                raise _fail(f"{where}.#meta.params", f"expected an object or null, got {params!r}")
        try:
            state = state_from_itf(consts, raw, where)
        except ValueError as error:
            raise _fail(where, str(error).removeprefix(f"{where}: ")) from None
        steps.append(Step(state, action, params))
    return tuple(steps)


@attrs.frozen
class Mismatch:
    """Where a recorded behaviour leaves the spec: the index of the offending state and why."""

    index: int
    reason: str


def replay(consts: Constants, itf: Any) -> Mismatch | None:
    """Check a recorded behaviour against the reference: its first state is Init, and each step
    is its recorded action, enabled, with its recorded parameters (or, when none were recorded,
    some instance of that action), giving exactly the recorded next state.  Returns the first
    mismatch, or None when the whole behaviour is one of the spec's.  ``itf`` is an ITF document
    or the steps read from one."""
    steps = read_itf(consts, itf) if isinstance(itf, Mapping) else tuple(itf)
    bare = frozenset(consts.vcpus)
    if steps[0].state != initial_state(consts):
        return Mismatch(0, "the first state is not the initial state")
    for index in range(1, len(steps)):
        before, step = steps[index - 1].state, steps[index]
        if step.params is None:
            found = [
                after
                for name, _, after in successors(consts, before)
                if name == step.action and after == step.state
            ]
            if not found:
                return Mismatch(index, f"no enabled {step.action} step leads to this state")
            continue
        try:
            after = apply(consts, before, step.action or "", step.params)
        except ValueError as error:
            return Mismatch(index, f"{step.action}: {error}")
        if after is None:
            return Mismatch(index, f"{step.action}{_params_text(step.params, bare)} is not enabled")
        if after != step.state:
            places = ", ".join(place for place, _ in _changes(consts, after, step.state))
            return Mismatch(
                index,
                f"{step.action}{_params_text(step.params, bare)} leads elsewhere "
                f"(differs in {places})",
            )
    return None


# --- Rendering ----------------------------------------------------------------------------------


def itf_text(value: Any, bare: frozenset[str] = frozenset()) -> str:
    """An ITF value as TLA+ text; the strings in ``bare`` (vCPU ids: TLC model values, plain
    strings in ITF) print without quotes."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value if value in bare else f'"{value}"'
    if isinstance(value, dict):
        if "#set" in value:
            return "{" + ", ".join(itf_text(item, bare) for item in value["#set"]) + "}"
        if "#map" in value:
            pairs = [f"{itf_text(k, bare)} :> {itf_text(v, bare)}" for k, v in value["#map"]]
            return "(" + " @@ ".join(pairs) + ")" if pairs else "<<>>"  # TLC's empty function
        if "#bigint" in value:
            return value["#bigint"]
        fields = (f"{k} |-> {itf_text(v, bare)}" for k, v in value.items())
        return "[" + ", ".join(fields) + "]"
    return str(value)


def _params_text(params: Mapping[str, Any] | None, bare: frozenset[str]) -> str:
    """An action's parameters as TLA+ arguments: ``(v1, 2, "native")``."""
    return (
        "(" + ", ".join(itf_text(value, bare) for value in params.values()) + ")" if params else ""
    )


def itf_diff(
    place: str, old: Any, new: Any, bare: frozenset[str] = frozenset()
) -> Iterator[tuple[str, str]]:
    """(place, new value) for every leaf that differs, down to map entries and record fields."""
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        if "#map" in old and "#map" in new:
            old_entries = {itf_text(k, bare): v for k, v in old["#map"]}
            new_entries = {itf_text(k, bare): v for k, v in new["#map"]}
            if old_entries.keys() == new_entries.keys():
                for key, value in new_entries.items():
                    yield from itf_diff(f"{place}[{key}]", old_entries[key], value, bare)
                return
        elif not any(k.startswith("#") for k in (*old, *new)) and old.keys() == new.keys():
            for field in new:
                yield from itf_diff(f"{place}.{field}", old[field], new[field], bare)
            return
    yield place, itf_text(new, bare)


def itf_changes(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    variables: Sequence[str],
    bare: frozenset[str] = frozenset(),
) -> list[tuple[str, str]]:
    """(place, new value) of every leaf of ITF state ``after`` that differs from ``before``, in
    the order of ``variables``; a variable ``before`` lacks is shown whole."""
    found: list[tuple[str, str]] = []
    for name in variables:
        if name in before:
            found += itf_diff(name, before[name], after[name], bare)
        else:
            found.append((name, itf_text(after[name], bare)))
    return found


def _changes(consts: Constants, before: State | None, after: State) -> list[tuple[str, str]]:
    """What ``after`` changed from ``before`` (everything when there is no ``before``)."""
    old = {} if before is None else state_to_itf(consts, before)
    return itf_changes(old, state_to_itf(consts, after), VARIABLES, frozenset(consts.vcpus))


def render_trace(consts: Constants, itf: Any, *, title: str | None = None) -> str:
    """A behaviour as plain text: one block per step, its action and parameters, then one line
    per changed place (down to the entry of a function or the field of a record); the initial
    state is shown whole.  ``itf`` is an ITF document or the steps read from one."""
    steps = read_itf(consts, itf) if isinstance(itf, Mapping) else tuple(itf)
    loop = itf.get("#meta", {}).get("loop") if isinstance(itf, Mapping) else None
    bare = frozenset(consts.vcpus)
    blocks = [
        (step, _changes(consts, steps[i - 1].state if i else None, step.state))
        for i, step in enumerate(steps)
    ]
    width = max((len(place) for _, found in blocks for place, _ in found), default=0)
    lines = [title] if title else []
    for index, (step, found) in enumerate(blocks, start=1):
        label = "Init" if step.action is None else step.action + _params_text(step.params, bare)
        lines.append(f"  {index:>3}  {label}")
        lines += [f"         {place:<{width}}  {text}" for place, text in found]
    if loop is not None:
        lines.append(f"  {len(steps) + 1:>3}  (back to state {loop + 1}: a cycle)")
    return "\n".join(lines)
