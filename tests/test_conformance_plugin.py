"""The pytest plugin (entry point pytest11): with --kvm-mmio-impl / --kvm-mmio-cmd each applicable
vector is a test item; without them nothing changes, in a stranger's test run or in this
repository's own. Each check runs pytest in a subprocess, in a scratch folder."""

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from kvm_mmio_conformance.vectors import load_vectors, select

REPOSITORY = Path(__file__).parents[1]
REFERENCE = "kvm_mmio_conformance.reference_adapter:ReferenceAdapter"


def pytest_run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "test_own.py").write_text("def test_own():\n    pass\n", encoding="utf-8")
    return tmp_path


def test_the_plugin_is_installed_and_idle_without_its_options(scratch):
    result = pytest_run(scratch, "--collect-only")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == "test_own.py::test_own"
    assert "kvm-mmio" not in result.stdout
    assert "--kvm-mmio-impl" in pytest_run(scratch, "--help").stdout


def test_this_repository_collects_no_conformance_items_of_its_own():
    result = pytest_run(REPOSITORY, "--collect-only", "tests/test_spte_vectors.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kvm-mmio-conformance" not in result.stdout


def test_every_case_becomes_an_item_next_to_the_projects_own_tests(scratch):
    result = pytest_run(scratch, "--kvm-mmio-impl", REFERENCE)
    assert result.returncode == 0, result.stdout + result.stderr
    must = len(select(load_vectors(), tier="must"))
    assert result.stdout.splitlines()[-1].startswith(f"{must + 1} passed")


def test_out_of_process_with_k_selection(scratch):
    command = f"{shlex.quote(sys.executable)} -m kvm_mmio_conformance.serve_reference"
    result = pytest_run(scratch, "--kvm-mmio-cmd", command, "-k", "v6 and ept and check")
    assert result.returncode == 0, result.stdout + result.stderr
    must = select(load_vectors(), tier="must")
    chosen = sum(all(word in case.id for word in ("v6", "ept", "check")) for case in must)
    assert chosen == 11
    assert result.stdout.splitlines()[-1].startswith(
        f"{chosen} passed, {len(must) + 1 - chosen} deselected"
    )


PARTIAL = """
from kvm_mmio_conformance.mutants.never_caches import NeverCaches


class Partial(NeverCaches):
    def hello(self):
        hello = super().hello()
        hello["capabilities"]["spte"]["eras"] = ["v6"]
        return hello
"""


def test_a_failure_shows_the_case_block_and_skips_show_their_reason(scratch, monkeypatch):
    (scratch / "partial_adapter.py").write_text(PARTIAL, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(scratch))
    result = pytest_run(
        scratch, "--kvm-mmio-impl", "partial_adapter:Partial", "-k", "ept-p46c46-l1tf-check", "-rs"
    )
    assert result.returncode == 1
    assert "FAILED v6-ept-p46c46-l1tf-check-same  [spte, must, message 0]" in result.stdout
    assert "  rerun     kvm-mmio conformance --impl partial_adapter:Partial " in result.stdout
    assert "needs era v5.0; the implementation declares [v6]" in result.stdout
    # v6: the four checks expected to hit fail (it never caches), the seven misses pass; the
    # 23 checks of v5.0 and v5.1 are skipped
    assert result.stdout.splitlines()[-1].startswith("4 failed, 7 passed, 23 skipped")


def test_an_implementation_that_cannot_say_hello_is_one_failing_item(scratch):
    result = pytest_run(scratch, "--kvm-mmio-cmd", "exit 3", "--kvm-mmio-timeout", "2")
    assert result.returncode == 1
    assert "the implementation cannot be used: hello:" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("1 failed, 1 passed")
