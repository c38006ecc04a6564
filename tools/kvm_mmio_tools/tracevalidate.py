"""Validate many recorded traces with TLC in one run (spec/KvmMmioTrace.tla).

Each trace is an ITF document whose steps carry their action and parameters (as the reference
writes them). The traces become the generated module KvmMmioTraceData next to copies of the spec:
each distinct state once, as a flat tuple of small integers packed into 30-bit words, each distinct
step once, and each trace as the numbers of its steps and states. TLC's parser, not the checking,
is what a batch costs: a first version with nested tuples of strings was 8.5 MB for 1,000 traces
and took 18 s to parse; unpacked flat tuples, 0.9 MB and 1.05 s; packed, where a token holds
several values, 0.57 MB and 0.5 s (unpacking costs TLC 0.2 s more before it starts). TLC then
follows every trace at once and prints each state it reaches, from which the longest accepted
prefix of each trace is read. One JVM per trace costs 0.8 to 1.5 s each; a batch of a thousand
20-step traces of ``safe``, about 3.5 s. The JVM starts with a 1 GiB heap: growing a small one cost
a second of collections.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

import attrs

from kvm_mmio.actions import ACTIONS
from kvm_mmio.state import PCS
from kvm_mmio_tools.errors import ToolError
from kvm_mmio_tools.models import Model, copy_modules
from kvm_mmio_tools.tlc import Outcome, TlcResult, run_tlc

__all__ = ["TraceVerdict", "batch_module", "pack", "packing", "validate_traces"]

_REACHED = re.compile(r'^<<"reached", (\d+), (\d+)>>$')
_CONSTANTS = re.compile(r"^CONSTANTS?\n(.*?)(?=^[A-Z]+\b)", re.MULTILINE | re.DOTALL)
_JAVA_OPTS = ("-XX:+UseParallelGC", "-XX:TieredStopAtLevel=1", "-Xms1g")


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


def _map(value: dict) -> dict:
    """An ITF map whose keys are numbers or strings, as a dict."""
    return dict(value["#map"])


def _flat_state(state: dict, vcpus: Sequence[str]) -> tuple[int, ...]:
    """An ITF state as the flat tuple of small integers that KvmMmioTrace.tla documents, read
    from the ITF directly (a batch flattens tens of thousands of states)."""
    slots = {a: _map(row) for a, row in state["slots"]["#map"]}
    spte = {a: _map(row) for a, row in state["spte"]["#map"]}
    gen, busy, cache = _map(state["gen"]), _map(state["busy"]), _map(state["cache"])
    ases = sorted(slots)
    gfns = sorted(slots[ases[0]])
    flat: list[int] = [_SLOTS.index(slots[a][g]) for a in ases for g in gfns]
    flat += [gen[a] for a in ases]
    flat += [int(busy[a]) for a in ases]
    for a in ases:
        for g in gfns:
            entry = spte[a][g]
            flat += [_SPTE_KINDS.index(entry["kind"]), entry["gen"]]
    for v in vcpus:
        entry = cache[v]
        flat += [entry["gfn"], entry["gen"], int(entry["busy"])]
    dec, pc, acc, mode = (_map(state[name]) for name in ("dec", "pc", "acc", "mode"))
    in_cs, saw, out, path = (_map(state[name]) for name in ("inCS", "saw", "out", "path"))
    spte_local, gen_local = _map(state["spteLocal"]), _map(state["genLocal"])
    for v in vcpus:
        seen = saw[v]["#set"]
        flat += [
            _OUTCOMES.index(dec[v]),
            _PCS.index(pc[v]),
            acc[v],
            _MODES.index(mode[v]),
            int(in_cs[v]),
            ("ram" in seen) + 2 * ("mmio" in seen),
            _OUTCOMES.index(out[v]),
            _PATHS.index(path[v]),
            _SPTE_KINDS.index(spte_local[v]["kind"]),
            spte_local[v]["gen"],
            gen_local[v]["gen"],
            int(gen_local[v]["busy"]),
        ]
    upd, change = state["upd"], state["upd"]["change"]
    flat += [
        upd["as"],
        _KINDS.index(change["kind"]),
        change["gfn"],
        change["to"],
        upd["stage"],
        _PHASES.index(upd["phase"]),
        sum(2 ** vcpus.index(v) for v in upd["waitFor"]["#set"]),
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


# TLC's integers are 32-bit signed: a packed word keeps below 2^30.
_WORD_BITS = 30


def packing(flat_states: Collection[tuple[int, ...]]) -> tuple[int, int]:
    """(bits per value, values per word) for packing these flat states into words: the fewer
    numbers the module holds, the faster TLC parses it (a value is a token of its own)."""
    largest = max((value for flat in flat_states for value in flat), default=0)
    if min((value for flat in flat_states for value in flat), default=0) < 0:
        raise ToolError("a trace state holds a negative number, which the batch cannot pack")
    digit = max(1, largest.bit_length())
    if digit > _WORD_BITS:
        raise ToolError(f"a trace state holds {largest}, beyond the {_WORD_BITS} bits of a word")
    return digit, _WORD_BITS // digit


def pack(flat: tuple[int, ...], digit: int, per_word: int) -> tuple[int, ...]:
    """A flat state as words of ``per_word`` values of ``digit`` bits, lowest first."""
    return tuple(
        sum(value << (digit * k) for k, value in enumerate(flat[start : start + per_word]))
        for start in range(0, len(flat), per_word)
    )


def _table(rows: Iterable[str]) -> str:
    """A tuple of rows, one a line."""
    return "<<\n" + ",\n".join(rows) + "\n>>"


def batch_module(traces: Sequence[dict]) -> tuple[str, tuple[str, ...]]:
    """The text of KvmMmioTraceData for these ITF traces, and the vCPU names it declares."""
    vcpus = tuple(sorted(_map(traces[0]["states"][0]["pc"])))
    states: dict[tuple[int, ...], int] = {}
    steps: dict[tuple[int, ...], int] = {}
    lines = []
    for trace in traces:
        numbers: list[int] = []
        for state in trace["states"]:
            meta = state.get("#meta", {})
            action = meta.get("action", "Init")
            code = _ACTIONS.index(action) if action in _ACTIONS else len(_ACTIONS)
            step = (code, *_flat_params(action, meta.get("params"), vcpus))
            numbers.append(steps.setdefault(step, len(steps) + 1))
            numbers.append(states.setdefault(_flat_state(state, vcpus), len(states) + 1))
        lines.append(_ints(tuple(numbers)))
    digit, per_word = packing(states)
    words = (_ints(pack(flat, digit, per_word)) for flat in states)
    text = (
        "---- MODULE KvmMmioTraceData ----\n"
        "\\* Generated by kvm_mmio_tools.tracevalidate: traces to validate, see KvmMmioTrace.tla.\n"
        f"CONSTANTS {', '.join(vcpus)}\n"
        f"TraceVcpus == <<{', '.join(vcpus)}>>\n"
        f"Digit == {digit}\n"
        f"PerWord == {per_word}\n"
        f"States == {_table(words)}\n"
        f"Steps == {_table(map(_ints, steps))}\n"
        f"Traces == {_table(lines)}\n"
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
        copy_modules(folder)
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
