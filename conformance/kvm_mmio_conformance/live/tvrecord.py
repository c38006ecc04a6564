"""Record the event logs that `kvm-mmio live --check tv` validates: race runs and the cache check.

Why these two: the race workload (racecheck.py) is where the kernel's interleavings of a vCPU and
an updater show, and the cache check (cachecheck.py) is where the per-vCPU MMIO cache's hits are
traced (an emulated access's). Each race run is one VM and one log; each cache case is one VM and
one log. Every log is converted to events (kerneltrace.py) over the gfns its workload names, so a
kernel record of any other gfn (the guest's report page) is left out and counted. Nothing is
printed here; the logs are handed to the caller, which validates them with TLC.
"""

from collections.abc import Callable
from dataclasses import dataclass

from . import cachecheck, racecheck
from .eventlog import EventLog
from .kerneltrace import Converted, convert

__all__ = ["DEFAULT_CYCLES", "DEFAULT_RACE_LOGS", "RecordedLog", "record_logs"]

DEFAULT_RACE_LOGS = 10
DEFAULT_CYCLES = 3  # race cycles (delete, create, move away, move back) per log
RACE_GFNS = frozenset({racecheck.X, racecheck.AWAY})
CACHE_GFNS = frozenset({cachecheck.X, cachecheck.OTHER, cachecheck.SPARE, cachecheck.AWAY})


@dataclass(frozen=True, slots=True)
class RecordedLog:
    """One log: which workload made it, and its events."""

    name: str
    converted: Converted


def record_logs(
    race_logs: int = DEFAULT_RACE_LOGS,
    *,
    cycles: int = DEFAULT_CYCLES,
    with_cache: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[RecordedLog]:
    """`race_logs` race runs of `cycles` cycles each, then (if `with_cache`) the cache check's
    cases; one log each. Needs /dev/kvm and tracefs (the caller checks)."""
    if race_logs < 0 or cycles < 1:
        raise ValueError(f"race_logs must be >= 0 and cycles >= 1, got {race_logs}, {cycles}")
    logs = []
    for run in range(race_logs):
        if progress is not None:
            progress(f"trace validation: recording race log {run + 1:,} of {race_logs:,}")
        with EventLog() as log:
            racecheck.run_race_check(cycles, recorder=log)
            records = log.cut()
        logs.append(RecordedLog(f"race {run + 1}", convert(records, RACE_GFNS)))
    if with_cache:
        checked = cachecheck.run_cache_check(record=True)
        for row, records in zip(checked.rows, checked.logs, strict=True):
            logs.append(RecordedLog(f"cache: {row.case.name}", convert(records, CACHE_GFNS)))
    return logs
