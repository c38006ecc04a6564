"""One run of an out-of-process adapter: its own session and process group, and our ends of its
pipes as plain file descriptors that are read without ever blocking.

Why this shape: the command under test may start children that keep its stdout or stderr open
after it has exited, may ignore end of input, may hang, or may print without end. So the runner
never waits for end of file on a pipe (a descendant can hold it open for ever) and never closes a
stream another thread is blocked reading (that close waits for the read): everything here is
read in the caller's thread, through a selector, with a deadline, and the process's exit is seen
through a pidfd rather than through the pipes. Ending the run kills the whole process group
(SIGTERM, then SIGKILL) before the leader is reaped, so that the group id cannot have been reused
when the signal is sent, and closes our ends of the pipes whatever holds the other ends.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time

__all__ = ["MAX_LINE_BYTES", "AdapterProcess", "LineTooLong"]

# An answer line longer than this is refused rather than buffered without end.
MAX_LINE_BYTES = 16 * 1024 * 1024
STDERR_KEPT_BYTES = 16 * 1024
READ_BYTES = 65536
# How long the group gets between SIGTERM and SIGKILL (the live adapter closes its VM on SIGTERM).
TERM_GRACE = 1.0
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


class LineTooLong(Exception):
    """The command wrote more than MAX_LINE_BYTES without a newline."""


def _describe_exit(status: int | None) -> str:
    if status is None:
        return "still running"
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


class AdapterProcess:
    """The command started through /bin/sh in a new session (so a process group of its own)."""

    def __init__(self, command: str):
        self._proc = subprocess.Popen(
            command,
            shell=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            bufsize=0,
        )
        self.pid = self._proc.pid
        self._pidfd = os.pidfd_open(self.pid)
        self._stdin = self._proc.stdin.fileno()
        self._stdout = self._proc.stdout.fileno()
        self._stderr = self._proc.stderr.fileno()
        for fd in (self._stdout, self._stderr):
            os.set_blocking(fd, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._stdout, selectors.EVENT_READ)
        self._selector.register(self._stderr, selectors.EVENT_READ)
        self._selector.register(self._pidfd, selectors.EVENT_READ)
        self._pending = bytearray()  # stdout bytes after the last complete line
        self._lines: list[bytes] = []
        self._stderr_tail = bytearray()
        self._stdout_open = True
        self._stderr_open = True
        self._overflow = False
        self._exited = False
        self._closed = False
        self.lines_read = 0

    # -- reading --------------------------------------------------------------------------

    def _drain(self, fd: int) -> None:
        """Read everything `fd` has now, without blocking (nothing once it is at its end)."""
        if not (self._stderr_open if fd == self._stderr else self._stdout_open):
            return
        while True:
            try:
                chunk = os.read(fd, READ_BYTES)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if fd == self._stderr:
                if not chunk:
                    self._stderr_open = False
                    self._selector.unregister(fd)
                    return
                self._stderr_tail += chunk
                del self._stderr_tail[:-STDERR_KEPT_BYTES]
                continue
            if not chunk:
                self._stdout_open = False
                self._selector.unregister(fd)
                return
            if b"\n" in chunk:  # only the new bytes are searched: a long line costs linear time
                *complete, rest = chunk.split(b"\n")
                complete[0] = bytes(self._pending) + complete[0]
                self._lines += complete
                self._pending = bytearray(rest)
            else:
                self._pending += chunk
            if len(self._pending) > MAX_LINE_BYTES:
                self._overflow = True  # reported by the next read; what follows is dropped
                self._pending.clear()

    def _poll(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for output or the command's exit, and take what came."""
        for key, _ in self._selector.select(max(timeout, 0)):
            if key.fd == self._pidfd:
                self._exited = True
                self._selector.unregister(self._pidfd)
                # Whatever the command wrote before it exited is in the pipes now.
                self._drain(self._stdout)
                self._drain(self._stderr)
            elif key.fd == self._stdout:
                self._drain(self._stdout)
            else:
                self._drain(self._stderr)

    def read_line(self, until: float) -> bytes | None:
        """The next stdout line (without its newline), or None once the command has exited (or
        closed its stdout) with no line left; TimeoutError when `until` (time.monotonic) comes
        first. A descendant holding stdout open after the command exited does not delay this."""
        while not self._lines:
            self._check_overflow()
            if self._exited or not self._stdout_open:
                return None
            remaining = until - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self._poll(remaining)
        self.lines_read += 1
        return self._lines.pop(0)

    def buffered_line(self) -> bytes | None:
        """A stdout line that has already arrived, without waiting (None if there is none)."""
        self._poll(0)
        if not self._lines:
            self._check_overflow()
            return None
        self.lines_read += 1
        return self._lines.pop(0)

    def _check_overflow(self) -> None:
        if self._overflow:
            raise LineTooLong(f"an output line longer than {MAX_LINE_BYTES:,} bytes")

    def wait_exit(self, until: float) -> bool:
        """Wait until the command exits or `until` comes; whether it exited."""
        while not self._exited and time.monotonic() < until:
            self._poll(until - time.monotonic())
        return self._exited

    @property
    def exited(self) -> bool:
        self._poll(0)
        return self._exited

    def exit_status(self) -> str:
        """How the command ended, as words ("exit status 3", "killed by SIGKILL", "still
        running"), without reaping it."""
        if not self.exited:
            return "still running"
        info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is None:
            return "still running"
        if info.si_code == os.CLD_EXITED:
            return _describe_exit(info.si_status)
        return _describe_exit(-info.si_status)

    def stderr_tail(self) -> str:
        if not self._closed:
            self._drain(self._stderr)
        return self._stderr_tail.decode("utf-8", "replace")

    # -- writing and ending ---------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Write `data` to the command's stdin (OSError if it stopped reading)."""
        view = memoryview(data)
        while view:
            written = os.write(self._stdin, view)
            view = view[written:]

    def end_input(self) -> None:
        """Close the command's stdin: end of input, which tells it to exit."""
        with contextlib.suppress(OSError):
            self._proc.stdin.close()

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def kill(self) -> str:
        """End the whole process group (SIGTERM, a grace, SIGKILL), reap the command and close
        our ends of its pipes; return the tail of its stderr. Idempotent."""
        if self._closed:
            return self._stderr_tail.decode("utf-8", "replace")
        # A second Ctrl-C or SIGTERM waits until the group is dead (they would otherwise raise
        # KeyboardInterrupt half way through and leave it running).
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            return self._kill()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def _kill(self) -> str:
        if not self.exited:
            self._signal_group(signal.SIGTERM)
            self.wait_exit(time.monotonic() + TERM_GRACE)
        # Always, even after the leader exited: its descendants are still in the group, and the
        # unreaped leader keeps the group id from being reused.
        self._signal_group(signal.SIGKILL)
        tail = self.stderr_tail()
        self._proc.wait()
        self._closed = True
        self._selector.close()
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()
        os.close(self._pidfd)
        return tail
