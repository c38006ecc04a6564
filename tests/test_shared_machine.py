"""The interrupt tests hold on a shared machine: run by a pytest that ignores SIGINT (as a test run
started in the background does) while another `kvm-mmio check` runs beside them, they pass and
leave that other check alone (it was neither killed nor counted as theirs)."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from ownprocs import ProcessTree

pytestmark = [pytest.mark.tlc, pytest.mark.slow]

TESTS = Path(__file__).resolve().parent
INTERRUPT_TESTS = [
    "test_check_tlc.py::test_interrupt_stops_every_jvm_and_removes_scratch",
    "test_tlc_run.py::test_ctrl_c_stops_the_jvm_then_propagates",
]
# pytest in a process that ignores SIGINT, inherited by everything it starts.
_IGNORING_SIGINT = (
    "import signal, sys, pytest; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "sys.exit(pytest.main(sys.argv[1:]))"
)


def test_interrupt_tests_pass_ignoring_sigint_beside_another_check(tmp_path):
    other = subprocess.Popen(
        [sys.executable, "-m", "kvm_mmio_tools.cli", "check", "safe", "safe_full", "--no-traces"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        tree = ProcessTree(other.pid)
        assert len(tree.wait_for_java(2)) == 2, "the other check started no two JVMs in 120 s"
        basetemp = f"--basetemp={tmp_path / 'inner'}"
        inner = subprocess.run(
            [sys.executable, "-c", _IGNORING_SIGINT, "-q", basetemp, *INTERRUPT_TESTS],
            capture_output=True,
            text=True,
            cwd=TESTS,
            timeout=600,
        )
        assert inner.returncode == 0, inner.stdout[-3000:] + inner.stderr[-2000:]
        assert "3 passed" in inner.stdout  # the check's with SIGINT and SIGTERM, the driver's
        # The other check was left alone: it finishes with both models as the manifest expects.
        out, err = other.communicate(timeout=900)
        assert other.returncode == 0, out + err
        assert out.splitlines()[-1].startswith("2 of 2 model(s) as the manifest expects")
    finally:
        if other.poll() is None:
            other.send_signal(signal.SIGTERM)
            other.communicate(timeout=60)
