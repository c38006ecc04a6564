"""Run cases against an implementation through a channel, and collect what happened to each.

Why separate from the CLI and the pytest plugin: both drive the same loop (hello, then each case:
skip it, or send its messages and judge each answer), and a case must mean the same thing
whichever way it is run. A case fails at its first wrong answer; the result keeps the message,
the expected and the observed value, the command's stderr tail, and a one-line command that
reruns just that case. Only must-tier failures make a run not ok: should and may failures are
reported and counted, so that an implementation can see how far it goes beyond the minimum.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import attrs

from kvm_mmio_conformance.capabilities import Implementation, parse_hello, skip_reason
from kvm_mmio_conformance.compare import mismatch
from kvm_mmio_conformance.protocol import AdapterFailure, hello_message
from kvm_mmio_conformance.vectors import Case

__all__ = [
    "STATUSES",
    "CaseResult",
    "Channel",
    "Report",
    "connect",
    "rerun_command",
    "run",
    "run_case",
]

STATUSES = ("passed", "failed", "skipped")


class Channel(Protocol):
    """How the runner reaches an implementation: InProcessChannel or SubprocessChannel."""

    def call(self, message: dict[str, Any]) -> Any: ...

    def close(self) -> None: ...


@attrs.frozen
class CaseResult:
    """What happened to one case. For a failure: `step` is the index of the message that got a
    wrong answer (0 is the first: the reset at the operations and steps levels)."""

    case: Case
    status: str
    reason: str = ""
    step: int | None = None
    message: dict[str, Any] | None = None
    expected: Any = None
    observed: Any = None
    stderr: str = ""
    rerun: str = ""


@attrs.frozen
class Report:
    """A whole run: who was tested, each case's result, and the wall time."""

    implementation: Implementation
    results: tuple[CaseResult, ...]
    seconds: float

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)

    @property
    def ok(self) -> bool:
        """No must-tier case failed."""
        return not any(r.status == "failed" and r.case.tier == "must" for r in self.results)


def connect(channel: Channel) -> Implementation:
    """Greet the implementation and read its capabilities (AdapterFailure or ValueError if it
    cannot say who it is: then no case can be chosen)."""
    return parse_hello(channel.call(hello_message()))


def rerun_command(target: str, case: Case) -> str:
    """A shell command that runs just `case` again; `target` is the --impl/--cmd part."""
    tier = "" if case.tier == "must" else f" --tier {case.tier}"
    return f"kvm-mmio conformance {target} --layer {case.layer}{tier} --case {shlex.quote(case.id)}"


def run_case(channel: Channel, implementation: Implementation, case: Case) -> CaseResult:
    """Skip `case` with a reason, or send its messages in order until one is answered wrongly."""
    reason = skip_reason(case, implementation)
    if reason:
        return CaseResult(case, "skipped", reason)
    observes = implementation.capabilities[case.layer].get("observes", ())
    for index, exchange in enumerate(case.exchanges):
        checks = [(exchange.message, exchange.expected)]
        wants_state = exchange.message["op"] in ("reset", "step") and "state" in exchange.expected
        if wants_state and "state" in observes:
            checks.append(({"op": "state"}, {"state": exchange.expected["state"]}))
        for message, expected in checks:
            try:
                observed = channel.call(message)
            except AdapterFailure as failure:
                return CaseResult(
                    case, "failed", str(failure), index, message, expected, None, failure.stderr
                )
            problem = mismatch(message["op"], expected, observed, observes)
            if problem:
                return CaseResult(case, "failed", problem, index, message, expected, observed)
    return CaseResult(case, "passed")


def run(
    channel: Channel,
    cases: Iterable[Case],
    *,
    target: str = "",
    implementation: Implementation | None = None,
    progress: Callable[[int, CaseResult], None] | None = None,
) -> Report:
    """Run every case in order (greeting the implementation first unless `implementation` is
    given). `target` (the --impl/--cmd arguments) makes each failure's rerun command;
    `progress(index, result)` is called after each case."""
    started = time.perf_counter()
    if implementation is None:
        implementation = connect(channel)
    results = []
    for index, case in enumerate(cases):
        result = run_case(channel, implementation, case)
        if result.status == "failed" and target:
            result = attrs.evolve(result, rerun=rerun_command(target, case))
        results.append(result)
        if progress is not None:
            progress(index, result)
    return Report(implementation, tuple(results), time.perf_counter() - started)
