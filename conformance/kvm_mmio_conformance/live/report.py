"""The live checks' results as readable tables and as JSON, side by side with the reference, and
the operations vectors' run (opsreport.py) with one verdict over both.

Why: a disagreement between the kernel and the reference is only useful with its figures, so
both renderings show every figure of both sides (wrap counts, cache hits and outcomes, reads per
window), not just a verdict. Rendering returns text and dicts; the command prints them.
"""

from typing import Any

from .cachecheck import CacheCheck, CacheRow
from .checks import CheckRun, LiveRun
from .gencheck import GenerationCheck, WrapRow
from .opsreport import operations_json, operations_summary, operations_text
from .opsrun import OperationsRun
from .racecheck import RaceCheck

__all__ = ["JSON_KEYS", "SHOWN", "agree", "render_json", "render_text"]

JSON_KEYS = {"gen": "generation", "cache": "cache", "race": "concurrency"}
TITLES = {
    "gen": "generation arithmetic (flags-only updates until the wrap zap)",
    "cache": "per-vCPU MMIO cache (emulated probe after each operation)",
    "race": "concurrency (reads racing with delete / create / move)",
}
SHOWN = ("mmio", "ram", "ram (other page)")  # what a racing read can show, in table order
WINDOW_ORDER = (
    "before any update",
    *(
        f"{phase} {label}"
        for label in ("delete", "create", "move away", "move back")
        for phase in ("during", "after")
    ),
    "spanning updates",
)


def agree(run: LiveRun, operations: OperationsRun | None = None) -> bool:
    """Something ran (a check or an operations case), and everything that ran agreed; without
    `operations` this is exactly `run.ok`."""
    ran = [check for check in run.checks if check.status != "skipped"]
    operations_ran = operations is not None and operations.status != "skipped"
    if not ran and not operations_ran:
        return False
    checks_agree = all(check.status == "ok" for check in ran)
    return checks_agree and (not operations_ran or operations.status == "ok")


def render_json(run: LiveRun, operations: OperationsRun | None = None) -> dict[str, Any]:
    """{"ok", "checks": {"generation" | "cache" | "concurrency": {"status", ...figures}}}, plus
    "operations" (opsreport.operations_json) when the operations vectors were asked for."""
    rendered = {
        "ok": agree(run, operations),
        "checks": {JSON_KEYS[c.name]: _check_json(c) for c in run.checks},
    }
    if operations is not None:
        rendered["operations"] = operations_json(operations)
    return rendered


def _check_json(check: CheckRun) -> dict[str, Any]:
    head: dict[str, Any] = {"status": check.status}
    if check.skipped is not None:
        return head | {"reason": check.skipped}
    if check.error is not None:
        return head | {"error": check.error}
    head["seconds"] = round(check.seconds, 2)
    result = check.result
    if isinstance(result, GenerationCheck):
        return head | {"prefixes": [_wrap_json(row) for row in result.rows]}
    if isinstance(result, CacheCheck):
        return head | {"operations": [_cache_json(row) for row in result.rows]}
    if isinstance(result, RaceCheck):
        return head | _race_json(result)
    raise TypeError(f"no result to render for check {check.name}")


def _acceptance(accepted: bool, refusal: str | None = None) -> str:
    return "accepted" if accepted else (refusal or "refused")


def _wrap_json(row: WrapRow) -> dict[str, Any]:
    return {
        "prefix": row.prefix.name,
        "ok": row.ok,
        "operations": [
            {
                "op": str(applied.op),
                "kernel": _acceptance(applied.accepted, applied.error),
                "reference": _acceptance(accepted, "not enabled"),
            }
            for applied, accepted in zip(row.kernel, row.reference.accepted, strict=True)
        ],
        "toggled_gfn": row.prefix.toggle,
        "reference_generation": row.reference.generation,
        "prefix_zaps": {"kernel": row.kernel_zaps, "reference": row.reference.zaps},
        "updates_until_wrap": {
            "kernel": row.kernel_updates_until_wrap,
            "reference": row.reference.updates_until_wrap,
        },
        "seconds": round(row.seconds, 2),
    }


def _cache_json(row: CacheRow) -> dict[str, Any]:
    kernel = row.kernel
    return {
        "operation": row.case.name,
        "agree": row.ok,
        "ops": [str(op) for op in row.case.ops],
        "kernel": {
            "ops": [_acceptance(a.accepted, a.error) for a in kernel.applied],
            "hit": kernel.hit,
            "outcome": kernel.outcome,
            "value": kernel.value,
            "expected_value": kernel.expected_value,
        },
        "reference": {
            "ops": [_acceptance(a, "not enabled") for a in row.reference_accepted],
            "hit": row.reference_hit,
            "outcome": row.reference.outcome,
            "path": row.reference.path,
        },
    }


