"""The TLC driver against the real TLC on the toy specs: results, timeouts, Ctrl-C, cleanup."""

import os
import shutil
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from kvm_mmio_tools.errors import UsageError
from kvm_mmio_tools.tlc import Outcome, run_tlc
from kvm_mmio_tools.tlcgraph import read_state_graph

pytestmark = [
    pytest.mark.tlc,
    pytest.mark.skipif(shutil.which("java") is None, reason="java missing: bash tools/setup.sh"),
]

SPECS = Path(__file__).parent / "fixtures" / "tlc" / "specs"


def scratch_of(command):
    """The scratch folder of a run: the parent of its -metadir."""
    return Path(command[command.index("-metadir") + 1]).parent


def jvm_alive(pid, scratch):
    """Whether process ``pid`` is still our JVM (its command line names our scratch folder)."""
    try:
        return str(scratch) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_success_counts_progress_and_state_graph(tmp_path):
    progress = []
    dot = tmp_path / "toy.dot"
    result = run_tlc(
        SPECS / "Toy.tla", SPECS / "Toy.cfg", on_progress=progress.append, dump_dot=dot
    )
    assert result.outcome is Outcome.SUCCESS, result.explanation
    assert (result.distinct_states, result.states_generated, result.depth) == (40, 65, 8)
    assert progress and progress[-1].distinct == 40  # TLC reports progress once more at the end
    assert len(read_state_graph(dot).states) == 40  # ToyLib, EXTENDed, was found next to Toy
    assert not scratch_of(result.command).exists()


def test_violation_with_its_trace():
    result = run_tlc(SPECS / "Toy.tla", SPECS / "ToyInvariant.cfg")
    assert result.outcome is Outcome.INVARIANT_VIOLATED
    assert result.violated == ("XSmall",)
    assert [state.variables["x"] for state in result.trace] == [0, 1, 2]


def test_timeout_stops_the_jvm_and_leaves_nothing_behind():
    result = run_tlc(SPECS / "Forever.tla", SPECS / "Forever.cfg", timeout=2, grace_seconds=2)
    assert result.outcome is Outcome.TIMEOUT
    assert result.explanation == "stopped after 2 s"
    assert 2 <= result.seconds < 6
    scratch = scratch_of(result.command)
    assert not jvm_alive(result.pid, scratch)
    with pytest.raises(ProcessLookupError):
        os.killpg(result.pid, 0)  # nothing left in the JVM's process group
    assert not scratch.exists()


def test_ctrl_c_stops_the_jvm_then_propagates(sigint_raises):
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
    with capture_logs() as events, pytest.raises(KeyboardInterrupt):
        timer.start()
        run_tlc(SPECS / "Forever.tla", SPECS / "Forever.cfg", timeout=30)
    timer.join()
    (start,) = [event for event in events if event["event"] == "tlc.start"]
    assert not jvm_alive(start["pid"], start["cwd"])
    assert not Path(start["cwd"]).exists()


def test_runs_started_in_the_same_second_do_not_clash(tmp_path):
    # The cfg lives in another folder than the spec: TLC resolves -config against the spec's folder.
    cfg = tmp_path / "elsewhere.cfg"
    cfg.write_text((SPECS / "Deadlock.cfg").read_text())
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(run_tlc, SPECS / "Deadlock.tla", path) for path in (cfg, cfg)]
        results = [run.result() for run in runs]
    assert [result.outcome for result in results] == [Outcome.DEADLOCK, Outcome.DEADLOCK]
    assert scratch_of(results[0].command) != scratch_of(results[1].command)


def test_bad_arguments_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="file not found"):
        run_tlc(tmp_path / "Nope.tla", SPECS / "Toy.cfg")
    with pytest.raises(UsageError, match=r"expected a \.cfg file"):
        run_tlc(SPECS / "Toy.tla", SPECS / "Toy.tla")
    with pytest.raises(UsageError, match="workers"):
        run_tlc(SPECS / "Toy.tla", SPECS / "Toy.cfg", workers=0)
    with pytest.raises(UsageError, match=r"must end in \.dot"):
        run_tlc(SPECS / "Toy.tla", SPECS / "Toy.cfg", dump_dot=tmp_path / "graph")
