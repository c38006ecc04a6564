"""`kvm-mmio live`: this machine's KVM (/dev/kvm) against the reference's host model.

Why a command: the checks take tens of seconds and need root, /dev/kvm and tracefs, so they are run
on purpose (and in CI, which has them), and their figures are read by people: a table per check,
or one JSON object. Besides the three checks of the host model (gen, cache, race) it runs the
conformance suite's operations vectors that apply to this kernel ("ops"), through the runner with
the live adapter in process, and validates event logs of the kernel against the spec ("tv":
kerneltv.py). Exit 0 only if the kernel and the reference agree on everything that
ran; 1 if they disagree; 3 if /dev/kvm is unusable, nothing could run, or a run failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from kvm_mmio_conformance.live.checks import CHECK_NAMES, LiveRun, run_checks
from kvm_mmio_conformance.live.opsrun import OPERATIONS_VECTORS, OperationsRun, run_vectors_file
from kvm_mmio_conformance.live.racecheck import DEFAULT_ITERATIONS
from kvm_mmio_conformance.live.report import JSON_KEYS, render_json, render_text
from kvm_mmio_conformance.live.tracefs import unavailable_reason as tracefs_unavailable_reason
from kvm_mmio_conformance.live.tvrecord import DEFAULT_RACE_LOGS
from kvm_mmio_conformance.live.vm import kvm_unavailable_reason
from kvm_mmio_tools.errors import UsageError
from kvm_mmio_tools.kerneltv import TvRun, run_trace_validation, tv_json, tv_text
from kvm_mmio_tools.progress import ProgressLine

__all__ = ["register"]

EXIT_STATUSES = {
    0: "the kernel and the reference agree on everything that ran",
    1: "they disagree, or TLC rejected a kernel event log (--check tv)",
    3: "/dev/kvm is unusable, nothing could run, or a run failed",
    4: "java or TLC's jar is missing (--check tv)",
}

EXIT_OK, EXIT_DISAGREE, EXIT_TOOL = 0, 1, 3
OPERATIONS = "ops"  # the operations vectors, selectable like a check
TRACE_VALIDATION = "tv"  # kernel event logs validated by TLC
SELECTABLE = (*CHECK_NAMES, OPERATIONS, TRACE_VALIDATION)
TV_KEY = "trace_validation"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "live",
        help="compare this machine's KVM (/dev/kvm) with the reference's host model",
        description="Run the live checks of the host model (shared/KVM_LIVE.md) on /dev/kvm and "
        "on the reference (profile live-host): gen, the number of flags-only memslot updates "
        "until the generation-wrap zap after prefixes of operations; cache, whether the per-vCPU "
        "MMIO cache hits after each kind of memslot operation; race, the outcome of every read "
        "racing with delete / create / move, by window; ops, the conformance suite's operations "
        "vectors that apply to this kernel (every tier), through the live adapter; tv, event "
        "logs of race runs and of the cache check validated by TLC against "
        "spec/KvmMmioKernelTrace.tla (not run unless named). Needs root (tracefs) for gen, "
        "cache, tv and the path of each access. Exit 0 only if the kernel and the reference "
        "agree on everything that ran.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--full", action="store_true", help="five generation prefixes instead of two (~1 min)"
    )
    parser.add_argument(
        "--iterations",
        type=int,
        default=DEFAULT_ITERATIONS,
        help=f"race cycles of four updates each (default {DEFAULT_ITERATIONS:,}; at most 30 s)",
    )
    parser.add_argument(
        "--check",
        dest="checks",
        action="extend",
        nargs="+",
        choices=SELECTABLE,
        metavar="CHECK",
        help=f"run only these ({', '.join(SELECTABLE)}); repeatable",
    )
    parser.add_argument(
        "--vectors",
        type=Path,
        default=OPERATIONS_VECTORS,
        metavar="FILE",
        help="the operations vectors to run (default: the suite's vectors/operations.json)",
    )
    parser.add_argument(
        "--tv-logs",
        type=int,
        default=DEFAULT_RACE_LOGS,
        metavar="N",
        help=f"tv: race logs to record (default {DEFAULT_RACE_LOGS}), besides the cache check's",
    )
    parser.add_argument(
        "--tv-dir",
        type=Path,
        metavar="DIR",
        help="tv: write each log's events there as ndjson (NNN-NAME.ndjson)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.iterations < 1:
        raise UsageError(f"--iterations must be >= 1, got {args.iterations}")
    if not 1 <= args.tv_logs <= 10_000:
        raise UsageError(f"--tv-logs must be in 1 .. 10000, got {args.tv_logs}")
    selected = args.checks or tuple(n for n in SELECTABLE if n != TRACE_VALIDATION)
    names = tuple(name for name in CHECK_NAMES if name in selected)
    with_operations = OPERATIONS in selected
    if with_operations and not args.vectors.is_file():
        raise UsageError(f"--vectors {args.vectors}: no such file")
    with_tv = TRACE_VALIDATION in selected
    reason = kvm_unavailable_reason()
    if reason is not None:
        if args.json:
            skipped = {"status": "skipped", "reason": reason}
            report = {"ok": False, "checks": {JSON_KEYS[n]: skipped for n in names}}
            if with_operations:
                report["operations"] = skipped
            if with_tv:
                report[TV_KEY] = skipped
            print(json.dumps(report))
        else:
            print(f"kvm-mmio: live checks cannot run: {reason}", file=sys.stderr)
        return EXIT_TOOL
    line = ProgressLine()  # silent unless stderr is a terminal
    try:
        result = run_checks(names, full=args.full, iterations=args.iterations, progress=line.update)
        operations = (
            run_vectors_file(args.vectors, progress=line.update) if with_operations else None
        )
        tv = _trace_validation(args, line.update) if with_tv else None
    finally:
        line.clear()
    status = _exit_status(result, operations, tv)
    if args.json:
        report = render_json(result, operations)
        if tv is not None:
            report |= {"ok": status == EXIT_OK, TV_KEY: _tv_json(tv)}
        print(json.dumps(report))
    else:
        text = render_text(result, operations) if names or with_operations else ""
        if tv is not None:
            text = "\n".join(_tv_lines(tv)) + ("\n\n" + text if text else "")
        print(text)
    return status


def _trace_validation(args: argparse.Namespace, progress: Callable[[str], None]) -> TvRun | str:
    """The tv run, or why it cannot run here (no tracefs)."""
    reason = tracefs_unavailable_reason()
    if reason is not None:
        return reason
    return run_trace_validation(args.tv_logs, save_dir=args.tv_dir, progress=progress)


def _tv_json(tv: TvRun | str) -> dict:
    return {"status": "skipped", "reason": tv} if isinstance(tv, str) else tv_json(tv)


def _tv_lines(tv: TvRun | str) -> list[str]:
    if isinstance(tv, str):
        return [f"trace validation: skipped: {tv}"]
    return tv_text(tv)


def _exit_status(result: LiveRun, operations: OperationsRun | None, tv: TvRun | str | None) -> int:
    """0 if everything that ran agreed (and something ran), 1 if anything disagreed, else 3; a
    skipped check, like a skipped tv, neither passes nor fails the run."""
    statuses = [check.status for check in result.checks]
    if operations is not None:
        statuses.append(operations.status)
    if isinstance(tv, TvRun):
        statuses.append(tv.status)
    ran = [status for status in statuses if status != "skipped"]
    if ran and all(status == "ok" for status in ran):
        return EXIT_OK
    return EXIT_DISAGREE if "disagree" in ran else EXIT_TOOL
