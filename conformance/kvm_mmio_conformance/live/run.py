"""Running a vCPU one KVM_RUN at a time, decoding its exits, with a hard timeout.

KVM_RUN blocks for as long as the guest runs, so a guest that loops would hang the caller. Each
`VcpuRunner.run()` therefore arms a watchdog thread; when the deadline passes, the watchdog sets
kvm_run.immediate_exit and sends WATCHDOG_SIGNAL to the thread inside KVM_RUN. The signal makes
KVM_RUN return EINTR; immediate_exit closes the race in which the signal lands just before the
thread enters KVM_RUN (KVM then returns EINTR at once). The signal's handler does nothing; it is
installed once, from the main thread, because a signal without a handler would kill the process.

An MMIO exit leaves the instruction half done until the next KVM_RUN completes it; `enter()`
completes it with an immediate-exit KVM_RUN before it points the vCPU at a new program, so that
the stale instruction cannot overwrite the new registers.
"""

import fcntl
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from . import ioctls
from .guest import REPORT_GPA, Access, Guest, Program
from .vm import Vcpu

__all__ = [
    "DEFAULT_MMIO_READ_VALUE",
    "WATCHDOG_SIGNAL",
    "AccessOutcome",
    "Exit",
    "FailEntryExit",
    "GuestStopped",
    "InternalErrorExit",
    "MmioExit",
    "OtherExit",
    "ShutdownExit",
    "TimeoutExit",
    "VcpuRunner",
]

WATCHDOG_SIGNAL = signal.SIGRTMIN  # the first real-time signal left to applications by libc
DEFAULT_MMIO_READ_VALUE = 0xEEEEEEEEEEEEEEEE  # what the host answers to an MMIO read


@dataclass(frozen=True, slots=True)
class MmioExit:
    """KVM_EXIT_MMIO: the guest accessed `gpa` where no writable memory is mapped."""

    gpa: int
    data: bytes  # len(data) is the access width; for a read, not yet meaningful
    is_write: bool

    @property
    def value(self) -> int:
        return int.from_bytes(self.data, "little")


@dataclass(frozen=True, slots=True)
class ShutdownExit:
    """KVM_EXIT_SHUTDOWN: a triple fault (the guest has no IDT, so any exception ends here)."""

    rip: int


@dataclass(frozen=True, slots=True)
class InternalErrorExit:
    """KVM_EXIT_INTERNAL_ERROR; suberror 1 is an emulation failure."""

    suberror: int
    data: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FailEntryExit:
    """KVM_EXIT_FAIL_ENTRY: the hardware (or kvm_pvm) refused to enter the guest."""

    hardware_entry_failure_reason: int
    cpu: int


@dataclass(frozen=True, slots=True)
class TimeoutExit:
    """The watchdog stopped a KVM_RUN that lasted longer than `seconds`."""

    seconds: float
    rip: int


@dataclass(frozen=True, slots=True)
class OtherExit:
    """Any other kvm_run.exit_reason (the guest never asks for one on purpose)."""

    reason: int


Exit = MmioExit | ShutdownExit | InternalErrorExit | FailEntryExit | TimeoutExit | OtherExit


@dataclass(frozen=True, slots=True)
class AccessOutcome:
    """What one scripted access did: `path` says whether it exited to the host as MMIO."""

    access: Access
    path: Literal["memory", "mmio"]
    value: int  # read: the value the guest got (memory, or the host's answer); write: the value


class GuestStopped(RuntimeError):
    """The guest left its script: an exit other than the next expected one (or a timeout)."""

    def __init__(self, exit_: Exit, outcomes: list[AccessOutcome]) -> None:
        super().__init__(f"guest stopped after {len(outcomes)} access(es): {exit_}")
        self.exit = exit_
        self.outcomes = outcomes


