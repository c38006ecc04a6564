"""The reference out of process: `python -m kvm_mmio_conformance.serve_reference`.

Why: it proves the wire protocol end to end (the reference passes every case through it), and it
is what an implementer runs to see the answers the suite expects, message by message. It serves
whatever ReferenceAdapter implements, so the model-backed layers appear here when they appear
there.
"""

from __future__ import annotations

import sys

from kvm_mmio_conformance.reference_adapter import ReferenceAdapter
from kvm_mmio_conformance.stdio_server import serve

__all__ = ["main"]


def main() -> int:
    return serve(ReferenceAdapter(), sys.stdin, sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())
