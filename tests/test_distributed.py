"""`kvm-mmio check --distributed`: TLC's distributed mode on 127.0.0.1 gives the local verdicts and
counts on a safe model, its misreport of a violation is caught and re-checked locally, nothing it
starts outlives the run (timeout, cancel, Ctrl-C, lost workers), and what listens where is checked
and reported."""

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from ownprocs import ProcessTree, kvm_mmio_interruptible

from kvm_mmio_tools.check import check_model
from kvm_mmio_tools.cli import main
from kvm_mmio_tools.counterexample import counterexample_json
from kvm_mmio_tools.distributed import SCRATCH_PREFIX, run_distributed
from kvm_mmio_tools.distributed_check import check_model_distributed
from kvm_mmio_tools.distributed_trust import doubts, summary
from kvm_mmio_tools.listening import Listener, parse_proc_net_tcp
from kvm_mmio_tools.models import load_models, spec_dir, with_checks
from kvm_mmio_tools.rmi_loopback import source_launcher_available
from kvm_mmio_tools.tlc import Outcome, parse_output

MODELS = load_models()
SPEC = spec_dir() / "KvmMmio.tla"

# What TLC 2.15's distributed server printed for bug_no_flush (shortened): a trace whose first
# state is not initial, no violation message, no success message, exit 0.
MISREPORT = """\
@!@!@STARTMSG 7000:0 @!@!@
TLC server at vm is ready (2026-11-25 08:32:24)
@!@!@ENDMSG 7000 @!@!@
@!@!@STARTMSG 2121:1 @!@!@
The behavior up to this point is:
@!@!@ENDMSG 2121 @!@!@
@!@!@STARTMSG 2217:4 @!@!@
1: <Initial predicate>
/\\ pc = (v1 :> "HwAccess")
@!@!@ENDMSG 2217 @!@!@
@!@!@STARTMSG 2217:4 @!@!@
2: <HwAccess line 241, col 8 to line 248, col 79 of module KvmMmio>
/\\ pc = (v1 :> "EndAccess")
@!@!@ENDMSG 2217 @!@!@
@!@!@STARTMSG 2199:0 @!@!@
11289 states generated, 4369 distinct states found, 354 states left on queue.
@!@!@ENDMSG 2199 @!@!@
@!@!@STARTMSG 2186:0 @!@!@
Finished in 02s at (2026-11-25 08:32:26)
@!@!@ENDMSG 2186 @!@!@
"""


def _invariants_only(name: str) -> str:
    model = MODELS[name]
    return with_checks(model.cfg_text, model.invariants, ())


def _our_jvms(role: str = "") -> list[int]:
    """The JVMs of distributed runs started by this test (in this process, scratch folders under
    its own TMPDIR), optionally only those whose command line names ``role``."""
    mine = f"{tempfile.gettempdir()}/{SCRATCH_PREFIX}"
    found = []
    for pid in ProcessTree(os.getpid()).java():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if mine in command and role in command:
            found.append(pid)
    return found


@pytest.fixture
def leaves_nothing(scratch):
    """The test leaves no JVM and no scratch folder of a distributed run behind."""
    yield
    assert _our_jvms() == []
    assert list(scratch.iterdir()) == []


def test_misreport_is_doubted():
    result = parse_output(MISREPORT, 0)
    found = doubts(result)
    assert "printed a 2-state error trace" in found
    assert "printed no success message" in found
    assert "left 354 states on the queue" in found
    assert summary(result, found).startswith("distributed run reported no violation but printed")


def test_a_clean_success_is_not_doubted():
    text = (
        "@!@!@STARTMSG 2193:0 @!@!@\nModel checking completed. No error has been found.\n"
        "@!@!@ENDMSG 2193 @!@!@\n@!@!@STARTMSG 2199:0 @!@!@\n"
        "10 states generated, 4 distinct states found, 0 states left on queue.\n"
        "@!@!@ENDMSG 2199 @!@!@\n"
    )
    assert doubts(parse_output(text, 0)) == []
    assert doubts(parse_output(text, 12)) == ["exited with status 12"]


