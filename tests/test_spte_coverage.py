"""The spte vectors take every branch of kvm_mmio.spte: measured by coverage.py, not assumed.

The harness (tests/harness/spte_vectors_through_spte.py) runs every case of vectors/spte.json
through the encoding's functions and checks their laws; here it runs under coverage.py with
branch coverage, in a process of its own, and every statement and every branch of
kvm_mmio/spte.py must have been taken. A branch no vector reaches is a hole in the vectors (or
dead code in the reference), and this test names it.
"""

import json
import subprocess
import sys
from pathlib import Path

from kvm_mmio import spte
from kvm_mmio_conformance.generate_spte import VECTORS_PATH

HARNESS = Path(__file__).parent / "harness" / "spte_vectors_through_spte.py"


def test_the_spte_vectors_take_every_branch_of_kvm_mmio_spte(tmp_path):
    data, report = tmp_path / ".coverage", tmp_path / "coverage.json"
    module = Path(spte.__file__).resolve()
    run = [sys.executable, "-m", "coverage", "run", "--branch", f"--data-file={data}"]
    done = subprocess.run(
        [*run, f"--include={module}", str(HARNESS), str(VECTORS_PATH)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    subprocess.run(
        [sys.executable, "-m", "coverage", "json", f"--data-file={data}", "-o", str(report)],
        capture_output=True,
        check=True,
        cwd=tmp_path,
    )
    (measured,) = json.loads(report.read_text())["files"].values()
    summary = measured["summary"]
    missing = {
        "lines": measured["missing_lines"],
        "branches": measured["missing_branches"],
    }
    assert summary["num_statements"] > 100 and summary["num_branches"] > 30
    assert missing == {"lines": [], "branches": []}, missing
    assert summary["percent_covered"] == 100.0
