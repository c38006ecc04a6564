"""Parsing TLC's ``-tool`` output: recorded runs of the toy specs (tests/fixtures/tlc), no java."""

from pathlib import Path

import pytest

from kvm_mmio_tools.tlavalue import Function, ModelValue
from kvm_mmio_tools.tlc import Outcome, StepKind, parse_output
from kvm_mmio_tools.tlc_messages import MessageReader
from kvm_mmio_tools.tlc_output import OutputParser

OUTPUTS = Path(__file__).parent / "fixtures" / "tlc" / "outputs"
P1 = ModelValue("p1")
VERDICTS = {
    Outcome.SUCCESS,
    Outcome.INVARIANT_VIOLATED,
    Outcome.PROPERTY_VIOLATED,
    Outcome.DEADLOCK,
}


def recorded(case):
    """The parsed recorded output of ``case``; its exit code is in the file name."""
    (path,) = OUTPUTS.glob(f"{case}.exit*.out")
    exit_code = int(path.name.removesuffix(".out").rsplit(".exit", 1)[1])
    return parse_output(path.read_text(), exit_code)


@pytest.mark.parametrize(
    ("case", "outcome", "exit_code"),
    [
        ("success", Outcome.SUCCESS, 0),
        ("invariant", Outcome.INVARIANT_VIOLATED, 12),
        ("init_invariant", Outcome.INVARIANT_VIOLATED, 12),
        ("lasso", Outcome.PROPERTY_VIOLATED, 13),
        ("stuttering", Outcome.PROPERTY_VIOLATED, 13),
        ("deadlock", Outcome.DEADLOCK, 11),
        ("eval_error", Outcome.EVAL_ERROR, 75),
        ("parse_error", Outcome.PARSE_ERROR, 150),
        ("cfg_undefined", Outcome.CONFIG_ERROR, 151),
        ("cfg_syntax", Outcome.CFG_SYNTAX_ERROR, 255),
        ("bad_option", Outcome.USAGE_ERROR, 1),
        ("liveness_eval_exit0", Outcome.INCONSISTENT, 0),
        ("continue", Outcome.INCONSISTENT, 0),
        ("mixed_set", Outcome.CRASHED, 255),
    ],
)
def test_outcome_from_codes_and_exit_code(case, outcome, exit_code):
    result = recorded(case)
    assert (result.outcome, result.exit_code) == (outcome, exit_code)
    assert result.outcome.is_verdict == (exit_code in (0, 11, 12, 13) and outcome in VERDICTS)
    assert result.problems == ()


def test_success_counts_and_depth():
    result = recorded("success")
    assert (result.states_generated, result.distinct_states, result.states_left) == (65, 40, 0)
    assert result.depth == 8
    assert result.trace == () and result.violated == () and result.errors == ()
    assert result.explanation == "Model checking completed. No error has been found."
    assert result.parse_error is None


def test_invariant_violation_with_its_trace():
    result = recorded("invariant")
    assert result.violated == ("XSmall",)
    assert result.explanation == "Invariant XSmall is violated."
    assert [(s.index, s.kind, s.action) for s in result.trace] == [
        (1, StepKind.STATE, None),
        (2, StepKind.STATE, "Step"),
        (3, StepKind.STATE, "Step"),
    ]
    last = result.trace[-1]
    assert last.location == "line 13, col 12 to line 17, col 57 of module Toy"
    assert last.variables["x"] == 2
    assert last.variables["log"] == (P1, P1)
    assert last.variables["owner"] == Function({P1: 'a"b\\c', ModelValue("p2"): "none"})
    assert last.variables["rec"]["s"] == frozenset({(0, P1), (1, P1)})


def test_invariant_violated_by_the_initial_state():
    result = recorded("init_invariant")
    assert result.violated == ("XPositive",)
    (state,) = result.trace
    assert (state.index, state.action, state.variables["x"]) == (1, None, 0)


def test_temporal_violation_closes_a_lasso():
    result = recorded("lasso")
    assert result.violated == ()  # TLC 2.15 does not name the violated temporal property
    assert result.explanation == "Temporal properties were violated."
    assert [(s.index, s.kind, s.variables["x"], s.back_to) for s in result.trace] == [
        (1, StepKind.STATE, 0, None),
        (2, StepKind.STATE, 1, None),
        (3, StepKind.STATE, 2, None),
        (4, StepKind.BACK_TO_STATE, 0, 1),
    ]
    assert result.trace[-1].action == "Next"
    assert result.depth == 3  # no 2194 with liveness: the last progress level


