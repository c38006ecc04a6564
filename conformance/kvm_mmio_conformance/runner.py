"""Run cases against an implementation through a channel, and collect what happened to each.

Why separate from the CLI and the pytest plugin: both drive the same loop (hello, then each case:
skip it, or send its messages and judge each answer), and a case must mean the same thing
whichever way it is run. A case fails at its first wrong answer; the result keeps the message,
the expected and the observed value, the command's stderr tail, and a one-line command that
reruns just that case.

What a run's verdict means: `require` names a tier (default must), and the run is ok only if no
case of that tier or a lower one failed, at least one case ran (a run that skipped everything has
shown nothing), and it was not stopped early. It stops early when its overall deadline passes
(the case in progress fails) or on Ctrl-C or SIGTERM (the case in progress is dropped); the
report then holds the cases run so far and says why it stopped.

Every message carries an "id" (sent on the wire to protocol 2 implementations only), so that an
answer given twice is blamed on the case whose message it answers, even when it surfaces later.
"""

from __future__ import annotations

import bisect
import shlex
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import attrs

from kvm_mmio_conformance.capabilities import Implementation, parse_hello, skip_reason
from kvm_mmio_conformance.compare import mismatch
from kvm_mmio_conformance.protocol import (
    AdapterFailure,
    DeadlineExceeded,
    ExtraAnswer,
    hello_message,
)
from kvm_mmio_conformance.vectors import Case, tiers_up_to

__all__ = [
    "STATUSES",
    "CaseResult",
    "Channel",
    "MessageIds",
    "Report",
    "connect",
    "rerun_command",
    "run",
    "run_case",
]

STATUSES = ("passed", "failed", "skipped")


class Channel(Protocol):
    """How the runner reaches an implementation: InProcessChannel or SubprocessChannel. A
    channel may also have take_extra_answers() and finish() (SubprocessChannel does)."""

    def call(self, message: dict[str, Any], *, until: float | None = None) -> Any: ...

    def close(self) -> None: ...


class MessageIds:
    """The ids the messages of a run carry: 1, 2, 3, ... (`last` is the latest one given)."""

    def __init__(self) -> None:
        self.last = 0

    def take(self) -> int:
        self.last += 1
        return self.last


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
    """A whole run: who was tested, each case's result, the wall time, the tier whose failures
    fail the run, how many cases were selected, and why the run stopped early ("" if it ran to
    the end)."""

    implementation: Implementation
    results: tuple[CaseResult, ...]
    seconds: float
    require: str = "must"
    planned: int = 0
    stopped: str = ""

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)

    @property
    def ran(self) -> int:
        """Cases that were executed (passed or failed, not skipped)."""
        return self.count("passed") + self.count("failed")

    @property
    def required_failures(self) -> int:
        """Failed cases of the required tier or a lower one."""
        tiers = tiers_up_to(self.require)
        return sum(r.status == "failed" and r.case.tier in tiers for r in self.results)

    @property
    def ok(self) -> bool:
        """Ran to the end, executed at least one case, and no case up to `require` failed."""
        return not self.stopped and self.ran > 0 and not self.required_failures


def connect(channel: Channel) -> Implementation:
    """Greet the implementation and read its capabilities (AdapterFailure or ValueError if it
    cannot say who it is: then no case can be chosen)."""
    return parse_hello(channel.call(hello_message()))


def rerun_command(target: str, case: Case) -> str:
    """A shell command that runs just `case` again; `target` is the --impl/--cmd part."""
    tier = "" if case.tier == "must" else f" --tier {case.tier}"
    return f"kvm-mmio conformance {target} --layer {case.layer}{tier} --case {shlex.quote(case.id)}"


