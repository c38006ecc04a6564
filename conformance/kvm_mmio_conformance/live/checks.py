"""The three live checks of the host model, run by name, each skipped or failed with one line.

Why: `kvm-mmio live` and the tests choose which checks to run and must tell "the kernel and the
reference disagree" from "this machine cannot run that check" (no /dev/kvm, no tracefs) and from
"the run itself failed" (a guest that faulted or hung, an ioctl that should not fail). Each check
runs on its own VMs; one failing does not stop the next. Nothing is printed here.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog

from .cachecheck import CacheCheck, run_cache_check
from .gencheck import DEFAULT_PREFIXES, FULL_PREFIXES, GenerationCheck, Prefix, run_generation_check
from .racecheck import DEFAULT_ITERATIONS, RaceCheck, run_race_check
from .tracefs import unavailable_reason as tracefs_unavailable_reason
from .vm import kvm_unavailable_reason

__all__ = [
    "CHECK_NAMES",
    "CheckRun",
    "LiveRun",
    "check_unavailable_reason",
    "run_checks",
]

log = structlog.get_logger()

CHECK_NAMES = ("gen", "cache", "race")
NEEDS_TRACEFS = frozenset({"gen", "cache"})  # the wrap zap and the cache hits are trace events

CheckResult = GenerationCheck | CacheCheck | RaceCheck


@dataclass(frozen=True, slots=True)
class CheckRun:
    """One check: its result, or why it was skipped, or the error that stopped it."""

    name: str
    result: CheckResult | None = None
    skipped: str | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def status(self) -> str:
        """ "ok", "disagree", "skipped" or "error"."""
        if self.result is not None:
            return "ok" if self.result.ok else "disagree"
        return "skipped" if self.skipped is not None else "error"


@dataclass(frozen=True, slots=True)
class LiveRun:
    checks: tuple[CheckRun, ...]

    @property
    def ok(self) -> bool:
        """The kernel and the reference agree on every check that ran, and at least one ran."""
        ran = [check for check in self.checks if check.status != "skipped"]
        return bool(ran) and all(check.status == "ok" for check in ran)


def check_unavailable_reason(name: str) -> str | None:
    """Why check `name` cannot run on this machine (one line), or None."""
    if name not in CHECK_NAMES:
        raise ValueError(f"check {name!r} is not one of {', '.join(CHECK_NAMES)}")
    reason = kvm_unavailable_reason()
    if reason is None and name in NEEDS_TRACEFS:
        reason = tracefs_unavailable_reason()
    return reason


def run_checks(
    names: Iterable[str] = CHECK_NAMES,
    *,
    full: bool = False,
    iterations: int = DEFAULT_ITERATIONS,
    progress: Callable[[str], None] | None = None,
) -> LiveRun:
    """Run the named checks in CHECK_NAMES order. `full`: five generation prefixes instead of
    two; `iterations`: race cycles; `progress(text)` reports long runs as they go."""
    selected = set(names)
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    unknown = selected - set(CHECK_NAMES)
    if unknown:
        raise ValueError(f"unknown check(s) {sorted(unknown)}: choose from {CHECK_NAMES}")
    runners: dict[str, Callable[[], CheckResult]] = {
        "gen": lambda: run_generation_check(
            FULL_PREFIXES if full else DEFAULT_PREFIXES, progress=_wrap_progress(progress)
        ),
        "cache": run_cache_check,
        "race": lambda: run_race_check(iterations, progress=_race_progress(progress)),
    }
    return LiveRun(tuple(_run(name, runners[name]) for name in CHECK_NAMES if name in selected))


def _run(name: str, runner: Callable[[], CheckResult]) -> CheckRun:
    reason = check_unavailable_reason(name)
    if reason is not None:
        log.info("live check skipped", check=name, reason=reason)
        return CheckRun(name, skipped=reason)
    started = time.monotonic()
    try:
        result = runner()
    except (OSError, RuntimeError) as error:
        log.warning("live check failed", check=name, error=str(error))
        return CheckRun(name, error=f"{type(error).__name__}: {error}")
    seconds = time.monotonic() - started
    log.info("live check done", check=name, ok=result.ok, seconds=round(seconds, 1))
    return CheckRun(name, result=result, seconds=seconds)


def _wrap_progress(progress: Callable[[str], None] | None) -> Callable[[Prefix, int], None] | None:
    if progress is None:
        return None
    return lambda prefix, updates: progress(
        f"generation: prefix {prefix.name!r}: {updates:,} flags-only updates"
    )


def _race_progress(progress: Callable[[str], None] | None) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda cycles, total: progress(f"concurrency: {cycles:,} of {total:,} cycles")
