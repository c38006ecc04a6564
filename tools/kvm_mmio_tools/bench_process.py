"""Start one kvm_mmio_tools.bench_child run and read its answer; the child never outlives us.

Why a module: the ladder measures TLC and the explorer in child processes (peak RSS measured by
the kernel for that run alone), and the plumbing (JSON lines, progress, stderr tail, stopping the
child on Ctrl-C or an error) is the same for both.
"""

from __future__ import annotations

import collections
import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

import structlog

from kvm_mmio_tools.errors import ToolError

__all__ = ["ChildProgress", "run_child"]

ChildProgress = Callable[[int, int, float], None]
# The TLC child needs run_tlc's own grace period (5 s) to stop its JVM after our SIGTERM.
GRACE_SECONDS = 15.0
_TAIL_LINES = 40

log = structlog.get_logger()


def _drain(stream: IO[str], tail: collections.deque[str]) -> None:
    with stream:
        for line in stream:
            tail.append(line.rstrip("\n"))


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (the child then stops its JVM), SIGKILL after the grace period; always waited."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_child(kind: str, model: str, on_progress: ChildProgress | None = None) -> dict[str, Any]:
    """Run ``kind`` (one of bench_child.KINDS) on ``model`` in a child process; its result
    document with ``wall``: seconds from starting the process to receiving the result.
    ToolError if it fails."""
    command = [sys.executable, "-m", "kvm_mmio_tools.bench_child", kind, model]
    start = time.monotonic()
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    log.info("bench.child.start", pid=process.pid, kind=kind, model=model)
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    reader = threading.Thread(target=_drain, args=(process.stderr, tail), daemon=True)
    reader.start()
    answer: dict[str, Any] | None = None
    wall = 0.0
    try:
        assert process.stdout is not None
        for line in process.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                tail.append(line.rstrip("\n"))
                continue
            if "progress" in message and on_progress is not None:
                report = message["progress"]
                on_progress(report["states"], report["queue"], report["elapsed"])
            elif "result" in message or "error" in message:
                wall = time.monotonic() - start
                answer = message
        process.wait()
    finally:
        _stop(process)
        reader.join(timeout=GRACE_SECONDS)
        with contextlib.suppress(OSError):
            process.stdout.close()
    log.info("bench.child.done", kind=kind, model=model, status=process.returncode)
    if answer is None or "error" in answer:
        why = answer["error"] if answer else f"exit status {process.returncode}"
        stderr = "\n".join(tail)
        raise ToolError(
            f"bench: {kind} on {model} failed: {why}" + (f"\nstderr:\n{stderr}" if stderr else "")
        )
    return {**answer["result"], "wall": round(wall, 3)}
