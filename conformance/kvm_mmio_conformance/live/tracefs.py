"""A private tracefs instance that follows KVM's MMIO-cache and MMU events.

kvm/vcpu_match_mmio is the only direct view of the per-vCPU MMIO cache (it fires on each hit),
and kvmmmu/kvm_mmu_zap_all_fast marks the generation-wrap zap, so some checks need tracing. The
session uses its own instance (DIR/instances/NAME) so that nothing else's tracing changes, sees
only this process's threads (set_event_pid with event-fork), and on close disables its events
and removes the instance; if tracefs was not mounted it is mounted on a private temporary
directory, which is unmounted and removed on close. Records are drained from trace_pipe without
blocking. An instance is named after its process, so that a later session removes what a process
killed before it could close (SIGKILL) left behind.
"""

import contextlib
import ctypes
import os
import re
import select
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_EVENTS",
    "MmioCacheHit",
    "TraceRecord",
    "TraceSession",
    "find_tracefs",
    "parse_cache_hit",
    "parse_line",
    "remove_orphaned_instances",
    "unavailable_reason",
]

DEFAULT_EVENTS = (
    "kvm/vcpu_match_mmio",  # a per-vCPU MMIO cache hit (vcpu_match_mmio_gva / _gpa)
    "kvm/kvm_mmio",  # an emulated MMIO access (read, unsatisfied-read, write)
    "kvmmmu/kvm_mmu_zap_all_fast",  # every shadow page obsoleted: delete, move, generation wrap
    "kvmmmu/mark_mmio_spte",  # an MMIO spte installed (never here: kvm.mmio_caching=N)
    "kvmmmu/check_mmio_spte",  # an MMIO spte's generation checked
    "kvmmmu/handle_mmio_page_fault",  # a fault served by an MMIO spte
)

_TRACE_LINE = re.compile(
    r"^\s*(?P<task>.+)-(?P<pid>\d+)\s+"
    r"\[(?P<cpu>\d+)\]\s+"
    r"(?:(?P<flags>[^\s:]{4,5})\s+)?"
    r"(?P<timestamp>\d+\.\d+):\s+"
    r"(?P<event>\w+):\s?(?P<body>.*)$"
)
INSTANCE_PREFIX = "kvm-mmio-"  # then the owner's pid, "-" and a random suffix
_INSTANCE_NAME = re.compile(re.escape(INSTANCE_PREFIX) + r"(?P<pid>\d+)-[0-9a-f]+")
_CACHE_HIT = re.compile(
    r"gva (?P<gva>0x[0-9a-f]+|0) gpa (?P<gpa>0x[0-9a-f]+|0) (?P<op>Read|Write) (?P<by>GVA|GPA)"
)


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """One line of trace output: which thread, where, when, which event, and its text."""

    task: str
    pid: int
    cpu: int
    timestamp: float
    event: str
    body: str


@dataclass(frozen=True, slots=True)
class MmioCacheHit:
    """A kvm/vcpu_match_mmio record: the per-vCPU MMIO cache answered for gva (or gpa)."""

    gva: int
    gpa: int
    is_write: bool
    by_gpa: bool  # matched on the cached gfn (vcpu_match_mmio_gpa) rather than the gva


def parse_line(line: str) -> TraceRecord | None:
    """A trace / trace_pipe line as a record; None for comments and lines of another shape."""
    match = _TRACE_LINE.match(line)
    if match is None:
        return None
    return TraceRecord(
        task=match["task"].strip(),
        pid=int(match["pid"]),
        cpu=int(match["cpu"]),
        timestamp=float(match["timestamp"]),
        event=match["event"],
        body=match["body"],
    )


def parse_cache_hit(record: TraceRecord) -> MmioCacheHit | None:
    """The hit a vcpu_match_mmio record reports, None for any other record."""
    if record.event != "vcpu_match_mmio":
        return None
    match = _CACHE_HIT.search(record.body)
    if match is None:
        raise ValueError(f"unexpected vcpu_match_mmio format: {record.body!r}")
    return MmioCacheHit(
        gva=int(match["gva"], 16),
        gpa=int(match["gpa"], 16),
        is_write=match["op"] == "Write",
        by_gpa=match["by"] == "GPA",
    )


def find_tracefs() -> str | None:
    """Where tracefs is mounted now (the first mount listed), or None."""
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            _device, mount_point, fs_type, *_ = line.split()
            if fs_type == "tracefs":
                return mount_point.replace("\\040", " ")
    return None


def unavailable_reason() -> str | None:
    """Why a TraceSession cannot be opened here (one line, for a skip or an error), or None."""
    mount_point = find_tracefs()
    if mount_point is not None:
        instances = os.path.join(mount_point, "instances")
        if not os.access(instances, os.W_OK):
            return f"cannot create trace instances in {instances}"
        return None
    with open("/proc/filesystems") as filesystems:
        if not any(line.split()[-1:] == ["tracefs"] for line in filesystems):
            return "tracefs is not built into this kernel"
    if os.geteuid() != 0:
        return "not root, cannot mount tracefs"
    return None


def remove_orphaned_instances(root: str) -> list[str]:
    """Remove the instances that sessions of processes no longer alive left behind (a process
    killed with SIGKILL cannot close its session); return their names. Only this module's
    instances whose pid has no /proc entry are touched, and only by rmdir, which the kernel
    refuses (EBUSY) while a reader holds the instance's trace_pipe open, as every live session
    does: a session of another pid namespace is left alone."""
    removed = []
    instances = os.path.join(root, "instances")
    for name in os.listdir(instances):
        match = _INSTANCE_NAME.fullmatch(name)
        if match is None or os.path.exists(f"/proc/{match['pid']}"):
            continue
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(instances, name))
            removed.append(name)
    return removed


