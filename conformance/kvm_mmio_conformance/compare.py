"""Judge one answer against what the spec allows: None if it is allowed, else why not.

Why its own module: the rules are the contract implementers read when a case fails, so they are
written once, here, and documented in conformance/README.md:

- an expected {"error"} is met by any answer with an "error" key (the message is informative);
- 64-bit values compare as numbers ("0x00ff" equals "0xff"), everything else as JSON (true != 1);
- spte answers must have exactly the expected keys;
- an operation's observation must equal one of the allowed observations on every key the
  implementation observes (its capabilities' "observes"); other keys it sends are ignored;
- enabled actions compare as sets, states as ITF values with sets and maps in any order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

__all__ = ["canonical", "mismatch", "same_value"]

_HEX = re.compile(r"0[xX][0-9a-fA-F]+")


def _is_hex(value: Any) -> bool:
    return isinstance(value, str) and _HEX.fullmatch(value) is not None


def same_value(expected: Any, observed: Any) -> bool:
    """JSON equality, except that hex strings compare by the number they spell."""
    if _is_hex(expected):
        return _is_hex(observed) and int(expected, 16) == int(observed, 16)
    if isinstance(expected, dict):
        return (
            isinstance(observed, dict)
            and expected.keys() == observed.keys()
            and all(same_value(expected[key], observed[key]) for key in expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(observed, list)
            and len(expected) == len(observed)
            and all(same_value(a, b) for a, b in zip(expected, observed, strict=True))
        )
    return type(expected) is type(observed) and expected == observed


def canonical(value: Any) -> str:
    """A JSON text equal for equal ITF values: set elements and map pairs sorted."""

    def normal(item: Any) -> Any:
        if isinstance(item, dict):
            if set(item) == {"#set"}:
                return {"#set": sorted((normal(x) for x in item["#set"]), key=_key)}
            if set(item) == {"#map"}:
                pairs = [[normal(k), normal(v)] for k, v in item["#map"]]
                return {"#map": sorted(pairs, key=lambda pair: _key(pair[0]))}
            return {key: normal(item[key]) for key in sorted(item)}
        if isinstance(item, list):
            return [normal(x) for x in item]
        return item

    return _key(normal(value))


def _key(item: Any) -> str:
    return json.dumps(item, sort_keys=True, separators=(",", ":"))


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _refused(observed: dict) -> str | None:
    if "error" in observed:
        return f"refused the request: {observed['error']}"
    return None


def _spte(expected: dict, observed: dict, _observes: Collection[str]) -> str | None:
    if "error" in expected:
        return None if "error" in observed else f"expected an error, got {_show(observed)}"
    refused = _refused(observed)
    if refused:
        return refused
    if observed.keys() != expected.keys():
        return f"expected keys {sorted(expected)}, got {sorted(observed)}"
    wrong = [key for key in expected if not same_value(expected[key], observed[key])]
    if wrong:
        return "; ".join(
            f"{key}: expected {_show(expected[key])}, got {_show(observed[key])}" for key in wrong
        )
    return None


def _enabled(expected: list, observed: Any) -> str | None:
    if not isinstance(observed, list):
        return f"enabled: expected a list of actions, got {_show(observed)}"
    want = {canonical(action) for action in expected}
    have = {canonical(action) for action in observed}
    if want == have:
        return None
    parts = []
    if want - have:
        parts.append(f"missing {', '.join(sorted(want - have))}")
    if have - want:
        parts.append(f"not enabled in the spec {', '.join(sorted(have - want))}")
    return "enabled actions differ: " + "; ".join(parts)


def _reset(expected: dict, observed: dict, _observes: Collection[str]) -> str | None:
    refused = _refused(observed)
    if refused:
        return refused
    if observed.get("ok") is not True:
        return f'expected {{"ok": true}}, got {_show(observed)}'
    if "enabled" in expected:
        return _enabled(expected["enabled"], observed.get("enabled"))
    return None


def _operation(expected: dict, observed: dict, observes: Collection[str]) -> str | None:
    refused = _refused(observed)
    if refused:
        return refused
    for allowed in expected["allowed"]:
        keys = [key for key in allowed if key in observes]
        if all(key in observed and same_value(allowed[key], observed[key]) for key in keys):
            return None
    shown = [{k: v for k, v in allowed.items() if k in observes} for allowed in expected["allowed"]]
    return f"observed {_show(observed)}, allowed: {' or '.join(_show(a) for a in shown)}"


def _step(expected: dict, observed: dict, _observes: Collection[str]) -> str | None:
    if "error" in expected:
        return None if "error" in observed else f"expected the step refused, got {_show(observed)}"
    refused = _refused(observed)
    if refused:
        return refused
    return _enabled(expected["enabled"], observed.get("enabled"))


def _state(expected: dict, observed: dict, _observes: Collection[str]) -> str | None:
    refused = _refused(observed)
    if refused:
        return refused
    state = observed.get("state")
    if not isinstance(state, dict):
        return f"expected {{'state': {{...}}}}, got {_show(observed)}"
    want, have = expected["state"], state
    differ = sorted(
        name
        for name in set(want) | set(have)
        if name not in want or name not in have or canonical(want[name]) != canonical(have[name])
    )
    if not differ:
        return None
    return "; ".join(
        f"{name}: expected {_show(want.get(name))}, got {_show(have.get(name))}" for name in differ
    )


_JUDGES = {
    "spte": _spte,
    "reset": _reset,
    "operation": _operation,
    "step": _step,
    "state": _state,
}


def mismatch(op: str, expected: dict, observed: Any, observes: Collection[str] = ()) -> str | None:
    """Why `observed`, the answer to a message of `op`, is not what `expected` allows (None when
    it is). `observes`: the keys the implementation declared it observes (operations level)."""
    if not isinstance(observed, dict):
        return f"expected a JSON object, got {_show(observed)}"
    return _JUDGES[op](expected, observed, observes)
