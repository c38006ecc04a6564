"""The parts of `kvm-mmio bench` that need no TLC: peak memory measured for the measured process
alone, a failing child reported by name, missing vector layers reported by name, disagreements
turned into problems and shown in the table."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess

import pytest
from ownprocs import ProcessTree, kvm_mmio_interruptible

from kvm_mmio.config import load_model
from kvm_mmio_conformance.vectors import VECTORS_DIR
from kvm_mmio_tools import bench_conformance
from kvm_mmio_tools.bench_conformance import ChannelBench, ConformanceBench, load_layers
from kvm_mmio_tools.bench_graph import GraphBench
from kvm_mmio_tools.bench_ladder import ModelBench, Run, ladder
from kvm_mmio_tools.bench_process import run_child
from kvm_mmio_tools.bench_report import render_text
from kvm_mmio_tools.bench_run import BenchOptions, BenchResult
from kvm_mmio_tools.bench_traces import TraceBench
from kvm_mmio_tools.errors import ToolError, UsageError


def test_the_explorer_peak_is_its_own_not_the_spawning_process():
    # Linux carries ru_maxrss over from the process that spawns a child; VmHWM starts afresh.
    ballast = bytearray(400 * 2**20)
    ballast[::4096] = b"\x01" * len(ballast[::4096])  # make the 400 MiB resident
    result = run_child("explorer", "host")
    del ballast
    host_states = load_model("host").recorded_states
    assert result["distinct_states"] == host_states and result["outcome"] == "success"
    assert 5 < result["peak_rss_mib"] < 300
    assert result["wall"] > 0


def test_progress_of_a_child_reaches_the_caller():
    seen: list[tuple[int, int, float]] = []
    run_child(
        "explorer", "host", lambda states, queue, elapsed: seen.append((states, queue, elapsed))
    )
    assert seen and seen[-1][0] == load_model("host").recorded_states and seen[-1][1] == 0


def test_a_failing_child_is_a_tool_error_naming_the_run():
    with pytest.raises(ToolError, match="explorer on no_such_model failed"):
        run_child("explorer", "no_such_model")


def test_ladders_grow_and_an_unknown_size_is_a_usage_error():
    small, medium, large = (ladder(size) for size in ("small", "medium", "large"))
    assert {m.name for m in small} < {m.name for m in medium} < {m.name for m in large}
    assert max(m.recorded_states for m in large) >= 1_000_000
    assert [m.recorded_states for m in medium] == sorted(m.recorded_states for m in medium)
    with pytest.raises(UsageError, match="--size must be one of small, medium, large"):
        ladder("huge")


def test_missing_and_unreadable_vector_layers_are_named(tmp_path, monkeypatch):
    shutil.copy(VECTORS_DIR / "spte.json", tmp_path / "spte.json")
    (tmp_path / "operations.json").write_text(json.dumps({"schema": "nonsense"}))
    monkeypatch.setattr(bench_conformance, "VECTORS_DIR", tmp_path)
    cases, missing = load_layers()
    assert cases and {case.layer for case in cases} == {"spte"}
    assert missing["steps"] == "no vectors/steps.json"
    assert missing["operations"].startswith("vectors/operations.json unreadable")


def _run(states: int, outcome: str = "success") -> Run:
    return Run(outcome, states, 10, wall=2.0, seconds=1.5, peak_rss_mib=100.0)


def _graph(states: int = 9791, wall: float = 3.0, equal: bool = True) -> GraphBench:
    difference = None if equal else "graphs differ (states 9,791)"
    return GraphBench("m", states, 3 * states, 1, equal, difference, wall, 100.0, 300.0)


def _result(explorer_states: int, graph: GraphBench | None = None) -> BenchResult:
    row = ModelBench("host", "host", 4246, False, _run(4246), _run(explorer_states))
    channel = ChannelBench("in process", 10, 10, 0, 0, 0.5)
    return BenchResult(
        options=BenchOptions(size="small", traces=2, trace_sample=1),
        machine={
            "date": "2026-01-01 00:00 UTC",
            "cpu": "a CPU",
            "cores": 2,
            "ram_gib": 8.0,
            "os": "Linux",
            "python": "3.11.7",
            "java": "openjdk 17",
            "tlc_version": "TLC2 Version 2.15",
            "load_before": [0.5, 0.5, 0.5],
            "load_after": [1.0, 0.5, 0.5],
        },
        models=(row,),
        graph=graph or _graph(),
        traces=TraceBench("safe", 2, 20, 0, 0.1, 2.0, 2, (1.0,), 1),
        spte=(),
        spte_missing="needs NumPy",
        conformance=ConformanceBench(
            "must", {"spte": 10}, {"steps": "no vectors/steps.json"}, channel, channel
        ),
        seconds=9.0,
    )


def test_agreement_renders_every_section():
    result = _result(4246)
    assert result.ok
    text = render_text(result)
    assert "machine: a CPU, 2 cores, 8.0 GiB RAM" in text
    assert "0.50 0.50 0.50 before / 1.00 0.50 0.50 after" in text
    assert "spte encoding: not measured: needs NumPy" in text
    assert "steps (no vectors/steps.json)" in text
    assert "one TLC run per trace, extrapolated" in text
    assert json.loads(json.dumps(result.as_json()))["models"][0]["states_equal"] is True


def test_different_state_counts_are_a_disagreement():
    result = _result(4000)
    assert not result.ok
    assert any("the explorer 4000" in problem for problem in result.problems)
    text = render_text(result)
    assert "DISAGREEMENTS:" in text
    assert next(line for line in text.splitlines() if line.startswith("host")).endswith("NO")
    assert result.as_json()["ok"] is False


@pytest.mark.parametrize(
    ("graph", "verdict"),
    [
        (_graph(), "not measured at this size (9,791 states"),
        (_graph(1_028_364, 83.0), "met"),
        (_graph(1_028_364, 301.0), "MISSED"),
        (_graph(999_999, 10.0), "not measured at this size"),
    ],
)
def test_the_graph_target_is_judged_only_on_a_million_states(graph, verdict):
    text = render_text(_result(4246, graph))
    (line,) = [line for line in text.splitlines() if line.startswith("target: a graph of")]
    assert line.endswith(verdict) or f": {verdict}" in line


def test_different_graphs_are_a_disagreement():
    result = _result(4246, _graph(equal=False))
    assert not result.ok
    assert any("graph of m: TLC and the reference differ" in p for p in result.problems)
    assert "DIFFERENT" in render_text(result)


@pytest.mark.tlc
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_the_bench_leaves_no_process_behind(signum, scratch):
    command = kvm_mmio_interruptible("bench", "--size", "small")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree = ProcessTree(process.pid)
    try:
        assert tree.wait_for_java(1, limit=60), "no JVM started within 60 s"
        process.send_signal(signum)
        tree.wait(process, timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    _, err = process.communicate()
    assert process.returncode == 130 and "interrupted" in err
    assert tree.survivors() == []
    assert list(scratch.iterdir()) == []
