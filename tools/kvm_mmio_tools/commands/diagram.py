"""`kvm-mmio diagram`: an ITF trace as a sequence diagram (one HTML page with an inline SVG)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kvm_mmio_conformance.atomicfile import write_text
from kvm_mmio_tools.diagram import sequence_diagram
from kvm_mmio_tools.errors import UsageError

__all__ = ["default_output", "register"]

EXIT_STATUSES = {1: None, 3: None, 4: None}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diagram",
        help="draw an ITF trace as a sequence diagram (HTML with an inline SVG)",
        description="Draw a trace (ITF JSON: a counterexample of `kvm-mmio explore --itf-dir`, "
        "a trace saved by `kvm-mmio crosscheck`, `Vm.to_itf()`) as a sequence diagram: a lane "
        "for the updater and one per vCPU, each step a box in its actor's lane with the "
        "variables it changed beside it. `kvm-mmio check --diagram-dir` draws TLC's "
        "counterexamples the same way.",
    )
    parser.add_argument("trace", type=Path, metavar="TRACE.itf.json", help="the ITF trace")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="OUT.html",
        help="where to write the page (default: the trace's name with .html)",
    )
    parser.set_defaults(handler=run)


def default_output(trace: Path) -> Path:
    """TRACE.itf.json -> TRACE.html beside it."""
    name = trace.name.removesuffix(".json").removesuffix(".itf")
    return trace.with_name(name + ".html")


def _load(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{path} is not ITF JSON: {error}") from None
    states = document.get("states") if isinstance(document, dict) else None
    if not isinstance(states, list) or not states or not all(isinstance(s, dict) for s in states):
        raise UsageError(f"{path} is not an ITF trace: 'states' must be a non-empty list of states")
    return document


def run(args: argparse.Namespace) -> int:
    document = _load(args.trace)
    output = args.output or default_output(args.trace)
    if output.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--output must name an .html file, got {output}")
    try:
        page = sequence_diagram(document)
    except (KeyError, TypeError, ValueError) as error:
        raise UsageError(
            f"{args.trace}: a state is not of this spec's variables: {error}"
        ) from None
    write_text(output, page)
    print(f"wrote {output} ({len(document['states'])} states)")
    return 0
