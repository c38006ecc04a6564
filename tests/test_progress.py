"""Progress displays: quiet when their stream is not a terminal, live when it is, and the
explorer's progress callback is called with its counts as it goes."""

from __future__ import annotations

import io
import sys

import pytest

from kvm_mmio import explore as explore_module
from kvm_mmio.config import load_model
from kvm_mmio.explore import explore
from kvm_mmio_tools.cli import main
from kvm_mmio_tools.progress import ProgressLine, StageLine, rate, states_text


class _Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_progress_line_on_a_pipe_writes_nothing():
    stream = io.StringIO()
    line = ProgressLine(stream)
    assert not line.enabled
    line.update("safe: 12 states", force=True)
    line.clear()
    assert stream.getvalue() == ""


def test_a_progress_line_on_a_terminal_rewrites_then_clears():
    stream = _Terminal()
    line = ProgressLine(stream)
    line.update("first", force=True)
    line.update("2nd", force=True)
    line.clear()
    assert stream.getvalue() == "\rfirst\r2nd  \r   \r"


def test_states_text_has_states_queue_elapsed_and_rate():
    assert states_text("safe", 12_345, 678, 2.0) == "safe: 12,345 states, queue 678, 2s (6.2k/s)"
    assert rate(10, 0.0) == "0/s"


def test_a_stage_line_shows_the_stage_and_its_latest_detail():
    stream = _Terminal()
    status = StageLine(ProgressLine(stream, min_interval=0), interval=0.01)
    with status.ticking():
        status.stage("models 1/3: host")
        status.detail("TLC: 10 states, queue 2, 1s (10/s)")
        assert status.render().endswith("models 1/3: host (0s): TLC: 10 states, queue 2, 1s (10/s)")
    assert "models 1/3: host" in stream.getvalue()
    assert stream.getvalue().endswith("\r")  # cleared at the end


def test_a_stage_line_on_a_pipe_starts_no_ticker_and_writes_nothing():
    stream = io.StringIO()
    status = StageLine(ProgressLine(stream), interval=0.01)
    with status.ticking():
        status.stage("a stage")
        status.detail("a detail")
    assert stream.getvalue() == ""


def _calls(name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list, int]:
    monkeypatch.setattr(explore_module, "PROGRESS_INTERVAL", 0.0)  # report at every chance
    model = load_model(name)
    calls: list[tuple[int, int, float]] = []
    found = explore(
        model.constants, model.invariants, progress=lambda *report: calls.append(report)
    )
    return calls, found.distinct_states


def test_the_explorer_reports_growing_counts_and_ends_with_an_empty_queue(monkeypatch):
    calls, distinct = _calls("bug_stale_cache", monkeypatch)
    assert len(calls) > 5
    states = [states for states, _, _ in calls]
    assert states == sorted(states) and states[0] < distinct
    assert calls[-1][:2] == (distinct, 0)
    assert all(queue >= 0 and elapsed >= 0 for _, queue, elapsed in calls)
    assert any(queue > 0 for _, queue, _ in calls)


def test_kvm_mmio_explore_is_quiet_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(explore_module, "PROGRESS_INTERVAL", 0.0)
    assert main(["explore", "host"]) == 0
    captured = capsys.readouterr()
    assert "\r" not in captured.err and "states, queue" not in captured.err
    assert "host" in captured.out


def test_kvm_mmio_explore_shows_progress_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(explore_module, "PROGRESS_INTERVAL", 0.0)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["explore", "host"]) == 0
    shown = terminal.getvalue()
    assert "\rhost: " in shown and " states, queue " in shown and "/s)" in shown
    assert shown.endswith("\r")  # the line is cleared before the verdict prints
    assert "\r" not in capsys.readouterr().out


@pytest.mark.tlc
def test_kvm_mmio_crosscheck_shows_each_stage_on_a_terminal(monkeypatch, capsys):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["crosscheck", "bug_stale_cache", "--traces", "2"]) == 0
    shown = terminal.getvalue()
    for stage in ("state graphs", "counterexamples", "2 traces and their mutants"):
        assert f"bug_stale_cache: {stage} (" in shown
    assert shown.endswith("\r")  # cleared before the model's verdict prints
    out = capsys.readouterr().out
    assert "\r" not in out and out.startswith("ok   bug_stale_cache")
