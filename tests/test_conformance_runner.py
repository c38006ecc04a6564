"""The runner and its report: the reference passes every spte case in process and out of process,
capabilities select cases and the report says why each skipped one was left out, and the three
outputs (text, JSON, JUnit) show the same run."""

import json
import shlex
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from kvm_mmio_conformance.capabilities import Implementation, skip_reason
from kvm_mmio_conformance.inprocess import InProcessChannel
from kvm_mmio_conformance.mutants import MUTANTS
from kvm_mmio_conformance.process import SubprocessChannel
from kvm_mmio_conformance.reference_adapter import ReferenceAdapter
from kvm_mmio_conformance.report import render_json, render_text, summary, write_junit
from kvm_mmio_conformance.runner import rerun_command, run
from kvm_mmio_conformance.vectors import load_vectors, select, tiers_up_to

SERVE_REFERENCE = f"{shlex.quote(sys.executable)} -m kvm_mmio_conformance.serve_reference"


@pytest.fixture(scope="module")
def spte_cases():
    return select(load_vectors(), layers=("spte",))


def test_the_reference_passes_every_spte_case_in_process(spte_cases):
    started = time.perf_counter()
    report = run(InProcessChannel(ReferenceAdapter()), spte_cases)
    print(
        f"\nspte layer, reference in process: {len(spte_cases)} cases in "
        f"{time.perf_counter() - started:.3f} s"
    )
    assert report.ok
    assert report.count("passed") == len(spte_cases) > 240


def test_the_reference_passes_every_spte_case_out_of_process(spte_cases):
    started = time.perf_counter()
    with SubprocessChannel(SERVE_REFERENCE) as channel:
        report = run(channel, spte_cases)
    print(
        f"\nspte layer, reference out of process: {len(spte_cases)} cases in "
        f"{time.perf_counter() - started:.3f} s (server start included)"
    )
    assert report.ok
    assert report.count("passed") == len(spte_cases)


def _implementation(eras, paging=("shadow", "ept")):
    spte = {"eras": list(eras), "paging": list(paging)}
    return Implementation("partial", {"layers": ["spte"], "spte": spte})


def test_capabilities_select_cases_and_errors_apply_to_everyone(spte_cases):
    implementation = _implementation(["v6"], ["ept"])
    reasons = {case.id: skip_reason(case, implementation) for case in spte_cases}
    assert reasons["v6-ept-p46c46-l1tf-encode-apic"] is None
    assert reasons["error-era"] is None  # an expected error applies to every implementation
    assert reasons["v6-shadow-p46c46-l1tf-encode-apic"] == (
        "needs paging mode shadow; the implementation declares [ept]"
    )
    assert reasons["v5.1-ept-p46c46-l1tf-encode-apic"] == (
        "needs era v5.1; the implementation declares [v6]"
    )


def test_a_layer_not_declared_is_skipped_whole(spte_cases):
    implementation = Implementation("none", {"layers": []})
    assert skip_reason(spte_cases[0], implementation) == (
        "the implementation does not implement the spte layer"
    )


def test_select_by_tier_layer_and_id_pattern(spte_cases):
    assert tiers_up_to("should") == ("must", "should")
    checks = [c for c in spte_cases if c.id.startswith("v6-ept-") and "-check-" in c.id]
    assert len(select(spte_cases, patterns=("v6-ept-*-check-*",))) == len(checks) == 11
    assert [c.id for c in select(spte_cases, patterns=("error-era",))] == ["error-era"]
    assert select(spte_cases, layers=("operations",)) == []
    with pytest.raises(ValueError, match="tier"):
        select(spte_cases, tier="never")
    with pytest.raises(ValueError, match="layer"):
        select(spte_cases, layers=("bits",))


def test_rerun_command_quotes_the_id_and_keeps_a_higher_tier(spte_cases):
    case = spte_cases[0]
    assert rerun_command("--cmd ./impl", case) == (
        f"kvm-mmio conformance --cmd ./impl --layer spte --case {case.id}"
    )


@pytest.fixture(scope="module")
def mixed_report(spte_cases):
    """A v5.1-less mutant run: passes, failures and skips all at once."""
    mutant = MUTANTS["v51-shift-in-v6"]()
    hello = mutant.hello()
    hello["capabilities"]["spte"]["eras"] = ["v5.0", "v6"]
    mutant.hello = lambda: hello
    return run(InProcessChannel(mutant), spte_cases, target="--impl m:f")


def test_text_report_lists_counts_skips_and_each_failure(mixed_report):
    text = render_text(mixed_report)
    assert "spte        must" in text
    v51 = sum(result.case.requires.get("era") == "v5.1" for result in mixed_report.results)
    assert f"skipped {v51}: needs era v5.1; the implementation declares [v5.0, v6]" in text
    assert "FAILED v6-shadow-p46c46-l1tf-encode-apic  [spte, must, message 0]" in text
    assert "  rerun     kvm-mmio conformance --impl m:f --layer spte --case " in text
    assert text.endswith(f"NOT OK: {mixed_report.count('failed')} must-tier case(s) failed")


def test_json_report_has_the_documented_keys(mixed_report):
    document = json.loads(json.dumps(render_json(mixed_report)))
    assert list(document) == [
        "ok",
        "require",
        "planned",
        "ran",
        "stopped",
        "passed",
        "failed",
        "skipped",
        "seconds",
        "implementation",
        "summary",
        "cases",
    ]
    assert document["ok"] is False
    assert (document["require"], document["stopped"]) == ("must", None)
    assert document["planned"] == len(document["cases"])
    assert document["ran"] == document["passed"] + document["failed"]
    assert document["passed"] + document["failed"] + document["skipped"] == len(document["cases"])
    assert document["summary"] == summary(mixed_report)
    failed = next(case for case in document["cases"] if case["status"] == "failed")
    assert set(failed) >= {"id", "tier", "reason", "message", "expected", "observed", "rerun"}
    skipped = next(case for case in document["cases"] if case["status"] == "skipped")
    assert skipped["reason"].startswith("needs era v5.1")


def test_junit_is_written_atomically_and_counts_match(mixed_report, tmp_path):
    path = tmp_path / "out" / "conformance.xml"
    write_junit(mixed_report, path)
    assert [p.name for p in path.parent.iterdir()] == ["conformance.xml"]
    root = ET.parse(path).getroot()
    assert root.get("failures") == str(mixed_report.count("failed"))
    assert root.get("skipped") == str(mixed_report.count("skipped"))
    cases = root.findall(".//testcase")
    assert len(cases) == len(mixed_report.results)
    assert sum(case.find("failure") is not None for case in cases) == mixed_report.count("failed")
