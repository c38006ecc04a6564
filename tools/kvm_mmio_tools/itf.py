"""TLC's values and traces as ITF (the Informal Trace Format of Apalache, ADR-015), the format the
reference reads and writes, so that a TLC counterexample can be replayed by the reference and a
reference trace can be validated by TLC.

Encoding: integers as JSON numbers (``{"#bigint": "..."}`` beyond 2^53), strings and booleans as
themselves, sets as ``{"#set": [...]}``, functions as ``{"#map": [[key, value], ...]}``, records as
JSON objects, TLC model values (the vCPU ids) as plain strings.  TLC prints a function whose domain
is ``1..n`` as a tuple; KvmMmio has no sequences, so every tuple TLC prints is read as such a
function (the gfns of ``slots`` and ``spte``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kvm_mmio_tools.tlavalue import Function, ModelValue, Record, Value, sort_key
from kvm_mmio_tools.tlc import StepKind, TraceState

__all__ = ["tla_to_itf", "tlc_trace_to_itf"]

_SAFE_INTEGER = 2**53


def tla_to_itf(value: Value) -> Any:
    """One TLA+ value as TLC printed it, in ITF JSON."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) < _SAFE_INTEGER else {"#bigint": str(value)}
    if isinstance(value, ModelValue):
        return value.name
    if isinstance(value, frozenset):
        return {"#set": [tla_to_itf(item) for item in sorted(value, key=sort_key)]}
    if isinstance(value, Record):
        return {field: tla_to_itf(item) for field, item in value.items()}
    if isinstance(value, Function):
        pairs = sorted(value.items(), key=lambda pair: sort_key(pair[0]))
        return {"#map": [[tla_to_itf(key), tla_to_itf(item)] for key, item in pairs]}
    if isinstance(value, tuple):
        return {"#map": [[index, tla_to_itf(item)] for index, item in enumerate(value, 1)]}
    raise TypeError(f"no ITF encoding for {value!r}")


def tlc_trace_to_itf(
    trace: Sequence[TraceState], *, model: str, description: str, variables: Sequence[str]
) -> dict:
    """A TLC error trace as an ITF document.  TLC names each step's action but not its parameters
    (``"params": null``); a lasso's closing step is kept in ``#meta.loop``."""
    states = []
    loop = None
    for state in trace:
        if state.kind is StepKind.BACK_TO_STATE:
            loop = (state.back_to or 1) - 1
            continue
        if state.kind is StepKind.STUTTERING:
            loop = len(states) - 1
            continue
        meta: dict[str, Any] = {"index": len(states)}
        if state.action is not None:
            meta |= {"action": state.action, "params": None}
        values = {name: tla_to_itf(state.variables[name]) for name in variables}
        states.append({"#meta": meta, **values})
    document_meta: dict[str, Any] = {
        "format": "ITF",
        "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
        "source": "TLC",
        "model": model,
        "description": description,
    }
    if loop is not None:
        document_meta["loop"] = loop
    return {"#meta": document_meta, "vars": list(variables), "states": states}
