"""The operations vectors' run against the kernel as text and JSON, for `kvm-mmio live`.

Why: the counts alone do not say whether the kernel was really asked, so both renderings show who
answered and what it observes (without tracefs there is no path), the counts by tier, every
skipped case's missing capability with how many cases it cost, and each failure as the
conformance report shows it (sent, expected, observed, why, the command that reruns it).
"""

from typing import Any

from kvm_mmio_conformance.report import describe_failure

from .opsrun import OperationsRun

__all__ = ["operations_json", "operations_summary", "operations_text"]

TITLE = "operations vectors (conformance runner, live adapter in process)"


def operations_json(run: OperationsRun) -> dict[str, Any]:
    """{"status", "source", "run", "passed", "failed", "skipped", ...}: counts always; the
    reason when nothing ran, the error when the run failed; otherwise who answered and what it
    observes, counts by tier and by skip reason, and each failure."""
    head: dict[str, Any] = {
        "status": run.status,
        "source": run.source,
        "run": run.ran,
        "passed": run.count("passed"),
        "failed": run.count("failed"),
        "skipped": run.count("skipped"),
    }
    if run.error is not None:
        head["error"] = run.error
    if run.reason is not None:
        head["reason"] = run.reason
    report = run.report
    if report is None:
        return head
    section = report.implementation.capabilities.get("operations", {})
    head |= {
        "seconds": round(report.seconds, 2),
        "implementation": {"name": report.implementation.name, "observes": section.get("observes")},
        "by_tier": run.by_tier(),
        "skipped_by_reason": run.skipped_by_reason(),
        "failures": [
            {
                "id": result.case.id,
                "tier": result.case.tier,
                "step": result.step,
                "why": result.reason,
                "sent": result.message,
                "expected": result.expected,
                "observed": result.observed,
                "rerun": result.rerun,
            }
            for result in run.failures()
        ],
    }
    if run.path_unobserved is not None:
        head["path_unobserved"] = run.path_unobserved
    return head


def operations_text(run: OperationsRun) -> list[str]:
    """A titled block: status, who answered, counts by tier, skip reasons, failures."""
    if run.error is not None:
        return [f"{TITLE}: error: {run.error}"]
    if run.report is None:
        return [f"{TITLE}: skipped: {run.reason}"]
    report = run.report
    observes = report.implementation.capabilities.get("operations", {}).get("observes", [])
    lines = [
        f"{TITLE}: {run.status} ({report.seconds:.1f} s)",
        f"  {run.source}",
        f"  {report.implementation.name}, observes {', '.join(observes) or 'nothing'}",
    ]
    if run.path_unobserved is not None:
        lines.append(f"  path not observed: {run.path_unobserved}")
    lines.append(f"  {'tier':<8}{'passed':>8}{'failed':>8}{'skipped':>9}")
    for tier, row in run.by_tier().items():
        lines.append(f"  {tier:<8}{row['passed']:>8}{row['failed']:>8}{row['skipped']:>9}")
    lines += [f"  skipped {count}: {reason}" for reason, count in run.skipped_by_reason().items()]
    if run.reason is not None:
        lines.append(f"  {run.reason}")
    for result in run.failures():
        lines += ["", *("  " + line for line in describe_failure(result).splitlines())]
    return lines


def operations_summary(run: OperationsRun) -> str:
    """One clause for the final line of `kvm-mmio live`."""
    if run.status in ("skipped", "error"):
        return f"operations vectors {run.status}"
    return (
        f"operations vectors: {run.ran} case(s) run, {run.count('passed')} agree, "
        f"{run.count('failed')} disagree, {run.count('skipped')} skipped"
    )
