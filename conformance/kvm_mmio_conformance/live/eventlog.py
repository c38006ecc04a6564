"""One totally ordered event log of a live run: userspace's own events and the kernel's, one clock.

Why: to validate the kernel against the spec (spec/KvmMmioKernelTrace.tla) the order between what
userspace did (each KVM_SET_USER_MEMORY_REGION's begin and end, each guest access's begin and
result) and what the kernel traced (kvm/vcpu_match_mmio, kvm/kvm_mmio, the fast zap) must be the
kernel's own. Timing both sides separately cannot give that; writing userspace's events into the
same private tracefs instance through its trace_marker can: the marker and the events are stamped
by the instance's one global clock and come out of trace_pipe merged in that order. A marker is
written right before the ioctl (or KVM_RUN) starts and right after it returns, so each marker
lies on the correct side of every kernel event of that call.

`EventLog` is what the live checks call (a `Recorder`); `NO_RECORDER` is what they call when not
recording. The records are converted to events by kerneltrace.py.
"""

import json
from typing import Protocol

from .tracefs import TraceRecord, TraceSession

__all__ = ["MARK", "NO_RECORDER", "TV_EVENTS", "EventLog", "Recorder"]

MARK = "kvm-mmio-tv "  # every userspace marker starts with this, then one JSON object
TV_EVENTS = (
    "kvm/vcpu_match_mmio",  # a per-vCPU MMIO cache hit: the spec's Emulate with a hit
    "kvm/kvm_mmio",  # an emulated MMIO access decided (read, unsatisfied-read, write)
    "kvmmmu/kvm_mmu_zap_all_fast",  # every shadow page zapped: FlushSlot (or the wrap's RunHook)
)
BUFFER_KB_PER_CPU = 16384  # a 3-cycle race log is ~0.1 MB; a lost record is an error (cut())


class Recorder(Protocol):
    """What a live check reports while it runs (each call writes one marker, or nothing)."""

    def ioctl_begin(self, kind: str, gfn: int, to: int = 0) -> None: ...

    def ioctl_end(self, ok: bool) -> None: ...

    def access(self, gfn: int, mode: str) -> None: ...

    def result(self, gfn: int, out: str) -> None: ...


class _NoRecorder:
    """Records nothing: the checks' default."""

    def ioctl_begin(self, kind: str, gfn: int, to: int = 0) -> None:
        pass

    def ioctl_end(self, ok: bool) -> None:
        pass

    def access(self, gfn: int, mode: str) -> None:
        pass

    def result(self, gfn: int, out: str) -> None:
        pass


NO_RECORDER: Recorder = _NoRecorder()


class EventLog:
    """A private trace instance with TV_EVENTS on, and the markers of one run written into it.

    Open it before the VM is created (so that the log starts at the VM's first event) and close
    it after; `cut()` ends one log (every record since the previous cut, in the instance's
    order) and starts the next, so that one session can record the logs of several VMs in turn.
    """

    def __init__(self) -> None:
        self._session = TraceSession(TV_EVENTS, buffer_kb_per_cpu=BUFFER_KB_PER_CPU)
        if self._session.missing:
            self._session.close()
            raise RuntimeError(f"this kernel lacks trace events {list(self._session.missing)}")
        self._current: list[TraceRecord] = []

    def ioctl_begin(self, kind: str, gfn: int, to: int = 0) -> None:
        self._mark({"m": "ioctl", "kind": kind, "gfn": gfn, "to": to})

    def ioctl_end(self, ok: bool) -> None:
        self._mark({"m": "ioctl_end", "ok": ok})

    def access(self, gfn: int, mode: str) -> None:
        self._mark({"m": "access", "gfn": gfn, "mode": mode})

    def result(self, gfn: int, out: str) -> None:
        self._mark({"m": "result", "gfn": gfn, "out": out})

    def read(self) -> list[TraceRecord]:
        """The records traced since the last read (they also stay in the current log)."""
        fresh = self._session.read()
        self._current += fresh
        return fresh

    def cut(self) -> list[TraceRecord]:
        """The current log (every record since the last cut, oldest first); a new one starts.
        A log that lost records (the ring buffer overran) would be rejected for what it lacks,
        so that is an error instead."""
        self.read()
        lost = self._session.overruns()
        if lost:
            raise RuntimeError(f"the trace buffer overran: {lost} record(s) lost from the log")
        log, self._current = self._current, []
        return log

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "EventLog":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _mark(self, fields: dict) -> None:
        # Called from the vCPU's and the updater's threads; a marker write is one write(2),
        # which the kernel orders. Draining waits for records() (one reader, one thread).
        self._session.marker(MARK + json.dumps(fields, separators=(",", ":")))
