"""The `kvm-mmio` command line: a thin layer that parses arguments and calls a command module.

Each subcommand lives in ``kvm_mmio_tools.commands.<name>`` and exposes ``register(subparsers)``,
which adds its parser and sets ``handler`` (a function of the parsed namespace returning the exit
status). Exit statuses: 0 success, 1 a check disagreed, 2 bad input, 3 a tool failed, 130 Ctrl-C.
"""

import argparse
import importlib
import signal
import sys
import threading

from kvm_mmio_tools import logs
from kvm_mmio_tools.errors import ToolError, UsageError

COMMANDS = ("spte", "check", "explore", "crosscheck", "diagram", "live", "conformance", "bench")

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE, EXIT_TOOL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kvm-mmio",
        description="Spec, reference and conformance tools for KVM x86 MMIO caching.",
    )
    parser.add_argument("--log-json", action="store_true", help="log events as JSON on stderr")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log events")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"kvm_mmio_tools.commands.{name}").register(subparsers)
    return parser


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt_on_termination() -> None:
    """SIGTERM and SIGHUP stop a command like Ctrl-C does, so that its cleanup (killing JVMs,
    removing scratch folders) runs instead of Python dying on the spot.  Only the first of them
    interrupts: a second one (``timeout`` forwarding its signal while a supervisor signals too, or
    a second Ctrl-C) would otherwise interrupt the cleanup itself and orphan the JVMs, which run
    in sessions of their own.  The cleanup is bounded (SIGTERM, a grace period, SIGKILL)."""

    def interrupt(signum: int, _frame: object) -> None:
        for stop in _STOP_SIGNALS:
            if signal.getsignal(stop) is not signal.SIG_IGN:
                signal.signal(stop, signal.SIG_IGN)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in _STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, interrupt)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.configure(json_output=args.log_json, verbosity=args.verbose)
    if threading.current_thread() is threading.main_thread():
        _interrupt_on_termination()
    try:
        return args.handler(args)
    except (UsageError, ValueError) as error:
        print(f"kvm-mmio: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ToolError as error:
        print(f"kvm-mmio: {error}", file=sys.stderr)
        return EXIT_TOOL
    except KeyboardInterrupt:
        print("kvm-mmio: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
