"""The live adapter on this machine's KVM: operations cases built here in the vectors' schema, with
the expected observations computed by the reference (kvm_mmio.vm.Vm.from_kernel("live-host")),
run through the conformance runner in process and out of process; a wrong expectation fails
readably; kernel refusals and a stopped guest are answers, not crashes; nothing leaks. Each test
skips with the harness's one-line reason when /dev/kvm (or tracefs, for paths) is unusable."""

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from kvm_mmio.vm import Vm
from kvm_mmio_conformance.inprocess import InProcessChannel
from kvm_mmio_conformance.live import livevm
from kvm_mmio_conformance.live.accesspath import PATH_EVENTS, classify, evidence_from
from kvm_mmio_conformance.live.adapter import LiveAdapter
from kvm_mmio_conformance.live.guest import Guest, assemble, read
from kvm_mmio_conformance.live.operations import KernelMemslots, MemslotOp
from kvm_mmio_conformance.live.opsrun import run_operations
from kvm_mmio_conformance.live.run import GuestStopped, TimeoutExit, VcpuRunner
from kvm_mmio_conformance.live.tracefs import TraceSession, find_tracefs
from kvm_mmio_conformance.process import SubprocessChannel
from kvm_mmio_conformance.report import describe_failure
from kvm_mmio_conformance.runner import run
from kvm_mmio_conformance.vectors import cases_from_document

pytestmark = pytest.mark.live

PROFILE = "live-host"


# --- cases in the schema of vectors/operations.json, predicted by the reference ----------------


def create(g):
    return {"kind": "create", "as": 0, "gfn": g}


def delete(g):
    return {"kind": "delete", "as": 0, "gfn": g}


def flags(g):
    return {"kind": "flags", "as": 0, "gfn": g}


def move(g, to):
    return {"kind": "move", "as": 0, "gfn": g, "to": to}


def native(v, g):
    return {"kind": "access", "vcpu": v, "gfn": g, "mode": "native"}


def emulated(v, g):
    return {"kind": "access", "vcpu": v, "gfn": g, "mode": "emulated"}


def build_case(case_id, operations, *, vcpus=("v1",), gfns=(1, 2, 3), init_ram=(), observes=None):
    """A case whose every expected observation is what the reference does on the host profile:
    the new generation after a memslot operation, outcome and path after an access."""
    reference = Vm.from_kernel(PROFILE, vcpus=vcpus, gfns=gfns, init_ram=init_ram)
    steps, modes = [], set()
    for op in operations:
        if op["kind"] == "access":
            seen = reference.access(op["vcpu"], op["gfn"], op["mode"])
            expected = {"outcome": seen.outcome, "path": seen.path}
            modes.add(op["mode"])
        else:
            result = reference.memslot(op["kind"], op["gfn"], op.get("to", 0), a=op["as"])
            expected = {"generation": f"{result.generation_after:#x}"}
        steps.append({"operation": op, "expected": {"allowed": [expected]}})
    return {
        "id": case_id,
        "tier": "must",
        "comment": f"{case_id}, as the reference predicts it for the live host",
        "source": "selftest:tests/live/test_live_adapter.py",
        "requires": {
            "era": "B",
            "address_spaces": 1,
            "mmio_sptes": False,
            "modes": sorted(modes),
            "observes": observes or ["outcome", "path"],
            "config": f"kernel:{PROFILE}",
        },
        "config": {"constants": reference.constants.as_tla(), "kernel": PROFILE},
        "steps": steps,
    }


def document(raw_cases):
    return {
        "schema": "kvm-mmio-operations-vectors",
        "version": 2,
        "generator": {"name": "tests/live/test_live_adapter.py", "version": 1},
        "count": len(raw_cases),
        "notes": {},
        "cases": raw_cases,
    }