def test_listening_sockets_are_read_from_proc():
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 0100007F:2AF5 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 111 1\n"
        "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 222 1\n"
        "   2: 0100007F:2AF5 0100007F:D431 01 00000000:00000000 00:00000000 00000000  0 0 333 1\n"
    )
    assert parse_proc_net_tcp(table) == {111: ("127.0.0.1", 10997), 222: ("0.0.0.0", 22)}
    mapped = "0000000000000000FFFF00000100007F"
    table6 = table.splitlines()[0] + (
        f"\n   0: {mapped}:9C4B 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 444 1\n"
        "   1: 00000000000000000000000000000000:9C4C 00000000000000000000000000000000:0000 0A "
        "0:0 0:0 0 0 0 555 1\n"
    )
    sockets = parse_proc_net_tcp(table6)
    loopback, wildcard = Listener(1, *sockets[444]), Listener(1, *sockets[555])
    assert loopback.loopback and not loopback.all_interfaces and str(loopback).endswith(":40011")
    assert str(loopback) == "[::ffff:127.0.0.1]:40011"
    assert wildcard.all_interfaces and not wildcard.loopback and str(wildcard) == "[::]:40012"


@pytest.mark.tlc
def test_print_worker_command_starts_nothing(leaves_nothing, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise AssertionError("--print-worker-command must not start a process")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    argv = ["check", "host", "--distributed", "--fpset", "--workers", "3"]
    assert main([*argv, "--print-worker-command"]) == 0
    out = capsys.readouterr().out
    commands = [line for line in out.splitlines() if not line.startswith("#")]
    assert len(commands) == 3  # server, fingerprint set, worker
    server, fpset, worker = commands
    assert "tlc2.tool.distributed.TLCServer -tool -config models/host.cfg" in server
    assert "-Dtlc2.tool.distributed.TLCServer.expectedFPSetCount=1" in server
    assert fpset.endswith("tlc2.tool.distributed.fp.DistributedFPSet 127.0.0.1")
    assert worker.endswith("tlc2.tool.distributed.TLCWorker 127.0.0.1")
    for command in commands:
        assert "-Djava.rmi.server.hostname=127.0.0.1" in command
        assert "--add-opens java.rmi/sun.rmi.transport=ALL-UNNAMED" in command
    assert "3 worker(s)" in out and "all interfaces" in out and "misreports" in out


@pytest.mark.tlc
def test_options_need_distributed(capsys):
    assert main(["check", "host", "--fpset"]) == 2
    assert main(["check", "host", "--distributed", "--record"]) == 2
    assert "need" in capsys.readouterr().err


@pytest.mark.tlc
@pytest.mark.slow
def test_safe_model_gets_the_local_verdict_and_count(leaves_nothing, capsys):
    assert main(["check", "host", "--distributed", "--workers", "2", "--json"]) == 0
    (model,) = json.loads(capsys.readouterr().out)["models"]
    local = check_model(MODELS["host"])
    assert model["ok"] and local.ok
    assert model["mode"] == "distributed"
    assert model["distinct_states"] == local.distinct_states == MODELS["host"].recorded_states
    assert model["holds"] == list(local.holds) and model["violated"] == list(local.violated) == []
    assert any("ignores PROPERTIES" in note for note in model["notes"])
    if source_launcher_available():  # every socket is bound to 127.0.0.1: nothing to warn about
        assert model["warnings"] == []


@pytest.mark.tlc
@pytest.mark.slow
def test_violation_misreport_is_caught_and_rechecked_locally(leaves_nothing):
    run = run_distributed(SPEC, _invariants_only("bug_no_flush"), workers=2)
    assert run.result.exit_code == 0  # the trap: a violation, and exit 0 ...
    assert "printed no success message" in run.doubts  # ... is caught
    assert any(reason.endswith("-state error trace") for reason in run.doubts)
    assert not run.trusted and run.registered == 2

    checked = check_model_distributed(MODELS["bug_no_flush"], workers=2)
    assert checked.mode == "local-recheck"
    (note,) = checked.notes
    assert note.startswith("distributed run reported no violation but ")
    assert note.endswith("; re-checked locally")
    report = checked.report
    assert report.ok and report.violated == ("ObservationsAllowed",)
    trace = counterexample_json(report.counterexamples["ObservationsAllowed"])
    assert trace[0]["action"] is None and trace[0]["state"]["pc"] == '(v1 :> "Idle")'
    assert len(trace) > 2 and all(step["action"] for step in trace[1:])
    assert [step["step"] for step in trace] == list(range(1, len(trace) + 1))


@pytest.mark.tlc
@pytest.mark.slow
def test_fingerprint_set_server_gives_the_same_count(leaves_nothing):
    run = run_distributed(SPEC, _invariants_only("host"), workers=2, fpset=True)
    assert run.trusted, run.doubts
    assert run.result.distinct_states == MODELS["host"].recorded_states
    assert any(listener.startswith("DistributedFPSet ") for listener in run.listeners)


@pytest.mark.tlc
@pytest.mark.slow
def test_sockets_on_every_interface_are_warned_about(leaves_nothing, monkeypatch):
    import kvm_mmio_tools.distributed as distributed

    monkeypatch.setattr(distributed, "source_launcher_available", lambda: False)
    heard: list[str] = []
    run = run_distributed(SPEC, _invariants_only("host"), workers=1, on_warning=heard.append)
    assert run.trusted, run.doubts
    assert heard == list(run.warnings)
    exposed = [w for w in heard if w.startswith("TLCServer listens on ")]
    assert exposed and all("(all interfaces); anyone who can reach" in w for w in exposed)
    assert any(w.startswith("TLCWorker-1 listens on ") for w in heard)


@pytest.mark.tlc
@pytest.mark.slow
def test_when_bound_to_loopback_only_loopback_listens(leaves_nothing):
    if not source_launcher_available():
        pytest.fail("this java has no jdk.compiler module: the loopback launcher cannot run")
    run = run_distributed(SPEC, _invariants_only("host"), workers=2)
    roles = {listener.split()[0] for listener in run.listeners}
    assert roles == {"TLCServer", "TLCWorker-1", "TLCWorker-2"}
    assert all("[::ffff:127.0.0.1]:" in listener for listener in run.listeners), run.listeners
    assert run.warnings == ()


@pytest.mark.tlc
@pytest.mark.slow
def test_timeout_stops_every_jvm(leaves_nothing):
    run = run_distributed(SPEC, _invariants_only("safe"), workers=2, timeout=8)
    assert run.result.outcome is Outcome.TIMEOUT
    assert "was stopped after 8 s (timeout)" in run.doubts


@pytest.mark.tlc
@pytest.mark.slow
def test_cancel_stops_every_jvm(leaves_nothing):
    cancel, raised = threading.Event(), []

    def target():
        try:
            run_distributed(SPEC, _invariants_only("safe"), workers=2, cancel=cancel)
        except KeyboardInterrupt as error:
            raised.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    deadline = time.monotonic() + 60
    while len(_our_jvms()) < 3 and time.monotonic() < deadline:  # the server and both workers
        time.sleep(0.2)
    assert len(_our_jvms()) >= 3
    cancel.set()
    thread.join(timeout=30)
    assert not thread.is_alive() and len(raised) == 1


@pytest.mark.tlc
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_every_jvm(signum, scratch):
    command = kvm_mmio_interruptible("check", "safe", "--distributed")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree = ProcessTree(process.pid)
    try:
        assert len(tree.wait_for_java(3)) >= 3  # the server and both workers
        process.send_signal(signum)
        tree.wait(process, timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    _, err = process.communicate()
    assert process.returncode == 130 and "interrupted" in err
    assert tree.survivors() == []
    assert list(scratch.iterdir()) == []


@pytest.mark.tlc
@pytest.mark.slow
def test_losing_every_worker_ends_the_run(leaves_nothing):
    found: dict = {}

    def target():
        found["run"] = run_distributed(SPEC, _invariants_only("safe"), workers=2)

    thread = threading.Thread(target=target)
    thread.start()
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        workers = _our_jvms("TLCWorker")
    time.sleep(3)  # registered and working
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    thread.join(timeout=90)
    assert not thread.is_alive()
    assert "lost every worker before it finished" in found["run"].doubts
