"""`kvm-mmio crosscheck`: TLC and the reference agree on state graphs, counterexamples and random
traces on every model (bounded here: small graphs, a few hundred traces in all), and each checker
fails loudly when the other side is made wrong on purpose."""

import json
import multiprocessing
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from kvm_mmio.config import load_model
from kvm_mmio.trace import Mismatch
from kvm_mmio_tools import crosscheck
from kvm_mmio_tools.cli import main
from kvm_mmio_tools.crosscheck import (
    crosscheck_model,
    draw_traces,
    mutants,
    reference_graph,
)
from kvm_mmio_tools.models import load_models
from kvm_mmio_tools.stategraph import compare_graphs, keyed_graph, tlc_graph

MODELS = load_models()
# Every model but the scale ones; graphs compared up to this size (the CLI's default,
# crosscheck.GRAPH_LIMIT, is 1,100,000).
# Largest first, so that the two processes finish together.
BOUNDED = sorted(
    (name for name, model in MODELS.items() if model.kind != "scale"),
    key=lambda name: -MODELS[name].recorded_states,
)
GRAPH_LIMIT = 900_000  # every model without SYMMETRY, safe_full (865,113 states) included
TRACES_PER_MODEL = 16


def _problems(model, result, tmp_path) -> list[str]:
    """What is wrong with one model's cross-check, as readable lines (none when it passed)."""
    found = (
        []
        if result.ok
        else [
            result.graph.describe() if result.graph else str(result.graph_skipped),
            *(r.problem or "" for r in result.replays),
            *(result.traces.disagreements if result.traces else ()),
        ]
    )
    if not model.symmetric and model.recorded_states <= GRAPH_LIMIT:
        graph = result.graph
        if graph is None or graph.counts["states"] != model.recorded_states:
            found.append(f"graph of {model.recorded_states} states not compared as such")
        elif graph.counts["edges"] <= graph.counts["states"]:
            found.append("fewer edges than states")
    if [r.check for r in result.replays] != list(model.expect_violated):
        found.append(f"replayed {[r.check for r in result.replays]}")
    if any(r.length < 2 for r in result.replays):
        found.append("a counterexample of fewer than 2 states")
    traces = result.traces
    if traces.traces != TRACES_PER_MODEL or traces.min_length < 21:
        found.append(f"{traces.traces} traces, the shortest of {traces.min_length} states")
    if traces.mutants < 2 * TRACES_PER_MODEL or not (
        traces.rejected_by_tlc == traces.rejected_by_reference == traces.mutants
    ):
        found.append(f"mutants: {traces}")
    if any(tmp_path.iterdir()):
        found.append(f"saved {sorted(p.name for p in tmp_path.iterdir())}")
    return found


def _crosscheck_one(name: str, folder: Path) -> tuple[str, list[str]]:
    model = MODELS[name]
    folder.mkdir()
    result = crosscheck_model(
        model, traces=TRACES_PER_MODEL, seed_value=7, graph_limit=GRAPH_LIMIT, save_dir=folder
    )
    return name, _problems(model, result, folder)


