"""The scripted guest on the machine's KVM: each access's outcome (memory value or MMIO exit)
follows the memslots, at CPL3 (native) and CPL0 (emulated), and a guest that hangs or faults is
stopped and reported."""

import threading
import time

import pytest

from kvm_mmio_conformance.live import ioctls
from kvm_mmio_conformance.live.guest import Program, assemble, read, write
from kvm_mmio_conformance.live.run import (
    DEFAULT_MMIO_READ_VALUE,
    GuestStopped,
    MmioExit,
    ShutdownExit,
    TimeoutExit,
    VcpuRunner,
)

pytestmark = pytest.mark.live

X = 0x300  # the gfn under test
PAGE = 4096
ANSWER = DEFAULT_MMIO_READ_VALUE & 0xFF
SPIN = Program((), b"\xeb\xfe", loop=False)  # jmp $ : a guest that never exits on its own
UD2 = Program((), b"\x0f\x0b", loop=False)  # an invalid opcode: #UD, no IDT, triple fault


def _read_x(runner, guest, cpl):
    (outcome,) = runner.run_program(guest, assemble([read(X)]), cpl=cpl)
    return outcome.path, outcome.value


@pytest.mark.parametrize("cpl", [3, 0])
def test_reads_follow_create_delete_move_and_flags_updates(vm, guest, runner, cpl):
    data, other = vm.allocate(PAGE), vm.allocate(PAGE)
    data.write(0, b"\xab")
    assert _read_x(runner, guest, cpl) == ("mmio", ANSWER)
    vm.create_memslot(5, 0x600000, other)  # an unrelated create
    assert _read_x(runner, guest, cpl) == ("mmio", ANSWER)
    vm.create_memslot(2, X * PAGE, data)
    assert _read_x(runner, guest, cpl) == ("memory", 0xAB)
    data.write(0, b"\xac")  # the host writes the backing page: no memslot update
    assert _read_x(runner, guest, cpl) == ("memory", 0xAC)
    vm.set_memslot_flags(2, ioctls.KVM_MEM_LOG_DIRTY_PAGES)
    assert _read_x(runner, guest, cpl) == ("memory", 0xAC)
    vm.move_memslot(2, 0x500000)
    assert _read_x(runner, guest, cpl) == ("mmio", ANSWER)
    assert runner.run_program(guest, assemble([read(0x500)]), cpl=cpl)[0].value == 0xAC
    vm.move_memslot(2, X * PAGE)
    assert _read_x(runner, guest, cpl) == ("memory", 0xAC)
    vm.delete_memslot(2)
    assert _read_x(runner, guest, cpl) == ("mmio", ANSWER)


@pytest.mark.parametrize("cpl", [3, 0])
def test_writes_land_in_memory_or_exit_with_their_value(vm, guest, runner, cpl):
    data = vm.allocate(PAGE)
    vm.create_memslot(2, X * PAGE, data)
    program = assemble(
        [
            write(X, 0x5A),
            write(X, 0x0102030405060708, width=8, offset=8),
            write(0x400, 0x77),
            read(X, width=8, offset=8),
            read(0x400, width=8),
        ]
    )
    outcomes = runner.run_program(guest, program, cpl=cpl, mmio_read_value=0x1122334455667788)
    assert [(o.path, o.value) for o in outcomes] == [
        ("memory", 0x5A),
        ("memory", 0x0102030405060708),
        ("mmio", 0x77),
        ("memory", 0x0102030405060708),
        ("mmio", 0x1122334455667788),
    ]
    assert data.read_int(0, 1) == 0x5A
    assert data.read_int(8, 8) == 0x0102030405060708


def test_a_loop_program_repeats_its_accesses(guest, runner):
    program = assemble([read(X), write(X, 1)], loop=True)
    runner.enter(guest, program)
    first = runner.collect(program, rounds=3)
    then = runner.collect(program, rounds=2)
    assert [o.path for o in first + then] == ["mmio"] * 10
    with pytest.raises(ValueError, match="loop"):
        runner.collect(assemble([read(X)]), rounds=2)


def test_a_hung_guest_is_stopped_by_the_timeout_and_the_vcpu_runs_again(vcpu, guest):
    with VcpuRunner(vcpu, timeout=0.3) as runner:
        runner.enter(guest, SPIN)
        started = time.monotonic()
        stopped = runner.run()
        elapsed = time.monotonic() - started
        assert isinstance(stopped, TimeoutExit)
        assert stopped.rip == 0x1000  # still on its jmp $
        assert 0.3 <= elapsed < 1.5
        assert _read_x(runner, guest, 3) == ("mmio", ANSWER)


def test_a_hung_guest_in_another_thread_is_stopped_too(vcpu, guest):
    VcpuRunner(vcpu).close()  # the handler is installed from the main thread
    result = {}

    def spin() -> None:
        with VcpuRunner(vcpu, timeout=0.2) as runner:
            runner.enter(guest, SPIN)
            result["exit"] = runner.run()

    thread = threading.Thread(target=spin)
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert isinstance(result["exit"], TimeoutExit)


def test_a_script_that_never_reports_raises_guest_stopped_with_the_timeout(vcpu, guest):
    with VcpuRunner(vcpu, timeout=0.2) as runner:
        runner.enter(guest, SPIN)
        with pytest.raises(GuestStopped) as stopped:
            runner.collect(assemble([read(X)]))
    assert isinstance(stopped.value.exit, TimeoutExit)
    assert stopped.value.outcomes == []


@pytest.mark.parametrize("cpl", [3, 0])
def test_a_faulting_guest_shuts_down_and_is_reported(guest, runner, cpl):
    runner.enter(guest, UD2, cpl=cpl)
    assert runner.run() == ShutdownExit(rip=0x1000)
    assert _read_x(runner, guest, cpl) == ("mmio", ANSWER)


def test_the_runner_decodes_mmio_exits_step_by_step(guest, runner):
    runner.enter(guest, assemble([read(X, width=8), write(0x400, 0xFE)]))
    access = runner.run()
    assert access == MmioExit(X * PAGE, bytes(8), is_write=False)
    runner.answer_mmio_read(0x0123456789ABCDEF)
    report = runner.run()
    assert isinstance(report, MmioExit) and report.is_write
    assert report.value == 0x0123456789ABCDEF
    assert runner.run() == MmioExit(0x400 * PAGE, b"\xfe", is_write=True)


def test_a_slot_updated_while_the_vcpu_spins_gives_only_allowed_outcomes(vm, guest, runner):
    """A smoke test of the runner under a concurrent updater (delete / re-create, as in t5)."""
    first, second = vm.allocate(PAGE), vm.allocate(PAGE)
    first.write(0, b"\xa1")
    second.write(0, b"\xb2")
    vm.create_memslot(2, X * PAGE, first)
    stop = threading.Event()

    def update() -> None:
        # A short pause after each cycle: an updater that never pauses can starve the vCPU past
        # the runner's watchdog on a loaded 2-core machine (each delete zaps and kicks it).
        backing = second
        while not stop.wait(0.0005):
            vm.delete_memslot(2)
            vm.create_memslot(2, X * PAGE, backing)
            backing = first if backing is second else second

    updater = threading.Thread(target=update)
    program = assemble([read(X)], loop=True)
    runner.enter(guest, program)
    updater.start()
    try:
        outcomes = runner.collect(program, rounds=2000)
    finally:
        stop.set()
        updater.join()
    seen = {(o.path, o.value) for o in outcomes}
    assert seen <= {("memory", 0xA1), ("memory", 0xB2), ("mmio", ANSWER)}
    assert len(seen) >= 2  # the updates really raced with the reads
