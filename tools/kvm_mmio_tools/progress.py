"""A live progress line on stderr for long runs, quiet when stderr is not a terminal (CI logs,
pipes) so that the output of a command stays exactly what it prints."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

__all__ = ["ProgressLine", "rate"]


def rate(count: int, seconds: float) -> str:
    """A states-per-second figure such as '35.2k/s'."""
    per_second = count / seconds if seconds > 0 else 0.0
    return f"{per_second / 1000:.1f}k/s" if per_second >= 1000 else f"{per_second:.0f}/s"


class ProgressLine:
    """One status line rewritten in place (thread-safe); cleared before anything else prints."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        enabled: bool | None = None,
        min_interval: float = 0.2,
    ):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._last = 0.0
        self._width = 0

    def update(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last < self.min_interval:
                return
            self._last = now
            self.stream.write("\r" + text.ljust(self._width))
            self.stream.flush()
            self._width = len(text)

    def clear(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            if self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
                self._width = 0
