"""Decide how a TLC run ended from its exit code AND its messages, and say so in one line.

Why both: neither is trustworthy alone in TLC 2.15.  It exits 0 after ``-continue`` has reported
violations, and exits 0 when a liveness property cannot be evaluated (message 2102, no 2193); an
exit code without its message (or the reverse) means the run did not end the way it claims.  So
the exit code proposes an outcome, the verdict messages must confirm it, and a disagreement is
INCONSISTENT.

Exit codes (tlc2.output.EC.ExitStatus): 0 success, 10 assumption, 11 deadlock, 12 safety,
13 liveness, 14 assert, 75/76/77 evaluation failure (spec/safety/liveness), 150 parse, 151 config,
152 state space too large, 153 system, 255 error (a cfg that does not parse, among others),
1 bad command line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kvm_mmio_tools.tlc_messages import Message, Severity
from kvm_mmio_tools.tlc_result import Outcome

__all__ = ["VERDICT_CODES", "decide", "error_messages"]

# Messages that state a verdict, and the outcome each one states.
VERDICT_CODES = {
    2193: Outcome.SUCCESS,  # "Model checking completed. No error has been found."
    2104: Outcome.ASSUMPTION_VIOLATED,
    2114: Outcome.DEADLOCK,
    2110: Outcome.INVARIANT_VIOLATED,
    2107: Outcome.INVARIANT_VIOLATED,  # ... by the initial state
    2116: Outcome.PROPERTY_VIOLATED,  # temporal properties (unnamed)
    2112: Outcome.PROPERTY_VIOLATED,  # action property
    2108: Outcome.PROPERTY_VIOLATED,  # ... by the initial state
    3002: Outcome.PARSE_ERROR,
}
_TRACE_CODES = frozenset({2121, 2264})  # "The behavior up to this point is:" and its temporal twin
_EXIT_CODES = {
    0: Outcome.SUCCESS,
    1: Outcome.USAGE_ERROR,
    10: Outcome.ASSUMPTION_VIOLATED,
    11: Outcome.DEADLOCK,
    12: Outcome.INVARIANT_VIOLATED,
    13: Outcome.PROPERTY_VIOLATED,
    14: Outcome.EVAL_ERROR,
    75: Outcome.EVAL_ERROR,
    76: Outcome.EVAL_ERROR,
    77: Outcome.EVAL_ERROR,
    150: Outcome.PARSE_ERROR,
    151: Outcome.CONFIG_ERROR,
}
_CFG_PARSE_CODES = range(5001, 5100)  # ConfigFileException details, nested in a 1000
_BOILERPLATE = frozenset(
    {
        "TLC threw an unexpected exception.",
        "This was probably caused by an error in the spec or model.",
        "See the User Output or TLC Console for clues to what happened.",
    }
)
_SANY_NOISE = re.compile(
    r"\*\*\*|Semantic errors:|Fatal errors|Residual stack|tla2sany\.|In module |Unknown location"
    r"|(Definition|Module body|Module definition) starting|Parsing file |Semantic processing "
)


def error_messages(messages: Sequence[Message]) -> tuple[Message, ...]:
    """Messages of the error classes, other than verdicts and error-trace headers."""
    return tuple(
        message
        for message in messages
        if message.severity in (Severity.ERROR, Severity.TLC_BUG)
        and message.code not in VERDICT_CODES.keys() - {3002}
        and message.code not in _TRACE_CODES
    )


def decide(
    exit_code: int, messages: Sequence[Message], parse_error: str | None
) -> tuple[Outcome, str]:
    """The outcome of a run that ended by itself, and a one-line explanation."""
    errors = error_messages(messages)
    verdicts = [message for message in messages if message.code in VERDICT_CODES]
    stated = {VERDICT_CODES[message.code] for message in verdicts}
    nested = set().union(*(message.codes() for message in messages))
    proposed = _EXIT_CODES.get(exit_code)
    if exit_code == 255 and nested & set(_CFG_PARSE_CODES):
        proposed = Outcome.CFG_SYNTAX_ERROR
    if proposed is None:
        detail = _describe(errors[0]) if errors else "no error message"
        return Outcome.CRASHED, f"TLC exited with code {exit_code} ({detail})"

    if proposed.is_verdict or proposed is Outcome.PARSE_ERROR:
        agrees = stated == {proposed} and not (proposed is Outcome.SUCCESS and errors)
    else:  # an error outcome: an error message and no verdict
        agrees = bool(errors) and not stated
    if not agrees:
        said = ", ".join(sorted({f"{m.code} ({VERDICT_CODES[m.code].value})" for m in verdicts}))
        evidence = _describe(errors[0]) if errors else ""
        return Outcome.INCONSISTENT, (
            f"exit code {exit_code} means {proposed.value} but TLC's messages say "
            f"{said or 'no verdict'}{'; ' + evidence if evidence else ''}"
        )
    return proposed, _explain(proposed, verdicts, errors, parse_error)


def _explain(
    outcome: Outcome,
    verdicts: Sequence[Message],
    errors: Sequence[Message],
    parse_error: str | None,
) -> str:
    if outcome is Outcome.PARSE_ERROR:
        lines = [
            line.strip()
            for line in (parse_error or "").splitlines()
            if line.strip() and not _SANY_NOISE.match(line.strip())
        ]
        return "TLA+ parse error: " + (" | ".join(lines[:3]) or "see the SANY output")
    if outcome.is_verdict:
        return _one_line(verdicts[0].body.splitlines()[0])
    explanation = _describe(errors[0])
    positions = [m for m in errors if m.code == 2103]
    if positions and errors[0].code != 2103:
        where = positions[0].body.strip().splitlines()[-1]
        explanation += f" (at {where.split('. ', 1)[-1]})"
    return explanation


def _describe(message: Message) -> str:
    """The message's text on one line, without TLC's generic preamble."""
    lines = [line for line in message.body.splitlines() if line.strip() not in _BOILERPLATE]
    text = _one_line("\n".join(lines))
    return re.sub(r"^The exception was a [\w.$]+ : ", "", text)


def _one_line(text: str) -> str:
    return " ".join(text.split())
