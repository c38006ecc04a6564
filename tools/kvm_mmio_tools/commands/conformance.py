"""`kvm-mmio conformance`: run the conformance vectors against an implementation, or the mutants.

A thin layer over kvm_mmio_conformance (vectors, channels, runner, report, mutants): this module
parses arguments, picks the channel (--impl in process, --cmd out of process), prints and sets
the exit status: 0 when no must-tier case failed (should/may failures are listed and counted but
do not change it), 1 when one did (or, with --mutants, when a mutant survived), 2 for bad
arguments, 3 when the implementation cannot even say hello.
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
from kvm_mmio_conformance.runner import CaseResult, connect, run
from kvm_mmio_conformance.vectors import TIERS, load_vectors, select
from kvm_mmio_tools.errors import ToolError, UsageError
from kvm_mmio_tools.progress import ProgressLine

__all__ = ["register"]

EXIT_STATUSES = {
    0: "no must-tier case failed (should and may failures are reported, not counted)",
    1: "a must-tier case failed (with --mutants: a mutant survived)",
    3: "the implementation did not start or answer hello",
    4: None,
}

EXIT_OK, EXIT_FAILED = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "conformance",
        help="run the conformance vectors against an implementation (or the mutants catalog)",
        description="Run the conformance vectors against an implementation: in process "
        "(--impl module:factory, a Python adapter) or out of process (--cmd, a command speaking "
        "JSON lines on stdin/stdout; see conformance/README.md). Cases its capabilities rule out "
        "are skipped with the reason. Exit 0 only if no must-tier case fails; should and may "
        "failures are reported without changing the exit status.",
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
        help="run the tiers up to this one (default: must; with --mutants: should, so that the "
        "steps level can reject the races)",
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
    kills = hunt(select(load_vectors(), tier=tier, layers=args.layers or LAYERS))
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
            }
            for kill in kills
        ]
        print(json.dumps({"ok": all(kill.rejected for kill in kills), "mutants": mutants}))
    else:
        print(render_kills(kills))
    return EXIT_OK if all(kill.rejected for kill in kills) else EXIT_FAILED


def run_conformance(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be > 0 seconds, got {args.timeout:g}")
    if args.mutants:
        return _run_mutants(args)
    tier = args.tier or "must"
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
            channel, cases, target=_target(args), implementation=implementation, progress=progress
        )
    finally:
        line.clear()
        channel.close()
    if args.junit:
        write_junit(report, args.junit)
    print(json.dumps(render_json(report)) if args.json else render_text(report))
    return EXIT_OK if report.ok else EXIT_FAILED
