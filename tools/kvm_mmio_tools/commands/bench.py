"""`kvm-mmio bench`: measure, in one run, TLC against the reference explorer on growing models,
batched trace validation against one TLC process per trace, the spte encoding, and the
conformance must tier in and out of process; print a table (or JSON) and optionally a PNG."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kvm_mmio_tools import bench_plot
from kvm_mmio_tools.bench_ladder import SIZES
from kvm_mmio_tools.bench_report import render_text
from kvm_mmio_tools.bench_run import BenchOptions, run_bench
from kvm_mmio_tools.errors import UsageError
from kvm_mmio_tools.progress import ProgressLine, StageLine

__all__ = ["register"]

EXIT_STATUSES = {
    0: "no two measured things disagree (a missed target is reported, not an error)",
    1: "two measured things disagree (state counts, graphs, trace verdicts, round trips)",
}

MAX_TRACES = 100_000
MAX_SAMPLE = 100


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark TLC, the reference explorer, state graphs, trace validation, spte and "
        "conformance",
        description="Measure in one run: TLC (one worker) against the reference explorer on a "
        "ladder of growing models (wall time, states/s, peak RSS of each process); TLC's state "
        "graph against the reference's on the ladder's largest model without symmetry; batched "
        "trace validation by TLC against one TLC process per trace (measured on a sample, "
        "extrapolated); the spte encoding's throughput; the conformance must tier against the "
        "reference in and out of process. Prints the machine and a table of figures and "
        "ratios. Exit 0 unless two measured things disagree (state counts, state graphs, trace "
        "verdicts, round trips); a missed target is reported, not an error.",
    )
    parser.add_argument(
        "--size",
        choices=tuple(SIZES),
        default="medium",
        help="the model ladder: small = host, bug_stale_cache, safe_liveness (seconds); "
        "medium (default) adds safe_wrap, bug_no_wrap_zap, safe, safe_full (a few minutes); "
        "large adds scale_2as and scale_updates (1.0M and 2.0M states: tens of minutes)",
    )
    parser.add_argument(
        "--traces",
        type=int,
        default=1000,
        metavar="N",
        help=f"traces in the validation batch, 1 to {MAX_TRACES:,} (default 1000)",
    )
    parser.add_argument(
        "--trace-sample",
        type=int,
        default=5,
        metavar="N",
        help=f"of those, validated one TLC process each, 1 to {MAX_SAMPLE} and at most "
        "--traces (default 5)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the traces (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png",
        help="also draw states, wall time and peak RSS per model into this PNG "
        "(needs the extra 'plot': matplotlib)",
    )
    parser.set_defaults(handler=run)


def _validate(args: argparse.Namespace) -> None:
    if not 1 <= args.traces <= MAX_TRACES:
        raise UsageError(f"--traces must be between 1 and {MAX_TRACES}, got {args.traces}")
    limit = min(MAX_SAMPLE, args.traces)
    if not 1 <= args.trace_sample <= limit:
        raise UsageError(
            f"--trace-sample must be between 1 and {limit} (at most {MAX_SAMPLE} and at most "
            f"--traces), got {args.trace_sample}"
        )
    if args.plot is not None:
        if args.plot.suffix.lower() != ".png":
            raise UsageError(f"--plot must name a .png file, got {args.plot}")
        if args.plot.is_dir():
            raise UsageError(f"--plot {args.plot} is a folder")
        bench_plot.require()


def run(args: argparse.Namespace) -> int:
    _validate(args)
    options = BenchOptions(
        size=args.size, traces=args.traces, trace_sample=args.trace_sample, seed=args.seed
    )
    status = StageLine(ProgressLine(enabled=False if args.json else None))
    with status.ticking():
        result = run_bench(options, status)
        if args.plot is not None:
            status.stage(f"drawing {args.plot}")
            title = (
                f"kvm-mmio bench, size {options.size}: {result.machine['cpu']}, "
                f"{result.machine['cores']} cores, {result.machine['date']}"
            )
            bench_plot.write_plot(result.models, args.plot, title=title)
    if args.json:
        document = result.as_json()
        document["plot"] = None if args.plot is None else str(args.plot)
        print(json.dumps(document))
    else:
        print(render_text(result))
        if args.plot is not None:
            print(f"\nplot: {args.plot}")
    return 0 if result.ok else 1