RAW_CASES = [
    build_case(
        "create-then-reads",
        [create(1), native("v1", 1), native("v1", 1), emulated("v1", 1)],
    ),
    build_case(
        "no-slot-fills-the-cache-until-an-update",
        [native("v1", 2), emulated("v1", 2), emulated("v1", 2), create(3), emulated("v1", 2)],
    ),
    build_case(
        "an-emulated-miss-does-not-fill",
        [emulated("v1", 2), emulated("v1", 2), native("v1", 2), emulated("v1", 2)],
    ),
    build_case(
        "create-over-the-cached-gfn",
        [native("v1", 2), create(2), emulated("v1", 2), native("v1", 2), native("v1", 2)],
    ),
    build_case(
        "flags-move-delete-two-vcpus",
        [
            native("v1", 1),
            native("v2", 1),
            flags(1),
            native("v1", 1),
            flags(1),
            native("v2", 1),
            move(1, 3),
            native("v1", 3),
            native("v1", 1),
            native("v2", 2),
            delete(3),
            emulated("v2", 2),
            native("v2", 3),
            emulated("v1", 1),
            create(1),
            native("v1", 1),
        ],
        vcpus=("v1", "v2"),
        init_ram=(1,),
    ),
]
CASES = cases_from_document(document(RAW_CASES), "tests/live")
# The expected paths these cases cover, so that a change to them cannot quietly drop one.
COVERED = {"hw", "slow", "cache", "emulator"}


def _paths(raw_cases):
    return {
        allowed["path"]
        for case in raw_cases
        for step in case["steps"]
        for allowed in step["expected"]["allowed"]
        if "path" in allowed
    }


def _resources(viewer: TraceSession | None = None):
    """Open fds, threads, and this project's trace instances (other than `viewer`'s own)."""
    root = find_tracefs()
    instances = os.listdir(os.path.join(root, "instances")) if root else []
    own = os.path.basename(viewer.instance) if viewer and viewer.instance else None
    ours = sorted(n for n in instances if n.startswith("kvm-mmio-") and n != own)
    return len(os.listdir("/proc/self/fd")), threading.active_count(), ours


@pytest.fixture
def adapter(kvm_available):
    with LiveAdapter() as live:
        yield live


# --- the cases -------------------------------------------------------------------------------


def test_the_cases_cover_every_path_this_host_can_show():
    assert _paths(RAW_CASES) == COVERED
    kinds = {step["operation"]["kind"] for case in RAW_CASES for step in case["steps"]}
    assert kinds == {"create", "delete", "move", "flags", "access"}


def test_the_kernel_agrees_with_the_reference_on_every_case(kvm_available, tracefs_available):
    before = _resources()
    with LiveAdapter() as adapter:
        implementation_observes = adapter.hello()["capabilities"]["operations"]["observes"]
        report = run(InProcessChannel(adapter), CASES)
    assert _resources() == before
    assert implementation_observes == ["outcome", "path"]
    failures = [describe_failure(r) for r in report.results if r.status == "failed"]
    assert failures == []
    assert [r.status for r in report.results] == ["passed"] * len(CASES)


def test_answers_carry_the_outcome_the_path_and_the_evidence_behind_it(adapter, tracefs_available):
    adapter.hello()
    assert adapter.reset(CASES[0].exchanges[0].message["config"]) == {"ok": True}
    assert adapter.operation(create(1)) == {}
    first = adapter.operation(native("v1", 1))
    assert {key: first[key] for key in ("outcome", "path", "value")} == {
        "outcome": "ram",
        "path": "slow",
        "value": "0x1",  # the marker byte of the first page created in this VM
    }
    assert first["trace"]["walks"] >= 1 and first["trace"]["ram_sptes"] == 1
    second = adapter.operation(native("v1", 1))
    assert (second["path"], second["trace"]["walks"]) == ("hw", 0)
    mmio = adapter.operation(native("v1", 2))
    assert (mmio["outcome"], mmio["path"], mmio["trace"]["cache_hits"]) == ("mmio", "cache", 1)
    assert "value" not in mmio


def test_a_wrong_expectation_fails_with_a_readable_message(kvm_available, tracefs_available):
    wrong = build_case("create-then-reads-wrong", [create(1), native("v1", 1), native("v1", 1)])
    wrong["steps"][2]["expected"]["allowed"] = [{"outcome": "ram", "path": "slow"}]
    (case,) = cases_from_document(document([wrong]), "tests/live")
    result = run_operations([case], source="tests/live")
    assert (result.status, result.ran, result.count("failed")) == ("disagree", 1, 1)
    (failure,) = result.failures()
    assert failure.step == 3  # the reset is 0: the second read
    assert failure.reason.startswith('observed {"outcome": "ram", "path": "hw", "trace": ')
    assert failure.reason.endswith(', allowed: {"outcome": "ram", "path": "slow"}')
    text = describe_failure(failure)
    assert "FAILED create-then-reads-wrong  [operations, must, message 3]" in text
    assert '  sent      {"op": "operation", "operation": {"kind": "access", "vcpu": "v1"' in text
    assert "  rerun     kvm-mmio conformance --impl kvm_mmio_conformance.live.adapter:" in text


