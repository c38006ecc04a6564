"""`kvm-mmio explore`: explore models exhaustively with the Python reference (no TLC) and compare
each verdict, distinct-state count and depth with the manifest, as `kvm-mmio check` does for TLC."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import structlog

from kvm_mmio.config import Model, load_models
from kvm_mmio.explore import ExploreResult, explore_model
from kvm_mmio.trace import render_trace
from kvm_mmio_conformance.atomicfile import write_text
from kvm_mmio_tools.errors import UsageError
from kvm_mmio_tools.models import model_listing, select_models, spec_dir
from kvm_mmio_tools.progress import ProgressLine, states_text
from kvm_mmio_tools.verdict_table import (
    VerdictTable,
    add_trace_options,
    shown_counterexamples,
    summary,
    trace_choice,
)

__all__ = ["register"]

EXIT_STATUSES = {
    0: "every model is as the manifest expects",
    1: "a model is not: a verdict or a count differs",
    3: None,
}

log = structlog.get_logger()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explore",
        help="explore models with the Python reference and compare verdicts with the manifest",
        description="Explore every reachable state of the named models (default: the manifest's "
        "default set) with the Python reference, check each invariant and property the cfg "
        "lists, and compare verdicts, distinct-state counts and depths with "
        "spec/models/manifest.json. Exit 0 only when every model matches.",
    )
    parser.add_argument("models", nargs="*", metavar="MODEL", help="model names")
    parser.add_argument("--all", action="store_true", help="every model of the manifest")
    parser.add_argument("--list", action="store_true", help="list the models and exit")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_trace_options(parser)
    parser.add_argument(
        "--itf-dir",
        type=Path,
        metavar="DIR",
        help="write each counterexample as ITF: DIR/MODEL.CHECK.itf.json",
    )
    parser.set_defaults(handler=run)


def _select(names: list[str], everything: bool) -> list[Model]:
    """The reference's models for `kvm-mmio check`'s selection (the same order and errors); every
    name is checked before anything runs."""
    chosen = select_models(names, everything=everything)
    models = load_models(spec_dir())
    return [models[model.name] for model in chosen]


def _write_itf(folder: Path, name: str, document: dict) -> Path:
    """Write one ITF document atomically (temporary file, then rename)."""
    return write_text(folder / f"{name}.itf.json", json.dumps(document, indent=1) + "\n")


def _print_result(model: Model, result: ExploreResult, row: str, traces: str) -> bool:
    """The model's row, its problems and chosen counterexamples (``traces``, see trace_choice);
    whether one was left out that --traces would show."""
    print(row)
    for problem in result.problems:
        print(f"  ! {problem}")
    if result.unchecked:
        print(f"  not checked under SYMMETRY: {' '.join(result.unchecked)}")
    first = result.counterexample
    shown = shown_counterexamples(result, first[0] if first else None, traces)
    for name in shown:
        document = result.counterexamples[name]
        title = f"counterexample for {name} ({len(document['states'])} states):"
        text = render_trace(model.constants, document, title=title)
        print("\n".join("    " + line for line in text.splitlines()))
    return traces == "unexpected" and len(shown) < len(result.counterexamples)


def run(args: argparse.Namespace) -> int:
    if args.itf_dir is not None and args.itf_dir.exists() and not args.itf_dir.is_dir():
        raise UsageError(f"--itf-dir {args.itf_dir} exists and is not a folder")
    if args.list:
        print(model_listing())
        return 0
    models = _select(args.models, args.all)
    line = ProgressLine(enabled=False if args.json else None)
    begin = time.monotonic()
    table = VerdictTable.for_models(models, "explorer found")
    if not args.json:
        print(f"exploring {len(models)} model(s): {' '.join(m.name for m in models)}")
        print(table.header())
    results, hidden = [], False
    for model in models:

        def progress(states: int, queue: int, elapsed: float, name: str = model.name) -> None:
            line.update(states_text(name, states, queue, elapsed))

        result = explore_model(model, progress=progress)
        line.clear()
        log.info(
            "explore.done",
            model=model.name,
            ok=result.ok,
            states=result.distinct_states,
            depth=result.depth,
            seconds=round(result.seconds, 2),
        )
        if args.itf_dir is not None:
            for name, document in result.counterexamples.items():
                _write_itf(args.itf_dir, f"{model.name}.{name}", document)
        if not args.json:
            row = table.row(model, result, result.unchecked)
            hidden |= _print_result(model, result, row, trace_choice(args))
            sys.stdout.flush()
        results.append(result)
    ok = all(result.ok for result in results)
    if args.json:
        print(json.dumps({"ok": ok, "models": [result.as_json() for result in results]}))
    else:
        print(summary(results, time.monotonic() - begin, hidden))
    return 0 if ok else 1
