"""Turn TLC's ``-tool`` output into a TlcResult: counts, progress, violations, trace, SANY text.

Why incremental: the driver feeds lines while TLC runs (to report progress), and the tests feed
recorded outputs; both go through the same OutputParser, so the fixtures test the live path.
"""

from __future__ import annotations

import re

from kvm_mmio_tools.tlavalue import Value, parse_state
from kvm_mmio_tools.tlc_messages import Message, MessageReader
from kvm_mmio_tools.tlc_outcome import decide, error_messages
from kvm_mmio_tools.tlc_result import Outcome, Progress, StepKind, TlcResult, TraceState

__all__ = ["OutputParser", "parse_output"]

_COUNTS = re.compile(
    r"([\d,]+) states generated.*?([\d,]+) distinct states found.*?([\d,]+) states left on queue",
    re.DOTALL,
)
_LEVEL = re.compile(r"Progress\((\d+)\)")
_DEPTH = re.compile(r"depth of the complete state graph search is (\d+)")
_STEP = re.compile(r"(\d+): (?:Back to state: )?<(.*)>")
_STUTTER = re.compile(r"(\d+): Stuttering")
_ACTION = re.compile(r"(\S+) (line \d+, col \d+ to line \d+, col \d+ of module \S+)")
_INITIAL = "Initial predicate"
_VIOLATED = {
    2110: re.compile(r"Invariant (\S+) is violated"),
    2107: re.compile(r"Invariant (\S+) is violated by the initial state"),
    2108: re.compile(r"Property (\S+) is violated by the initial state"),
    2112: re.compile(r"Action property (\S+) is violated"),
}
_SANY_START, _SANY_END = 2220, 2219
_PROGRESS, _FINAL_COUNTS, _DEPTH_CODE = 2200, 2199, 2194
_STATE, _STUTTERING, _BACK_TO_STATE = 2217, 2218, 2122
_TRACE_START = frozenset({2121, 2264})


def _number(text: str) -> int:
    return int(text.replace(",", ""))


