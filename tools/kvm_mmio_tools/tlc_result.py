"""What one TLC run produced: its outcome, counts, error trace and raw output, as plain data.

Why a module of its own: the driver (tlc.py), the output parser (tlc_output.py) and the CLI all
speak in these types, and none of them should depend on the others to get them.
"""

from __future__ import annotations

import enum

import attrs

from kvm_mmio_tools.tlavalue import Value
from kvm_mmio_tools.tlc_messages import Message

__all__ = ["Outcome", "Progress", "StepKind", "TlcResult", "TraceState"]


class Outcome(enum.Enum):
    """How a run ended, decided from TLC's message codes AND its exit code (see tlc_outcome)."""

    SUCCESS = "success"
    INVARIANT_VIOLATED = "invariant_violated"  # also an invariant false in an initial state
    PROPERTY_VIOLATED = "property_violated"  # temporal, action property, or property in Init
    DEADLOCK = "deadlock"
    ASSUMPTION_VIOLATED = "assumption_violated"  # an ASSUME is false
    EVAL_ERROR = "eval_error"  # TLC could not evaluate an expression (exit 75/76/77)
    PARSE_ERROR = "parse_error"  # SANY rejected a module (exit 150)
    CONFIG_ERROR = "config_error"  # the cfg names an undefined operator or omits a constant (151)
    CFG_SYNTAX_ERROR = "cfg_syntax_error"  # the cfg file does not parse (exit 255)
    USAGE_ERROR = "usage_error"  # TLC rejected its command line (exit 1)
    TIMEOUT = "timeout"  # we stopped it
    CRASHED = "crashed"  # an exit code TLC does not document (a signal, the JVM died, ...)
    INCONSISTENT = "inconsistent"  # exit code and messages disagree; see the explanation

    @property
    def is_verdict(self) -> bool:
        """True when TLC finished checking the model and this is its answer about the model."""
        return self in _VERDICTS


_VERDICTS = frozenset(
    {
        Outcome.SUCCESS,
        Outcome.INVARIANT_VIOLATED,
        Outcome.PROPERTY_VIOLATED,
        Outcome.DEADLOCK,
        Outcome.ASSUMPTION_VIOLATED,
    }
)


@attrs.frozen
class Progress:
    """A progress report (message 2200, about once a minute, and once at the end).

    ``elapsed`` is wall seconds since the JVM started; ``depth`` is the BFS level TLC had reached.
    """

    generated: int
    distinct: int
    queue: int
    elapsed: float
    depth: int | None = None


class StepKind(enum.Enum):
    """What a line of an error trace is; the last two close a lasso for a temporal violation."""

    STATE = "state"  # message 2217: a state and the action that produced it
    STUTTERING = "stuttering"  # message 2218: the behaviour stutters forever on the previous state
    BACK_TO_STATE = "back_to_state"  # message 2122: the last state steps back to state ``back_to``


@attrs.frozen
class TraceState:
    """One step of an error trace, numbered from 1 as TLC numbers them.

    ``action`` is the operator name TLC prints (no parameters) and ``location`` its source range;
    both are None for an initial state.  For STUTTERING, ``variables`` repeats the previous state;
    for BACK_TO_STATE they are those of state ``back_to``, and ``index`` is the step after the last.
    """

    index: int
    kind: StepKind
    action: str | None
    location: str | None
    variables: dict[str, Value]
    back_to: int | None = None


@attrs.frozen
class TlcResult:
    """Everything a caller needs from one TLC run; ``raw_output`` keeps TLC's stdout verbatim.

    - ``violated``: the invariants and properties TLC named (message 2110, 2107, 2108, 2112); TLC
      2.15 does not name a violated temporal property (2116), so that case leaves it empty.
    - ``trace``: the last error trace TLC printed (empty without one).
    - ``parse_error``: SANY's report, printed outside any envelope before message 2219.
    - ``problems``: parts of TLC's output this library could not read (a trace value of a kind it
      does not know, say); the rest of the result stands.
    - ``errors``: the error messages other than the verdict itself (1000 with its nested message,
      2102, 2103 with the expression positions, 2111, 2229, 2222, 3002, 1102, ...).
    - ``user_output``: lines printed outside any envelope other than SANY's (Print, PrintT).
    - ``depth``: message 2194, or the level of the last progress report when TLC does not print it
      (liveness checking, interrupted runs).
    """

    outcome: Outcome
    explanation: str
    exit_code: int | None
    seconds: float
    violated: tuple[str, ...] = ()
    states_generated: int | None = None
    distinct_states: int | None = None
    states_left: int | None = None
    depth: int | None = None
    trace: tuple[TraceState, ...] = ()
    parse_error: str | None = None
    problems: tuple[str, ...] = ()
    errors: tuple[Message, ...] = ()
    messages: tuple[Message, ...] = ()
    user_output: tuple[str, ...] = ()
    raw_output: str = ""
    stderr: str = ""
    command: tuple[str, ...] = ()
    pid: int | None = None