def _race_json(result: RaceCheck) -> dict[str, Any]:
    return {
        "iterations": result.iterations,
        "requested": result.requested,
        "ioctls": result.ioctls,
        "reads": result.reads,
        "violations": result.violations,
        "examples": list(result.examples),
        "windows": {
            window: {
                "counts": dict(result.counts.get(window, {})),
                "allowed": sorted(result.allowed.get(window, ())),
            }
            for window in _windows(result)
        },
    }


def _windows(result: RaceCheck) -> list[str]:
    """The windows with reads or a rule, in the cycle's order."""
    seen = set(result.counts) | set(result.allowed)
    return [w for w in WINDOW_ORDER if w in seen] + sorted(seen - set(WINDOW_ORDER))


def render_text(run: LiveRun, operations: OperationsRun | None = None) -> str:
    """Every check as a titled table, the operations vectors' block, then one summary line."""
    lines = []
    for check in run.checks:
        head = f"{TITLES[check.name]}: {check.status}"
        if check.skipped is not None:
            lines += [f"{head}: {check.skipped}", ""]
            continue
        if check.error is not None:
            lines += [f"{head}: {check.error}", ""]
            continue
        lines += [f"{head} ({check.seconds:.1f} s)", *_table(check), ""]
    if operations is not None:
        lines += [*operations_text(operations), ""]
    ran = [check for check in run.checks if check.status != "skipped"]
    agreed = sum(check.status == "ok" for check in ran)
    nothing_ran = not ran and (operations is None or operations.status == "skipped")
    verdict = "agree" if agree(run, operations) else "DO NOT agree"
    verdict = "were not compared" if nothing_ran else verdict
    summary = (
        f"kernel and reference {verdict}: {agreed} of {len(ran)} check(s) that ran "
        f"({len(run.checks) - len(ran)} skipped)"
    )
    if operations is not None:
        summary += f"; {operations_summary(operations)}"
    lines.append(summary)
    return "\n".join(lines)


def _table(check: CheckRun) -> list[str]:
    result = check.result
    if isinstance(result, GenerationCheck):
        return _wrap_table(result)
    if isinstance(result, CacheCheck):
        return _cache_table(result)
    if isinstance(result, RaceCheck):
        return _race_table(result)
    raise TypeError(f"no result to render for check {check.name}")


def _wrap_table(result: GenerationCheck) -> list[str]:
    lines = [
        f"  {'prefix':<42} {'ref gen':>7} {'zaps k/r':>8} {'kernel':>9} {'reference':>9}  agree"
    ]
    for row in result.rows:
        measured = row.kernel_updates_until_wrap
        kernel = "none" if measured is None else f"{measured:,}"
        zaps = f"{row.kernel_zaps}/{row.reference.zaps}"
        lines.append(
            f"  {row.prefix.name:<42} {row.reference.generation:>7} {zaps:>8} {kernel:>9} "
            f"{row.reference.updates_until_wrap:>9,}  {_yes(row.ok)}"
        )
        for applied, accepted in zip(row.kernel, row.reference.accepted, strict=True):
            if not (applied.accepted and accepted):
                lines.append(
                    f"      {applied.op}: kernel {_acceptance(applied.accepted, applied.error)}, "
                    f"reference {_acceptance(accepted, 'not enabled')}"
                )
    return lines


def _cache_table(result: CacheCheck) -> list[str]:
    lines = [f"  {'operation':<36} {'kernel':<16} {'reference':<16} agree"]
    for row in result.rows:
        kernel = row.kernel
        shown = f"{kernel.outcome} {kernel.value:#04x}" if kernel.outcome == "ram" else "mmio"
        if kernel.outcome == "ram" and kernel.value != kernel.expected_value:
            shown += f" (page {kernel.expected_value:#04x})"
        refusals = [a.error for a in kernel.applied if not a.accepted]
        name = row.case.name + (f" [{', '.join(map(str, refusals))}]" if refusals else "")
        lines.append(
            f"  {name:<36} {_hit(kernel.hit) + ' ' + shown:<16} "
            f"{_hit(row.reference_hit) + ' ' + row.reference.outcome:<16} {_yes(row.ok)}"
        )
    return lines


def _race_table(result: RaceCheck) -> list[str]:
    lines = [
        f"  {result.iterations:,} cycles of {result.requested:,} requested, {result.ioctls:,} "
        f"ioctls, {result.reads:,} reads, {result.violations} not allowed",
        f"  {'window':<20} {'mmio':>7} {'ram':>7} {'other page':>10}  allowed by the reference",
    ]
    for window in _windows(result):
        counts = result.counts.get(window, {})
        figures = " ".join(
            f"{counts.get(shown, 0):>{width},}"
            for shown, width in zip(SHOWN, (7, 7, 10), strict=True)
        )
        allowed = ", ".join(sorted(result.allowed.get(window, ()))) or "-"
        lines.append(f"  {window:<20} {figures}  {allowed}")
    lines += [f"  not allowed: {example}" for example in result.examples]
    return lines


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def _hit(hit: bool) -> str:
    return "hit " if hit else "miss"
