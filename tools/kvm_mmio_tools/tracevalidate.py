"""Validate many recorded traces with TLC in one run (spec/KvmMmioTrace.tla).

Each trace is an ITF document whose steps carry their action and parameters (as the reference
writes them).  The traces become the generated module KvmMmioTraceData next to copies of the spec:
each distinct state once, as a flat tuple of small integers, and each trace as steps that name
their state (TLC's parser, not the checking, is the cost of a batch: a first version with nested
tuples of strings was 8.5 MB for 1,000 traces and took 18 s to parse).  TLC then follows every
trace at once and prints each state it reaches, from which the longest accepted prefix of each
trace is read.  One JVM per trace would cost about a second each; a batch of a thousand costs a few.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from kvm_mmio.actions import ACTIONS
from kvm_mmio.state import PCS
from kvm_mmio_tools.errors import ToolError
from kvm_mmio_tools.models import Model, spec_dir
from kvm_mmio_tools.tlc import Outcome, TlcResult, run_tlc

__all__ = ["TraceVerdict", "batch_module", "itf_value", "validate_traces"]

_REACHED = re.compile(r'^<<"reached", (\d+), (\d+)>>$')
_CONSTANTS = re.compile(r"^CONSTANTS?\n(.*?)(?=^[A-Z]+\b)", re.MULTILINE | re.DOTALL)
_JAVA_OPTS = ("-XX:+UseParallelGC", "-XX:TieredStopAtLevel=1")


@attrs.frozen
class TraceVerdict:
    """TLC's verdict on one trace: ``prefix`` states of ``length`` were accepted (0: not even
    the initial state)."""

    index: int
    length: int
    prefix: int

    @property
    def accepted(self) -> bool:
        return self.prefix == self.length


def itf_value(value: Any) -> Any:
    """An ITF JSON value as plain Python: maps as dicts, sets as frozensets, tuples as tuples."""
    if isinstance(value, dict):
        if "#map" in value:
            return {itf_value(k): itf_value(v) for k, v in value["#map"]}
        if "#set" in value:
            return frozenset(itf_value(item) for item in value["#set"])
        if "#tup" in value:
            return tuple(itf_value(item) for item in value["#tup"])
        if "#bigint" in value:
            return int(value["#bigint"])
        return {key: itf_value(item) for key, item in value.items() if not key.startswith("#")}
    if isinstance(value, list):
        return tuple(itf_value(item) for item in value)
    return value


# The name tables of KvmMmioTrace.tla: a string is written as its index there.
_ACTIONS = ("Init", *ACTIONS)
_SLOTS = ("none", "ram", "invalid")
_SPTE_KINDS = ("none", "ram", "mmio")
_OUTCOMES = ("none", "ram", "mmio")
_PCS = PCS
_MODES = ("none", "native", "emulated")
_PATHS = ("none", "hw", "cache", "spte", "slow", "emulator")
_KINDS = ("none", "create", "delete", "move", "flags")
_PHASES = ("idle", "publish", "sync", "hook", "store", "flush")


def _flat_state(state: dict, vcpus: Sequence[str]) -> tuple[int, ...]:
    """A state as the flat tuple of small integers that KvmMmioTrace.tla documents."""
    ases = sorted(state["slots"])
    gfns = sorted(state["slots"][ases[0]])
    flat: list[int] = [_SLOTS.index(state["slots"][a][g]) for a in ases for g in gfns]
    flat += [state["gen"][a] for a in ases]
    flat += [int(state["busy"][a]) for a in ases]
    for a in ases:
        for g in gfns:
            spte = state["spte"][a][g]
            flat += [_SPTE_KINDS.index(spte["kind"]), spte["gen"]]
    for v in vcpus:
        cache = state["cache"][v]
        flat += [cache["gfn"], cache["gen"], int(cache["busy"])]
    for v in vcpus:
        saw = state["saw"][v]
        flat += [
            _OUTCOMES.index(state["dec"][v]),
            _PCS.index(state["pc"][v]),
            state["acc"][v],
            _MODES.index(state["mode"][v]),
            int(state["inCS"][v]),
            ("ram" in saw) + 2 * ("mmio" in saw),
            _OUTCOMES.index(state["out"][v]),
            _PATHS.index(state["path"][v]),
        ]
    upd, change = state["upd"], state["upd"]["change"]
    flat += [
        upd["as"],
        _KINDS.index(change["kind"]),
        change["gfn"],
        change["to"],
        upd["stage"],
        _PHASES.index(upd["phase"]),
        sum(2 ** vcpus.index(v) for v in upd["waitFor"]),
        upd["updates"],
    ]
    return tuple(flat)


def _flat_params(action: str, params: dict | None, vcpus: Sequence[str]) -> tuple[int, ...]:
    """A step's parameters as four integers (0 where unused)."""
    params = params or {}
    if action == "BeginAccess":
        found = (vcpus.index(params["v"]) + 1, params["g"], _MODES.index(params["m"]))
    elif action == "Publish":
        change = params["c"]
        found = (params["a"], _KINDS.index(change["kind"]), change["gfn"], change["to"])
    elif "v" in params:
        found = (vcpus.index(params["v"]) + 1,)
    else:
        found = ()
    return (*found, *(0,) * (4 - len(found)))


