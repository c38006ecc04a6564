"""Helpers for tests that start processes and check that nothing they started outlives them.

Why: the machine is shared (other engineers' `kvm-mmio check`, a suite run in the background), so
a test may only look at processes it started: the tree below its own child, read from /proc,
never a machine-wide `pgrep`. And a test suite started in the background inherits SIGINT ignored,
so a child that a test interrupts gets Ctrl-C's default behaviour back explicitly.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

__all__ = ["ProcessTree", "children_of", "kvm_mmio_interruptible"]

# Run `kvm-mmio ARGS` with SIGINT raising KeyboardInterrupt, as in a foreground command, even when
# this test run ignores SIGINT (which a child would inherit, and Python would then keep).
_INTERRUPTIBLE = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from kvm_mmio_tools.cli import main; sys.exit(main(sys.argv[1:]))"
)


def kvm_mmio_interruptible(*argv: str) -> list[str]:
    """The command line of `kvm-mmio ARGV` that Ctrl-C (SIGINT) interrupts in any case."""
    return [sys.executable, "-c", _INTERRUPTIBLE, *argv]


def children_of(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc/PID/task/TID/children)."""
    found: set[int] = set()
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.update(int(child) for child in children.read_text().split())
        except OSError:
            continue
    return found


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start time) of ``pid``, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return fields[0], int(fields[19])


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class ProcessTree:
    """Every process seen below ``root`` while it is watched, each with its start time (so that a
    pid reused by someone else's process is never taken for ours)."""

    def __init__(self, root: int):
        self.root = root
        self.seen: dict[int, tuple[int, str]] = {}

    def look(self) -> set[int]:
        """Record the processes below the root now; return them."""
        below, frontier = set(), {self.root}
        while frontier:
            frontier = set().union(*(children_of(pid) for pid in frontier)) - below
            below |= frontier
        for pid in below:
            stat = _stat(pid)
            if stat is not None and pid not in self.seen:
                self.seen[pid] = (stat[1], _comm(pid))
        return below

    def java(self) -> list[int]:
        """The JVMs below the root now."""
        return [pid for pid in self.look() if _comm(pid) == "java"]

    def wait_for_java(self, count: int, limit: float = 120) -> list[int]:
        """Until ``count`` JVMs run below the root, or ``limit`` seconds (the caller asserts)."""
        deadline = time.monotonic() + limit
        while len(jvms := self.java()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return jvms

    def wait(self, process: subprocess.Popen, timeout: float = 120) -> None:
        """Wait for ``process`` (the root) to exit, recording what runs below it until then, so
        that a JVM started just before the end is known too."""
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            self.look()
            time.sleep(0.05)
        process.wait(timeout=max(1.0, deadline - time.monotonic()))

    def survivors(self) -> list[str]:
        """Each process seen below the root that still runs (not a zombie), as "pid comm"."""
        alive = []
        for pid, (start, comm) in self.seen.items():
            stat = _stat(pid)
            if stat is not None and stat[1] == start and stat[0] != "Z":
                alive.append(f"{pid} {comm}")
        return alive
