"""The runner cannot hang or misjudge: a descendant holding the adapter's pipes, an answer given
twice, bytes that are not UTF-8, a slow adapter under the run's deadline, SIGTERM to the runner;
and what a run's verdict means (--require, a run in which no case ran)."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kvm_mmio_conformance.process import SubprocessChannel
from kvm_mmio_conformance.protocol import AdapterFailure
from kvm_mmio_conformance.runner import connect, run
from kvm_mmio_conformance.vectors import load_vectors, select
from kvm_mmio_tools.cli import main

ADAPTERS = Path(__file__).parent / "conformance_adapters"
# encode, decode, check: the misbehaving adapters go wrong on decode only
CASES = (
    "v6-ept-p46c46-l1tf-encode-apic",
    "v6-ept-p46c46-l1tf-decode-apic",
    "v6-ept-p46c46-l1tf-check-same",
)
# A bound for waiting on a child process, so that a broken runner fails the test, not hangs it.
PATIENCE = 60


def script(name: str, *args: str) -> str:
    return shlex.join([sys.executable, str(ADAPTERS / name), *args])


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_dead(pid: int) -> bool:
    """Whether `pid` is dead within PATIENCE seconds (reparented children die asynchronously)."""
    limit = time.monotonic() + PATIENCE
    while alive(pid) and time.monotonic() < limit:
        time.sleep(0.05)
    return not alive(pid)


@pytest.fixture(scope="module")
def three_cases():
    return select(load_vectors(), patterns=CASES)


def test_a_descendant_holding_the_pipes_neither_hangs_the_run_nor_outlives_it(
    tmp_path, three_cases
):
    pidfile = tmp_path / "child.pid"
    with SubprocessChannel(script("descendant.py", str(pidfile)), timeout=5) as channel:
        report = run(channel, three_cases)
    assert [r.status for r in report.results] == ["passed"] * 3 and report.ok
    # the run ended with the adapter's input; the child, in its group, was killed with it
    assert wait_dead(int(pidfile.read_text()))


def test_a_descendant_that_left_the_group_does_not_hang_the_run(tmp_path, three_cases):
    pidfile = tmp_path / "child.pid"
    try:
        with SubprocessChannel(script("descendant.py", str(pidfile), "setsid")) as channel:
            report = run(channel, three_cases)
        assert report.ok and channel.starts == 1
    finally:
        # it escaped the process group on purpose: the test ends the process it made escape
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


@pytest.mark.parametrize("position", ["middle", "last"])
def test_a_second_answer_is_blamed_on_the_message_it_answers(three_cases, position):
    """Protocol 2: the decode case's answer comes twice. The decode case fails, naming the
    line; the next case is judged on its own answer, whether or not the extra line was there
    before it was sent (in the middle) or comes after the last answer (last)."""
    cases = list(three_cases) if position == "middle" else [three_cases[0], three_cases[1]]
    with SubprocessChannel(script("duplicating.py", "2")) as channel:
        report = run(channel, cases)
        assert channel.starts == 1 and channel.protocol == 2
    statuses = [r.status for r in report.results]
    assert statuses == ["passed", "failed", "passed"][: len(cases)]
    reason = report.results[1].reason
    # hello is line 1, the encode answer line 2, the decode answer line 3: line 4 is the extra
    assert reason.startswith("output line 4 is a second answer to this case's message with id 2")
    assert not report.ok


def test_protocol_1_is_still_accepted_and_a_trailing_extra_line_is_found(three_cases):
    with SubprocessChannel(script("duplicating.py", "1")) as channel:
        report = run(channel, [three_cases[0], three_cases[1]])
        assert channel.protocol == 1
    assert [r.status for r in report.results] == ["passed", "failed"]
    # no ids on the wire, but the runner knows which message was the last one answered
    assert report.results[1].reason.startswith(
        "output line 4 is a second answer to this case's message with id 2"
    )


def test_an_endless_line_is_refused_not_buffered():
    command = "head -c 20000000 /dev/zero | tr '\\0' x; sleep 300"
    channel = SubprocessChannel(command, timeout=30)
    with channel, pytest.raises(AdapterFailure) as failure:
        connect(channel)
    assert "an output line longer than 16,777,216 bytes" in str(failure.value)


def test_an_answer_that_is_not_utf8_is_named_so(three_cases):
    with SubprocessChannel(script("not_utf8.py")) as channel:
        report = run(channel, three_cases)
    assert [r.status for r in report.results] == ["passed", "failed", "passed"]
    assert "output line 3 is not UTF-8 (byte 0xe9 at offset 13)" in report.results[1].reason


def test_a_slow_adapter_is_stopped_by_the_deadline_with_a_partial_report(tmp_path, capsys):
    """0.2 s per answer, 1 s for the whole run: it stops part way, the case in progress
    failed, and the report says so; the adapter is killed."""
    pidfile = tmp_path / "adapter.pid"
    argv = ["conformance", "--cmd", script("slow.py", str(pidfile)), "--layer", "spte"]
    status = main([*argv, "--deadline", "1", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 1 and document["ok"] is False
    assert document["stopped"] == "the run's deadline of 1 s passed"
    assert 1 <= len(document["cases"]) < document["planned"]
    last = document["cases"][-1]
    assert last["status"] == "failed" and "deadline passed" in last["reason"]
    assert wait_dead(int(pidfile.read_text()))


def test_sigterm_stops_the_runner_with_a_partial_report_and_kills_the_adapter(tmp_path):
    pidfile = tmp_path / "adapter.pid"
    command = [
        sys.executable,
        "-m",
        "kvm_mmio_tools.cli",
        "conformance",
        "--cmd",
        script("slow.py", str(pidfile)),
        "--layer",
        "spte",
        "--json",
    ]
    runner = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        limit = time.monotonic() + PATIENCE
        while not pidfile.exists() and runner.poll() is None and time.monotonic() < limit:
            time.sleep(0.05)
        assert pidfile.exists(), runner.stderr.read().decode()
        time.sleep(0.5)  # a few slow answers, so that the partial report has cases
        runner.send_signal(signal.SIGTERM)
        out, err = runner.communicate(timeout=PATIENCE)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
    assert runner.returncode == 130, err.decode()
    document = json.loads(out)
    assert document["stopped"] == "interrupted (SIGTERM)" and document["ok"] is False
    assert 0 < len(document["cases"]) < document["planned"]
    assert all(case["status"] == "passed" for case in document["cases"])
    assert wait_dead(int(pidfile.read_text()))


def test_require_should_fails_the_run_on_a_should_tier_failure(capsys):
    witness = ["--case", "counterexample-bug-hook-late", "--layer", "steps"]
    impl = ["--impl", "kvm_mmio_conformance.mutants.hook_late:HookLate"]
    assert main(["conformance", *impl, *witness, "--tier", "should"]) == 0
    assert "ok: no must-tier case failed; 1 case(s) of higher tiers failed" in (
        capsys.readouterr().out
    )
    assert main(["conformance", *impl, *witness, "--require", "should"]) == 1
    assert capsys.readouterr().out.endswith("NOT OK: 1 should-tier or lower case(s) failed\n")


def test_a_tier_below_the_required_one_is_a_usage_error(capsys):
    impl = ["--impl", "kvm_mmio_conformance.reference_adapter:ReferenceAdapter"]
    assert main(["conformance", *impl, "--tier", "must", "--require", "should"]) == 2
    assert "--tier must runs fewer tiers than --require should needs" in capsys.readouterr().err


def test_a_run_in_which_no_case_ran_is_not_ok(capsys):
    impl = ["--impl", "kvm_mmio_conformance.mutants.never_caches:NeverCaches"]
    assert main(["conformance", *impl, "--layer", "operations"]) == 4
    out = capsys.readouterr().out
    assert out.rstrip().endswith("selected case(s) were skipped (see the reasons above)")
    assert "NOT OK: no case ran: all " in out
