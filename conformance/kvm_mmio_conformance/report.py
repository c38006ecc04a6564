"""Show a run: a text summary for people, one JSON document for programs, JUnit XML for CI.

Why these three: a person reading a failure needs the case id, the message, the expected and the
observed values and the command that reruns it, in that order; a program wants every case with
its status; CI dashboards read JUnit. All three are built from the same Report.
"""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from kvm_mmio_conformance.atomicfile import write_atomic
from kvm_mmio_conformance.protocol import LAYERS
from kvm_mmio_conformance.runner import STATUSES, CaseResult, Report
from kvm_mmio_conformance.vectors import TIERS

__all__ = ["describe_failure", "render_json", "render_text", "summary", "verdict", "write_junit"]

STDERR_SHOWN_LINES = 10


def summary(report: Report) -> dict[str, dict[str, dict[str, int]]]:
    """Counts by layer, then tier, then status (only layers and tiers that have cases)."""
    counts = Counter((r.case.layer, r.case.tier, r.status) for r in report.results)
    table: dict[str, dict[str, dict[str, int]]] = {}
    for layer in LAYERS:
        for tier in TIERS:
            row = {status: counts[layer, tier, status] for status in STATUSES}
            if any(row.values()):
                table.setdefault(layer, {})[tier] = row
    return table


def _json(value: Any) -> str:
    return json.dumps(value)


def describe_failure(result: CaseResult) -> str:
    """A failed case as a block of labelled lines (also the pytest plugin's failure text)."""
    case = result.case
    lines = [f"FAILED {case.id}  [{case.layer}, {case.tier}, message {result.step}]"]
    if case.comment:
        lines.append(f"  case      {case.comment}")
    if result.message is not None:
        lines.append(f"  sent      {_json(result.message)}")
    lines.append(f"  expected  {_json(result.expected)}")
    observed = "(no answer)" if result.observed is None else _json(result.observed)
    lines.append(f"  observed  {observed}")
    lines.append(f"  why       {result.reason}")
    if result.stderr.strip():
        tail = result.stderr.rstrip().splitlines()[-STDERR_SHOWN_LINES:]
        lines.append("  stderr    | " + "\n            | ".join(tail))
    if result.rerun:
        lines.append(f"  rerun     {result.rerun}")
    return "\n".join(lines)


def _skipped(report: Report) -> list[str]:
    by_reason: dict[str, list[str]] = {}
    for result in report.results:
        if result.status == "skipped":
            by_reason.setdefault(result.reason, []).append(result.case.id)
    lines = []
    for reason, ids in by_reason.items():
        lines.append(f"skipped {len(ids)}: {reason}")
        wrapped = textwrap.wrap(", ".join(ids), width=96)
        lines += [f"    {line}" for line in wrapped]
    return lines


def render_text(report: Report) -> str:
    impl = report.implementation
    layers = ", ".join(impl.capabilities["layers"]) or "none"
    lines = [f"implementation: {impl.name} (layers: {layers})", ""]
    lines.append(f"{'layer':<12}{'tier':<8}{'passed':>8}{'failed':>8}{'skipped':>9}")
    for layer, tiers in summary(report).items():
        for tier, row in tiers.items():
            lines.append(
                f"{layer:<12}{tier:<8}{row['passed']:>8}{row['failed']:>8}{row['skipped']:>9}"
            )
    lines.append(
        f"{'total':<20}{report.count('passed'):>8}{report.count('failed'):>8}"
        f"{report.count('skipped'):>9}   ({report.seconds:.2f} s)"
    )
    skipped = _skipped(report)
    if skipped:
        lines += ["", *skipped]
    for result in report.results:
        if result.status == "failed":
            lines += ["", describe_failure(result)]
    lines += ["", verdict(report)]
    return "\n".join(lines)


def _up_to(require: str) -> str:
    return "must-tier" if require == "must" else f"{require}-tier or lower"


def verdict(report: Report) -> str:
    """The last line of the text report: ok, or NOT OK and why."""
    required = report.required_failures
    failed = f"; {required} {_up_to(report.require)} case(s) failed" if required else ""
    if report.stopped:
        return (
            f"NOT OK: stopped after {len(report.results)} of {report.planned} case(s): "
            f"{report.stopped}{failed}"
        )
    if not report.ran:
        if not report.results:
            return "NOT OK: no case ran: none is selected (no vectors for these layers and tiers)"
        return (
            f"NOT OK: no case ran: all {len(report.results)} selected case(s) were skipped "
            "(see the reasons above)"
        )
    if required:
        return f"NOT OK: {required} {_up_to(report.require)} case(s) failed"
    others = report.count("failed")
    extra = f"; {others} case(s) of higher tiers failed" if others else ""
    return f"ok: no {_up_to(report.require)} case failed{extra}"


def _case_json(result: CaseResult) -> dict[str, Any]:
    case = result.case
    entry: dict[str, Any] = {
        "id": case.id,
        "layer": case.layer,
        "tier": case.tier,
        "status": result.status,
    }
    if result.status != "passed":
        entry["reason"] = result.reason
    if result.status == "failed":
        entry.update(
            step=result.step,
            message=result.message,
            expected=result.expected,
            observed=result.observed,
            stderr=result.stderr,
            rerun=result.rerun,
        )
    return entry


def render_json(report: Report) -> dict[str, Any]:
    """{"ok", "require", "planned", "ran", "stopped", "passed", "failed", "skipped", "seconds",
    "implementation", "summary", "cases"}."""
    return {
        "ok": report.ok,
        "require": report.require,
        "planned": report.planned,
        "ran": report.ran,
        "stopped": report.stopped or None,
        "passed": report.count("passed"),
        "failed": report.count("failed"),
        "skipped": report.count("skipped"),
        "seconds": round(report.seconds, 3),
        "implementation": {
            "name": report.implementation.name,
            "capabilities": report.implementation.capabilities,
        },
        "summary": summary(report),
        "cases": [_case_json(result) for result in report.results],
    }


def _junit(report: Report) -> ET.Element:
    root = ET.Element(
        "testsuites",
        name="kvm-mmio conformance",
        tests=str(len(report.results)),
        failures=str(report.count("failed")),
        skipped=str(report.count("skipped")),
        time=f"{report.seconds:.3f}",
    )
    for layer in LAYERS:
        results = [r for r in report.results if r.case.layer == layer]
        if not results:
            continue
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"{layer} ({report.implementation.name})",
            tests=str(len(results)),
            failures=str(sum(r.status == "failed" for r in results)),
            skipped=str(sum(r.status == "skipped" for r in results)),
        )
        for result in results:
            element = ET.SubElement(
                suite,
                "testcase",
                classname=f"kvm_mmio_conformance.{layer}.{result.case.tier}",
                name=result.case.id,
            )
            if result.status == "failed":
                failure = ET.SubElement(element, "failure", message=result.reason)
                failure.text = describe_failure(result)
            elif result.status == "skipped":
                ET.SubElement(element, "skipped", message=result.reason)
    return root


def write_junit(report: Report, path: Path) -> None:
    """Write JUnit XML to `path` atomically (a temp file in the same folder, then a rename)."""
    tree = ET.ElementTree(_junit(report))
    ET.indent(tree)
    write_atomic(path, lambda stream: tree.write(stream, encoding="utf-8", xml_declaration=True))
