"""Several JVMs that serve one job, in one scratch folder, all gone when the job ends.

Why: a distributed TLC run is a server, a fingerprint set and workers; if any of them outlived an
error, a timeout or Ctrl-C it would keep a port open and burn CPU.  So the group:

- creates one fresh scratch folder (the JVMs' working directory, java.io.tmpdir, metadir, logs);
- starts every JVM in its own session, hence its own process group, so that a signal reaches the
  JVM and anything it spawned, and a Ctrl-C at the terminal reaches only us;
- on leaving the ``with`` block, whatever the reason, sends SIGTERM to every group still alive,
  SIGKILL after a grace period, waits for each, and removes the folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import structlog

__all__ = ["JvmGroup"]

log = structlog.get_logger()


class JvmGroup:
    """A context manager owning a scratch folder and the JVMs started in it."""

    def __init__(self, prefix: str, *, grace_seconds: float = 5.0):
        self.prefix = prefix
        self.grace_seconds = grace_seconds
        self.processes: dict[str, subprocess.Popen] = {}
        self.stopped: set[str] = set()
        self._readers: list[threading.Thread] = []

    def __enter__(self) -> JvmGroup:
        self.folder = Path(tempfile.mkdtemp(prefix=self.prefix))
        (self.folder / "tmp").mkdir()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.stop_all()
        finally:
            for reader in self._readers:
                reader.join(timeout=self.grace_seconds)
            shutil.rmtree(self.folder, ignore_errors=True)

    def start(
        self, role: str, command: list[str], *, on_line: Callable[[str | None], None] | None = None
    ) -> subprocess.Popen:
        """Start ``command`` as ``role``.  With ``on_line``, stdout goes to it line by line (None
        at its end) and stderr to ``ROLE.err``; without, both go to ``ROLE.log`` in the folder."""
        log_path = self.folder / f"{role}.{'err' if on_line else 'log'}"
        with open(log_path, "w") as log_file:
            process = subprocess.Popen(
                command,
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if on_line else log_file,
                stderr=log_file,
                text=True,
                encoding="utf-8",
                errors="replace",
                start_new_session=True,
            )
        self.processes[role] = process
        log.info("jvm.start", role=role, pid=process.pid, command=" ".join(command))
        if on_line is not None:
            reader = threading.Thread(target=_pump, args=(process.stdout, on_line), daemon=True)
            reader.start()
            self._readers.append(reader)
        return process

    def output(self, role: str) -> str:
        """What ``role`` wrote to its log file (stderr only for a role read line by line)."""
        for suffix in ("log", "err"):
            path = self.folder / f"{role}.{suffix}"
            if path.is_file():
                return path.read_text(errors="replace")
        return ""

    def pids(self) -> dict[str, int]:
        """The roles still running, with their pids."""
        return {role: p.pid for role, p in self.processes.items() if p.poll() is None}

    def stop(self, role: str) -> None:
        """Stop one role's process group (SIGTERM, then SIGKILL after the grace period)."""
        self._stop([role])

    def stop_all(self) -> None:
        """Stop every role still running; ``stopped`` then names each role stopped so far."""
        self._stop(list(self.processes))

    def _stop(self, roles: list[str]) -> None:
        running = {r: self.processes[r] for r in roles if self.processes[r].poll() is None}
        self.stopped.update(running)
        for process in running.values():
            log.info("jvm.stop", pid=process.pid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for process in running.values():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _pump(stream: IO[str], sink: Callable[[str | None], None]) -> None:
    """Copy a stream's lines, without their newline, to ``sink``; then None."""
    with stream:
        for line in stream:
            sink(line.rstrip("\n"))
    sink(None)