class TraceSession:
    """A private trace instance with `events` enabled (those this kernel has).

    `enabled` and `missing` list which of the requested events exist; `read()` drains what was
    recorded since the last read; `marker()` writes a line into the same stream.
    """

    def __init__(
        self,
        events: Iterable[str] = DEFAULT_EVENTS,
        *,
        buffer_kb_per_cpu: int = 4096,
        this_process_only: bool = True,
    ) -> None:
        self._mounted_at: str | None = None
        self._pipe = -1
        self._poll = select.poll()
        self._partial = b""
        self.instance: str | None = None
        try:
            root = find_tracefs() or self._mount()
            remove_orphaned_instances(root)
            name = f"{INSTANCE_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
            self.instance = os.path.join(root, "instances", name)
            os.mkdir(self.instance)
            self._write("tracing_on", "0")
            self._write("buffer_size_kb", str(buffer_kb_per_cpu))
            self._write("trace_clock", "global")  # one order across CPUs (vCPU vs updater)
            self._write("buffer_percent", "0")  # poll() reports a single waiting record
            if this_process_only:
                self._write("options/event-fork", "1")
                self._write("set_event_pid", " ".join(os.listdir("/proc/self/task")))
            requested = tuple(events)
            self.enabled = tuple(e for e in requested if os.path.isdir(self._events_dir(e)))
            self.missing = tuple(e for e in requested if e not in self.enabled)
            for event in self.enabled:
                self._write(f"events/{event}/enable", "1")
            self._pipe = os.open(
                os.path.join(self.instance, "trace_pipe"), os.O_RDONLY | os.O_NONBLOCK
            )
            self._poll.register(self._pipe, select.POLLIN)
            self._write("tracing_on", "1")
        except BaseException:
            self.close()
            raise

    def pending(self) -> bool:
        """Whether records wait to be read; a poll() costs far less than a read of trace_pipe."""
        return bool(self._poll.poll(0))

    def read(self) -> list[TraceRecord]:
        """Every record traced since the last read, oldest first (consumes them)."""
        chunks = [self._partial]
        while True:
            try:
                chunk = os.read(self._pipe, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        text, _, self._partial = b"".join(chunks).rpartition(b"\n")
        records = (parse_line(line) for line in text.decode(errors="replace").splitlines())
        return [record for record in records if record is not None]

    def overruns(self) -> int:
        """Records lost so far because the ring buffer was full (per_cpu/cpuN/stats)."""
        lost = 0
        per_cpu = os.path.join(self.instance or "", "per_cpu")
        for cpu in os.listdir(per_cpu):
            with open(os.path.join(per_cpu, cpu, "stats")) as stats:
                for line in stats:
                    name, _, value = line.partition(":")
                    if name.strip() == "overrun":
                        lost += int(value)
        return lost

    def marker(self, text: str) -> None:
        """A tracing_mark_write record, ordered with the events (e.g. "op begins")."""
        self._write("trace_marker", text)

    def close(self) -> None:
        """Disable, remove the instance, unmount what was mounted; safe to call twice.

        Each step runs even if an earlier one failed; the first failure is raised at the end.
        """
        with contextlib.ExitStack() as cleanup:  # callbacks run last-pushed first
            if self._mounted_at is not None:
                cleanup.callback(self._unmount)
            if self.instance is not None:
                cleanup.callback(self._remove_instance)
            if self._pipe >= 0:
                cleanup.callback(self._close_pipe)

    def _close_pipe(self) -> None:
        self._poll.unregister(self._pipe)
        os.close(self._pipe)
        self._pipe = -1

    def _remove_instance(self) -> None:
        instance, self.instance = self.instance, None
        if instance is not None and os.path.isdir(instance):
            try:
                self._write_at(instance, "tracing_on", "0")
                self._write_at(instance, "events/enable", "0")
            finally:
                os.rmdir(instance)

    def _unmount(self) -> None:
        mount_point, self._mounted_at = self._mounted_at, None
        if mount_point is not None:
            _umount(mount_point)
            os.rmdir(mount_point)

    def __enter__(self) -> "TraceSession":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _mount(self) -> str:
        mount_point = tempfile.mkdtemp(prefix="kvm-mmio-tracefs-")
        try:
            _mount_tracefs(mount_point)
        except BaseException:
            os.rmdir(mount_point)
            raise
        self._mounted_at = mount_point
        return mount_point

    def _events_dir(self, event: str) -> str:
        return os.path.join(self.instance or "", "events", event)

    def _write(self, name: str, value: str) -> None:
        self._write_at(self.instance or "", name, value)

    @staticmethod
    def _write_at(instance: str, name: str, value: str) -> None:
        with open(os.path.join(instance, name), "w") as control:
            control.write(value)


_libc = ctypes.CDLL(None, use_errno=True)


def _mount_tracefs(mount_point: str) -> None:
    if _libc.mount(b"nodev", os.fsencode(mount_point), b"tracefs", 0, None) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{os.strerror(error)}: mount -t tracefs nodev {mount_point}")


def _umount(mount_point: str) -> None:
    if _libc.umount2(os.fsencode(mount_point), 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{os.strerror(error)}: umount {mount_point}")
