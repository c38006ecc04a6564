"""`kvm-mmio conformance`: exit statuses, the text and JSON outputs, --case reruns, --junit, and
the mutant table."""

import json
import shlex
import sys

import pytest

from kvm_mmio_conformance.mutants import MODEL_MUTANTS, MUTANTS
from kvm_mmio_tools.cli import main

REFERENCE = ["--impl", "kvm_mmio_conformance.reference_adapter:ReferenceAdapter"]
NEVER_CACHES = ["--impl", "kvm_mmio_conformance.mutants.never_caches:NeverCaches"]


def run(capsys, argv):
    status = main(["conformance", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_reference_passes_in_process(capsys):
    status, out, err = run(capsys, REFERENCE)
    assert (status, err) == (0, "")
    assert out.splitlines()[0] == (
        "implementation: kvm_mmio reference (layers: spte, operations, steps)"
    )
    assert out.endswith("ok: no must-tier case failed\n")


def test_the_reference_passes_out_of_process_as_json(capsys):
    command = f"{shlex.quote(sys.executable)} -m kvm_mmio_conformance.serve_reference"
    status, out, _ = run(capsys, ["--cmd", command, "--json"])
    document = json.loads(out)
    assert status == 0
    assert (document["ok"], document["failed"], document["skipped"]) == (True, 0, 0)
    assert document["passed"] == len(document["cases"])


def test_a_mutant_fails_with_exit_1_and_a_rerun_line_that_works(capsys):
    status, out, _ = run(capsys, [*NEVER_CACHES, "--layer", "spte"])
    assert status == 1
    rerun = next(line for line in out.splitlines() if line.startswith("  rerun "))
    argv = shlex.split(rerun.removeprefix("  rerun "))
    assert argv[:2] == ["kvm-mmio", "conformance"]
    status, out, _ = run(capsys, argv[2:])
    assert status == 1
    assert "total                      0       1        0" in out


def test_case_patterns_and_junit(capsys, tmp_path):
    junit = tmp_path / "junit.xml"
    argv = [*REFERENCE, "--case", "v6-ept-*-check-*", "--case", "error-era", "--junit", str(junit)]
    status, out, _ = run(capsys, argv)
    assert status == 0
    # eleven checks of v6 EPT (the spte older, equal, newer, marked, one wrap apart...) + one
    assert "total                     12       0        0" in out
    assert junit.read_text(encoding="utf-8").count("<testcase ") == 12


def test_an_unknown_case_is_a_usage_error(capsys):
    status, out, err = run(capsys, [*REFERENCE, "--case", "no-such-case"])
    assert (status, out) == (2, "")
    assert err == "kvm-mmio: error: --case: no must-tier case matches no-such-case\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--impl", "nothing"], "--impl: expected module:factory"),
        (["--cmd", "true", "--timeout", "0"], "--timeout must be > 0"),
    ],
)
def test_bad_arguments_exit_2(capsys, argv, message):
    status, _, err = run(capsys, argv)
    assert status == 2
    assert message in err


def test_an_implementation_that_cannot_say_hello_exits_3_with_its_stderr(capsys):
    status, out, err = run(capsys, ["--cmd", "echo broken adapter >&2; exit 5", "--timeout", "2"])
    assert (status, out) == (3, "")
    assert "the implementation cannot be used: hello:" in err
    assert "broken adapter" in err


def test_mutants_table_and_json(capsys):
    # The spte layer alone rejects every spte mutant and none of the model levels' (the whole
    # hunt is tests/test_conformance_mutants.py's), so the table must name those survivors.
    # the widths that tell the spte mutants apart (the whole layer is the hunt's, see above)
    widths = ["p46c46", "p47c47", "p51c51", "p52c52", "p39c44"]
    subset = ["--layer", "spte", *(f"--case=*-{width}-*" for width in widths), "--case=error-*"]
    status, out, _ = run(capsys, ["--mutants", *subset])
    assert status == 1
    assert out.startswith("mutant ")
    survivors = ", ".join(MODEL_MUTANTS)
    rejected = len(MUTANTS) - len(MODEL_MUTANTS)
    assert out.rstrip().endswith(
        f"{rejected} of {len(MUTANTS)} mutants rejected; survivors: {survivors}"
    )
    status, out, _ = run(capsys, ["--mutants", "--json", *subset])
    document = json.loads(out)
    assert status == 1 and not document["ok"]
    verdicts = {mutant["name"]: mutant["rejected"] for mutant in document["mutants"]}
    assert verdicts == {name: name not in MODEL_MUTANTS for name in MUTANTS}
    levels = {mutant["name"]: mutant["killed_at"] for mutant in document["mutants"]}
    assert levels["stale-cache"] == "operations" and levels["hook-late"] == "steps"
    kernel = {mutant["name"]: mutant["kernel_killed_by"] for mutant in document["mutants"]}
    assert kernel["hook-late"] is None  # a race: no kernel can be asked
    assert kernel["stale-cache"] == []  # the spte layer alone cannot kill it in either view
    assert "v6-ept-p46c46-l1tf-check-newer" in kernel["ordered-gen-compare"]
