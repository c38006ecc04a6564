"""`kvm-mmio live --check tv`: record kernel event logs on /dev/kvm and validate them with TLC.

Why its own module: recording needs the live harness (kvm_mmio_conformance.live.tvrecord) and
validation needs TLC (kernelvalidate.py); this joins them and says what happened in the figures a
person reads and a script parses: logs, events (kernel events among them), accepted, rejected, TLC
seconds, and for the first rejected log its first unexplained event and the state the spec was in
when it matched the event before. Nothing is printed here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from kvm_mmio_conformance.atomicfile import write_text
from kvm_mmio_conformance.live.kerneltrace import dumps
from kvm_mmio_conformance.live.tvrecord import RecordedLog, record_logs
from kvm_mmio_tools.errors import ToolError
from kvm_mmio_tools.kernelvalidate import LogVerdict, state_before, validate_logs

__all__ = ["TvRun", "run_trace_validation", "tv_json", "tv_text"]

log = structlog.get_logger()

TLC_TIMEOUT = 600.0  # seconds; far above what a batch of hundreds of logs takes


@dataclass(frozen=True, slots=True)
class TvRun:
    """The logs recorded, TLC's verdicts on them, and what the first rejected one stopped at;
    or the error that stopped the run."""

    logs: tuple[RecordedLog, ...] = ()
    verdicts: tuple[LogVerdict, ...] = ()
    seconds: float = 0.0
    distinct_states: int | None = None
    first_state: tuple[str, ...] = field(default=())
    error: str | None = None

    @property
    def events(self) -> int:
        return sum(len(recorded.converted.events) for recorded in self.logs)

    @property
    def kernel_events(self) -> int:
        return sum(recorded.converted.kernel_events for recorded in self.logs)

    @property
    def accepted(self) -> int:
        return sum(verdict.accepted for verdict in self.verdicts)

    @property
    def rejected(self) -> tuple[LogVerdict, ...]:
        return tuple(verdict for verdict in self.verdicts if not verdict.accepted)

    @property
    def status(self) -> str:
        """ "ok" (every log accepted), "disagree" (some log rejected) or "error"."""
        if self.error is not None or not self.logs:
            return "error"
        return "disagree" if self.rejected else "ok"


def run_trace_validation(
    race_logs: int,
    *,
    save_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> TvRun:
    """Record `race_logs` race logs and the cache check's logs, write each as ndjson into
    `save_dir` (if given), and validate them all in one TLC run."""
    try:
        logs = tuple(record_logs(race_logs, progress=progress))
    except (OSError, RuntimeError) as error:
        return TvRun(error=f"recording: {type(error).__name__}: {error}")
    if save_dir is not None:
        for index, recorded in enumerate(logs):
            name = recorded.name.replace(": ", "-").replace(" ", "-")
            path = save_dir / f"{index + 1:03d}-{name}.ndjson"
            write_text(path, dumps(recorded.converted.events))
    if progress is not None:
        progress(f"trace validation: TLC on {len(logs):,} logs")
    events = [recorded.converted.events for recorded in logs]
    try:
        validation = validate_logs(events, timeout=TLC_TIMEOUT, cancel=cancel)
        rejected = [v for v in validation.verdicts if not v.accepted]
        first = state_before(events[rejected[0].index], rejected[0]) if rejected else ()
    except ToolError as error:
        return TvRun(logs, error=str(error))
    log.info(
        "trace validation done",
        logs=len(logs),
        rejected=len(rejected),
        seconds=round(validation.seconds, 1),
    )
    return TvRun(logs, validation.verdicts, validation.seconds, validation.distinct_states, first)


def _first_rejected(run: TvRun) -> dict[str, Any] | None:
    if not run.rejected:
        return None
    verdict = run.rejected[0]
    recorded = run.logs[verdict.index]
    index = verdict.first_rejected
    assert index is not None
    return {
        "log": recorded.name,
        "index": index,
        "event": recorded.converted.events[index],
        "states_before": list(run.first_state),
    }


def tv_json(run: TvRun) -> dict[str, Any]:
    """{"status", "traces", "events", "kernel_events", "accepted", "rejected", "seconds",
    "distinct_states", "first_rejected"} (or {"status", "error"})."""
    if run.error is not None:
        return {"status": "error", "error": run.error}
    return {
        "status": run.status,
        "traces": len(run.logs),
        "events": run.events,
        "kernel_events": run.kernel_events,
        "unmodelled_kernel_records": sum(r.converted.unmodelled for r in run.logs),
        "accepted": run.accepted,
        "rejected": len(run.rejected),
        "seconds": round(run.seconds, 2),
        "distinct_states": run.distinct_states,
        "first_rejected": _first_rejected(run),
    }


def tv_text(run: TvRun) -> list[str]:
    """A titled block: the figures, and the first rejected event with the state before it."""
    title = "trace validation (kernel event logs against spec/KvmMmioKernelTrace.tla)"
    if run.error is not None:
        return [f"{title}: error: {run.error}"]
    lines = [
        f"{title}: {run.status} ({run.seconds:.1f} s of TLC)",
        f"  {len(run.logs):,} logs, {run.events:,} events ({run.kernel_events:,} kernel events), "
        f"{run.accepted:,} accepted, {len(run.rejected):,} rejected",
    ]
    first = _first_rejected(run)
    if first is not None:
        lines.append(f"  first rejected: {first['log']}, event {first['index']}: {first['event']}")
        lines += [f"  state before it: {state}" for state in first["states_before"]]
    return lines