def _unrepeated(message: dict[str, Any], section: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(n, the single message) when `message` is a repeated operation the implementation does
    not take whole (it does not declare "repeat"): the runner sends the single one n times and
    judges the last answer; else (1, message)."""
    operation = message.get("operation")
    if message["op"] != "operation" or "repeat" not in operation or section.get("repeat"):
        return 1, message
    single = {key: value for key, value in operation.items() if key != "repeat"}
    return operation["repeat"], {**message, "operation": single}


def run_case(
    channel: Channel,
    implementation: Implementation,
    case: Case,
    *,
    ids: MessageIds | None = None,
    until: float | None = None,
) -> CaseResult:
    """Skip `case` with a reason, or send its messages in order until one is answered wrongly.
    Each message gets the next of `ids`; `until` (time.monotonic) is the run's deadline, passed
    to the channel (DeadlineExceeded propagates: the caller stops the run)."""
    reason = skip_reason(case, implementation)
    if reason:
        return CaseResult(case, "skipped", reason)
    ids = ids if ids is not None else MessageIds()
    section = implementation.capabilities[case.layer]
    observes = section.get("observes", ())
    for index, exchange in enumerate(case.exchanges):
        checks = [(exchange.message, exchange.expected)]
        wants_state = exchange.message["op"] in ("reset", "step") and "state" in exchange.expected
        if wants_state and "state" in observes:
            checks.append(({"op": "state"}, {"state": exchange.expected["state"]}))
        for message, expected in checks:
            times, sent = _unrepeated(message, section)
            try:
                for time_ in range(1, times):
                    answer = channel.call({**sent, "id": ids.take()}, until=until)
                    if not isinstance(answer, dict) or "error" in answer:
                        why = f"change {time_} of the {times} of a repeat refused: {answer}"
                        return CaseResult(case, "failed", why, index, message, expected, answer)
                observed = channel.call({**sent, "id": ids.take()}, until=until)
            except DeadlineExceeded:
                raise
            except AdapterFailure as failure:
                return CaseResult(
                    case, "failed", str(failure), index, message, expected, None, failure.stderr
                )
            problem = mismatch(message["op"], expected, observed, observes)
            if problem:
                return CaseResult(case, "failed", problem, index, message, expected, observed)
    return CaseResult(case, "passed")


class _Blame:
    """Which case sent which message id, so that an extra answer fails the case it answers."""

    def __init__(self) -> None:
        self.first_ids: list[int] = []  # the first message id of each case run, by results index

    def started(self, first_id: int) -> None:
        self.first_ids.append(first_id)

    def owner(self, message_id: int | None) -> int | None:
        """The results index of the case that sent `message_id` (None: the latest case)."""
        if message_id is None:
            return len(self.first_ids) - 1 if self.first_ids else None
        index = bisect.bisect_right(self.first_ids, message_id) - 1
        return index if index >= 0 else None

    def fail_owners(self, results: list[CaseResult], extras: Iterable[ExtraAnswer]) -> None:
        """Fail each case an extra answer line belongs to (its first such line is reported)."""
        for extra in extras:
            index = self.owner(extra.answered)
            if index is None or results[index].status == "failed":
                continue
            if extra.answered is None:
                which = "the last message before it"
            else:
                which = f"this case's message with id {extra.answered}"
            results[index] = attrs.evolve(
                results[index],
                status="failed",
                reason=f"output line {extra.line} is a second answer to {which}: {extra.text}; "
                "each message must be answered exactly once",
            )


def run(
    channel: Channel,
    cases: Iterable[Case],
    *,
    target: str = "",
    implementation: Implementation | None = None,
    progress: Callable[[int, CaseResult], None] | None = None,
    require: str = "must",
    deadline: float | None = None,
) -> Report:
    """Run every case in order (greeting the implementation first unless `implementation` is
    given). `target` (the --impl/--cmd arguments) makes each failure's rerun command;
    `progress(index, result)` is called after each case; `deadline` is the most seconds the run
    may take from here. A run that gets to its end finishes the channel (`finish()`, where it
    has one: the input ends and lines written after the last answer fail the case they follow);
    Ctrl-C or SIGTERM (KeyboardInterrupt) ends the run with the report of the cases done so
    far. Either way the caller closes the channel."""
    tiers_up_to(require)
    started = time.perf_counter()
    until = None if deadline is None else time.monotonic() + deadline
    cases = list(cases)
    results: list[CaseResult] = []
    blame, ids, stopped = _Blame(), MessageIds(), ""
    take_extras = getattr(channel, "take_extra_answers", list)
    try:
        if implementation is None:
            implementation = connect(channel)
        for index, case in enumerate(cases):
            if until is not None and time.monotonic() >= until:
                stopped = f"the run's deadline of {deadline:g} s passed"
                break
            blame.started(ids.last + 1)
            try:
                result = run_case(channel, implementation, case, ids=ids, until=until)
            except DeadlineExceeded as failure:
                result = CaseResult(case, "failed", str(failure), stderr=failure.stderr)
                stopped = f"the run's deadline of {deadline:g} s passed"
            results.append(result)
            blame.fail_owners(results, take_extras())
            if progress is not None:
                progress(index, results[-1])
            if stopped:
                break
        else:
            finish = getattr(channel, "finish", None)
            if finish is not None:
                finish()
                blame.fail_owners(results, take_extras())
    except KeyboardInterrupt as interrupt:
        stopped = f"interrupted ({interrupt.args[0] if interrupt.args else 'SIGINT'})"
    if target:
        results = [
            attrs.evolve(r, rerun=rerun_command(target, r.case)) if r.status == "failed" else r
            for r in results
        ]
    return Report(
        implementation or Implementation("(no hello answer)", {"layers": []}),
        tuple(results),
        time.perf_counter() - started,
        require,
        len(cases),
        stopped,
    )
