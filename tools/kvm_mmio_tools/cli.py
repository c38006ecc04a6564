"""The `kvm-mmio` command line: a thin layer that parses arguments and calls a command module.

Each subcommand lives in ``kvm_mmio_tools.commands.<name>`` and exposes ``register(subparsers)``,
which adds its parser and sets ``handler`` (a function of the parsed namespace returning the exit
status), and ``EXIT_STATUSES``: what its statuses mean where they differ from ``COMMON_STATUSES``
(None: the command never exits with that status).
Every --help lists the exit statuses of its command.

Global options (-v, --log-json) are accepted before or after the command name, as users of git
or pip expect; a bad option prints the usage of the (sub)command it was given to.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import signal
import sys
import threading

from kvm_mmio_tools import logs
from kvm_mmio_tools.errors import ToolError, ToolMissing, UsageError

COMMANDS = ("spte", "check", "explore", "crosscheck", "diagram", "live", "conformance", "bench")

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE, EXIT_TOOL, EXIT_MISSING, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130

COMMON_STATUSES = {
    EXIT_OK: "success",
    EXIT_DISAGREE: "a check disagreed",
    EXIT_USAGE: "bad input: an unknown name, a bad option or value, a missing file",
    EXIT_TOOL: "a tool failed (TLC crashed, /dev/kvm unusable)",
    EXIT_MISSING: "a tool is missing (java, TLC's tla2tools.jar, the spec): the message says "
    "how to install it",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, SIGTERM, SIGHUP); nothing it started is left running",
}

_DEPTH = "_depth"  # how deep a parser is: its global options get their own attribute names


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose --help ends with its command's exit statuses (set by
    _finish_parsers), laid out as a list, which argparse's epilog would reflow."""

    exit_statuses: dict[int, str] = COMMON_STATUSES

    def format_help(self) -> str:
        rows = [f"  {code:<4} {meaning}" for code, meaning in sorted(self.exit_statuses.items())]
        return super().format_help() + "\nexit status:\n" + "\n".join(rows) + "\n"


def _addglobal_options(parser: argparse.ArgumentParser, depth: int) -> None:
    """-v and --log-json on ``parser``; below the top level they are stored under names of their
    own (a subcommand's namespace would otherwise overwrite what was given before its name) and
    added up by global_options."""
    if depth == 0:
        group = parser
        defaults: dict = {"default": 0}
        json_default: dict = {}
    else:
        group = parser.add_argument_group("global options (also accepted before the command)")
        defaults = json_default = {"default": argparse.SUPPRESS}
    group.add_argument(
        "--log-json",
        dest=f"log_json{_DEPTH}{depth}",
        action="store_true",
        help="log events as JSON lines on stderr",
        **json_default,
    )
    group.add_argument(
        "-v",
        "--verbose",
        dest=f"verbose{_DEPTH}{depth}",
        action="count",
        help="more log events (-vv: debug)",
        **defaults,
    )


def _finish_parsers(parser: argparse.ArgumentParser, statuses: dict[int, str], depth: int) -> None:
    """Give every (sub)command parser below ``parser`` the global options, its exit statuses and a
    default ``command_parser`` (itself: the deepest one chosen reports unrecognized arguments)."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for name, sub in action.choices.items():
            own = statuses
            if depth == 0:
                module = importlib.import_module(f"kvm_mmio_tools.commands.{name}")
                merged = COMMON_STATUSES | getattr(module, "EXIT_STATUSES", {})
                own = {code: meaning for code, meaning in merged.items() if meaning is not None}
            sub.exit_statuses = own
            sub.set_defaults(command_parser=sub)
            _addglobal_options(sub, depth + 1)
            _finish_parsers(sub, own, depth + 1)


def _version() -> str:
    return f"kvm-mmio {importlib.metadata.version('kvm-mmio-spec')}"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kvm-mmio",
        description="Spec, reference and conformance tools for KVM x86 MMIO caching.",
    )
    parser.add_argument("--version", action="version", version=_version())
    _addglobal_options(parser, 0)
    subparsers = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    for name in COMMANDS:
        importlib.import_module(f"kvm_mmio_tools.commands.{name}").register(subparsers)
    _finish_parsers(parser, COMMON_STATUSES, 0)
    return parser


def global_options(args: argparse.Namespace) -> tuple[bool, int]:
    """(--log-json given anywhere, the number of -v given anywhere)."""
    found = vars(args)
    log_json = any(v for k, v in found.items() if k.startswith(f"log_json{_DEPTH}"))
    verbosity = sum(v for k, v in found.items() if k.startswith(f"verbose{_DEPTH}"))
    return log_json, verbosity


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed command line; an unrecognized argument is an error of the command it follows,
    printed with that command's usage (exit 2)."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        args.command_parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


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
    args = parse(argv)
    log_json, verbosity = global_options(args)
    logs.configure(json_output=log_json, verbosity=verbosity)
    if threading.current_thread() is threading.main_thread():
        _interrupt_on_termination()
    try:
        return args.handler(args)
    except (UsageError, ValueError) as error:
        print(f"kvm-mmio: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ToolMissing as error:
        print(f"kvm-mmio: {error}", file=sys.stderr)
        return EXIT_MISSING
    except ToolError as error:
        print(f"kvm-mmio: {error}", file=sys.stderr)
        return EXIT_TOOL
    except KeyboardInterrupt:
        print("kvm-mmio: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
