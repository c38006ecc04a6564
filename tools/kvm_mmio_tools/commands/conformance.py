"""`kvm-mmio conformance`: run the conformance vectors against an implementation, or the mutants.

A thin layer over kvm_mmio_conformance (vectors, channels, runner, report, mutants): this module
parses arguments, picks the channel (--impl in process, --cmd out of process), prints and sets
the exit status: 0 when no case of the required tier or a lower one failed (--require, default
must; failures of higher tiers are listed and counted but do not change it), 1 when one did, or
the run's deadline stopped it (with --mutants: a mutant survived), 2 for bad arguments, 3 when
the implementation cannot even say hello, 4 when no case ran (all skipped), 130 when Ctrl-C or
SIGTERM stopped it: the report of the cases run so far is printed (and written as JUnit) first.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from kvm_mmio_conformance.inprocess import InProcessChannel, load_factory
from kvm_mmio_conformance.mutants.killing import HUNT_TIER, hunt, render_kills
from kvm_mmio_conformance.process import DEFAULT_TIMEOUT, SubprocessChannel
from kvm_mmio_conformance.protocol import LAYERS, AdapterFailure
from kvm_mmio_conformance.report import render_json, render_text, write_junit
from kvm_mmio_conformance.runner import CaseResult, Report, connect, run
from kvm_mmio_conformance.vectors import TIERS, load_vectors, select
from kvm_mmio_tools.errors import ToolError, UsageError
from kvm_mmio_tools.progress import ProgressLine

__all__ = ["register"]

EXIT_STATUSES = {
    0: "no case of the --require tier or a lower one failed, and at least one case ran",
    1: "a case of the --require tier or a lower one failed (with --mutants: a mutant survived)",
    3: "the implementation did not start or answer hello",
    4: "no case ran (none selected, or every one skipped)",
    130: "interrupted (Ctrl-C, SIGTERM or --deadline): a partial report of the cases run so far",
}

EXIT_OK, EXIT_FAILED, EXIT_NOTHING_RAN, EXIT_INTERRUPTED = 0, 1, 4, 130
# The most seconds a whole run may take unless --deadline says otherwise.
DEFAULT_DEADLINE = 3600.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "conformance",
        help="run the conformance vectors against an implementation (or the mutants catalog)",
        description="Run the conformance vectors against an implementation: in process "
        "(--impl module:factory, a Python adapter) or out of process (--cmd, a command speaking "
        "JSON lines on stdin/stdout; see conformance/README.md). Cases its capabilities rule out "
        "are skipped with the reason. Exit 0 only if no case of the --require tier or a lower "
        "one fails and at least one case ran; failures of higher tiers are reported without "
        "changing the exit status.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--impl", metavar="MODULE:FACTORY", help="an in-process adapter")
    target.add_argument("--cmd", metavar="COMMAND", help="an out-of-process adapter (via /bin/sh)")
    target.add_argument(
        "--mutants",
        action="store_true",
        help="run the suite against every mutant of the catalog and print which cases kill each",
    )
    parser.add_argument(
        "--tier",
        choices=TIERS,
        help="run the tiers up to this one (default: the --require tier; with --mutants: "
        "should, so that the steps level can reject the races)",
    )
    parser.add_argument(
        "--require",
        choices=TIERS,
        default="must",
        help="fail the run (exit 1) if a case of this tier or a lower one fails (default "
        "%(default)s)",
    )
    parser.add_argument(
        "--layer",
        dest="layers",
        action="append",
        choices=LAYERS,
        help="run only this layer (repeatable; default: all)",
    )
    parser.add_argument(
        "--case",
        dest="cases",
        action="append",
        metavar="ID",
        help="run only this case id (repeatable; shell patterns such as 'v6-*' allowed)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        default=DEFAULT_TIMEOUT,
        help="seconds an out-of-process adapter has to answer each message (default %(default)g)",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        metavar="S",
        default=DEFAULT_DEADLINE,
        help="seconds the whole run may take; then it stops and reports the cases run so far "
        "(default %(default)g)",
    )
    parser.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML here")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run_conformance)


def _target(args: argparse.Namespace) -> str:
    """The --impl/--cmd part of a rerun command."""
    if args.impl:
        return f"--impl {shlex.quote(args.impl)}"
    timeout = "" if args.timeout == DEFAULT_TIMEOUT else f" --timeout {args.timeout:g}"
    return f"--cmd {shlex.quote(args.cmd)}{timeout}"


def _run_mutants(args: argparse.Namespace) -> int:
    tier = args.tier or HUNT_TIER
    cases = select(
        load_vectors(), tier=tier, layers=args.layers or LAYERS, patterns=args.cases or ()
    )
    if args.cases and not cases:
        raise UsageError(f"--case: no {tier}-tier case matches {', '.join(args.cases)}")
    kills = hunt(cases)
    if args.json:
        mutants = [
            {
                "name": kill.name,
                "mistake": kill.mistake,
                "imitates": kill.imitates,
                "witness": kill.witness,
                "killed_at": kill.killed_at,
                "rejected": kill.rejected,
                "killed_by": list(kill.killed_by),
                "must_killed_by": list(kill.must_killed_by),
                "kernel_killed_by": (
                    None if kill.kernel_killed_by is None else list(kill.kernel_killed_by)
                ),
            }
            for kill in kills
        ]
        print(json.dumps({"ok": all(kill.rejected for kill in kills), "mutants": mutants}))
    else:
        print(render_kills(kills))
    return EXIT_OK if all(kill.rejected for kill in kills) else EXIT_FAILED


def _exit_status(report: Report) -> int:
    if report.stopped.startswith("interrupted"):
        return EXIT_INTERRUPTED
    if report.ok:
        return EXIT_OK
    if not report.stopped and not report.ran:
        return EXIT_NOTHING_RAN
    return EXIT_FAILED


def run_conformance(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be > 0 seconds, got {args.timeout:g}")
    if args.deadline <= 0:
        raise UsageError(f"--deadline must be > 0 seconds, got {args.deadline:g}")
    if args.mutants:
        return _run_mutants(args)
    tier = args.tier or args.require
    if TIERS.index(tier) < TIERS.index(args.require):
        raise UsageError(
            f"--tier {tier} runs fewer tiers than --require {args.require} needs; "
            f"use --tier {args.require} or higher"
        )
    cases = select(
        load_vectors(), tier=tier, layers=args.layers or LAYERS, patterns=args.cases or ()
    )
    if args.cases and not cases:
        raise UsageError(f"--case: no {tier}-tier case matches {', '.join(args.cases)}")
    channel = (
        InProcessChannel(load_factory(args.impl))
        if args.impl
        else SubprocessChannel(args.cmd, timeout=args.timeout)
    )
    line = ProgressLine()
    try:
        try:
            implementation = connect(channel)
        except (AdapterFailure, ValueError) as error:
            stderr = getattr(error, "stderr", "").strip()
            raise ToolError(
                f"the implementation cannot be used: {error}"
                + (f"\nstderr:\n{stderr}" if stderr else "")
            ) from None

        def progress(index: int, result: CaseResult) -> None:
            line.update(f"case {index + 1}/{len(cases)}: {result.case.id} {result.status}")

        report = run(
            channel,
            cases,
            target=_target(args),
            implementation=implementation,
            progress=progress,
            require=args.require,
            deadline=args.deadline,
        )
    finally:
        line.clear()
        channel.close()
    if args.junit:
        write_junit(report, args.junit)
    print(json.dumps(render_json(report)) if args.json else render_text(report))
    return _exit_status(report)
