"""The adapter protocol: the messages the suite sends to an implementation under test.

Why one module: the same messages travel in process (method calls on an adapter object) and out
of process (JSON lines on a command's stdin/stdout), so both are defined here, once, and
`dispatch` is the single place that maps a message to a method. Every message is a JSON object
with an "op"; every answer is one JSON object ({"error": "..."} when the request is refused):

    {"op": "hello", "protocol": 2}      -> {"name": str, "protocol": 1|2, "capabilities": C}
    {"op": "spte", "request": R}        -> the spte answer of R (kvm_mmio.spte_requests)
    {"op": "reset", "config": K}        -> {"ok": true}, plus {"enabled": [A, ...]} at the steps
                                           level (the actions enabled in the initial state)
    {"op": "operation", "operation": O} -> an observation: {"outcome", "path"} for an access,
                                           {"generation"} (where observable) for a memslot op
    {"op": "step", "action": A}         -> {"enabled": [A, ...]} after the step
    {"op": "state"}                     -> {"state": S} (ITF values by TLA+ variable name)

C (capabilities) is described in capabilities.py and schema/capabilities.schema.json; K, O and A
in conformance/README.md and schema/{operations,steps}.schema.json. Out of process, the command
reads one request per line and writes one answer per line, flushing after each; end of input
means exit. An adapter implements the layers it declares and answers {"error"} to the others.

Protocol 2 adds one rule out of process: every message after hello carries an integer "id" and its
answer must carry the same "id". That is what lets the suite match each answer to its request for
certain: a second answer to an earlier message is recognised as such (and reported against that
message) however late it arrives, instead of being taken for the answer to the next one. An
implementation says which protocol it speaks in its hello answer ("protocol": 1 or 2, default
1); a protocol 1 implementation gets no ids and is still accepted.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs

__all__ = [
    "LAYERS",
    "OPS",
    "PROTOCOLS",
    "PROTOCOL_VERSION",
    "Adapter",
    "AdapterFailure",
    "BaseAdapter",
    "DeadlineExceeded",
    "ExtraAnswer",
    "dispatch",
    "hello_message",
]

PROTOCOL_VERSION = 2
PROTOCOLS = (1, 2)
LAYERS = ("spte", "operations", "steps")
# Each op and the key of its payload (None: no payload).
OPS = {
    "hello": None,
    "spte": "request",
    "reset": "config",
    "operation": "operation",
    "step": "action",
    "state": None,
}


class AdapterFailure(Exception):
    """The implementation did not answer a message: it crashed, hung, printed something that is
    not a JSON object, or (in process) raised. The case in progress fails with this message and,
    out of process, the tail of the command's stderr."""

    def __init__(self, message: str, stderr: str = ""):
        super().__init__(message)
        self.stderr = stderr


class DeadlineExceeded(AdapterFailure):
    """The run's overall deadline passed while an answer was awaited: the run stops here."""


@attrs.frozen
class ExtraAnswer:
    """An answer line nobody was waiting for: a second answer to the message with id
    `answered` (None when the implementation speaks protocol 1, which has no ids: then it came
    after the answer to the last message sent), found on output line `line` of the command."""

    answered: int | None
    line: int
    text: str


class Adapter(Protocol):
    """An implementation under test, in process. Each method takes the payload of its message
    and returns the answer object; `state` is optional (declare it in the capabilities)."""

    def hello(self) -> dict[str, Any]: ...

    def spte(self, request: Any) -> dict[str, Any]: ...

    def reset(self, config: dict[str, Any]) -> dict[str, Any]: ...

    def operation(self, operation: dict[str, Any]) -> dict[str, Any]: ...

    def step(self, action: dict[str, Any]) -> dict[str, Any]: ...


class BaseAdapter:
    """A convenient base: every level answers "not implemented" until a subclass overrides it,
    so an implementation of one layer writes only `hello` and that layer's method."""

    def hello(self) -> dict[str, Any]:
        raise NotImplementedError("an adapter must say who it is and what it implements")

    def _not_implemented(self, op: str) -> dict[str, Any]:
        return {"error": f"{op}: not implemented by {type(self).__name__}"}

    def spte(self, request: Any) -> dict[str, Any]:
        return self._not_implemented("spte")

    def reset(self, config: dict[str, Any]) -> dict[str, Any]:
        return self._not_implemented("reset")

    def operation(self, operation: dict[str, Any]) -> dict[str, Any]:
        return self._not_implemented("operation")

    def step(self, action: dict[str, Any]) -> dict[str, Any]:
        return self._not_implemented("step")

    def state(self) -> dict[str, Any]:
        return self._not_implemented("state")


def hello_message() -> dict[str, Any]:
    return {"op": "hello", "protocol": PROTOCOL_VERSION}


def dispatch(adapter: Any, message: Any) -> Any:
    """The adapter's answer to one message: the method its "op" names, called with its payload.
    A message the protocol does not know is answered {"error"}; what the method raises is left to
    the caller (the suite turns it into AdapterFailure, a stdio server into {"error"})."""
    if not isinstance(message, dict) or message.get("op") not in OPS:
        return {"error": f"message: expected an object with op one of {', '.join(OPS)}"}
    op = message["op"]
    key = OPS[op]
    method = getattr(adapter, op, None)
    if method is None:
        return {"error": f"{op}: not implemented by {type(adapter).__name__}"}
    if key is None:
        return method()
    if key not in message:
        return {"error": f"{op}: missing {key}"}
    return method(message[key])
