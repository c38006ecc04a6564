"""`kvm-mmio check`: every model of the manifest gets its expected verdict and recorded counts from
TLC (all of them, in CI), and the command's errors, JSON and cleanup behave."""

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from kvm_mmio_tools.check import check_models
from kvm_mmio_tools.cli import main
from kvm_mmio_tools.models import load_models

pytestmark = pytest.mark.tlc


def _scratch_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("kvm-mmio-*")}


@pytest.mark.slow
def test_every_model_gets_its_expected_verdict_and_counts():
    # Not the "scale" models: each takes minutes with TLC (the explorer confirms the smallest one
    # in test_reference_models.py; `kvm-mmio bench` and `check --all` run them).
    models = [model for model in load_models().values() if model.kind != "scale"]
    reports = check_models(models, jobs=2, workers=1)
    failures = {r.name: r.problems for r in reports if not r.ok}
    assert not failures
    for report in reports:
        assert set(report.violated) == set(report.expected_violated)
        for name in report.violated:  # every violation comes with a counterexample that ends badly
            assert len(report.counterexamples[name]) >= 2


def test_json_output_has_the_documented_keys(capsys):
    status = main(["check", "bug_no_flush", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 0 and document["ok"] is True
    (model,) = document["models"]
    assert set(model) >= {
        "name",
        "ok",
        "expected",
        "holds",
        "violated",
        "distinct_states",
        "depth",
        "seconds",
        "counterexample",
    }
    assert model["violated"] == ["ObservationsAllowed"]
    steps = model["counterexample"]
    assert steps[0]["action"] is None and steps[-1]["changes"]["out[v1]"] in ('"ram"', '"mmio"')


def test_unknown_model_is_a_one_line_error_with_exit_2():
    run = subprocess.run(
        [sys.executable, "-m", "kvm_mmio_tools.cli", "check", "nope"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "unknown model nope" in run.stderr


@pytest.mark.parametrize("argv", [["--workers", "0"], ["--jobs", "99"], ["--timeout", "-1"]])
def test_bad_options_exit_2(argv, capsys):
    assert main(["check", "host", *argv]) == 2
    assert "must be" in capsys.readouterr().err


def test_timeout_fails_the_model_and_leaves_nothing_behind(capsys):
    before = _scratch_dirs()
    status = main(["check", "safe", "--timeout", "1", "--no-traces"])
    out = capsys.readouterr().out
    assert status == 1 and "FAIL" in out and "timeout" in out
    assert _scratch_dirs() <= before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_every_jvm_and_removes_scratch(signum):
    before = _scratch_dirs()
    command = [sys.executable, "-m", "kvm_mmio_tools.cli", "check", "safe", "host"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)  # both JVMs are running by now
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130 and "interrupted" in err
    leftover = subprocess.run(["pgrep", "-f", "kvm-mmio-check-"], capture_output=True, text=True)
    assert leftover.stdout.split() == []
    assert _scratch_dirs() <= before
