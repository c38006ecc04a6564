"""The conventions of `kvm-mmio` as a command line: --version, global options before or after the
command, a bad option answered with that command's usage, exit statuses in every --help, --list."""

import argparse
import importlib.metadata
import json
import subprocess
import sys

import pytest

from kvm_mmio_tools.cli import COMMANDS, build_parser, global_options, main, parse


def _kvm_mmio(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kvm_mmio_tools.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _parsers(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """Every (sub)command's parser with its command words, the top level first."""
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*prefix, name))


def test_version_is_the_installed_distributions():
    run = _kvm_mmio("--version")
    assert run.returncode == 0
    assert run.stdout == f"kvm-mmio {importlib.metadata.version('kvm-mmio-spec')}\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["-v", "--log-json", "explore", "host"],
        ["explore", "host", "-v", "--log-json"],
        ["--log-json", "explore", "-v", "host"],
    ],
)
def test_global_options_before_or_after_the_command(argv):
    run = _kvm_mmio(*argv)
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stderr.splitlines()]
    assert [event["event"] for event in events] == ["explore.done"]  # INFO and JSON: both taken
    assert events[0]["model"] == "host"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["explore", "host"], (False, 0)),
        (["-v", "explore", "host", "-v"], (False, 2)),
        (["-vv", "spte", "-v", "decode", "0x1", "--log-json", "-v"], (True, 4)),
    ],
)
def test_global_options_add_up_across_positions(argv, expected):
    assert global_options(parse(argv)) == expected


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["check", "--bogus"], "usage: kvm-mmio check "),
        (["explore", "host", "--bogus"], "usage: kvm-mmio explore "),
        (["spte", "decode", "0x1", "--bogus"], "usage: kvm-mmio spte decode "),
        (["check", "--jobs", "many"], "usage: kvm-mmio check "),
    ],
)
def test_a_bad_option_prints_the_usage_of_its_command(argv, usage):
    run = _kvm_mmio(*argv)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith(usage)
    assert run.stderr.splitlines()[-1].startswith(f"kvm-mmio {' '.join(usage.split()[2:])}: error:")


def test_every_help_lists_its_exit_statuses(capsys):
    seen = []
    for words, parser in _parsers(build_parser()):
        text = parser.format_help()
        statuses = text.split("\nexit status:\n", 1)[1].splitlines()
        codes = [int(line.split()[0]) for line in statuses]
        assert codes[:1] == [0] and 2 in codes and 130 in codes, words
        seen.append(words)
    assert {words[0] for words in seen if words} == set(COMMANDS)
    assert ("spte", "batch") in seen  # nested commands too
    check = dict(_parsers(build_parser()))[("check",)].format_help()
    assert "  1    a model is not: a verdict or a count differs" in check
    assert "  4    a tool is missing (java" in check
    spte = dict(_parsers(build_parser()))[("spte", "encode")].format_help()
    assert "\n  1 " not in spte and "\n  4 " not in spte  # statuses it never uses are not listed


def test_help_through_the_command_line(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["live", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "global options (also accepted before the command):" in out
    assert "  3    /dev/kvm is unusable, nothing could run, or a run failed" in out


@pytest.mark.parametrize("command", ["check", "explore"])
def test_list_names_every_model_of_the_manifest_in_its_order(command, capsys):
    from kvm_mmio_tools.models import load_models

    assert main([command, "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(load_models())
    assert lines[0].split()[1] == "default"  # safe
