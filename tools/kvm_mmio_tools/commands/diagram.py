"""`kvm-mmio diagram`: an ITF trace as a sequence diagram (one HTML page with an inline SVG).

Any input it cannot draw (not JSON, not ITF, a value nested too deep, an integer too long) and any
output it cannot write is one line on stderr and exit status 2. A trace of more than --max-steps
states is refused rather than drawn: the page grows with every step (a 180,000-state trace took
18 s, 2.25 GB and made a 153 MB page), so drawing one that large must be asked for.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kvm_mmio_conformance.atomicfile import write_text
from kvm_mmio_tools.diagram import sequence_diagram
from kvm_mmio_tools.errors import UsageError
from kvm_mmio_tools.itf_shape import check_trace

__all__ = ["DEFAULT_MAX_STEPS", "default_output", "register"]

# States drawn at most unless --max-steps says otherwise (about 0.5 s and a 4 MB page).
DEFAULT_MAX_STEPS = 5000

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
    parser.add_argument(
        "--max-steps",
        type=int,
        default=DEFAULT_MAX_STEPS,
        metavar="N",
        help="refuse a trace of more than N states (default %(default)s)",
    )
    parser.set_defaults(handler=run)


def default_output(trace: Path) -> Path:
    """TRACE.itf.json -> TRACE.html beside it."""
    name = trace.name.removesuffix(".json").removesuffix(".itf")
    return trace.with_name(name + ".html")


def _load(path: Path, max_steps: int) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{path} is not ITF JSON: not UTF-8 ({error.reason})") from None
    except RecursionError:
        raise UsageError(f"{path} is not ITF JSON: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, or an integer too long to convert
        raise UsageError(f"{path} is not ITF JSON: {error}") from None
    try:
        check_trace(document)
    except ValueError as error:
        raise UsageError(f"{path} is not an ITF trace: {error}") from None
    count = len(document["states"])
    if count > max_steps:
        raise UsageError(
            f"{path} has {count:,} states; a diagram draws at most {max_steps:,} "
            "(--max-steps N to draw more)"
        )
    return document


def run(args: argparse.Namespace) -> int:
    if args.max_steps < 1:
        raise UsageError(f"--max-steps must be at least 1, got {args.max_steps}")
    output = args.output or default_output(args.trace)
    if output.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--output must name an .html file, got {output}")
    document = _load(args.trace, args.max_steps)
    page = sequence_diagram(document)
    try:
        write_text(output, page)
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror or error}") from None
    print(f"wrote {output} ({len(document['states'])} states)")
    return 0
