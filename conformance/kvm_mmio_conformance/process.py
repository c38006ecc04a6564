"""Talk to an implementation in another process: `--cmd "COMMAND"`, JSON lines on its stdin/stdout.

Why so defensive: the implementation under test is exactly the program that may be wrong, and a
suite that hangs or misjudges with it tells its author nothing. So:

- the command runs through /bin/sh in a session and process group of its own, and that whole
  group is killed when the channel is done with it (at the end, after a failure, on Ctrl-C or
  SIGTERM); the pipes are read without ever waiting for their end (adapterprocess.py), so a
  descendant that keeps them open cannot hang the suite;
- every answer has a deadline (`timeout`, default 10 s; at least 10 s for the hello of a fresh
  process, which includes its start-up) and the caller may pass an overall one (`until`); a
  crash, a hang, or output that is not one JSON object per line, in UTF-8, fails the message in
  progress with AdapterFailure (carrying the tail of the command's stderr), the group
  is killed and the next message starts a fresh process, greeted with hello like the first. If
  that fresh process fails too, the command is given up: every later message fails at once;
- answers are matched to requests for certain when the command speaks protocol 2 (each message
  carries an "id" its answer echoes): an answer line with the id of an earlier message is a
  second answer to that message, kept as an ExtraAnswer for the caller to blame on it, and the
  wait for the right answer goes on; so no case is judged against another's answer. Protocol 1
  has no ids: a line that has already arrived when the next message is sent fails that message
  (it would shift every later answer), which depends on timing; `finish` ends the input, waits for
  the command to exit and keeps whatever it wrote after its last answer as extra answers too.
"""

from __future__ import annotations

import json
import time
from typing import Any, NoReturn

from kvm_mmio_conformance.adapterprocess import AdapterProcess, LineTooLong
from kvm_mmio_conformance.protocol import (
    AdapterFailure,
    DeadlineExceeded,
    ExtraAnswer,
    hello_message,
)

__all__ = ["DEFAULT_TIMEOUT", "SubprocessChannel"]

DEFAULT_TIMEOUT = 10.0
STDERR_CHARS = 4000
SHOWN_CHARS = 200
# How long a command has to exit after its input ends, before its group is killed.
EXIT_GRACE = 2.0
# How long a command that failed gets to exit by itself, so that its real status is reported.
STATUS_GRACE = 0.2
# The least time a fresh command gets for its hello answer, which includes its start-up (a
# Python adapter imports for a second or more on a loaded machine).
START_TIMEOUT = 10.0


def _shown(raw: bytes) -> str:
    return repr(raw.decode("utf-8", "replace").rstrip()[:SHOWN_CHARS])


