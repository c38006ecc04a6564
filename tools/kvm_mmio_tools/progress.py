"""A live progress line on stderr for long runs, quiet when stderr is not a terminal (CI logs,
pipes) so that the output of a command stays exactly what it prints."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

__all__ = ["ProgressLine", "StageLine", "rate", "states_text"]


def rate(count: int, seconds: float) -> str:
    """A states-per-second figure such as '35.2k/s'."""
    per_second = count / seconds if seconds > 0 else 0.0
    return f"{per_second / 1000:.1f}k/s" if per_second >= 1000 else f"{per_second:.0f}/s"


def states_text(name: str, states: int, queue: int, elapsed: float) -> str:
    """An explorer's (or TLC's) progress: '<name>: 12,345 states, queue 678, 3s (4.1k/s)'."""
    return f"{name}: {states:,} states, queue {queue:,}, {elapsed:.0f}s ({rate(states, elapsed)})"


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


class StageLine:
    """A ProgressLine for a run made of stages: '[total] stage (stage time): latest detail'.

    Stages and details may come from any thread; while ``ticking()``, a thread rewrites the line
    twice a second, so elapsed times move even when the work itself reports rarely (TLC prints
    its progress once a minute)."""

    def __init__(self, line: ProgressLine, *, interval: float = 0.5):
        self.line = line
        self.interval = interval
        self.begin = self._since = time.monotonic()
        self._stage = self._detail = ""
        self._lock = threading.Lock()

    def stage(self, text: str) -> None:
        with self._lock:
            self._stage, self._detail, self._since = text, "", time.monotonic()
        self.line.update(self.render(), force=True)

    def detail(self, text: str) -> None:
        with self._lock:
            self._detail = text
        self.line.update(self.render())

    def render(self) -> str:
        with self._lock:
            now = time.monotonic()
            text = f"[{now - self.begin:.0f}s] {self._stage} ({now - self._since:.0f}s)"
            return f"{text}: {self._detail}" if self._detail else text

    @contextlib.contextmanager
    def ticking(self) -> Iterator[StageLine]:
        """Keep the line fresh until the block ends, then clear it."""
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(self.interval):
                self.line.update(self.render(), force=True)

        ticker = threading.Thread(target=tick, daemon=True, name="progress")
        if self.line.enabled:
            ticker.start()
        try:
            yield self
        finally:
            stop.set()
            if ticker.is_alive():
                ticker.join()
            self.line.clear()
