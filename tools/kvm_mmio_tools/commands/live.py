"""`kvm-mmio live`: this machine's KVM (/dev/kvm) against the reference's host model.

Why a command: the checks take tens of seconds and need root, /dev/kvm and tracefs, so they are run
on purpose (and in CI, which has them), and their figures are read by people: a table per check,
or one JSON object. Besides the three checks of the host model (gen, cache, race) it runs the
conformance suite's operations vectors that apply to this kernel ("ops"), through the runner with
the live adapter in process. Exit 0 only if the kernel and the reference agree on everything that
ran; 1 if they disagree; 3 if /dev/kvm is unusable, nothing could run, or a run failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kvm_mmio_conformance.live.checks import CHECK_NAMES, LiveRun, run_checks
from kvm_mmio_conformance.live.opsrun import OPERATIONS_VECTORS, OperationsRun, run_vectors_file
from kvm_mmio_conformance.live.racecheck import DEFAULT_ITERATIONS
from kvm_mmio_conformance.live.report import JSON_KEYS, agree, render_json, render_text
from kvm_mmio_conformance.live.vm import kvm_unavailable_reason
from kvm_mmio_tools.errors import UsageError
from kvm_mmio_tools.progress import ProgressLine

__all__ = ["register"]

EXIT_STATUSES = {
    0: "the kernel and the reference agree on everything that ran",
    1: "they disagree",
    3: "/dev/kvm is unusable, nothing could run, or a run failed",
    4: None,
}

EXIT_OK, EXIT_DISAGREE, EXIT_TOOL = 0, 1, 3
OPERATIONS = "ops"  # the operations vectors, selectable like a check
SELECTABLE = (*CHECK_NAMES, OPERATIONS)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "live",
        help="compare this machine's KVM (/dev/kvm) with the reference's host model",
        description="Run the live checks of the host model (shared/KVM_LIVE.md) on /dev/kvm and "
        "on the reference (profile live-host): gen, the number of flags-only memslot updates "
        "until the generation-wrap zap after prefixes of operations; cache, whether the per-vCPU "
        "MMIO cache hits after each kind of memslot operation; race, the outcome of every read "
        "racing with delete / create / move, by window; ops, the conformance suite's operations "
        "vectors that apply to this kernel (every tier), through the live adapter. Needs root "
        "(tracefs) for gen, cache and the path of each access. Exit 0 only if the kernel and the "
        "reference agree on everything that ran.",
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
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.iterations < 1:
        raise UsageError(f"--iterations must be >= 1, got {args.iterations}")
    selected = args.checks or SELECTABLE
    names = tuple(name for name in CHECK_NAMES if name in selected)
    with_operations = OPERATIONS in selected
    if with_operations and not args.vectors.is_file():
        raise UsageError(f"--vectors {args.vectors}: no such file")
    reason = kvm_unavailable_reason()
    if reason is not None:
        if args.json:
            skipped = {"status": "skipped", "reason": reason}
            report = {"ok": False, "checks": {JSON_KEYS[n]: skipped for n in names}}
            if with_operations:
                report["operations"] = skipped
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
    finally:
        line.clear()
    print(
        json.dumps(render_json(result, operations))
        if args.json
        else render_text(result, operations)
    )
    return _exit_status(result, operations)


def _exit_status(result: LiveRun, operations: OperationsRun | None) -> int:
    if agree(result, operations):
        return EXIT_OK
    disagree = any(check.status == "disagree" for check in result.checks)
    if disagree or (operations is not None and operations.status == "disagree"):
        return EXIT_DISAGREE
    return EXIT_TOOL
