"""The C example (conformance/examples/c_spte) is built with the machine's gcc and passes every
spte case its capabilities select, through the out-of-process protocol: the suite is
language-neutral. Its v5.1 cases are skipped, with the reason."""

import shutil
import subprocess
from pathlib import Path

import pytest

from kvm_mmio_conformance.process import SubprocessChannel
from kvm_mmio_conformance.runner import run
from kvm_mmio_conformance.vectors import load_vectors, select

SOURCE = Path(__file__).parents[1] / "conformance" / "examples" / "c_spte" / "c_spte.c"


@pytest.fixture(scope="module")
def c_spte(tmp_path_factory):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: the C example cannot be built")
    binary = tmp_path_factory.mktemp("c_spte") / "c_spte"
    flags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
    subprocess.run([gcc, *flags, "-o", str(binary), str(SOURCE)], check=True)
    return binary


def test_the_c_example_passes_every_case_it_declares(c_spte):
    cases = select(load_vectors(), layers=("spte",))
    with SubprocessChannel(str(c_spte), timeout=5) as channel:
        report = run(channel, cases)
        assert channel.starts == 1  # it never crashed
    assert report.implementation.capabilities["spte"]["eras"] == ["v5.0", "v6"]
    failures = [r.case.id for r in report.results if r.status == "failed"]
    assert failures == []
    skipped = [r for r in report.results if r.status == "skipped"]
    assert skipped and all(r.case.id.startswith("v5.1-") for r in skipped)
    assert {r.reason for r in skipped} == {"needs era v5.1; the implementation declares [v5.0, v6]"}
    assert report.count("passed") == len(cases) - len(skipped) >= 170


def test_the_c_example_refuses_other_ops_and_bad_json(c_spte):
    with SubprocessChannel(str(c_spte), timeout=5) as channel:
        assert "error" in channel.call({"op": "reset", "config": {}})
        assert "error" in channel.call({"op": "spte", "request": {"op": "encode"}})