def _ints(values: tuple[int, ...]) -> str:
    """A tuple of integers as compact TLA+ (the module's size is what TLC's parser pays for)."""
    return "<<" + ",".join(map(str, values)) + ">>"


def batch_module(traces: Sequence[dict]) -> tuple[str, tuple[str, ...]]:
    """The text of KvmMmioTraceData for these ITF traces, and the vCPU names it declares."""
    vcpus = tuple(sorted(itf_value(traces[0]["states"][0]["pc"])))
    states: dict[tuple[int, ...], int] = {}
    lines = []
    for trace in traces:
        steps = []
        for state in trace["states"]:
            meta = state.get("#meta", {})
            action = meta.get("action", "Init")
            values = itf_value({key: value for key, value in state.items() if key != "#meta"})
            flat = _flat_state(values, vcpus)
            number = states.setdefault(flat, len(states) + 1)
            code = _ACTIONS.index(action) if action in _ACTIONS else len(_ACTIONS)
            steps.append((code, *_flat_params(action, meta.get("params"), vcpus), number))
        lines.append("<<" + ",".join(_ints(step) for step in steps) + ">>")
    table = ",\n".join(_ints(flat) for flat in states)
    text = (
        "---- MODULE KvmMmioTraceData ----\n"
        "\\* Generated by kvm_mmio_tools.tracevalidate: traces to validate, see KvmMmioTrace.tla.\n"
        f"CONSTANTS {', '.join(vcpus)}\n"
        f"TraceVcpus == <<{', '.join(vcpus)}>>\n"
        f"States == <<\n{table}\n>>\n"
        f"Traces == <<\n{','.join(chr(10) + line for line in lines)}\n>>\n"
        "====\n"
    )
    return text, vcpus


def _cfg(model: Model, vcpus: Sequence[str]) -> str:
    found = _CONSTANTS.search(model.cfg_text)
    if found is None:
        raise ToolError(f"{model.cfg_path} has no CONSTANTS section")
    bindings = "".join(f"    {v} = {v}\n" for v in vcpus)
    return f"INIT TraceInit\nNEXT TraceNext\nCONSTANTS\n{found.group(1)}{bindings}"


def _verdicts(result: TlcResult, traces: Sequence[dict]) -> list[TraceVerdict]:
    reached: dict[int, int] = {}
    for line in result.user_output:
        if found := _REACHED.match(line.strip()):
            index, position = int(found.group(1)), int(found.group(2))
            reached[index] = max(reached.get(index, 0), position)
    return [
        TraceVerdict(index=i, length=len(trace["states"]), prefix=reached.get(i + 1, 0))
        for i, trace in enumerate(traces)
    ]


def validate_traces(
    model: Model,
    traces: Sequence[dict],
    *,
    workers: int = 1,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> list[TraceVerdict]:
    """TLC's verdict on each ITF trace of ``model``, from one TLC run."""
    if not traces:
        return []
    folder = Path(tempfile.mkdtemp(prefix="kvm-mmio-traces-"))
    try:
        for module in ("KvmMmio.tla", "KvmMmioTrace.tla"):
            shutil.copy(spec_dir() / module, folder)
        text, vcpus = batch_module(traces)
        (folder / "KvmMmioTraceData.tla").write_text(text)
        (folder / "traces.cfg").write_text(_cfg(model, vcpus))
        result = run_tlc(
            folder / "KvmMmioTrace.tla",
            folder / "traces.cfg",
            workers=workers,
            timeout=timeout,
            check_deadlock=False,
            java_opts=_JAVA_OPTS,
            cancel=cancel,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if result.outcome is not Outcome.SUCCESS:
        detail = result.parse_error or result.explanation
        raise ToolError(
            f"trace validation of {model.name} failed: {result.outcome.value}: {detail}"
        )
    return _verdicts(result, traces)
