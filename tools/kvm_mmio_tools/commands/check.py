"""`kvm-mmio check`: run TLC on models and compare each verdict with the manifest."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from kvm_mmio_conformance.atomicfile import write_text
from kvm_mmio_tools.check import ModelReport, check_models
from kvm_mmio_tools.counterexample import counterexample_json, render_counterexample
from kvm_mmio_tools.diagram import sequence_diagram
from kvm_mmio_tools.distributed_check import (
    DistributedReport,
    check_models_distributed,
    worker_commands_text,
)
from kvm_mmio_tools.errors import UsageError
from kvm_mmio_tools.itf import tlc_trace_to_itf
from kvm_mmio_tools.models import (
    Model,
    model_listing,
    select_models,
    spec_variables,
    write_manifest,
)
from kvm_mmio_tools.progress import ProgressLine, rate
from kvm_mmio_tools.tlc import Progress
from kvm_mmio_tools.verdict_table import (
    InOrder,
    VerdictTable,
    add_trace_options,
    shown_counterexamples,
    summary,
    trace_choice,
)

__all__ = ["register"]

EXIT_STATUSES = {
    0: "every model is as the manifest expects",
    1: "a model is not: a verdict or a count differs, or its TLC run failed or timed out",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="model-check the spec with TLC and compare verdicts with the manifest",
        description="Run TLC on the named models (default: the manifest's default set) and "
        "compare each verdict, distinct-state count and depth with spec/models/manifest.json. "
        "Exit 0 only when every model matches.",
    )
    parser.add_argument("models", nargs="*", metavar="MODEL", help="model names (see --list)")
    parser.add_argument("--all", action="store_true", help="every model of the manifest")
    parser.add_argument("--list", action="store_true", help="list the models and exit")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="TLC workers per JVM (default 1); with --distributed, worker JVMs (default 2)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="JVMs at once (default 2)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per TLC run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_trace_options(parser)
    parser.add_argument(
        "--diagram-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="draw each counterexample as a sequence diagram: DIR/MODEL.CHECK.html",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the measured counts into the manifest (for an intended change of the spec)",
    )
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="use TLC's distributed mode (a server and --workers worker JVMs on 127.0.0.1, one "
        "model at a time); a verdict it cannot be trusted on is re-checked locally",
    )
    parser.add_argument(
        "--fpset",
        action="store_true",
        help="with --distributed: keep the fingerprints in a DistributedFPSet JVM",
    )
    parser.add_argument(
        "--print-worker-command",
        action="store_true",
        help="with --distributed: print the server and worker command lines, start nothing",
    )
    parser.set_defaults(handler=run)


def _validate(args: argparse.Namespace) -> None:
    if (args.fpset or args.print_worker_command) and not args.distributed:
        raise UsageError("--fpset and --print-worker-command need --distributed")
    if args.distributed and args.record:
        raise UsageError("--record needs local runs (distributed TLC's depth is not reliable)")
    if args.workers is None:
        args.workers = 2 if args.distributed else 1
    for name in ("workers", "jobs"):
        value = getattr(args, name)
        if not 1 <= value <= 64:
            raise UsageError(f"--{name} must be between 1 and 64, got {value}")
    if args.diagram_dir is not None and args.diagram_dir.exists() and not args.diagram_dir.is_dir():
        raise UsageError(f"--diagram-dir {args.diagram_dir} exists and is not a folder")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout}")


class _Status:
    """The live progress line: models done, the running ones with their elapsed time and, once TLC
    has reported (about once a minute), their state counts and rate."""

    def __init__(self, total: int, line: ProgressLine):
        self.total, self.line = total, line
        self.begin = time.monotonic()
        self.started: dict[str, float] = {}
        self.last: dict[str, Progress] = {}
        self.done: set[str] = set()
        self.lock = threading.Lock()

    def elapsed(self) -> float:
        return time.monotonic() - self.begin

    def start(self, model: Model) -> None:
        with self.lock:
            self.started[model.name] = time.monotonic()

    def progress(self, name: str, report: Progress) -> None:
        with self.lock:
            self.last[name] = report

    def finish(self, name: str) -> None:
        with self.lock:
            self.done.add(name)

    def render(self) -> str:
        with self.lock:
            parts = []
            for name, since in self.started.items():
                if name in self.done:
                    continue
                text = f"{name} {time.monotonic() - since:.0f}s"
                if (report := self.last.get(name)) is not None:
                    text += (
                        f" {report.distinct:,} states {rate(report.distinct, report.elapsed)}"
                        f" queue {report.queue:,}"
                    )
                parts.append(text)
            return f"[{len(self.done)}/{self.total} {self.elapsed():.0f}s] " + "; ".join(parts)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        self.line.clear()
        yield

    @contextlib.contextmanager
    def ticking(self) -> Iterator[None]:
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(0.5):
                self.line.update(self.render(), force=True)

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join()
            self.line.clear()


def _draw(report: ModelReport, folder: Path) -> list[Path]:
    """Each counterexample of the report as DIR/MODEL.CHECK.html."""
    written = []
    for check, trace in report.counterexamples.items():
        document = tlc_trace_to_itf(
            trace,
            model=report.name,
            description=f"TLC's counterexample for {check} in {report.name}",
            variables=spec_variables(),
        )
        document["#meta"]["invariant"] = check
        written.append(
            write_text(folder / f"{report.name}.{check}.html", sequence_diagram(document))
        )
    return written


def _print_report(report: ModelReport, row: str, traces: str, notes: Sequence[str] = ()) -> bool:
    """The model's row, its problems, notes and chosen counterexamples (``traces``, see
    trace_choice); whether one was left out that --traces would show."""
    print(row)
    for problem in report.problems:
        print(f"  ! {problem}")
    for note in notes:
        print(f"  {note}")
    first = report.first_counterexample()
    shown = shown_counterexamples(report, first[0] if first else None, traces)
    for name in shown:
        text = render_counterexample(name, report.counterexamples[name])
        print("\n".join("    " + line for line in text.splitlines()))
    return traces == "unexpected" and len(shown) < len(report.counterexamples)


def _as_json(report: ModelReport) -> dict:
    first = report.first_counterexample()
    return {
        "name": report.name,
        "ok": report.ok,
        "expected": {
            "holds": list(report.expected_holds),
            "violated": list(report.expected_violated),
        },
        "holds": list(report.holds),
        "violated": list(report.violated),
        "distinct_states": report.distinct_states,
        "depth": report.depth,
        "seconds": report.seconds,
        "counterexample": counterexample_json(first[1]) if first else None,
        "counterexamples": {
            name: counterexample_json(trace) for name, trace in report.counterexamples.items()
        },
        "problems": list(report.problems),
    }


class _Output:
    """What the command prints as models finish: the table's rows in manifest order, each with
    its problems, notes, diagrams and chosen counterexamples (nothing with --json)."""

    def __init__(self, args: argparse.Namespace, models: list[Model], status: _Status):
        self.args, self.status = args, status
        self.models = {model.name: model for model in models}
        self.table = VerdictTable.for_models(models, "TLC found")
        self.traces = trace_choice(args)
        self.rows = InOrder([model.name for model in models], self._emit)
        self.hidden = False

    def header(self, how: str) -> None:
        if not self.args.json:
            names = " ".join(self.models)
            print(f"checking {len(self.models)} model(s) with {how}: {names}")
            print(self.table.header())
            sys.stdout.flush()

    def _emit(self, printer: Callable[[], bool]) -> None:
        with self.status.paused():
            self.hidden |= printer()
            sys.stdout.flush()

    def done(self, report: ModelReport, notes: Sequence[str] = ()) -> None:
        self.status.finish(report.name)
        drawn = _draw(report, self.args.diagram_dir) if self.args.diagram_dir is not None else []
        if self.args.json:
            return
        notes = [*(f"diagram: {path}" for path in drawn), *notes]
        row = self.table.row(self.models[report.name], report)
        self.rows.add(report.name, lambda: _print_report(report, row, self.traces, notes))

    def summary(self, reports: list[ModelReport]) -> None:
        print(summary(reports, self.status.elapsed(), self.hidden))


def _run_distributed(
    args: argparse.Namespace, models: list[Model], status: _Status, output: _Output
) -> list[tuple[ModelReport, dict]]:
    """--distributed: each model's report with its mode and notes; warnings go to stderr."""

    def warn(text: str) -> None:
        with status.paused():
            print(f"warning: {text}", file=sys.stderr)

    def on_done(report: DistributedReport) -> None:
        output.done(report.report, [f"mode: {report.mode}", *(f"~ {n}" for n in report.notes)])

    results = check_models_distributed(
        models,
        workers=args.workers,
        fpset=args.fpset,
        timeout=args.timeout,
        on_progress=status.progress,
        on_warning=warn,
        on_start=status.start,
        on_done=on_done,
    )
    return [
        (r.report, {"mode": r.mode, "notes": list(r.notes), "warnings": list(r.warnings)})
        for r in results
    ]


