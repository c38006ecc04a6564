"""Whether a parsed JSON document is an ITF trace the diagram can draw, and if not, why.

Why a check of its own: `kvm-mmio diagram` reads files a person points it at (saved traces,
hand-edited ones, anything), and the drawing code trusts the shape of what it walks. Checking the
shape first turns every malformed document into one message that names the place at fault
(``states[3].pc``) instead of a traceback from deep inside the drawing, and bounds what the
drawing would otherwise recurse into. What is accepted is ITF as Apalache ADR-015 writes it and
this project reads it (kvm_mmio.trace): ``{"#meta"?, "vars"?, "states": [state, ...]}``, a state
an object of variables plus an optional ``#meta`` (``action`` a string, ``params`` an object or
null), values built from strings, booleans, integers below 2^53 in magnitude, ``{"#bigint"}``,
``{"#set": [...]}``, ``{"#tup": [...]}``, ``{"#map": [[key, value], ...]}`` and records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kvm_mmio_tools.diagram import PER_VCPU

__all__ = ["MAX_DEPTH", "check_trace"]

# Deeper values than this are refused: no state of the spec nests more than a few levels.
MAX_DEPTH = 32
_SAFE_INTEGER = 2**53
_META_STRINGS = ("description", "model", "invariant", "source", "format")


def _fail(place: str, problem: str) -> ValueError:
    return ValueError(f"{place}: {problem}")


def _field(place: str, key: str) -> str:
    """The place of a record field or variable: `.name`, or `["odd key"]` (JSON-escaped, so that
    the message stays on one line whatever the key holds)."""
    return f"{place}.{key}" if key.isidentifier() else f"{place}[{json.dumps(key)}]"


def _check_value(place: str, value: Any, depth: int = 0) -> None:
    """Raise ValueError naming `place` unless `value` is an ITF value (at most MAX_DEPTH deep)."""
    if depth > MAX_DEPTH:
        raise _fail(place, f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) >= _SAFE_INTEGER:
            raise _fail(place, 'an integer of 2^53 or more must be written {"#bigint": "..."}')
        return
    if isinstance(value, list):
        raise _fail(place, 'a bare list is not an ITF value (use {"#tup": [...]} or "#set")')
    if not isinstance(value, dict):
        raise _fail(place, f"{type(value).__name__} is not an ITF value")
    if "#bigint" in value:
        if set(value) != {"#bigint"} or not isinstance(value["#bigint"], str):
            raise _fail(place, '"#bigint" must be the only key, with a string value')
        return
    for tag in ("#set", "#tup"):
        if tag in value:
            items = value[tag]
            if set(value) != {tag} or not isinstance(items, list):
                raise _fail(place, f'"{tag}" must be the only key, with a list value')
            for index, item in enumerate(items):
                _check_value(f"{place}.{tag}[{index}]", item, depth + 1)
            return
    if "#map" in value:
        pairs = value["#map"]
        if set(value) != {"#map"} or not isinstance(pairs, list):
            raise _fail(place, '"#map" must be the only key, with a list of [key, value] pairs')
        for index, pair in enumerate(pairs):
            if not isinstance(pair, list) or len(pair) != 2:
                raise _fail(f"{place}.#map[{index}]", "expected a [key, value] pair")
            _check_value(f"{place}.#map[{index}][0]", pair[0], depth + 1)
            _check_value(f"{place}.#map[{index}][1]", pair[1], depth + 1)
        return
    for key, item in value.items():
        if key.startswith("#"):
            raise _fail(place, f"unknown ITF tag {key!r}")
        _check_value(_field(place, key), item, depth + 1)


def _check_step_meta(place: str, meta: Any) -> None:
    if not isinstance(meta, Mapping):
        raise _fail(place, "expected an object")
    action = meta.get("action")
    if action is not None and not isinstance(action, str):
        raise _fail(f"{place}.action", "expected a string")
    params = meta.get("params")
    if params is not None:
        if not isinstance(params, Mapping):
            raise _fail(f"{place}.params", "expected an object or null")
        _check_value(f"{place}.params", dict(params))


def check_trace(document: Any) -> None:
    """Raise ValueError naming the first place where `document` is not a drawable ITF trace."""
    if not isinstance(document, Mapping):
        raise _fail("the document", "expected an object with 'states'")
    states = document.get("states")
    if not isinstance(states, list) or not states:
        raise _fail("states", "expected a non-empty list of states")
    meta = document.get("#meta", {})
    if not isinstance(meta, Mapping):
        raise _fail("#meta", "expected an object")
    for key in _META_STRINGS:
        if key in meta and not isinstance(meta[key], str):
            raise _fail(f"#meta.{key}", "expected a string")
    variables = document.get("vars")
    if variables is not None and (
        not isinstance(variables, list) or not all(isinstance(name, str) for name in variables)
    ):
        raise _fail("vars", "expected a list of variable names")
    if not isinstance(states[0], Mapping):
        raise _fail("states[0]", "expected an object of variables")
    # Every state must have the variables the drawing compares: 'vars', or the first state's.
    names = variables or [name for name in states[0] if name != "#meta"]
    for index, state in enumerate(states):
        place = f"states[{index}]"
        if not isinstance(state, Mapping):
            raise _fail(place, "expected an object of variables")
        if "#meta" in state:
            _check_step_meta(f"{place}.#meta", state["#meta"])
        missing = [name for name in names if name not in state]
        if missing:
            raise _fail(place, f"variable {missing[0]!r} is missing")
        for name, value in state.items():
            if name != "#meta":
                _check_value(_field(place, name), value)
    pc = states[0].get("pc")
    if not isinstance(pc, Mapping) or "#map" not in pc:
        raise _fail("states[0].pc", "expected a function (#map) whose domain gives the vCPU lanes")
    _check_vcpus(states, {str(key) for key, _ in pc["#map"]})


def _check_vcpus(states: list, lanes: set[str]) -> None:
    """Every vCPU a step can be drawn for is a lane: the one its parameters name, and every key
    of the per-vCPU variables (a vCPU seen changing one is the step's actor)."""
    for index, state in enumerate(states):
        params = (state.get("#meta") or {}).get("params") or {}
        if "v" in params and str(params["v"]) not in lanes:
            raise _fail(f"states[{index}].#meta.params.v", f"{params['v']!r} is not a vCPU of pc")
        for name in PER_VCPU:
            value = state.get(name)
            if isinstance(value, Mapping) and "#map" in value:
                unknown = {str(key) for key, _ in value["#map"]} - lanes
                if unknown:
                    place = f"states[{index}].{name}"
                    raise _fail(place, f"{sorted(unknown)[0]!r} is not a vCPU of the first pc")
