"""The live adapter out of process: `python -m kvm_mmio_conformance.live.serve`.

Why its own entry point rather than `stdio_server kvm_mmio_conformance.live.adapter:LiveAdapter`:
the adapter holds kernel resources (a VM, watchdog threads, a private trace instance) that must
be released when the suite is done with it, and the suite ends a command by closing its stdin or,
after a timeout, by killing its process group. End of input, SIGTERM and SIGHUP all close the
adapter here; SIGKILL cannot be caught, and the next trace session removes the instance a killed
process left behind (tracefs.py). Each guest run is bounded by --guest-timeout seconds, well
inside the suite's per-answer deadline, so a hung guest is reported instead of killed.
"""

import argparse
import signal
import sys
from types import FrameType

from kvm_mmio_conformance.stdio_server import serve

from .adapter import DEFAULT_TIMEOUT, LiveAdapter

__all__ = ["main"]


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through serve() into the adapter's close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kvm_mmio_conformance.live.serve",
        description="Serve this machine's KVM to the conformance suite (JSON lines on stdio).",
    )
    parser.add_argument(
        "--guest-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help="seconds each guest run may take (default %(default)g)",
    )
    parser.add_argument(
        "--no-trace", action="store_true", help="do not trace: observe the outcome only"
    )
    args = parser.parse_args(argv)
    if args.guest_timeout <= 0:
        parser.error(f"--guest-timeout must be > 0, got {args.guest_timeout}")
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    with LiveAdapter(timeout=args.guest_timeout, trace=not args.no_trace) as adapter:
        return serve(adapter, sys.stdin, sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())