class VcpuRunner:
    """Drives one vCPU; owns the watchdog thread (close it, or use it as a context manager)."""

    def __init__(self, vcpu: Vcpu, *, timeout: float = 2.0) -> None:
        if not vcpu.vm.system.check_extension(ioctls.KVM_CAP_IMMEDIATE_EXIT):
            raise RuntimeError("this KVM has no KVM_CAP_IMMEDIATE_EXIT, needed by the watchdog")
        _install_signal_handler()
        self.vcpu = vcpu
        self.timeout = timeout
        self._io_pending = False  # the last exit was MMIO: its instruction is not complete yet
        self._watchdog = _Watchdog(f"kvm-vcpu{vcpu.index}-watchdog", self._interrupt)

    def enter(self, guest: Guest, program: Program, *, cpl: Literal[0, 3] = 3) -> None:
        """Complete any pending MMIO, then point the vCPU at `program` (see Guest.enter)."""
        if self._io_pending:
            self._set_immediate_exit(1)
            try:
                fcntl.ioctl(self.vcpu.fd, ioctls.KVM_RUN, 0)
            except InterruptedError:
                pass  # the expected result: pending I/O completed, guest not entered
            else:
                raise RuntimeError(f"completing the pending MMIO exited again: {self._decode()}")
            finally:
                self._set_immediate_exit(0)
            self._io_pending = False
        guest.enter(self.vcpu, program, cpl=cpl)

    def run(self) -> Exit:
        """One KVM_RUN, bounded by `timeout` seconds; the decoded exit."""
        timed_out = False
        self._watchdog.arm(self.timeout)
        try:
            while True:
                try:
                    fcntl.ioctl(self.vcpu.fd, ioctls.KVM_RUN, 0)
                    break
                except InterruptedError:
                    if self._watchdog.fired:
                        timed_out = True
                        break
                    # a signal meant for someone else: enter the guest again
        finally:
            if self._watchdog.disarm():
                self._set_immediate_exit(0)
        if timed_out:
            self._io_pending = False
            return TimeoutExit(self.timeout, self.vcpu.get_regs().rip)
        exit_ = self._decode()
        self._io_pending = isinstance(exit_, MmioExit)
        return exit_

    def answer_mmio_read(self, value: int) -> None:
        """The data the pending MMIO read returns to the guest when the vCPU next runs."""
        mmio = ioctls.RunMmio.from_buffer_copy(self.vcpu.kvm_run, ioctls.RUN_EXIT_INFO_OFFSET)
        start = ioctls.RUN_EXIT_INFO_OFFSET + ioctls.RunMmio.data.offset
        data = (value & ((1 << (8 * mmio.len)) - 1)).to_bytes(mmio.len, "little")
        self.vcpu.kvm_run[start : start + mmio.len] = data

    def collect(
        self, program: Program, *, rounds: int = 1, mmio_read_value: int = DEFAULT_MMIO_READ_VALUE
    ) -> list[AccessOutcome]:
        """Run the guest through `rounds` passes of `program`'s accesses (from where it is).

        Every exit between two reports belongs to the access between them: at most one MMIO exit
        at that access's own gpa (answered with `mmio_read_value` for a read). Anything else
        raises GuestStopped with the outcomes gathered so far.
        """
        if rounds > 1 and not program.loop:
            raise ValueError("only a loop program can run more than one round")
        outcomes: list[AccessOutcome] = []
        for _ in range(rounds):
            for access in program.accesses:
                outcomes.append(self._collect_one(access, mmio_read_value, outcomes))
        return outcomes

    def run_program(
        self,
        guest: Guest,
        program: Program,
        *,
        cpl: Literal[0, 3] = 3,
        mmio_read_value: int = DEFAULT_MMIO_READ_VALUE,
    ) -> list[AccessOutcome]:
        """`enter` then `collect` one round: the outcome of every access of `program`."""
        self.enter(guest, program, cpl=cpl)
        return self.collect(program, mmio_read_value=mmio_read_value)

    def close(self) -> None:
        self._watchdog.close()

    def __enter__(self) -> "VcpuRunner":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _collect_one(
        self, access: Access, mmio_read_value: int, outcomes: list[AccessOutcome]
    ) -> AccessOutcome:
        is_write = access.kind == "write"
        exited = False
        while True:
            exit_ = self.run()
            if isinstance(exit_, MmioExit):
                if exit_.gpa == REPORT_GPA and exit_.is_write and len(exit_.data) == 8:
                    return AccessOutcome(access, "mmio" if exited else "memory", exit_.value)
                if (
                    not exited
                    and exit_.gpa == access.gpa
                    and exit_.is_write == is_write
                    and len(exit_.data) == access.width
                ):
                    exited = True
                    if not is_write:
                        self.answer_mmio_read(mmio_read_value)
                    continue
            raise GuestStopped(exit_, outcomes)

    def _decode(self) -> Exit:
        kvm_run = self.vcpu.kvm_run
        reason = ioctls.RunHeader.from_buffer_copy(kvm_run).exit_reason
        info = ioctls.RUN_EXIT_INFO_OFFSET
        if reason == ioctls.KVM_EXIT_MMIO:
            mmio = ioctls.RunMmio.from_buffer_copy(kvm_run, info)
            return MmioExit(mmio.phys_addr, bytes(mmio.data[: mmio.len]), bool(mmio.is_write))
        if reason == ioctls.KVM_EXIT_SHUTDOWN:
            return ShutdownExit(self.vcpu.get_regs().rip)
        if reason == ioctls.KVM_EXIT_INTERNAL_ERROR:
            internal = ioctls.RunInternal.from_buffer_copy(kvm_run, info)
            return InternalErrorExit(internal.suberror, tuple(internal.data[: internal.ndata]))
        if reason == ioctls.KVM_EXIT_FAIL_ENTRY:
            fail = ioctls.RunFailEntry.from_buffer_copy(kvm_run, info)
            return FailEntryExit(fail.hardware_entry_failure_reason, fail.cpu)
        return OtherExit(reason)

    def _set_immediate_exit(self, value: int) -> None:
        self.vcpu.kvm_run[ioctls.RUN_IMMEDIATE_EXIT_OFFSET] = value

    def _interrupt(self, thread_id: int) -> None:
        self._set_immediate_exit(1)
        signal.pthread_kill(thread_id, WATCHDOG_SIGNAL)


