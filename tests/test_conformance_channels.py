"""The channels to an implementation: in process (exceptions become case failures) and out of
process (a crash, garbage or a hang fails the case in progress with the stderr tail, the next
case gets a fresh process, and a command that cannot even restart is given up)."""

import shlex
import sys
import time
from pathlib import Path

import pytest

from kvm_mmio_conformance.inprocess import InProcessChannel, load_factory
from kvm_mmio_conformance.process import SubprocessChannel
from kvm_mmio_conformance.protocol import (
    AdapterFailure,
    BaseAdapter,
    dispatch,
    hello_message,
)
from kvm_mmio_conformance.reference_adapter import ReferenceAdapter
from kvm_mmio_conformance.runner import connect, run
from kvm_mmio_conformance.vectors import load_vectors, select

ADAPTERS = Path(__file__).parent / "conformance_adapters"
# One encode, one decode and one check case: the misbehaving adapters go wrong on decode only.
CASES = (
    "v6-ept-p46c46-l1tf-encode-apic",
    "v6-ept-p46c46-l1tf-decode-apic",
    "v6-ept-p46c46-l1tf-check-same",
)


def script(name: str) -> str:
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(ADAPTERS / name))}"


@pytest.fixture(scope="module")
def three_cases():
    return select(load_vectors(), patterns=CASES)


def test_dispatch_maps_each_op_to_its_method_and_refuses_unknown_messages():
    adapter = ReferenceAdapter()
    assert dispatch(adapter, hello_message())["name"] == "kvm_mmio reference"
    assert "error" in dispatch(adapter, {"op": "zap"})
    assert "error" in dispatch(adapter, ["hello"])
    assert dispatch(adapter, {"op": "spte"}) == {"error": "spte: missing request"}
    assert (
        "expected an object of TLA+ constants"
        in dispatch(adapter, {"op": "reset", "config": {}})["error"]
    )
    assert dispatch(adapter, {"op": "state"}) == {"error": "no configuration: send reset first"}

    class SpteOnly(BaseAdapter):
        def hello(self):
            return {"name": "spte only", "capabilities": {"layers": []}}

    assert "not implemented" in dispatch(SpteOnly(), {"op": "reset", "config": {}})["error"]
    assert "not implemented" in dispatch(SpteOnly(), {"op": "state"})["error"]


def test_in_process_exception_is_an_adapter_failure_with_the_traceback():
    class Broken(BaseAdapter):
        def hello(self):
            return ReferenceAdapter().hello()

        def spte(self, request):
            raise KeyError("oops")

    channel = InProcessChannel(Broken())
    with pytest.raises(AdapterFailure, match="raised KeyError") as caught:
        channel.call({"op": "spte", "request": {}})
    assert "Traceback" in caught.value.stderr


def test_in_process_answers_must_survive_json():
    class Tuples(BaseAdapter):
        def hello(self):
            return {"name": "t", "capabilities": {"layers": []}, "extra": (1, 2)}

        def spte(self, request):
            return {"spte": object()}

    channel = InProcessChannel(Tuples())
    assert channel.call(hello_message())["extra"] == [1, 2]
    with pytest.raises(AdapterFailure, match="TypeError"):
        channel.call({"op": "spte", "request": {}})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon", "expected module:factory"),
        ("kvm_mmio_conformance.nowhere:X", "cannot import"),
        ("kvm_mmio_conformance.reference_adapter:missing", "no callable missing"),
    ],
)
def test_load_factory_errors_name_the_problem(spec, message):
    with pytest.raises(ValueError, match=message):
        load_factory(spec)


def test_the_reference_server_answers_hello_and_spte():
    with SubprocessChannel(
        f"{shlex.quote(sys.executable)} -m kvm_mmio_conformance.serve_reference"
    ) as ch:
        assert connect(ch).name == "kvm_mmio reference"
        assert "error" in ch.call({"op": "spte", "request": ["encode"]})
        assert ch.starts == 1


@pytest.mark.parametrize(
    ("name", "why", "stderr"),
    [
        ("crashing.py", "exited without answering (exit status 3)", "giving up on decode"),
        ("garbage.py", "the answer, is not JSON: '<<< this is not JSON >>>'", "about to print"),
        ("hanging.py", "no answer within 0.5 s; the command was killed", "sleeping instead"),
    ],
)
def test_a_misbehaving_adapter_fails_only_that_case_and_the_suite_goes_on(
    three_cases, name, why, stderr
):
    with SubprocessChannel(script(name), timeout=0.5) as channel:
        report = run(channel, three_cases, target=f"--cmd {script(name)}")
        assert channel.starts == 2  # a fresh process after the failure
    statuses = {r.case.id: r.status for r in report.results}
    assert statuses == dict(zip(CASES, ("passed", "failed", "passed"), strict=True))
    failed = report.results[1]
    assert why in failed.reason
    assert stderr in failed.stderr
    assert failed.observed is None
    assert failed.rerun.endswith("--layer spte --case v6-ept-p46c46-l1tf-decode-apic")
    assert not report.ok


def test_a_command_that_fails_again_after_a_restart_is_given_up(tmp_path, three_cases):
    marker = tmp_path / "started"
    command = (
        f"if [ -e {marker} ]; then echo 'second start refused' >&2; exit 7; fi; "
        f"touch {marker}; exec {script('crashing.py')}"
    )
    cases = [three_cases[1], three_cases[0], three_cases[2]]  # decode first: crash at once
    with SubprocessChannel(command, timeout=2) as channel:
        report = run(channel, cases)
        assert channel.starts == 2  # the second start failed hello; no third start
    assert [r.status for r in report.results] == ["failed", "failed", "failed"]
    assert "given up" in report.results[1].reason
    assert "exit status 7" in report.results[1].reason
    assert "second start refused" in report.results[1].stderr
    assert report.results[2].reason == report.results[1].reason


def test_a_command_that_cannot_say_hello_is_reported_with_its_stderr():
    command = "echo 'no such implementation' >&2; exit 4"
    with SubprocessChannel(command, timeout=2) as channel, pytest.raises(AdapterFailure) as caught:
        connect(channel)
    assert "exit status 4" in str(caught.value) or "stopped reading" in str(caught.value)
    assert "no such implementation" in caught.value.stderr


def test_a_bad_hello_answer_is_a_value_error():
    answer = """{"name": "x", "capabilities": {"layers": ["spte"]}}"""
    channel = SubprocessChannel(f"read line; echo '{answer}'; cat >/dev/null")
    with channel, pytest.raises(ValueError, match="layers spte are declared without a section"):
        connect(channel)


def test_an_extra_answer_line_fails_the_next_message_instead_of_shifting_every_answer():
    hello = """{"name": "x", "capabilities": {"layers": []}}"""
    command = f"while read line; do echo '{hello}'; echo '{{\"extra\": 1}}'; done"
    with SubprocessChannel(command, timeout=2) as channel:
        assert connect(channel).name == "x"
        time.sleep(0.3)  # let the extra line arrive
        with pytest.raises(AdapterFailure, match="a line nobody asked for") as caught:
            channel.call(hello_message())
        assert """'{"extra": 1}'""" in str(caught.value)
        assert channel.starts == 1


def test_timeout_must_be_positive():
    with pytest.raises(ValueError, match="timeout"):
        SubprocessChannel("true", timeout=0)