@pytest.mark.tlc
@pytest.mark.slow
def test_every_model_crosschecks(tmp_path):
    """Two models at a time, in processes of their own (TLC and the reference each use a core,
    and Hypothesis is not thread-safe); every problem of every model is listed."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        outcomes = dict(pool.map(_crosscheck_one, BOUNDED, [tmp_path / n for n in BOUNDED]))
    failures = {name: problems for name, problems in outcomes.items() if problems}
    assert not failures
    assert len(outcomes) == len(BOUNDED)


def test_traces_are_seeded_and_long_enough():
    first = draw_traces("host", 5, seed_value=3)
    again = draw_traces("host", 5, seed_value=3)
    other = draw_traces("host", 5, seed_value=4)
    assert first == again
    assert first != other
    assert all(len(t["states"]) >= 21 for t in first)


def test_every_mutant_differs_from_its_trace_and_the_reference_rejects_it():
    consts = load_model("bug_no_flush").constants
    rng = random.Random(11)
    for document in draw_traces("bug_no_flush", 10, seed_value=11):
        assert crosscheck.replay(consts, document) is None
        wrong = mutants(document, rng)
        assert len(wrong) == 3
        for why, mutant in wrong:
            assert mutant != document, why
            assert isinstance(crosscheck.replay(consts, mutant), Mismatch), why


@pytest.mark.tlc
def test_a_graph_difference_is_found_and_shown():
    model = MODELS["host"]
    consts = load_model("host").constants
    theirs = tlc_graph(model)
    ours = reference_graph(consts)
    assert compare_graphs(theirs, ours).equal
    # The reference loses one state (and the edges that touch it) and relabels one edge.
    lost = len(ours.keys) // 2
    kept = [n for n in range(len(ours.keys)) if n != lost]
    position = {n: i for i, n in enumerate(kept)}
    edges = [
        (
            position[s],
            ("FlushSlot" if action == "Publish" else "Publish") if k == 0 else action,
            position[t],
        )
        for k, (s, action, t) in enumerate(ours.edges())
        if lost not in (s, t)
    ]
    damaged = keyed_graph(
        (json.loads(ours.text(n)) for n in kept), (position[n] for n in ours.initial), edges
    )
    diff = compare_graphs(theirs, damaged)
    assert not diff.equal
    assert diff.only_in_first == [ours.text(lost)]
    assert diff.edges_only_in_first and diff.edges_only_in_second
    text = diff.describe()
    assert "states only in TLC" in text and "edges only in reference" in text
    assert ours.text(lost) in text


@pytest.mark.tlc
def test_cli_json_reports_the_counts(capsys):
    code = main(["crosscheck", "bug_no_flush", "--traces", "12", "--seed", "5", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["ok"] is True
    assert document["states_compared"] == MODELS["bug_no_flush"].recorded_states
    assert document["edges_compared"] > document["states_compared"]
    assert document["traces_compared"] == 12
    assert document["mutants_rejected"] == 36
    assert document["counterexamples_replayed"] == 1
    (entry,) = document["models"]
    assert entry["name"] == "bug_no_flush" and entry["counterexamples"][0]["replayed"]


@pytest.mark.tlc
def test_a_wrong_reference_fails_and_its_traces_are_saved(monkeypatch, tmp_path, capsys):
    """The reference loses every FlushSlot step: its graph differs from TLC's, TLC's
    counterexample no longer replays, and the traces it rejects are saved with their seed."""
    real = crosscheck.successors

    def without_flush(consts, state):
        return [s for s in real(consts, state) if s[0] != "FlushSlot"]

    def strict_replay(consts, document):
        return Mismatch(1, "rejected on purpose")

    monkeypatch.setattr(crosscheck, "successors", without_flush)
    monkeypatch.setattr(crosscheck, "replay", strict_replay)
    code = main(
        ["crosscheck", "bug_no_flush", "--traces", "3", "--seed", "9", "--save-dir", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL bug_no_flush" in out and "graph DIFFER" in out
    assert "edges only in TLC" in out and "FlushSlot" in out
    assert "0 of 1 model(s) agree" in out
    saved = sorted(tmp_path.glob("crosscheck-bug_no_flush-seed9-trace*.itf.json"))
    assert len(saved) == 3
    assert json.loads(saved[0].read_text())["#meta"]["seed"] == 9
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["crosscheck", "host", "--traces", "-1"], "--traces"),
        (["crosscheck", "host", "--workers", "0"], "--workers"),
        (["crosscheck", "no_such_model"], "no_such_model"),
    ],
)
def test_bad_input_is_a_usage_error(argv, needle, capsys):
    assert main(argv) == 2
    assert needle in capsys.readouterr().err
