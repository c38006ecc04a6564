"""The operations vectors against this machine's KVM: the conformance runner, the LiveAdapter in
process, every tier, and counts that say what ran, what agreed and what could not run and why.

Why here and not in `kvm-mmio conformance`: that command judges an implementation (only a
must-tier failure fails it); `kvm-mmio live` asks whether the kernel and the reference agree, so
every case that applies runs, whatever its tier, and any failure is a disagreement. The cases
this kernel cannot run (it does not show its generation; one address space; no MMIO sptes) are
skipped by the runner with the capability that is missing, and counted by that reason. Until the
vectors file exists (it is generated from the reference model), the run is skipped with a message
that says so. Nothing is printed here.
"""

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kvm_mmio_conformance.inprocess import InProcessChannel
from kvm_mmio_conformance.protocol import AdapterFailure
from kvm_mmio_conformance.runner import STATUSES, CaseResult, Report, run
from kvm_mmio_conformance.vectors import TIERS, VECTORS_DIR, Case, load_file, select

from .adapter import LiveAdapter
from .vm import kvm_unavailable_reason

__all__ = ["OPERATIONS_VECTORS", "TARGET", "OperationsRun", "run_operations", "run_vectors_file"]

OPERATIONS_VECTORS = VECTORS_DIR / "operations.json"
# How a failure's rerun command reaches the same adapter (kvm-mmio conformance --impl ...).
TARGET = "--impl kvm_mmio_conformance.live.adapter:LiveAdapter"


@dataclass(frozen=True, slots=True)
class OperationsRun:
    """One run of operations cases: the runner's report, or why there is none."""

    source: str  # the vectors file (or what the cases came from)
    report: Report | None = None
    skipped: str | None = None
    error: str | None = None
    path_unobserved: str | None = None  # why the adapter could not observe paths (None: it did)

    def count(self, status: str) -> int:
        return self.report.count(status) if self.report is not None else 0

    @property
    def ran(self) -> int:
        return self.count("passed") + self.count("failed")

    @property
    def status(self) -> str:
        """ "ok" (every case that ran agreed), "disagree", "skipped" (nothing ran) or "error"."""
        if self.error is not None:
            return "error"
        if self.skipped is not None or self.report is None:
            return "skipped"
        if self.count("failed"):
            return "disagree"
        return "ok" if self.ran else "skipped"

    @property
    def reason(self) -> str | None:
        """Why nothing ran, in one line (None if something did)."""
        if self.skipped is not None:
            return self.skipped
        if self.report is not None and not self.ran:
            total = len(self.report.results)
            return f"none of the {total} operations case(s) applies to this kernel"
        return None

    def by_tier(self) -> dict[str, dict[str, int]]:
        """{tier: {"passed", "failed", "skipped"}} for the tiers that have cases."""
        results = self.report.results if self.report is not None else ()
        counts = Counter((result.case.tier, result.status) for result in results)
        return {
            tier: {status: counts[tier, status] for status in STATUSES}
            for tier in TIERS
            if any(counts[tier, status] for status in STATUSES)
        }

    def skipped_by_reason(self) -> dict[str, int]:
        """How many cases were skipped for each missing capability (the runner's reason)."""
        results = self.report.results if self.report is not None else ()
        return dict(Counter(r.reason for r in results if r.status == "skipped"))

    def failures(self) -> list[CaseResult]:
        results = self.report.results if self.report is not None else ()
        return [result for result in results if result.status == "failed"]


def run_vectors_file(
    path: Path = OPERATIONS_VECTORS,
    *,
    adapter_factory: Callable[[], LiveAdapter] = LiveAdapter,
    progress: Callable[[str], None] | None = None,
) -> OperationsRun:
    """Every operations case of `path`, all tiers (skipped, with the reason, if the file does
    not exist yet or /dev/kvm is unusable)."""
    source = str(path)
    if not path.exists():
        return OperationsRun(
            source,
            skipped=f"no operations vectors to run: {path} does not exist yet (the reference "
            "model generates it; --vectors FILE runs another file)",
        )
    try:
        cases = select(load_file(path), tier=TIERS[-1], layers=("operations",))
    except (OSError, ValueError) as error:
        return OperationsRun(source, error=f"{type(error).__name__}: {error}")
    return run_operations(cases, source=source, adapter_factory=adapter_factory, progress=progress)


def run_operations(
    cases: Sequence[Case],
    *,
    source: str,
    adapter_factory: Callable[[], LiveAdapter] = LiveAdapter,
    progress: Callable[[str], None] | None = None,
) -> OperationsRun:
    """Run `cases` through the conformance runner against a fresh adapter, closed afterwards."""
    reason = kvm_unavailable_reason()
    if reason is not None:
        return OperationsRun(source, skipped=reason)
    adapter = adapter_factory()
    channel = InProcessChannel(adapter)
    total = len(cases)

    def report_progress(index: int, _result: CaseResult) -> None:
        if progress is not None:
            progress(f"operations: {index + 1:,} of {total:,} cases")

    try:
        report = run(channel, cases, target=TARGET, progress=report_progress)
    except (AdapterFailure, ValueError) as error:
        return OperationsRun(source, error=f"hello: {error}")
    finally:
        channel.close()
    return OperationsRun(source, report, path_unobserved=getattr(adapter, "path_unobserved", None))