def test_temporal_violation_by_stuttering():
    result = recorded("stuttering")
    assert [(s.index, s.kind, s.variables) for s in result.trace] == [
        (1, StepKind.STATE, {"x": 0}),
        (2, StepKind.STUTTERING, {"x": 0}),
    ]


def test_deadlock_trace():
    result = recorded("deadlock")
    assert [s.variables for s in result.trace] == [{"x": 0}, {"x": 1}, {"x": 2}]
    assert result.depth == 3


def test_evaluation_error_names_the_expression():
    result = recorded("eval_error")
    assert result.explanation == (
        "Attempted to apply function: <<1, 2>> to argument 3, which is not in the domain of the "
        "function. (at Line 6, column 31 to line 6, column 34 in EvalError)"
    )
    assert [m.code for m in result.errors] == [1000, 2103]
    assert [s.variables for s in result.trace] == [{"f": (1, 2)}]


def test_parse_error_text_comes_from_outside_the_envelopes():
    result = recorded("parse_error")
    assert "***Parse Error***" in result.parse_error
    assert 'Encountered "Beginning of definition" at line 5, column 9' in result.parse_error
    assert "Parsing file" not in result.parse_error
    assert result.explanation.startswith('TLA+ parse error: Was expecting "Expression or Instance"')
    assert [m.code for m in result.errors] == [3002]


def test_cfg_errors():
    undefined = recorded("cfg_undefined")
    assert undefined.explanation == (
        "The invariant NoSuchInvariant specified in the configuration file is not defined in the "
        "specification."
    )
    assert [m.code for m in undefined.errors] == [2229]
    syntax = recorded("cfg_syntax")
    assert syntax.explanation.startswith("TLC found an error in the configuration file at line 3")
    (error,) = syntax.errors
    assert error.code == 1000 and [child.code for child in error.children] == [5006]


def test_disagreements_are_explained():
    silent = recorded("liveness_eval_exit0")
    assert silent.explanation.startswith(
        "exit code 0 means success but TLC's messages say no verdict; Attempted to compute"
    )
    cont = recorded("continue")
    assert "2110 (invariant_violated), 2193 (success)" in cont.explanation
    assert cont.violated == ("XSmall",)
    crashed = recorded("mixed_set")
    assert crashed.explanation == (
        "TLC exited with code 255 (Wrong invocation of TLC error printer. Error code not found.)"
    )


def test_nested_envelopes_start_mid_line():
    reader = MessageReader()
    lines = [
        "@!@!@STARTMSG 1000:1 @!@!@",
        "The exception was a tlc2.tool.ConfigFileException",
        ": @!@!@STARTMSG 5001:0 @!@!@",
        "File not found.",
        "@!@!@ENDMSG 5001 @!@!@",
        "@!@!@ENDMSG 1000 @!@!@",
        "printed by Print",
    ]
    events = [event for line in lines for event in reader.feed(line)]
    message, printed = events
    assert message.body == "The exception was a tlc2.tool.ConfigFileException\n: File not found."
    assert message.codes() == {1000, 5001}
    assert printed == "printed by Print"


def test_progress_is_reported_as_it_arrives():
    parser = OutputParser()
    lines = [
        "@!@!@STARTMSG 2200:0 @!@!@",
        "Progress(12) at 2026-01-01 00:00:00: 1,234,567 states generated (7,587 s/min), "
        "45,678 distinct states found (4,669 ds/min), 9 states left on queue.",
    ]
    assert [parser.feed(line, elapsed=61.0) for line in lines] == [None, None]
    progress = parser.feed("@!@!@ENDMSG 2200 @!@!@", elapsed=61.5)
    assert (progress.generated, progress.distinct, progress.queue) == (1234567, 45678, 9)
    assert (progress.depth, progress.elapsed) == (12, 61.5)
    result = parser.result(None, timed_out_after=2.0)
    assert result.outcome is Outcome.TIMEOUT and result.distinct_states == 45678


def test_unreadable_trace_values_become_problems():
    parser = OutputParser()
    for line in ["@!@!@STARTMSG 2217:4 @!@!@", "1: <Initial predicate>", "x = SUBSET Nat", ""]:
        parser.feed(line)
    parser.feed("@!@!@ENDMSG 2217 @!@!@")
    result = parser.result(12)
    assert result.trace[0].variables == {}
    assert result.problems[0].startswith("message 2217: cannot read a state: variable 'x'")


def test_a_jvm_that_never_started_tlc_crashed():
    parser = OutputParser()
    result = parser.result(1, stderr="Invalid maximum heap size: -Xmxfoo\nError: Could not ...")
    assert result.outcome is Outcome.CRASHED
    assert result.explanation == "java exited with code 1: Invalid maximum heap size: -Xmxfoo"