class OutputParser:
    """Accumulates what a run says, one stdout line at a time."""

    def __init__(self) -> None:
        self._reader = MessageReader()
        self._messages: list[Message] = []
        self._lines: list[str] = []
        self._sany: list[str] | None = None
        self._sany_done = False
        self._user_output: list[str] = []
        self._progress: Progress | None = None
        self._final: tuple[int, int, int] | None = None
        self._depth: int | None = None
        self._violated: list[str] = []
        self._trace: list[TraceState] = []
        self._problems: list[str] = []

    def feed(self, line: str, elapsed: float = 0.0) -> Progress | None:
        """Take one line (without its newline); return a Progress if it completed a 2200 message."""
        self._lines.append(line)
        progress = None
        for event in self._reader.feed(line):
            if isinstance(event, str):
                self._outside(event)
            elif (found := self._message(event, elapsed)) is not None:
                progress = found
        return progress

    def result(
        self,
        exit_code: int | None,
        *,
        seconds: float = 0.0,
        timed_out_after: float | None = None,
        stderr: str = "",
        command: tuple[str, ...] = (),
        pid: int | None = None,
    ) -> TlcResult:
        """The TlcResult; ``timed_out_after`` set means we stopped TLC after that many seconds."""
        for message in self._reader.close():
            self._message(message, 0.0)
        parse_error = "\n".join(self._sany).strip() if self._sany else None
        if timed_out_after is not None:
            outcome, explanation = Outcome.TIMEOUT, f"stopped after {timed_out_after:g} s"
        elif exit_code is None or exit_code < 0:
            outcome, explanation = Outcome.CRASHED, f"TLC was killed (exit status {exit_code})"
        elif not self._messages:  # the JVM failed before TLC said anything
            reason = " ".join(stderr.split("\n", 1)[0].split()) or "no output"
            outcome, explanation = Outcome.CRASHED, f"java exited with code {exit_code}: {reason}"
        else:
            outcome, explanation = decide(exit_code, self._messages, parse_error)
        counts = self._final or (
            (self._progress.generated, self._progress.distinct, self._progress.queue)
            if self._progress
            else (None, None, None)
        )
        depth = self._depth
        if depth is None and self._progress is not None:
            depth = self._progress.depth
        return TlcResult(
            outcome=outcome,
            explanation=explanation,
            exit_code=exit_code,
            seconds=seconds,
            violated=tuple(dict.fromkeys(self._violated)),
            states_generated=counts[0],
            distinct_states=counts[1],
            states_left=counts[2],
            depth=depth,
            trace=tuple(self._trace),
            parse_error=parse_error or None,
            problems=tuple(self._problems),
            errors=error_messages(self._messages),
            messages=tuple(self._messages),
            user_output=tuple(self._user_output),
            raw_output="\n".join(self._lines) + ("\n" if self._lines else ""),
            stderr=stderr,
            command=command,
            pid=pid,
        )

    def _outside(self, line: str) -> None:
        if self._sany is not None and not self._sany_done:
            if not line.startswith(("Parsing file ", "Semantic processing of module ")):
                self._sany.append(line)
        else:
            self._user_output.append(line)

    def _message(self, message: Message, elapsed: float) -> Progress | None:
        self._messages.append(message)
        code, body = message.code, message.body
        if code == _SANY_START:
            self._sany = []
        elif code == _SANY_END:
            self._sany_done = True
        elif code in (_PROGRESS, _FINAL_COUNTS) and (counts := _COUNTS.search(body)):
            generated, distinct, queue = (_number(group) for group in counts.groups())
            if code == _FINAL_COUNTS:
                self._final = (generated, distinct, queue)
                return None
            level = _LEVEL.search(body)
            self._progress = Progress(
                generated, distinct, queue, elapsed, int(level[1]) if level else None
            )
            return self._progress
        elif code == _DEPTH_CODE and (depth := _DEPTH.search(body)):
            self._depth = int(depth[1])
        elif code in _TRACE_START:
            self._trace = []
        elif code in (_STATE, _STUTTERING, _BACK_TO_STATE):
            self._trace.append(self._trace_state(code, body))
        if code in _VIOLATED and (name := _VIOLATED[code].match(body)):
            self._violated.append(name[1])
            if code in (2107, 2108):  # the initial state follows the first line
                state = self._state(code, body.partition("\n")[2])
                self._trace = [TraceState(1, StepKind.STATE, None, None, state)]
        return None

    def _state(self, code: int, text: str) -> dict[str, Value]:
        """The variables of a printed state; a value this parser cannot read becomes a problem."""
        try:
            return parse_state(text)
        except ValueError as error:
            self._problems.append(f"message {code}: cannot read a state: {error}")
            return {}

    def _trace_state(self, code: int, body: str) -> TraceState:
        first, _, rest = body.partition("\n")
        if code == _STUTTERING and (stutter := _STUTTER.match(first)):
            previous = self._trace[-1].variables if self._trace else {}
            return TraceState(int(stutter[1]), StepKind.STUTTERING, None, None, dict(previous))
        step = _STEP.match(first)
        if step is None:
            self._problems.append(f"message {code}: unexpected trace line {first!r}")
            return TraceState(len(self._trace) + 1, StepKind.STATE, None, None, {})
        number, label = int(step[1]), step[2]
        action = _ACTION.fullmatch(label)
        name, location = (action[1], action[2]) if action else (label, None)
        if label == _INITIAL:
            name = None
        if code == _BACK_TO_STATE:
            target = self._trace[number - 1].variables if 0 < number <= len(self._trace) else {}
            index = len(self._trace) + 1
            return TraceState(index, StepKind.BACK_TO_STATE, name, location, dict(target), number)
        return TraceState(number, StepKind.STATE, name, location, self._state(code, rest))


def parse_output(raw_output: str, exit_code: int | None) -> TlcResult:
    """The TlcResult of a whole recorded output and the exit code it ended with."""
    parser = OutputParser()
    for line in raw_output.splitlines():
        parser.feed(line)
    return parser.result(exit_code)
