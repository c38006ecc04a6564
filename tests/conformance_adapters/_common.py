"""Shared by the misbehaving adapters: answer like the reference until a decode request comes.

Each script here is an implementation that goes wrong on purpose on spte "decode" requests (and
only there), so that a test can check that the suite fails exactly those cases, with the stderr
tail, and goes on with a fresh process for the others. They speak protocol 2 (the message's id
echoed in its answer) unless told to speak protocol 1.
"""

import json
import sys

from kvm_mmio_conformance.protocol import dispatch
from kvm_mmio_conformance.reference_adapter import ReferenceAdapter


def serve(misbehave, *, protocol: int = 2) -> None:
    """Answer each stdin line like the reference, but call misbehave(answer) for decode requests
    instead of printing their answer."""
    adapter = ReferenceAdapter()
    for line in sys.stdin:
        message = json.loads(line)
        answer = dispatch(adapter, message)
        if message.get("op") == "hello":
            answer["protocol"] = protocol
        if protocol == 2 and "id" in message:
            answer["id"] = message["id"]
        request = message.get("request")
        if isinstance(request, dict) and request.get("op") == "decode":
            misbehave(answer)
            continue
        print(json.dumps(answer), flush=True)
