"""Validate many kernel event logs with TLC in one run (spec/KvmMmioKernelTrace.tla).

Each log is a sequence of events (kvm_mmio_conformance.live.kerneltrace). The logs become the
generated module KvmMmioKernelTraceData next to copies of the spec, every event a tuple of four
small integers, and TLC follows every log at once under the host profile's constants
(spec/models/host.cfg, with `overrides` for the wrong-spec checks). TLC prints each event it
matches; a log is accepted when its last event is matched, and otherwise its first event that no
behaviour of the spec explains is the one after the furthest match.

MaxHidden bounds the unobserved steps between two events. On the host profile the longest
unobserved stretch is one whole DELETE or MOVE seen by no event but its zap (Publish, SyncSrcu,
RunHook, StoreGen before the zap; Publish, SyncSrcu, RunHook, StoreGen after it: 4 on either side)
together with the rest of one access (HwAccess, Lookup, a retry back to HwAccess and Lookup again,
InstallRam or FillNoSlot, Emulate, ReadGuest, EndAccess: at most 8; a second retry repeats states
already reached, so it adds no behaviour), 12 in all; DEFAULT_MAX_HIDDEN leaves room above that.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from kvm_mmio_tools.errors import ToolError
from kvm_mmio_tools.models import load_models, spec_dir
from kvm_mmio_tools.tlc import Outcome, TlcResult, run_tlc

__all__ = [
    "DEFAULT_MAX_HIDDEN",
    "LogVerdict",
    "Validation",
    "batch_module",
    "state_before",
    "validate_logs",
]

DEFAULT_MAX_HIDDEN = 16
HOST_MODEL = "host"
_REACHED = re.compile(r'^<<"reached", (\d+), (\d+)>>$')
_STATE = re.compile(r'^<< ?"state", \d+, (.*?) ?>>$')
_CONSTANTS = re.compile(r"^CONSTANTS?\n(.*?)(?=^[A-Z]+\b)", re.MULTILINE | re.DOTALL)
_BINDING = re.compile(r"^\s*(\w+)\s*=\s*(.+?)\s*$")
_JAVA_OPTS = ("-XX:+UseParallelGC", "-XX:TieredStopAtLevel=1", "-Xms1g")
_KINDS = ("create", "delete", "move", "flags")  # KindNames of the module, from 1
_MODES = ("native", "emulated")
_OUTS = ("ram", "mmio")
_CODES = {"ioctl": 1, "ioctl_end": 2, "access": 3, "result": 4, "hit": 5, "mmio": 6, "zap": 7}


@attrs.frozen
class LogVerdict:
    """TLC's verdict on one log: ``matched`` of its ``length`` events were explained."""

    index: int
    length: int
    matched: int

    @property
    def accepted(self) -> bool:
        return self.matched == self.length

    @property
    def first_rejected(self) -> int | None:
        """The index (from 0) of the first event no behaviour explains, None if accepted."""
        return None if self.accepted else self.matched


@attrs.frozen
class Validation:
    verdicts: tuple[LogVerdict, ...]
    seconds: float
    distinct_states: int | None


def _gfn_table(logs: Sequence[Sequence[Mapping]]) -> dict[int, int]:
    """Every gfn the logs name, renumbered 1 .. n in order (the spec's Gfns are 1 .. n)."""
    gfns = {e[k] for log in logs for e in log for k in ("gfn", "to") if e.get(k)}
    return {gfn: i for i, gfn in enumerate(sorted(gfns), start=1)}


def _code(event: Mapping, gfn: Mapping[int, int], effect: bool) -> tuple[int, int, int, int]:
    kind = event["ev"]
    if kind == "ioctl":
        if not effect:
            return (1, 0, 0, 0)
        return (1, _KINDS.index(event["kind"]) + 1, gfn[event["gfn"]], gfn.get(event["to"], 0))
    if kind == "access":
        return (3, gfn[event["gfn"]], _MODES.index(event["mode"]) + 1, 0)
    if kind == "result":
        return (4, gfn[event["gfn"]], _OUTS.index(event["out"]) + 1, 0)
    if kind in ("hit", "mmio"):
        return (_CODES[kind], gfn[event["gfn"]], 0, 0)
    if kind in ("ioctl_end", "zap"):
        return (_CODES[kind], 0, 0, 0)
    raise ToolError(f"event {dict(event)} has ev {kind!r}, not one of {sorted(_CODES)}")


def _effects(log: Sequence[Mapping]) -> list[bool]:
    """For each event: whether it is an ioctl that changed the memslots (it returned ok and is
    one of the spec's changes; an identical re-set installs nothing)."""
    effects = [False] * len(log)
    begun: int | None = None
    for i, event in enumerate(log):
        if event["ev"] == "ioctl":
            begun = i
        elif event["ev"] == "ioctl_end" and begun is not None:
            effects[begun] = bool(event["ok"]) and log[begun]["kind"] in _KINDS
            begun = None
    return effects


def batch_module(logs: Sequence[Sequence[Mapping]]) -> tuple[str, int]:
    """The text of KvmMmioKernelTraceData for these logs, and how many gfns they name."""
    table = _gfn_table(logs)
    rows = []
    for log in logs:
        effects = _effects(log)
        codes = (_code(e, table, effect) for e, effect in zip(log, effects, strict=True))
        rows.append("<<" + ",".join(f"<<{a},{b},{c},{d}>>" for a, b, c, d in codes) + ">>")
    text = (
        "---- MODULE KvmMmioKernelTraceData ----\n"
        "\\* Generated by kvm_mmio_tools.kernelvalidate: logs to validate, see "
        "KvmMmioKernelTrace.tla.\n"
        "Logs == <<\n" + ",\n".join(rows) + "\n>>\n====\n"
    )
    return text, len(table)


