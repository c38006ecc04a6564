"""`kvm-mmio explore`: explore models exhaustively with the Python reference (no TLC) and compare
each verdict, distinct-state count and depth with the manifest, as `kvm-mmio check` does for TLC."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import structlog

from kvm_mmio.config import Model, load_model, load_models
from kvm_mmio.explore import ExploreResult, explore_model
from kvm_mmio.trace import render_trace
from kvm_mmio_conformance.atomicfile import write_text
from kvm_mmio_tools.errors import UsageError
from kvm_mmio_tools.progress import ProgressLine, states_text

__all__ = ["register"]

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
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--itf-dir",
        type=Path,
        metavar="DIR",
        help="write each counterexample as ITF: DIR/MODEL.CHECK.itf.json",
    )
    parser.set_defaults(handler=run)


def _select(names: list[str], everything: bool) -> list[Model]:
    """The models to explore; every name is checked before anything runs."""
    try:
        return _load(names, everything)
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None


def _load(names: list[str], everything: bool) -> list[Model]:
    if everything or not names:
        models = load_models()
        return list(models.values()) if everything else [m for m in models.values() if m.default]
    return [load_model(name) for name in names]


def _write_itf(folder: Path, name: str, document: dict) -> Path:
    """Write one ITF document atomically (temporary file, then rename)."""
    return write_text(folder / f"{name}.itf.json", json.dumps(document, indent=1) + "\n")


def _verdict_line(result: ExploreResult) -> str:
    status = "ok  " if result.ok else "FAIL"
    violated = " ".join(result.violated) or "-"
    line = (
        f"{status} {result.name:<22} {result.distinct_states:>9,} {result.depth:>5} "
        f"{result.seconds:>7.1f}s  violated: {violated}"
    )
    if result.unchecked:
        line += f"  (not checked under SYMMETRY: {' '.join(result.unchecked)})"
    return line


def _print_result(model: Model, result: ExploreResult) -> None:
    print(_verdict_line(result))
    for problem in result.problems:
        print(f"     ! {problem}")
    for name, document in result.counterexamples.items():
        title = f"counterexample for {name} ({len(document['states'])} states):"
        text = render_trace(model.constants, document, title=title)
        print("\n".join("     " + line for line in text.splitlines()))


def run(args: argparse.Namespace) -> int:
    if args.itf_dir is not None and args.itf_dir.exists() and not args.itf_dir.is_dir():
        raise UsageError(f"--itf-dir {args.itf_dir} exists and is not a folder")
    models = _select(args.models, args.all)
    line = ProgressLine(enabled=False if args.json else None)
    begin = time.monotonic()
    if not args.json:
        print(f"exploring {len(models)} model(s): {' '.join(m.name for m in models)}")
        print(f"     {'model':<22} {'states':>9} {'depth':>5} {'time':>8}")
    results = []
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
            _print_result(model, result)
            sys.stdout.flush()
        results.append(result)
    ok = all(result.ok for result in results)
    if args.json:
        print(json.dumps({"ok": ok, "models": [result.as_json() for result in results]}))
    else:
        matched = sum(result.ok for result in results)
        print(
            f"{matched} of {len(results)} model(s) as the manifest expects "
            f"({time.monotonic() - begin:.1f}s wall)"
        )
    return 0 if ok else 1