def test_without_tracing_only_the_outcome_is_compared(kvm_available):
    outcome_only = build_case(
        "outcome-only", [create(1), native("v1", 1), native("v1", 2)], observes=["outcome"]
    )
    cases = cases_from_document(document([outcome_only, RAW_CASES[0]]), "tests/live")
    result = run_operations(cases, source="tests/live", adapter_factory=_untraced)
    assert [r.status for r in result.report.results] == ["passed", "skipped"]
    assert result.skipped_by_reason() == {
        "needs to observe [path]; the implementation declares [outcome]": 1
    }
    assert result.path_unobserved == "tracing switched off"
    with LiveAdapter(trace=False) as adapter:
        adapter.reset(outcome_only["config"])
        assert adapter.operation(native("v1", 2)) == {"outcome": "mmio"}


def _untraced():
    return LiveAdapter(trace=False)


def test_cases_that_need_the_generation_are_skipped_with_the_reason(adapter):
    needs_generation = build_case("generation", [create(1)], observes=["generation"])
    (case,) = cases_from_document(document([needs_generation]), "tests/live")
    report = run(InProcessChannel(adapter), [case])
    (result,) = report.results
    assert result.status == "skipped"
    assert result.reason.startswith("needs to observe [generation]; the implementation declares")


def test_the_adapter_out_of_process_agrees_and_leaves_no_trace_instance(
    kvm_available, tracefs_available
):
    with TraceSession([]) as viewer:  # a tracefs mount to look at the instances through
        before = _resources(viewer)[2]
        command = f"{sys.executable} -m kvm_mmio_conformance.live.serve"
        during = []  # looked at after each case, while the server runs (run ends it)
        with SubprocessChannel(command, timeout=20) as channel:
            report = run(
                channel, CASES[:2], progress=lambda *_: during.append(_resources(viewer)[2])
            )
        during = during[-1]
        assert [r.status for r in report.results] == ["passed", "passed"]
        assert report.implementation.name.startswith("Linux KVM ")
        assert len(during) == len(before) + 1  # the server's own instance, named by its pid
        assert _resources(viewer)[2] == before


