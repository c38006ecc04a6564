"""Talk to an implementation in this Python process: `--impl module:factory`.

Why a channel at all: the runner speaks messages, in process and out of process alike, so that a
case behaves the same whichever way it runs. Here a message becomes a method call (protocol.
dispatch), an exception becomes AdapterFailure (that case fails, the suite goes on), and answers
make a round trip through JSON so that what passes in process would also pass on the wire.
There is no timeout in process: a hung adapter hangs the run; use --cmd to guard against it.
"""

from __future__ import annotations

import importlib
import json
import traceback
from typing import Any

from kvm_mmio_conformance.protocol import AdapterFailure, dispatch

__all__ = ["InProcessChannel", "load_factory"]

TRACEBACK_LINES = 12


def load_factory(spec: str) -> Any:
    """The adapter made by "package.module:factory" (ValueError saying what could not be found)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--impl: expected module:factory, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"--impl: cannot import {module_name}: {error}") from None
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ValueError(f"--impl: {module_name} has no callable {attribute}")
    return factory()


class InProcessChannel:
    """Messages to an adapter object in this process."""

    def __init__(self, adapter: Any):
        self.adapter = adapter

    def call(self, message: dict[str, Any], *, until: float | None = None) -> Any:
        """The adapter's answer (`until` is not enforced: a call cannot be interrupted in
        process; the runner checks its deadline between cases)."""
        try:
            answer = dispatch(self.adapter, message)
            return json.loads(json.dumps(answer))
        except Exception as error:
            tail = "".join(traceback.format_exc().splitlines(keepends=True)[-TRACEBACK_LINES:])
            raise AdapterFailure(
                f"{message['op']}: the adapter raised {type(error).__name__}: {error}", tail
            ) from error

    def close(self) -> None:
        close = getattr(self.adapter, "close", None)
        if callable(close):
            close()
