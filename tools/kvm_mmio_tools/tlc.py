"""Run TLC on a spec and a cfg, and return what it found as a TlcResult.

Why a driver: TLC leaves files behind (a state folder named by the second, which makes the next
run in the same second fail; standard modules extracted into java.io.tmpdir; JVM perf data), it
resolves ``-config`` against the spec's folder, and a JVM must never outlive its caller.  So every
run:

- gets a fresh scratch folder: the JVM's working directory, its ``-metadir`` and its
  java.io.tmpdir; the folder is removed when the call returns, whatever happens;
- starts the JVM in its own process group; on a timeout, Ctrl-C or any exception the whole group
  gets SIGTERM, then SIGKILL after a grace period, and is waited for;
- streams stdout line by line through the ``-tool`` message parser, reporting progress (message
  2200) to ``on_progress`` as it arrives.

Modules a spec EXTENDS are found next to it: TLC looks in the spec's own folder, and we pass the
spec's absolute path.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import structlog

from kvm_mmio_tools.errors import UsageError
from kvm_mmio_tools.tlc_locate import find_jar, find_java
from kvm_mmio_tools.tlc_messages import Message
from kvm_mmio_tools.tlc_output import OutputParser, parse_output
from kvm_mmio_tools.tlc_result import Outcome, Progress, StepKind, TlcResult, TraceState

__all__ = [
    "DEFAULT_JAVA_OPTS",
    "Message",
    "Outcome",
    "Progress",
    "StepKind",
    "TlcResult",
    "TraceState",
    "find_jar",
    "find_java",
    "parse_output",
    "run_tlc",
    "tlc_command",
]

DEFAULT_JAVA_OPTS = ("-XX:+UseParallelGC",)
# Not tuning but hygiene: no /tmp/hsperfdata_* file left behind by a killed JVM.
_FIXED_JAVA_OPTS = ("-XX:-UsePerfData",)

log = structlog.get_logger()


def tlc_command(
    spec: Path,
    cfg: Path,
    scratch: Path,
    *,
    workers: int = 1,
    extra_args: Sequence[str] = (),
    dump_dot: Path | None = None,
    check_deadlock: bool = True,
    heap: str | None = None,
    java_opts: Sequence[str] = DEFAULT_JAVA_OPTS,
) -> list[str]:
    """The java command line for one run whose scratch folder is ``scratch`` (absolute paths).

    TLC 2.15 resolves ``-config`` against the spec's folder (an absolute path is "File not found"),
    so the cfg is given relative to it.
    """
    command = [
        find_java(),
        *_FIXED_JAVA_OPTS,
        *java_opts,
        *([f"-Xmx{heap}"] if heap else []),
        f"-Djava.io.tmpdir={scratch / 'tmp'}",
        "-cp",
        str(find_jar()),
        "tlc2.TLC",
        "-tool",
        "-config",
        os.path.relpath(cfg, spec.parent),
        "-workers",
        str(workers),
        "-metadir",
        str(scratch / "meta"),
    ]
    if dump_dot is not None:
        command += ["-dump", "dot,actionlabels", str(dump_dot)]
    if not check_deadlock:
        command.append("-deadlock")
    return [*command, *extra_args, str(spec)]


def run_tlc(
    spec_path: str | Path,
    cfg_path: str | Path,
    *,
    workers: int = 1,
    timeout: float | None = None,
    extra_args: Sequence[str] = (),
    on_progress: Callable[[Progress], None] | None = None,
    dump_dot: str | Path | None = None,
    check_deadlock: bool = True,
    heap: str | None = None,
    java_opts: Sequence[str] = DEFAULT_JAVA_OPTS,
    grace_seconds: float = 5.0,
    cancel: threading.Event | None = None,
) -> TlcResult:
    """Model-check ``spec_path`` with ``cfg_path`` and return the result; never leaves a JVM behind.

    ``dump_dot`` writes the state graph there (the name must end in ``.dot``; complete only when the
    run completes).  ``heap`` is a java size such as ``"4g"``.  ``check_deadlock=False`` passes
    ``-deadlock``.  A timeout returns outcome TIMEOUT; KeyboardInterrupt is raised again after
    cleanup.  Setting ``cancel`` (from another thread: a pool of runs on Ctrl-C) stops the JVM the
    same way and raises KeyboardInterrupt in the calling thread.  Raises UsageError for a missing
    file or a bad argument, ToolError without java or TLC.
    """
    spec, cfg = _existing(spec_path, ".tla"), _existing(cfg_path, ".cfg")
    if workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")
    if timeout is not None and timeout <= 0:
        raise UsageError(f"timeout must be positive, got {timeout}")
    dot = None
    if dump_dot is not None:
        dot = Path(dump_dot).resolve()
        if dot.suffix != ".dot":
            raise UsageError(f"the state graph file must end in .dot (TLC adds it): {dump_dot}")
    scratch = Path(tempfile.mkdtemp(prefix="kvm-mmio-tlc-"))
    try:
        (scratch / "tmp").mkdir()
        command = tlc_command(
            spec,
            cfg,
            scratch,
            workers=workers,
            extra_args=extra_args,
            dump_dot=dot,
            check_deadlock=check_deadlock,
            heap=heap,
            java_opts=java_opts,
        )
        return _run(command, scratch, timeout, on_progress, grace_seconds, cancel)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _existing(path: str | Path, suffix: str) -> Path:
    resolved = Path(path).resolve()
    if resolved.suffix != suffix:
        raise UsageError(f"expected a {suffix} file, got {path}")
    if not resolved.is_file():
        raise UsageError(f"file not found: {path}")
    return resolved


class _DeadlinePassed(Exception):
    """The timeout expired while waiting for TLC."""


_POLL_SECONDS = 0.1


def _next_line(
    lines: queue.Queue[str | None], deadline: float | None, cancel: threading.Event | None
) -> str | None:
    """The next stdout line, or None at the end of the output; polls ``cancel`` meanwhile."""
    while True:
        if cancel is not None and cancel.is_set():
            raise KeyboardInterrupt("TLC run cancelled")
        wait = None if cancel is None else _POLL_SECONDS
        if deadline is not None:
            left = max(0.0, deadline - time.monotonic())
            wait = left if wait is None else min(wait, left)
        try:
            return lines.get(timeout=wait)
        except queue.Empty:
            if deadline is not None and time.monotonic() >= deadline:
                raise _DeadlinePassed from None


def _run(
    command: list[str],
    scratch: Path,
    timeout: float | None,
    on_progress: Callable[[Progress], None] | None,
    grace_seconds: float,
    cancel: threading.Event | None,
) -> TlcResult:
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    parser = OutputParser()
    process = subprocess.Popen(
        command,
        cwd=scratch,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    log.info("tlc.start", pid=process.pid, command=" ".join(command), cwd=str(scratch))
    lines: queue.Queue[str | None] = queue.Queue()
    stderr: list[str] = []

    def pump_stdout() -> None:
        _pump(process.stdout, lines.put)
        lines.put(None)

    readers = [
        threading.Thread(target=pump_stdout, daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, stderr.append), daemon=True),
    ]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        while (line := _next_line(lines, deadline, cancel)) is not None:
            progress = parser.feed(line, elapsed=time.monotonic() - start)
            if progress is not None and on_progress is not None:
                on_progress(progress)
        process.wait(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
    except (_DeadlinePassed, subprocess.TimeoutExpired):
        timed_out = True
    finally:
        _stop(process, grace_seconds)
        for reader in readers:
            reader.join(timeout=grace_seconds)
    if timed_out:  # what TLC printed before it was stopped still counts (partial counts)
        with contextlib.suppress(queue.Empty):
            while (line := lines.get_nowait()) is not None:
                parser.feed(line, elapsed=time.monotonic() - start)
    seconds = time.monotonic() - start
    result = parser.result(
        process.returncode,
        seconds=seconds,
        timed_out_after=timeout if timed_out else None,
        stderr="\n".join(stderr),
        command=tuple(command),
        pid=process.pid,
    )
    log.info(
        "tlc.done",
        outcome=result.outcome.value,
        seconds=round(seconds, 3),
        exit_code=result.exit_code,
        distinct_states=result.distinct_states,
        explanation=result.explanation,
    )
    return result


def _pump(stream: IO[str], sink: Callable[[str], None]) -> None:
    """Copy a stream's lines, without their newline, to ``sink`` until the stream ends."""
    with stream:
        for line in stream:
            sink(line.rstrip("\n"))


def _stop(process: subprocess.Popen, grace_seconds: float) -> None:
    """Make sure the JVM's process group is gone: SIGTERM, then SIGKILL after the grace period."""
    if process.poll() is not None:
        return
    log.info("tlc.stop", pid=process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
