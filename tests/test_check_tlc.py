"""`kvm-mmio check`: every model of the manifest gets its expected verdict and recorded counts from
TLC (all of them, in CI), and the command's errors, JSON and cleanup behave."""

import json
import shutil
import signal
import subprocess
import sys

import pytest
from ownprocs import ProcessTree, kvm_mmio_interruptible

from kvm_mmio_tools.check import check_models
from kvm_mmio_tools.cli import main
from kvm_mmio_tools.models import load_models, spec_dir

pytestmark = pytest.mark.tlc

BOTH = ["ObservationsAllowed", "CachedMmioIsCurrent"]


@pytest.mark.slow
def test_every_model_gets_its_expected_verdict_and_counts():
    # The default models are checked by test_readme_examples.py (the README's `kvm-mmio check`);
    # not the "scale" models: each takes minutes with TLC (the explorer confirms the smallest one
    # in test_reference_models.py; `kvm-mmio bench` and `check --all` run them).
    models = [m for m in load_models().values() if not m.default and m.kind != "scale"]
    assert models
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


def test_timeout_fails_the_model_and_leaves_nothing_behind(scratch, capsys):
    status = main(["check", "safe", "--timeout", "1", "--no-traces"])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("safe "))
    assert status == 1 and row.split()[1:4] == ["holds", "no", "verdict"] and " NO " in row
    assert "! TLC timeout" in out
    assert list(scratch.iterdir()) == []


def test_a_whole_run_prints_only_the_counterexamples_the_manifest_does_not_expect(
    tmp_path, monkeypatch, capsys
):
    shutil.copytree(spec_dir(), tmp_path, dirs_exist_ok=True)
    path = tmp_path / "models" / "manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["models"]:
        entry["default"] = entry["name"] in ("bug_no_flush", "bug_stale_cache")
        if entry["name"] == "bug_stale_cache":  # now expected to hold ObservationsAllowed
            entry["expect"]["violated"].remove("ObservationsAllowed")
            entry["expect"]["holds"].append("ObservationsAllowed")
    path.write_text(json.dumps(manifest))
    monkeypatch.setenv("KVM_MMIO_SPEC_DIR", str(tmp_path))
    assert main(["check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "checking 2 model(s) with TLC: bug_stale_cache bug_no_flush"
    assert [line.split()[0] for line in out if line.startswith("bug_")] == [
        "bug_stale_cache",
        "bug_no_flush",
    ]
    stale = next(line for line in out if line.startswith("bug_stale_cache"))
    assert stale.split()[1:8] == [
        "violates",
        "CachedMmioIsCurrent",
        "violates",
        *BOTH,
        "NO",
        f"{load_models()['bug_stale_cache'].recorded_states:,}",
    ]
    shown = [line.strip().split(" (")[0] for line in out if "counterexample for" in line]
    assert shown == ["counterexample for ObservationsAllowed"]  # the unexpected one
    assert "! ObservationsAllowed is violated, but the manifest expects it to hold" in "\n".join(
        out
    )
    assert out[-1].endswith("; counterexamples: --traces, or name the models")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_every_jvm_and_removes_scratch(signum, scratch):
    command = kvm_mmio_interruptible("check", "safe", "host")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree = ProcessTree(process.pid)
    try:
        assert len(tree.wait_for_java(2)) == 2, "no two JVMs within 120 s"
        process.send_signal(signum)
        tree.wait(process, timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    _, err = process.communicate()
    assert process.returncode == 130 and "interrupted" in err
    assert tree.survivors() == []
    assert list(scratch.iterdir()) == []
