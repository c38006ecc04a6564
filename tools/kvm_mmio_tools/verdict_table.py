"""The table `kvm-mmio check` and `kvm-mmio explore` print: one row per model, in manifest order,
with what the manifest expects, what the checker found and whether the two agree.

Why spelled out: a bare "ok ... violated: ObservationsAllowed" reads as a contradiction to someone
who does not know that the model is a finding, expected to fail. So each row says what was expected
("holds", "violates X", "finding: violates X"), what was found, and "yes" or "NO"; the legend says
what agreeing means. Columns are sized from the models about to run, so rows can be printed as
they finish.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import attrs

__all__ = [
    "LEGEND",
    "ExpectedModel",
    "InOrder",
    "Verdict",
    "VerdictTable",
    "add_trace_options",
    "expected_text",
    "found_text",
    "shown_counterexamples",
    "summary",
    "trace_choice",
]

LEGEND = (
    "agree: the verdict, distinct states and depth are the manifest's; "
    "finding: a race in today's kernel, expected to be found"
)


class ExpectedModel(Protocol):
    """A model as the manifest describes it (kvm_mmio.config.Model, kvm_mmio_tools.models.Model)."""

    name: str
    kind: str
    expect_violated: tuple[str, ...]


class Verdict(Protocol):
    """What a checker found for one model (ModelReport of TLC, ExploreResult of the explorer)."""

    name: str
    expected_holds: tuple[str, ...]
    expected_violated: tuple[str, ...]
    holds: tuple[str, ...]
    violated: tuple[str, ...]
    distinct_states: int | None
    depth: int | None
    seconds: float
    counterexamples: dict

    @property
    def ok(self) -> bool: ...


def expected_text(model: ExpectedModel) -> str:
    """ "holds", "violates X Y" or, for a finding of this project, "finding: violates X Y"."""
    if not model.expect_violated:
        return "holds"
    text = "violates " + " ".join(model.expect_violated)
    return f"finding: {text}" if model.kind == "finding" else text


def found_text(verdict: Verdict, unchecked: Iterable[str] = ()) -> str:
    """ "violates X Y", "holds", or "no verdict" when a check the model lists got none (its run
    failed; the row's problems say why). ``unchecked`` are checks the checker skips on purpose."""
    if verdict.violated:
        return "violates " + " ".join(verdict.violated)
    decided = {*verdict.holds, *unchecked}
    listed = (*verdict.expected_holds, *verdict.expected_violated)
    return "holds" if all(name in decided for name in listed) else "no verdict"


@attrs.frozen
class VerdictTable:
    """Column widths for a set of models, and the rows' text."""

    found_title: str
    name_width: int
    expected_width: int
    found_width: int

    @classmethod
    def for_models(cls, models: Sequence[ExpectedModel], found_title: str) -> VerdictTable:
        expected = [expected_text(model) for model in models]
        return cls(
            found_title=found_title,
            name_width=max([len("model"), *(len(model.name) for model in models)]),
            expected_width=max([len("expected"), *(len(text) for text in expected)]),
            # What is found is usually what is expected, without "finding: ".
            found_width=max(
                [len(found_title), *(len(text.removeprefix("finding: ")) for text in expected)]
            ),
        )

    def _line(self, name: str, expected: str, found: str, agree: str, numbers: str) -> str:
        return (
            f"{name:<{self.name_width}}  {expected:<{self.expected_width}}  "
            f"{found:<{self.found_width}}  {agree:<5} {numbers}"
        ).rstrip()

    def header(self) -> str:
        numbers = f"{'states':>9} {'depth':>5} {'time':>7}"
        return self._line("model", "expected", self.found_title, "agree", numbers)

    def row(self, model: ExpectedModel, verdict: Verdict, unchecked: Iterable[str] = ()) -> str:
        states = f"{verdict.distinct_states:,}" if verdict.distinct_states is not None else "-"
        depth = str(verdict.depth) if verdict.depth is not None else "-"
        numbers = f"{states:>9} {depth:>5} {verdict.seconds:>6.1f}s"
        return self._line(
            model.name,
            expected_text(model),
            found_text(verdict, unchecked),
            "yes" if verdict.ok else "NO",
            numbers,
        )


def add_trace_options(parser: argparse.ArgumentParser) -> None:
    """--traces and --no-traces: which counterexamples are printed under the rows."""
    traces = parser.add_mutually_exclusive_group()
    traces.add_argument(
        "--traces",
        action="store_true",
        help="print each model's first counterexample (the default when models are named; "
        "otherwise only counterexamples the manifest does not expect are printed)",
    )
    traces.add_argument("--no-traces", action="store_true", help="print no counterexample")


def trace_choice(args: argparse.Namespace) -> str:
    """ "none", "first" (--traces, or models named: someone looking at them) or "unexpected" (a
    whole run: only what contradicts the manifest, so that a good run is one screen)."""
    if args.no_traces:
        return "none"
    return "first" if args.traces or args.models else "unexpected"


def shown_counterexamples(verdict: Verdict, first: str | None, choice: str) -> list[str]:
    """The checks whose counterexamples go under the row: every violated check the manifest
    expects to hold, after ``first`` (the model's first counterexample) if ``choice`` is "first"."""
    if choice == "none":
        return []
    unexpected = [
        name
        for name in verdict.violated
        if name not in verdict.expected_violated and name in verdict.counterexamples
    ]
    if choice == "first" and first is not None:
        return [first, *(name for name in unexpected if name != first)]
    return unexpected


def summary(verdicts: Sequence[Verdict], seconds: float, hidden: bool) -> str:
    """The legend and the closing line (``hidden``: some counterexample was not printed)."""
    matched = sum(verdict.ok for verdict in verdicts)
    hint = "; counterexamples: --traces, or name the models" if hidden else ""
    return (
        f"{LEGEND}\n{matched} of {len(verdicts)} model(s) as the manifest expects "
        f"({seconds:.1f}s wall){hint}"
    )


class InOrder:
    """Prints each model's part of the table once it and every model before it are done, so that
    the table is in manifest order while the models finish in any order."""

    def __init__(self, names: Sequence[str], emit: Callable[[Callable[[], bool]], None]):
        self.pending = list(names)
        self.done: dict[str, Callable[[], bool]] = {}
        self.emit = emit
        self.lock = threading.Lock()

    def add(self, name: str, printer: Callable[[], bool]) -> None:
        with self.lock:
            self.done[name] = printer
            while self.pending and self.pending[0] in self.done:
                self.emit(self.done.pop(self.pending.pop(0)))
