"""The README's examples print what the README says they do: its Python examples (```pycon blocks)
and its `kvm-mmio check` runs (```console blocks), numbers aside."""

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```pycon\n(.*?)```", re.S)
DOCUMENTS = ["README.md", "conformance/README.md", "spec/README.md"]
EXAMPLES = [
    pytest.param(text, id=f"{name}#{n}")
    for name in DOCUMENTS
    for n, text in enumerate(BLOCK.findall((ROOT / name).read_text()))
]


def test_the_readme_has_examples():
    assert any(param.id.startswith("README.md#") for param in EXAMPLES)


@pytest.mark.parametrize("text", EXAMPLES)
def test_example_prints_what_the_readme_says(text):
    test = doctest.DocTestParser().get_doctest(text, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    output: list[str] = []
    runner.run(test, out=output.append)
    assert runner.failures == 0, "".join(output)


# A `kvm-mmio check` run as the README shows it: "$ .venv/bin/kvm-mmio ARGS" and its output.
CONSOLE = re.compile(r"```console\n\$ \.venv/bin/kvm-mmio ([^\n]*)\n(.*?)```", re.S)
CHECK_RUNS = [
    pytest.param(args, output, id=f"kvm-mmio {args}".strip())
    for args, output in CONSOLE.findall((ROOT / "README.md").read_text())
]


def _numbers_aside(text: str) -> str:
    """The text with every number (counts, depths, seconds) as # and runs of blanks as one, so
    that a run on another machine, or after the counts are re-recorded, reads the same."""
    lines = (re.sub(r"\d[\d,]*(?:\.\d+)?", "#", line) for line in text.splitlines())
    return "\n".join(" ".join(line.split()) for line in lines) + "\n"


def test_the_readme_shows_the_default_check_and_a_named_one():
    assert [args for args, _ in CONSOLE.findall((ROOT / "README.md").read_text())] == [
        "check",
        "check bug_stale_cache",
    ]


@pytest.mark.tlc
@pytest.mark.slow
@pytest.mark.parametrize(("args", "output"), CHECK_RUNS)
def test_check_prints_what_the_readme_shows(args, output):
    # The plain `check` run is also the test of the default models' verdicts and counts
    # (test_check_tlc.py checks the others).
    run = subprocess.run(
        [sys.executable, "-m", "kvm_mmio_tools.cli", *args.split()],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1800,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    checker = doctest.OutputChecker()
    want, got = _numbers_aside(output), _numbers_aside(run.stdout)
    assert checker.check_output(want, got, doctest.ELLIPSIS), run.stdout