class _Watchdog:
    """A thread that calls `on_expire(thread_id)` once when an armed deadline passes.

    Arming is cheap: the thread is woken only when it sleeps without a deadline (or past the new
    one); a disarmed deadline simply finds nothing to do when the thread wakes for it.
    """

    def __init__(self, name: str, on_expire: Callable[[int], None]) -> None:
        self._on_expire = on_expire
        self._condition = threading.Condition()
        self._deadline: float | None = None
        self._sleeping_until: float | None = None  # None: asleep without a deadline
        self._target = 0
        self._fired = False
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def arm(self, seconds: float) -> None:
        with self._condition:
            self._deadline = time.monotonic() + seconds
            self._target = threading.get_ident()
            self._fired = False
            if self._sleeping_until is None or self._deadline < self._sleeping_until:
                self._condition.notify()

    def disarm(self) -> bool:
        """Cancel the deadline; True if it had already fired."""
        with self._condition:
            self._deadline = None
            return self._fired

    @property
    def fired(self) -> bool:
        with self._condition:
            return self._fired

    def close(self) -> None:
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._thread.join()

    def _loop(self) -> None:
        with self._condition:
            while not self._closing:
                if self._deadline is None:
                    self._sleeping_until = None
                    self._condition.wait()
                elif time.monotonic() < self._deadline:
                    self._sleeping_until = self._deadline
                    self._condition.wait(self._deadline - time.monotonic())
                else:
                    self._deadline = None
                    self._fired = True
                    self._on_expire(self._target)


def _ignore_signal(signum: int, frame: object) -> None:
    """WATCHDOG_SIGNAL only has to interrupt KVM_RUN; there is nothing to do on delivery."""


def _install_signal_handler() -> None:
    if signal.getsignal(WATCHDOG_SIGNAL) is _ignore_signal:
        return
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(
            "create the first VcpuRunner in the main thread: it installs the handler of "
            f"signal {WATCHDOG_SIGNAL!r}, which only the main thread may do"
        )
    signal.signal(WATCHDOG_SIGNAL, _ignore_signal)