class SubprocessChannel:
    """Messages to a command's stdin, answers from its stdout, one JSON object per line."""

    def __init__(self, command: str, *, timeout: float = DEFAULT_TIMEOUT):
        if timeout <= 0:
            raise ValueError(f"timeout: must be > 0 seconds, got {timeout}")
        self.command = command
        self.timeout = timeout
        self.starts = 0
        self.protocol = 1  # until a hello answer says otherwise
        self._proc: AdapterProcess | None = None
        self._given_up: AdapterFailure | None = None
        self._extra: list[ExtraAnswer] = []
        self._last_id: int | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def _stop(self) -> str:
        """Kill the command's whole process group; return the tail of its stderr."""
        proc, self._proc = self._proc, None
        return proc.kill()[-STDERR_CHARS:] if proc is not None else ""

    def close(self) -> None:
        """Kill the command's process group now (idempotent)."""
        self._stop()

    def finish(self) -> None:
        """End the input, give the command EXIT_GRACE seconds to exit, keep any line it wrote
        after its last answer as an extra answer, and kill what is left of its group."""
        proc = self._proc
        if proc is None:
            return
        proc.end_input()
        proc.wait_exit(time.monotonic() + EXIT_GRACE)
        try:
            while (raw := proc.buffered_line()) is not None:
                self._keep_extra(raw, proc.lines_read)
        except LineTooLong:
            pass
        self._stop()

    def __enter__(self) -> SubprocessChannel:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def take_extra_answers(self) -> list[ExtraAnswer]:
        """The answer lines nobody was waiting for, found since the last call."""
        extra, self._extra = self._extra, []
        return extra

    # -- messages -------------------------------------------------------------------------

    def _fail(self, message: str, cls: type[AdapterFailure] = AdapterFailure) -> NoReturn:
        proc = self._proc
        status = "not running"
        if proc is not None:
            # It may be exiting right now: wait a moment to report its real status.
            proc.wait_exit(time.monotonic() + STATUS_GRACE)
            status = proc.exit_status()
        raise cls(f"{message} ({status})", self._stop())

    def _keep_extra(self, raw: bytes, line: int) -> None:
        answered = self._last_id
        if self.protocol == 2:
            try:
                value = json.loads(raw)
                answered = value.get("id") if isinstance(value, dict) else None
            except (ValueError, RecursionError):
                answered = None
        self._extra.append(ExtraAnswer(answered, line, _shown(raw)))

    def _read_answer(self, op: str, until: float | None) -> tuple[Any, int]:
        """The next answer line as a JSON object, and its line number."""
        patience = max(self.timeout, START_TIMEOUT) if op == "hello" else self.timeout
        limit = time.monotonic() + patience
        deadline_first = until is not None and until < limit
        try:
            raw = self._proc.read_line(until if deadline_first else limit)
        except TimeoutError:
            if deadline_first:
                self._fail(f"{op}: the run's deadline passed while waiting", DeadlineExceeded)
            self._fail(f"{op}: no answer within {patience:g} s; the command was killed")
        except LineTooLong as error:
            self._fail(f"{op}: {error}")
        if raw is None:
            self._fail(f"{op}: the command exited without answering")
        line = self._proc.lines_read
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            self._fail(
                f"{op}: output line {line} is not UTF-8 (byte {raw[error.start]:#04x} at "
                f"offset {error.start}): {_shown(raw)}"
            )
        try:
            answer = json.loads(text)
        except (ValueError, RecursionError):
            self._fail(f"{op}: output line {line}, the answer, is not JSON: {_shown(raw)}")
        if not isinstance(answer, dict):
            self._fail(f"{op}: output line {line}, the answer, is not a JSON object: {_shown(raw)}")
        return answer, line

    def _exchange(self, message: dict[str, Any], until: float | None) -> Any:
        op = message.get("op")
        numbered = self.protocol == 2 and op != "hello" and "id" in message
        wire = message if numbered else {k: v for k, v in message.items() if k != "id"}
        try:
            self._proc.write((json.dumps(wire) + "\n").encode("utf-8"))
        except OSError:
            self._fail(f"{op}: the command stopped reading its input")
        self._last_id = message.get("id")
        while True:
            answer, line = self._read_answer(op, until)
            if not numbered:
                if op == "hello":
                    self.protocol = 2 if answer.get("protocol") == 2 else 1
                return answer
            echoed = answer.pop("id", None)
            if echoed == message["id"]:
                return answer
            earlier = isinstance(echoed, int) and not isinstance(echoed, bool)
            if earlier and echoed < message["id"]:
                self._extra.append(ExtraAnswer(echoed, line, _shown(json.dumps(answer).encode())))
                continue
            self._fail(
                f"{op}: output line {line} answers id {json.dumps(echoed)}, "
                f"but the message sent has id {message['id']} (protocol 2 echoes it)"
            )

    def _check_quiet(self, message: dict[str, Any]) -> None:
        """Protocol 1: fail if the command wrote more lines than it was asked for, since every
        later answer would be read one message late. (Protocol 2 matches answers by id.)"""
        try:
            extra = self._proc.buffered_line()
        except LineTooLong as error:
            self._fail(f"{message.get('op')}: {error}")
        if extra is not None:
            self._fail(
                f"{message.get('op')}: output line {self._proc.lines_read} is a line nobody "
                f"asked for: {_shown(extra)}"
            )

    def call(self, message: dict[str, Any], *, until: float | None = None) -> Any:
        """The answer to `message` (AdapterFailure if the command does not give one; its
        subclass DeadlineExceeded if `until`, a time.monotonic() value, comes first). An "id" in
        `message` is sent only to a protocol 2 command and is not part of the answer."""
        if self._given_up is not None:
            raise self._given_up
        if self._proc is not None and self.protocol == 1:
            self._check_quiet(message)
        if self._proc is None or self._proc.exited:
            if self._proc is not None:
                # Answers it wrote before exiting that nobody asked for (protocol 2).
                while (raw := self._proc.buffered_line()) is not None:
                    self._keep_extra(raw, self._proc.lines_read)
                self._stop()
            restarting = self.starts > 0
            self._proc = AdapterProcess(self.command)
            self.starts += 1
            if restarting:
                try:
                    self._exchange(hello_message(), until)
                except AdapterFailure as failure:
                    self._given_up = AdapterFailure(
                        f"given up: the restarted command failed hello: {failure}", failure.stderr
                    )
                    raise self._given_up from None
        return self._exchange(message, until)
