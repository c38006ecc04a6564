"""Run one model with TLC's distributed mode on this machine, and say how far to believe it.

A run is a TLCServer, optionally one DistributedFPSet (the fingerprint set in its own JVM), and N
TLCWorkers with one thread each, all on 127.0.0.1, in one scratch folder (jvm_group.py).  Why each
piece is the way it is:

- Ports: the registry port is a free one picked per run, so that runs side by side do not meet;
  every JVM advertises 127.0.0.1 and, where the JDK can run the loopback launcher
  (rmi_loopback.py), binds every socket to it.  After the server is ready and after each worker
  registers, the sockets our JVMs listen on are read from the kernel (listening.py); each one
  reachable from outside becomes a plain warning.
- Order: the fingerprint set starts with the server (the server waits for it before computing
  the initial states); workers start once the server says it is ready (message 7000), so none of
  them sleeps in TLC's connection back-off.
- Time is bounded even when TLC is not: besides the caller's timeout, the run is stopped when the
  server is not ready, or no worker has registered, within two minutes, and when the server stays
  silent without exiting after it finished or after every worker is gone (TLC's RMI threads can
  keep a failed server alive for ever).
- The server's stdout goes through the same ``-tool`` parser as a local run (progress included);
  distributed_trust.py lists every reason not to believe what it says.
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import attrs
import structlog

from kvm_mmio_tools.distributed_commands import (
    LOOPBACK,
    fpset_command,
    server_command,
    worker_command,
)
from kvm_mmio_tools.distributed_trust import doubts
from kvm_mmio_tools.errors import UsageError
from kvm_mmio_tools.jvm_group import JvmGroup
from kvm_mmio_tools.listening import listeners_of
from kvm_mmio_tools.rmi_loopback import source_launcher_available, write_shim
from kvm_mmio_tools.tlc import DEFAULT_JAVA_OPTS, Progress, TlcResult
from kvm_mmio_tools.tlc_messages import Message, MessageReader, Severity
from kvm_mmio_tools.tlc_output import OutputParser

__all__ = ["SCRATCH_PREFIX", "DistributedResult", "free_port", "run_distributed"]

SCRATCH_PREFIX = "kvm-mmio-dtlc-"
STARTUP_SECONDS = 120.0
REGISTRATION_SECONDS = 120.0
LINGER_SECONDS = 15.0
_POLL_SECONDS = 0.1
_SERVER, _FPSET = "TLCServer", "DistributedFPSet"
_READY, _REGISTERED, _FINISHED = 7000, 7001, 2186
_CFG_NAME = "model.cfg"

log = structlog.get_logger()


@attrs.frozen
class DistributedResult:
    """What a distributed run said (``result``: the server's output, parsed as for a local run)
    and why it may not be believed (``doubts``: empty means a correct success)."""

    result: TlcResult
    doubts: tuple[str, ...]
    warnings: tuple[str, ...]
    listeners: tuple[str, ...]
    workers: int
    registered: int
    commands: dict[str, tuple[str, ...]]

    @property
    def trusted(self) -> bool:
        return not self.doubts


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's pick on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class _Run:
    """The state of one run while the server talks: what it said, who registered, what listens."""

    def __init__(
        self,
        group: JvmGroup,
        worker_commands: list[list[str]],
        on_progress: Callable[[Progress], None] | None,
        on_warning: Callable[[str], None] | None,
    ):
        self.group, self.worker_commands = group, worker_commands
        self.on_progress, self.on_warning = on_progress, on_warning
        self.parser, self.reader = OutputParser(), MessageReader()
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.start = self.last_line = time.monotonic()
        self.ready_at: float | None = None
        self.finished = False
        self.workers_gone_at: float | None = None
        self.registered = 0
        self.warnings: list[str] = []
        self.listeners: dict[tuple[int, str, int], str] = {}

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)
            log.info("distributed.exposed", warning=text)
            if self.on_warning is not None:
                self.on_warning(text)

    def feed(self, line: str) -> None:
        now = self.last_line = time.monotonic()
        progress = self.parser.feed(line, elapsed=now - self.start)
        if progress is not None and self.on_progress is not None:
            self.on_progress(progress)
        for event in self.reader.feed(line):
            if isinstance(event, Message):
                self._message(event, now)

    def _message(self, message: Message, now: float) -> None:
        if message.code == _READY and self.ready_at is None:
            self.ready_at = now
            for index, command in enumerate(self.worker_commands, start=1):
                self.group.start(f"TLCWorker-{index}", command)
            self.check_listeners()
        elif message.code == _REGISTERED:
            self.registered += 1
            self.check_listeners()
        elif message.code == _FINISHED or message.severity in (Severity.ERROR, Severity.TLC_BUG):
            self.finished = True

    def check_listeners(self) -> None:
        """Record what our JVMs listen on; warn about every socket reachable from outside."""
        pids = self.group.pids()
        found = listeners_of(pids.values())
        if found is None:
            self.warn(
                "cannot tell which addresses TLC's JVMs listen on (no /proc/net/tcp); assume every "
                "interface: anyone who can reach this machine can connect"
            )
            return
        roles = {pid: role for role, pid in pids.items()}
        for listener in found:
            key = (listener.pid, listener.address, listener.port)
            if key in self.listeners:
                continue
            role = roles[listener.pid]
            self.listeners[key] = f"{role} {listener}"
            if not listener.loopback:
                where = "all interfaces" if listener.all_interfaces else "not loopback"
                self.warn(
                    f"{role} listens on {listener} ({where}); anyone who can reach this machine "
                    "can connect"
                )

    def stalled(self, now: float) -> str | None:
        """Why the run cannot end by itself, if it cannot."""
        if self.ready_at is None:
            if now - self.start > STARTUP_SECONDS:
                return f"was not ready for workers after {STARTUP_SECONDS:g} s"
            return None
        if self.registered == 0 and now - self.ready_at > REGISTRATION_SECONDS:
            return f"had no worker registered {REGISTRATION_SECONDS:g} s after it was ready"
        if self.finished and now - self.last_line > LINGER_SECONDS:
            return f"did not exit {LINGER_SECONDS:g} s after it finished"
        workers = [p for role, p in self.group.processes.items() if role.startswith("TLCWorker")]
        if not all(process.poll() is not None for process in workers):
            return None
        # Workers exit when the server tells them to, just before it prints its verdict.
        self.workers_gone_at = self.workers_gone_at or now
        if not self.finished and now - self.workers_gone_at > LINGER_SECONDS:
            return "lost every worker before it finished"
        return None


def run_distributed(
    spec_path: str | Path,
    cfg_text: str,
    *,
    workers: int = 2,
    fpset: bool = False,
    timeout: float | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
    java_opts: tuple[str, ...] = DEFAULT_JAVA_OPTS,
    grace_seconds: float = 5.0,
) -> DistributedResult:
    """Model-check the spec (its folder's modules are copied) with this cfg in distributed mode.

    Never leaves a JVM or the scratch folder behind.  A timeout ends the run with outcome TIMEOUT
    (and a doubt); Ctrl-C, or ``cancel`` set from another thread, stops every JVM and raises
    KeyboardInterrupt.  ``on_warning`` hears each socket reachable from outside as it is found.
    """
    spec = Path(spec_path).resolve()
    if not spec.is_file() or spec.suffix != ".tla":
        raise UsageError(f"expected a .tla file, got {spec_path}")
    if not 1 <= workers <= 64:
        raise UsageError(f"workers must be between 1 and 64, got {workers}")
    with JvmGroup(SCRATCH_PREFIX, grace_seconds=grace_seconds) as group:
        folder = group.folder
        for module in spec.parent.glob("*.tla"):
            shutil.copy(module, folder)
        (folder / _CFG_NAME).write_text(cfg_text)
        shim = write_shim(folder) if source_launcher_available() else None
        port, tmp = free_port(), folder / "tmp"
        common = {"port": port, "java_opts": java_opts, "tmpdir": tmp, "shim": shim}
        commands = {
            _SERVER: server_command(
                spec.name, _CFG_NAME, folder / "meta", fpsets=int(fpset), **common
            )
        }
        if fpset:
            commands[_FPSET] = fpset_command(LOOPBACK, **common)
        worker_commands = [worker_command(LOOPBACK, threads=1, **common) for _ in range(workers)]
        for index, command in enumerate(worker_commands, start=1):
            commands[f"TLCWorker-{index}"] = command
        run = _Run(group, worker_commands, on_progress, on_warning)
        if shim is None:
            run.warn(
                "this java cannot run the loopback launcher (no jdk.compiler module): TLC's RMI "
                "sockets listen on every interface"
            )
        reasons, timed_out = _drive(run, commands, timeout, cancel)
        server = group.processes[_SERVER]
        reasons += _wait_for_exit(group, server, grace_seconds)
        result = run.parser.result(
            server.returncode,
            seconds=time.monotonic() - run.start,
            timed_out_after=timeout if timed_out else None,
            stderr=group.output(_SERVER),
            command=tuple(commands[_SERVER]),
            pid=server.pid,
        )
    all_doubts = tuple(dict.fromkeys([*reasons, *doubts(result)]))
    log.info(
        "distributed.done",
        outcome=result.outcome.value,
        distinct_states=result.distinct_states,
        registered=run.registered,
        doubts=list(all_doubts),
    )
    return DistributedResult(
        result=result,
        doubts=all_doubts,
        warnings=tuple(run.warnings),
        listeners=tuple(run.listeners.values()),
        workers=workers,
        registered=run.registered,
        commands={role: tuple(command) for role, command in commands.items()},
    )


def _drive(
    run: _Run,
    commands: dict[str, list[str]],
    timeout: float | None,
    cancel: threading.Event | None,
) -> tuple[list[str], bool]:
    """Start the server (and fingerprint set) and follow the server's output to its end, or until
    the run stalls or times out (then stop every JVM).  Returns the doubts found and whether the
    timeout ended it."""
    group = run.group
    deadline = None if timeout is None else run.start + timeout
    group.start(_SERVER, commands[_SERVER], on_line=run.lines.put)
    if _FPSET in commands:
        group.start(_FPSET, commands[_FPSET])
    reasons: list[str] = []
    timed_out = False
    while True:
        if cancel is not None and cancel.is_set():
            raise KeyboardInterrupt("distributed TLC run cancelled")
        with contextlib.suppress(queue.Empty):
            line = run.lines.get(timeout=_POLL_SECONDS)
            if line is None:
                return reasons, False
            run.feed(line)
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            reasons.append(f"was stopped after {timeout:g} s (timeout)")
            timed_out = True
            break
        if (stall := run.stalled(now)) is not None:
            reasons.append(stall)
            break
    group.stop_all()
    with contextlib.suppress(queue.Empty):  # what the server printed before it stopped counts
        while (line := run.lines.get(timeout=1.0)) is not None:
            run.feed(line)
    return reasons, timed_out


def _wait_for_exit(group: JvmGroup, server: subprocess.Popen, grace_seconds: float) -> list[str]:
    """Give the server, then the workers, the grace period to exit by themselves.  A worker that
    failed on its own (not stopped by us) is a doubt; one still running then is stopped."""
    reasons = []
    try:
        server.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        reasons.append(f"did not exit {grace_seconds:g} s after its output ended")
        group.stop(_SERVER)
    deadline = time.monotonic() + grace_seconds
    for role, process in group.processes.items():
        if role == _SERVER or role in group.stopped:
            continue
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        if process.returncode is not None and process.returncode > 0:
            tail = " ".join(group.output(role).split())[-200:]
            reasons.append(f"had {role} exit with status {process.returncode} ({tail})")
    group.stop_all()
    return reasons