def _cfg(
    gfns: int, max_hidden: int, max_updates: int, overrides: Mapping[str, str], show_last: bool
) -> str:
    model = load_models()[HOST_MODEL]
    found = _CONSTANTS.search(model.cfg_text)
    if found is None:
        raise ToolError(f"{model.cfg_path} has no CONSTANTS section")
    bindings: dict[str, str] = {}
    for line in found.group(1).splitlines():
        if match := _BINDING.match(line):
            bindings[match[1]] = match[2]
    unknown = set(overrides) - set(bindings)
    if unknown:
        raise ToolError(f"no constant {sorted(unknown)} in {model.cfg_path}")
    bindings |= {
        "Gfns": "{" + ", ".join(map(str, range(1, gfns + 1))) + "}",
        "InitRam": "{}",
        "MaxUpdates": str(max_updates),
    }
    bindings |= dict(overrides)
    bindings["MaxHidden"] = str(max_hidden)
    bindings["ShowLast"] = "TRUE" if show_last else "FALSE"
    lines = "".join(f"    {name} = {value}\n" for name, value in bindings.items())
    return f"INIT TraceInit\nNEXT TraceNext\nVIEW TraceView\nCONSTANTS\n{lines}"


def _installs(log: Sequence[Mapping]) -> int:
    """An upper bound on the log's memslot installs (DELETE and MOVE install twice)."""
    return sum(1 + (e["kind"] in ("delete", "move")) for e in log if e["ev"] == "ioctl")


def validate_logs(
    logs: Sequence[Sequence[Mapping]],
    *,
    overrides: Mapping[str, str] | None = None,
    max_hidden: int = DEFAULT_MAX_HIDDEN,
    workers: int = 2,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> Validation:
    """TLC's verdict on each event log under the host profile (constants in `overrides`
    replace host.cfg's), from one TLC run."""
    if not logs:
        return Validation((), 0.0, None)
    if max_hidden < 0:
        raise ToolError(f"max_hidden must be >= 0, got {max_hidden}")
    started = time.monotonic()
    result = _run(logs, overrides or {}, max_hidden, workers, timeout, cancel, show_last=False)
    reached: dict[int, int] = {}
    for line in result.user_output:
        if found := _REACHED.match(line.strip()):
            index, position = int(found[1]), int(found[2])
            reached[index] = max(reached.get(index, 0), position)
    verdicts = tuple(
        LogVerdict(index=i, length=len(log), matched=reached.get(i + 1, 0))
        for i, log in enumerate(logs)
    )
    return Validation(verdicts, time.monotonic() - started, result.distinct_states)


def state_before(
    log: Sequence[Mapping],
    verdict: LogVerdict,
    *,
    overrides: Mapping[str, str] | None = None,
    max_hidden: int = DEFAULT_MAX_HIDDEN,
    timeout: float | None = None,
) -> tuple[str, ...]:
    """The states (TLA+ records of the variables the events see) in which the spec matched the
    last event before a rejected log's first unexplained one: a second, small TLC run on the
    log cut there. Empty if the log was accepted or not even its first event was matched."""
    if verdict.accepted or verdict.matched == 0:
        return ()
    result = _run(
        [log[: verdict.matched]], overrides or {}, max_hidden, 1, timeout, None, show_last=True
    )
    return tuple(dict.fromkeys(_printed_states(result.user_output)))


def _printed_states(lines: Sequence[str]) -> list[str]:
    """The values of the <<"state", ...>> prints, each on one line (TLC breaks long values
    over several lines)."""
    states, current = [], None
    for line in lines:
        if re.match(r'^<< ?"state",', line.strip()):
            current = []
        if current is not None:
            current.append(line.strip())
            text = " ".join(" ".join(current).split())
            if text.count("<<") == text.count(">>") and text.count("[") == text.count("]"):
                if found := _STATE.match(text):
                    states.append(found[1])
                current = None
    return states


def _run(
    logs: Sequence[Sequence[Mapping]],
    overrides: Mapping[str, str],
    max_hidden: int,
    workers: int,
    timeout: float | None,
    cancel: threading.Event | None,
    *,
    show_last: bool,
) -> TlcResult:
    folder = Path(tempfile.mkdtemp(prefix="kvm-mmio-kernel-traces-"))
    try:
        for module in ("KvmMmio.tla", "KvmMmioKernelTrace.tla"):
            shutil.copy(spec_dir() / module, folder)
        text, gfns = batch_module(logs)
        (folder / "KvmMmioKernelTraceData.tla").write_text(text)
        max_updates = max(_installs(log) for log in logs) + 2
        cfg = _cfg(max(gfns, 1), max_hidden, max_updates, overrides, show_last)
        (folder / "logs.cfg").write_text(cfg)
        result = run_tlc(
            folder / "KvmMmioKernelTrace.tla",
            folder / "logs.cfg",
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
        raise ToolError(f"kernel trace validation failed: {result.outcome.value}: {detail}")
    return result
