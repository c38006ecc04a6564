"""Serve any in-process adapter out of process: JSON lines on stdin, one answer line on stdout.

Why: the out-of-process protocol must be exercised with implementations known to be right (the
reference) and known to be wrong (the mutants), and a Python implementer gets a ready server:

    python -m kvm_mmio_conformance.stdio_server package.module:factory

A line that is not JSON, or a method that raises, is answered {"error"} (the traceback goes to
stderr) and the next line is read; end of input ends the server. It speaks protocol 2 whatever the
adapter's hello says (or 1, if the hello asks for 1): a message's "id" is copied into its answer,
so the suite can match every answer to its request.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any, TextIO

from kvm_mmio_conformance.inprocess import load_factory
from kvm_mmio_conformance.protocol import PROTOCOL_VERSION, dispatch

__all__ = ["main", "serve"]


def _agreed(asked: Any) -> int:
    """The protocol to speak: the suite's (2) unless the hello asks for an older one."""
    if isinstance(asked, int) and not isinstance(asked, bool) and 1 <= asked < PROTOCOL_VERSION:
        return asked
    return PROTOCOL_VERSION


def _answer(adapter: Any, line: str) -> Any:
    try:
        message = json.loads(line)
    except (ValueError, RecursionError) as error:
        return {"error": f"message: not valid JSON ({error})"}
    try:
        answer = dispatch(adapter, message)
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        answer = {"error": f"{type(error).__name__}: {error}"}
    if isinstance(message, dict) and isinstance(answer, dict):
        if message.get("op") == "hello" and "error" not in answer:
            answer = {**answer, "protocol": _agreed(message.get("protocol"))}
        if "id" in message:
            answer = {**answer, "id": message["id"]}
    return answer


def serve(adapter: Any, stdin: TextIO, stdout: TextIO) -> int:
    """Answer every line of `stdin` until EOF; return the exit status (0)."""
    for line in stdin:
        if line.strip():
            stdout.write(json.dumps(_answer(adapter, line)) + "\n")
            stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m kvm_mmio_conformance.stdio_server module:factory", file=sys.stderr)
        return 2
    try:
        adapter = load_factory(args[0])
    except ValueError as error:
        print(f"stdio_server: {error}", file=sys.stderr)
        return 2
    return serve(adapter, sys.stdin, sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())
