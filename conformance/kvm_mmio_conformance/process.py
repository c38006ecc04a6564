"""Talk to an implementation in another process: `--cmd "COMMAND"`, JSON lines on its stdin/stdout.

Why so defensive: the implementation under test is exactly the program that may be wrong, and a
suite that hangs or dies with it tells its author nothing. So every answer has a deadline, and a
crash, a hang or output that is not one JSON object per line (one line per message: an extra
line fails the next message rather than shift every later answer) fails the message in progress with
AdapterFailure (carrying the tail of the command's stderr), the process group is killed, and the
next message starts a fresh process, greeted with hello like the first. If that fresh process
fails too, the command is given up: every later message fails at once instead of timing out.

The command runs through /bin/sh in a session of its own, so that its children die with it.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
from typing import IO, Any, NoReturn

from kvm_mmio_conformance.protocol import AdapterFailure, hello_message

__all__ = ["DEFAULT_TIMEOUT", "SubprocessChannel"]

DEFAULT_TIMEOUT = 10.0
STDERR_LINES = 40
STDERR_CHARS = 4000
SHOWN_CHARS = 200


def _pump_answers(stream: IO[bytes], answers: queue.Queue) -> None:
    """Queue each stdout line, then None at EOF (so a reader waiting for an answer wakes up)."""
    for raw in iter(stream.readline, b""):
        answers.put(raw.decode("utf-8", "replace"))
    answers.put(None)


def _pump_tail(stream: IO[bytes], tail: collections.deque) -> None:
    """Keep the last lines of stderr (the deque is bounded), read until EOF so that a chatty
    command never blocks on a full pipe."""
    for raw in iter(stream.readline, b""):
        tail.append(raw.decode("utf-8", "replace"))


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


class SubprocessChannel:
    """Messages to a command's stdin, answers from its stdout, one JSON object per line."""

    def __init__(self, command: str, *, timeout: float = DEFAULT_TIMEOUT):
        if timeout <= 0:
            raise ValueError(f"timeout: must be > 0 seconds, got {timeout}")
        self.command = command
        self.timeout = timeout
        self.starts = 0
        self._proc: subprocess.Popen | None = None
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._stderr_pump: threading.Thread | None = None
        self._given_up: AdapterFailure | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def _start(self) -> None:
        self._proc = subprocess.Popen(
            self.command,
            shell=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.starts += 1
        self._answers = queue.Queue()
        self._stderr = collections.deque(maxlen=STDERR_LINES)
        threading.Thread(
            target=_pump_answers, args=(self._proc.stdout, self._answers), daemon=True
        ).start()
        self._stderr_pump = threading.Thread(
            target=_pump_tail, args=(self._proc.stderr, self._stderr), daemon=True
        )
        self._stderr_pump.start()

    def _stop(self, *, gently: bool = False) -> str:
        """End the process (EOF first if `gently`, then SIGKILL to its group); return the tail
        of its stderr."""
        proc = self._proc
        if proc is None:
            return ""
        self._proc = None
        if gently:
            try:
                proc.stdin.close()
                proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()
        if self._stderr_pump is not None:
            self._stderr_pump.join(timeout=1)
        return "".join(self._stderr)[-STDERR_CHARS:]

    def close(self) -> None:
        self._stop(gently=True)

    def __enter__(self) -> SubprocessChannel:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- messages -------------------------------------------------------------------------

    def _fail(self, message: str) -> NoReturn:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            # It may be exiting right now: wait a moment to report its real status.
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.2)
        status = _describe_exit(proc.poll()) if proc is not None else "not running"
        stderr = self._stop()
        raise AdapterFailure(f"{message} ({status})", stderr)

    def _exchange(self, message: dict[str, Any]) -> Any:
        op = message.get("op")
        try:
            self._proc.stdin.write((json.dumps(message) + "\n").encode("utf-8"))
            self._proc.stdin.flush()
        except OSError:
            self._fail(f"{op}: the command stopped reading its input")
        try:
            line = self._answers.get(timeout=self.timeout)
        except queue.Empty:
            self._fail(f"{op}: no answer within {self.timeout:g} s; the command was killed")
        if line is None:
            self._fail(f"{op}: the command exited without answering")
        try:
            answer = json.loads(line)
        except ValueError:
            self._fail(f"{op}: the answer is not JSON: {line.rstrip()[:SHOWN_CHARS]!r}")
        if not isinstance(answer, dict):
            self._fail(f"{op}: the answer is not a JSON object: {line.rstrip()[:SHOWN_CHARS]!r}")
        return answer

    def _check_quiet(self, message: dict[str, Any]) -> None:
        """Fail if the command wrote more lines than it was asked for: every later answer would
        be read one message late. (A command that exited after its last answer starts afresh.)"""
        try:
            extra = self._answers.get_nowait()
        except queue.Empty:
            return
        if extra is None:
            self._stop()
            return
        self._fail(
            f"{message.get('op')}: the command wrote a line nobody asked for: "
            f"{extra.rstrip()[:SHOWN_CHARS]!r}"
        )

    def call(self, message: dict[str, Any]) -> Any:
        """The answer to `message` (AdapterFailure if the command does not give one)."""
        if self._given_up is not None:
            raise self._given_up
        if self._proc is not None:
            self._check_quiet(message)
        if self._proc is None or self._proc.poll() is not None:
            if self._proc is not None:
                self._stop()
            restarting = self.starts > 0
            self._start()
            if restarting:
                try:
                    self._exchange(hello_message())
                except AdapterFailure as failure:
                    self._given_up = AdapterFailure(
                        f"given up: the restarted command failed hello: {failure}", failure.stderr
                    )
                    raise self._given_up from None
        return self._exchange(message)