def run(args: argparse.Namespace) -> int:
    _validate(args)
    if args.list:
        print(model_listing())
        return 0
    models = select_models(args.models, everything=args.all)
    if args.print_worker_command:
        for model in models:
            print(worker_commands_text(model, workers=args.workers, fpset=args.fpset))
        return 0
    status = _Status(len(models), ProgressLine(enabled=False if args.json else None))
    output = _Output(args, models, status)
    output.header("distributed TLC" if args.distributed else "TLC")
    extras: dict[str, dict] = {}
    with status.ticking():
        if args.distributed:
            pairs = _run_distributed(args, models, status, output)
            reports = [report for report, _ in pairs]
            extras = {report.name: extra for report, extra in pairs}
        else:
            reports = check_models(
                models,
                jobs=args.jobs,
                workers=args.workers,
                timeout=args.timeout,
                on_progress=status.progress,
                on_start=status.start,
                on_done=output.done,
            )
    ok = all(report.ok for report in reports)
    if args.record:
        counted = {
            r.name: (r.distinct_states, r.depth)
            for r in reports
            if r.distinct_states is not None
            and not [p for p in r.problems if "manifest records" not in p]
        }
        path = write_manifest(counted)
        if not args.json:
            print(f"recorded the counts of {len(counted)} model(s) in {path}")
    if args.json:
        documents = [_as_json(report) | extras.get(report.name, {}) for report in reports]
        print(json.dumps({"ok": ok, "models": documents}))
    else:
        output.summary(reports)
    return 0 if ok else 1
