"""Shared by the misbehaving adapters: answer like the reference until a decode request comes.

Each script here is an implementation that goes wrong on purpose on spte "decode" requests (and
only there), so that a test can check that the suite fails exactly those cases, with the stderr
tail, and goes on with a fresh process for the others.
"""

import json
import sys

from kvm_mmio_conformance.protocol import dispatch
from kvm_mmio_conformance.reference_adapter import ReferenceAdapter


def serve(misbehave) -> None:
    """Answer each stdin line like the reference, but call misbehave() for decode requests."""
    adapter = ReferenceAdapter()
    for line in sys.stdin:
        message = json.loads(line)
        request = message.get("request")
        if isinstance(request, dict) and request.get("op") == "decode":
            misbehave()
            continue
        print(json.dumps(dispatch(adapter, message)), flush=True)
