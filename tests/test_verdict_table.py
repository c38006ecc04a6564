"""The verdict table of `kvm-mmio check` and `explore`: what each row says was expected and found,
which counterexamples go under it, and (check) that rows come out in manifest order."""

import argparse

import attrs
import pytest

from kvm_mmio_tools.models import load_models
from kvm_mmio_tools.verdict_table import (
    LEGEND,
    InOrder,
    VerdictTable,
    expected_text,
    found_text,
    shown_counterexamples,
    summary,
    trace_choice,
)

MODELS = load_models()


@attrs.frozen
class Found:
    """A checker's verdict, as ModelReport and ExploreResult have it."""

    name: str
    expected_holds: tuple[str, ...]
    expected_violated: tuple[str, ...]
    holds: tuple[str, ...] = ()
    violated: tuple[str, ...] = ()
    distinct_states: int | None = None
    depth: int | None = None
    seconds: float = 0.0
    counterexamples: dict = attrs.field(factory=dict)
    ok: bool = True


def _found(name: str, **changes) -> Found:
    model = MODELS[name]
    return Found(name, model.expect_holds, model.expect_violated, **changes)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("safe", "holds"),
        ("bug_no_flush", "violates ObservationsAllowed"),
        ("witness_cache_hit", "violates NeverCacheHit NeverSpteHit"),
        ("smm", "finding: violates ObservationsAllowed CachedMmioIsCurrent"),
        ("safe_wrap_fixed", "holds"),
    ],
)
def test_what_the_manifest_expects(name, text):
    assert expected_text(MODELS[name]) == text


def test_every_finding_of_the_manifest_reads_as_one():
    for model in MODELS.values():
        assert expected_text(model).startswith("finding: ") == (model.kind == "finding")


def test_what_was_found():
    host = MODELS["host"]
    assert found_text(_found("host", holds=host.expect_holds)) == "holds"
    assert found_text(_found("host", holds=host.expect_holds[:2])) == "no verdict"  # a run failed
    everything_but_liveness = _found("safe_liveness", holds=("TypeOK",))
    rest = tuple(n for n in MODELS["safe_liveness"].expect_holds if n != "TypeOK")
    assert found_text(everything_but_liveness, unchecked=rest) == "holds"
    found = _found("smm", violated=("ObservationsAllowed",))
    assert found_text(found) == "violates ObservationsAllowed"


def test_a_row_says_expected_found_and_whether_they_agree():
    models = [MODELS["safe"], MODELS["smm"]]
    table = VerdictTable.for_models(models, "TLC found")
    header = table.header().split()
    assert header == ["model", "expected", "TLC", "found", "agree", "states", "depth", "time"]
    smm = MODELS["smm"]
    everything = (*smm.expect_holds, *smm.expect_violated)
    disagreeing = _found("smm", holds=everything, distinct_states=10553, depth=34, ok=False)
    row = table.row(smm, disagreeing, ())
    expected = ["finding:", "violates", "ObservationsAllowed", "CachedMmioIsCurrent"]
    assert row.split()[:6] == ["smm", *expected, "holds"]
    assert row.split()[6:] == ["NO", "10,553", "34", "0.0s"]
    # Columns line up: each text starts where its header does, in every row.
    agreeing = _found("safe", holds=MODELS["safe"].expect_holds, distinct_states=1, depth=2)
    safe = table.row(MODELS["safe"], agreeing, ())
    head = table.header()
    found_at, agree_at = head.index("TLC found"), head.index("agree")
    assert safe[found_at:].startswith("holds ") and row[found_at:].startswith("holds ")
    assert safe[agree_at:].startswith("yes ") and row[agree_at:].startswith("NO ")


def test_which_counterexamples_go_under_a_row():
    stale = MODELS["bug_stale_cache"]  # expects ObservationsAllowed and CachedMmioIsCurrent
    wrong = _found(
        "bug_stale_cache",
        violated=("ObservationsAllowed", "TypeOK"),
        counterexamples={"ObservationsAllowed": (), "TypeOK": ()},
    )
    assert stale.expect_violated[0] == "ObservationsAllowed"
    assert shown_counterexamples(wrong, "ObservationsAllowed", "unexpected") == ["TypeOK"]
    assert shown_counterexamples(wrong, "ObservationsAllowed", "first") == [
        "ObservationsAllowed",
        "TypeOK",
    ]
    assert shown_counterexamples(wrong, "ObservationsAllowed", "none") == []


@pytest.mark.parametrize(
    ("traces", "no_traces", "models", "choice"),
    [
        (False, False, [], "unexpected"),
        (False, False, ["smm"], "first"),
        (True, False, [], "first"),
        (False, True, ["smm"], "none"),
    ],
)
def test_trace_choice(traces, no_traces, models, choice):
    args = argparse.Namespace(traces=traces, no_traces=no_traces, models=models)
    assert trace_choice(args) == choice


def test_the_summary_has_the_legend_and_a_hint_for_hidden_counterexamples():
    verdicts = [_found("safe"), _found("smm", ok=False)]
    legend, line = summary(verdicts, 2.0, hidden=True).splitlines()
    assert legend == LEGEND
    assert line == (
        "1 of 2 model(s) as the manifest expects (2.0s wall); "
        "counterexamples: --traces, or name the models"
    )
    assert summary(verdicts, 2.0, hidden=False).endswith("expects (2.0s wall)")


def test_rows_come_out_in_manifest_order_whatever_order_models_finish_in():
    printed: list[str] = []
    rows = InOrder(["a", "b", "c"], lambda printer: printed.append(printer()))
    rows.add("c", lambda: "c")
    rows.add("b", lambda: "b")
    assert printed == []  # a is still running
    rows.add("a", lambda: "a")
    assert printed == ["a", "b", "c"]