def test_the_server_closes_the_adapter_on_sigterm(kvm_available, tracefs_available):
    with TraceSession([]) as viewer:
        before = _resources(viewer)[2]
        server = subprocess.Popen(
            [sys.executable, "-m", "kvm_mmio_conformance.live.serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            server.stdin.write('{"op": "hello", "protocol": 1}\n')
            server.stdin.flush()
            assert json.loads(server.stdout.readline())["protocol"] == 1
            assert len(_resources(viewer)[2]) == len(before) + 1
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=10) == 128 + signal.SIGTERM
        finally:
            if server.poll() is None:
                server.kill()
            server.stdin.close()
            server.stdout.close()
        assert _resources(viewer)[2] == before


# --- refusals, failures and resources --------------------------------------------------------


def test_operations_the_kernel_refuses_are_answered_as_errors(adapter):
    config = build_case("c", [create(1)])["config"]
    assert adapter.reset(config) == {"ok": True}
    assert adapter.operation(create(1)) == {}
    refused = adapter.operation(create(1))["error"]
    assert refused.startswith("create: KVM_SET_USER_MEMORY_REGION refused it (EEXIST)")
    assert refused.endswith("memslots at spec gfns [1]")
    assert "(EINVAL)" in adapter.operation(delete(2))["error"]
    assert adapter.operation(move(2, 3)) == {"error": "move: gfn 2 has no memslot to move"}
    assert adapter.operation(move(1, 1)) == {"error": "move: gfn 1 cannot move onto itself"}
    assert adapter.operation({**create(3), "as": 1}) == {
        "error": "create: as 1: this host has one address space, 0"
    }
    assert adapter.operation(native("v9", 1)) == {
        "error": "access: vcpu 'v9' is not one of Vcpus ['v1']"
    }
    assert adapter.operation({**native("v1", 1), "mode": "smm"})["error"].startswith(
        "access: mode 'smm'"
    )
    assert "kind is one of" in adapter.operation({"kind": "map", "gfn": 1})["error"]
    assert adapter.operation(native("v1", 1))["outcome"] == "ram"  # the VM is still usable


def test_a_stopped_guest_is_reported_and_the_vm_refused_until_reset(adapter, monkeypatch):
    config = build_case("c", [create(1)])["config"]
    adapter.reset(config)

    def hangs(self, v, gfn, cpl):
        raise GuestStopped(TimeoutExit(2.0, 0x1000), [])

    monkeypatch.setattr(livevm.LiveVm, "read", hangs)
    assert adapter.operation(native("v1", 1)) == {
        "error": "access: the guest stopped: guest stopped after 0 access(es): "
        "TimeoutExit(seconds=2.0, rip=4096)"
    }
    assert (
        "the VM stopped earlier (v1's native read of gfn 1:"
        in (adapter.operation(create(2))["error"])
    )
    monkeypatch.undo()
    assert adapter.reset(config) == {"ok": True}
    assert adapter.operation(native("v1", 1))["outcome"] == "mmio"


def test_resets_and_close_leave_no_fd_thread_or_trace_instance(kvm_available, tracefs_available):
    config = build_case("c", [create(1)], vcpus=("v1", "v2"))["config"]
    before = _resources()
    adapter = LiveAdapter()
    adapter.hello()
    for _ in range(3):
        assert adapter.reset(config) == {"ok": True}
        assert adapter.operation(native("v2", 1))["outcome"] == "mmio"
    _fds, threads, instances = _resources()
    assert threads == before[1] + 2  # one watchdog per vCPU of the current VM only
    assert len(instances) == len(before[2]) + 1
    adapter.close()
    adapter.close()  # a second close does nothing
    assert _resources() == before


# --- why the spec's gfns are spread out in the guest ------------------------------------------


def test_adjacent_frames_get_prefetched_sptes_which_the_spec_does_not_model(kvm, tracefs_available):
    """With two memslots in one group of 8 gptes, a fault on one installs the other's spte too
    (FNAME(pte_prefetch)) once its gpte is marked accessed: the second read below is "hw" where
    the spec, which has no prefetch, predicts "slow". layout.py keeps spec gfns 16 frames apart."""
    a, b, unrelated = 0x400, 0x401, 0x800
    with kvm.create_vm() as vm, TraceSession(PATH_EVENTS) as trace:
        guest = Guest(vm)
        memslots = KernelMemslots(vm, first_slot=2)
        for gfn in (a, b, unrelated):
            assert memslots.apply(MemslotOp("create", gfn)).accepted
        with VcpuRunner(vm.create_vcpu(0)) as runner:

            def path(gfn):
                trace.read()
                runner.run_program(guest, assemble([read(gfn)]), cpl=3)
                return classify("native", "ram", evidence_from(trace.read(), gfn))

            assert [path(b), path(a)] == ["slow", "slow"]
            assert memslots.apply(MemslotOp("delete", unrelated)).accepted  # zaps every spte
            assert [path(a), path(b)] == ["slow", "hw"]


def test_a_killed_processs_instance_is_removed_by_the_next_session(tracefs_available):
    with TraceSession([]) as viewer:
        instances = os.path.dirname(viewer.instance)
        orphan = os.path.join(instances, "kvm-mmio-999999999-dead")
        os.mkdir(orphan)
        try:
            with TraceSession([]):
                assert not os.path.exists(orphan)
            assert os.path.isdir(viewer.instance)  # a live session's instance is kept
        finally:
            if os.path.exists(orphan):
                os.rmdir(orphan)


def test_a_failed_reset_closes_the_half_built_vm(kvm_available, monkeypatch):
    def broken_guest(vm):
        raise RuntimeError("this KVM has no KVM_CAP_READONLY_MEM")

    fds = len(os.listdir("/proc/self/fd"))
    with LiveAdapter(trace=False) as adapter:
        monkeypatch.setattr(livevm, "Guest", broken_guest)
        assert adapter.reset(build_case("c", [create(1)])["config"]) == {
            "error": "reset: building the VM failed: RuntimeError: this KVM has no "
            "KVM_CAP_READONLY_MEM"
        }
        assert len(os.listdir("/proc/self/fd")) == fds + 1  # /dev/kvm only: the VM fd is closed
        assert adapter.operation(native("v1", 1))["error"].startswith("operation: no VM")
    assert len(os.listdir("/proc/self/fd")) == fds
