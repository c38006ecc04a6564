"""`kvm-mmio crosscheck`: TLC and the reference agree on graphs, counterexamples and traces."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kvm_mmio_tools.crosscheck import GRAPH_LIMIT, ModelCrossCheck, crosscheck_model
from kvm_mmio_tools.errors import UsageError
from kvm_mmio_tools.models import select_models
from kvm_mmio_tools.progress import ProgressLine, StageLine

__all__ = ["register"]

EXIT_STATUSES = {
    0: "TLC and the reference agree on everything compared",
    1: "they disagree somewhere, or a TLC run failed",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "crosscheck",
        help="cross-check TLC and the reference (graphs, counterexamples, random traces)",
        description="For each model: TLC's complete state graph equals the reference's; every "
        "TLC counterexample replays in the reference; random reference traces are accepted by "
        "TLC in one batch and their mutants rejected by TLC and the reference alike. "
        "Exit 0 only if everything agrees.",
    )
    parser.add_argument("models", nargs="*", metavar="MODEL", help="default: every model")
    parser.add_argument(
        "--traces", type=int, default=200, help="random traces per model (default 200)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random traces (default 0)")
    parser.add_argument("--workers", type=int, default=1, help="TLC workers per JVM (default 1)")
    parser.add_argument(
        "--graph-limit",
        type=int,
        default=GRAPH_LIMIT,
        help=f"compare graphs only of models with at most this many states (default "
        f"{GRAPH_LIMIT:,}: about 12,000 states/s on 2 cores, so under 2 minutes a model)",
    )
    parser.add_argument(
        "--save-dir",
        type=Path,
        default=Path("crosscheck-failures"),
        help="where failing traces are saved as ITF (default ./crosscheck-failures)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def _line(result: ModelCrossCheck) -> str:
    parts = [f"{'ok  ' if result.ok else 'FAIL'} {result.name:<22}"]
    if result.graph is not None:
        counts = result.graph.counts
        verdict = "identical" if result.graph.equal else "DIFFER"
        parts.append(f"graph {verdict} ({counts['states']:,} states, {counts['edges']:,} edges)")
    else:
        parts.append(f"graph skipped: {result.graph_skipped}")
    replayed = sum(r.replayed and r.violates for r in result.replays)
    parts.append(f"counterexamples {replayed}/{len(result.replays)} replayed")
    if result.traces is not None:
        t = result.traces
        parts.append(
            f"traces {t.accepted_by_tlc}/{t.traces} accepted, mutants "
            f"{t.rejected_by_tlc}/{t.mutants} rejected by TLC, "
            f"{t.rejected_by_reference}/{t.mutants} by the reference"
        )
    return f"{parts[0]} " + "; ".join(parts[1:]) + f" ({result.seconds:.0f}s)"


def _details(result: ModelCrossCheck) -> list[str]:
    lines = []
    if result.graph is not None and not result.graph.equal:
        lines += result.graph.describe().splitlines()
    for replay in result.replays:
        if not (replay.replayed and replay.violates):
            reason = replay.problem or f"its last state does not violate {replay.check}"
            lines.append(f"counterexample for {replay.check}: {reason}")
    if result.traces is not None:
        lines += list(result.traces.disagreements)
    lines += [f"saved {path}" for path in result.saved]
    return lines


def _as_json(result: ModelCrossCheck) -> dict:
    graph = result.graph
    traces = result.traces
    return {
        "name": result.name,
        "ok": result.ok,
        "seconds": result.seconds,
        "graph": None if graph is None else {"equal": graph.equal, **graph.counts},
        "graph_skipped": result.graph_skipped,
        "counterexamples": [
            {
                "check": r.check,
                "length": r.length,
                "replayed": r.replayed,
                "violates": r.violates,
                "problem": r.problem,
            }
            for r in result.replays
        ],
        "traces": None
        if traces is None
        else {
            "traces": traces.traces,
            "min_length": traces.min_length,
            "accepted_by_tlc": traces.accepted_by_tlc,
            "mutants": traces.mutants,
            "rejected_by_tlc": traces.rejected_by_tlc,
            "rejected_by_reference": traces.rejected_by_reference,
            "seconds_tlc": traces.seconds_tlc,
            "disagreements": list(traces.disagreements),
        },
        "saved": list(result.saved),
    }


def run(args: argparse.Namespace) -> int:
    if args.traces < 0 or args.workers < 1 or args.graph_limit < 0:
        raise UsageError("--traces and --graph-limit must be >= 0 and --workers >= 1")
    models = select_models(args.models, everything=not args.models)
    results = []
    status = StageLine(ProgressLine(enabled=False if args.json else None))
    for model in models:
        with status.ticking():
            result = crosscheck_model(
                model,
                traces=args.traces,
                seed_value=args.seed,
                workers=args.workers,
                graph_limit=args.graph_limit,
                save_dir=args.save_dir,
                status=status,
            )
        results.append(result)
        if not args.json:
            print(_line(result))
            for line in _details(result):
                print(f"     {line}")
            sys.stdout.flush()
    ok = all(result.ok for result in results)
    if args.json:
        counted = [r for r in results if r.graph is not None]
        traced = [r.traces for r in results if r.traces is not None]
        print(
            json.dumps(
                {
                    "ok": ok,
                    "states_compared": sum(r.graph.counts["states"] for r in counted),
                    "edges_compared": sum(r.graph.counts["edges"] for r in counted),
                    "traces_compared": sum(t.traces for t in traced),
                    "mutants_rejected": sum(t.rejected_by_tlc for t in traced),
                    "counterexamples_replayed": sum(len(r.replays) for r in results),
                    "models": [_as_json(result) for result in results],
                }
            )
        )
    else:
        print(f"{sum(r.ok for r in results)} of {len(results)} model(s) agree")
    return 0 if ok else 1
