"""The committed spte vectors are exactly what the generator makes, and the reference meets them."""

import json

import pytest

from kvm_mmio.spte import ERAS, PAGING_MODES, Profile
from kvm_mmio.spte_requests import answer
from kvm_mmio_conformance import generate_spte

COMMITTED = generate_spte.VECTORS_PATH


@pytest.fixture(scope="module")
def vectors():
    with COMMITTED.open(encoding="utf-8") as file:
        return json.load(file)


def test_regenerating_reproduces_the_committed_file_byte_for_byte():
    regenerated = generate_spte.render(generate_spte.build_cases()).encode("utf-8")
    assert regenerated == COMMITTED.read_bytes()


def test_main_writes_the_same_bytes(tmp_path, capsys):
    output = tmp_path / "vectors" / "spte.json"
    assert generate_spte.main(["--output", str(output)]) == 0
    assert output.read_bytes() == COMMITTED.read_bytes()
    assert list(output.parent.iterdir()) == [output]  # no temp file left behind
    count = json.loads(output.read_text(encoding="utf-8"))["count"]
    assert capsys.readouterr().out == f"wrote {count} cases to {output}\n"


def test_header(vectors):
    assert vectors["schema"] == "kvm-mmio-spte-vectors"
    assert vectors["version"] == 1
    assert vectors["generator"] == {"name": "kvm_mmio_conformance.generate_spte", "version": 2}
    assert vectors["count"] == len(vectors["cases"])
    assert set(vectors["notes"]) >= {"tier", "error", "values"}


def test_cases_are_well_formed_and_ids_unique(vectors):
    ids = [case["id"] for case in vectors["cases"]]
    assert len(ids) == len(set(ids))
    for case in vectors["cases"]:
        assert list(case) == ["id", "tier", "comment", "request", "expected"]
        assert case["tier"] == "must"
        assert case["comment"]


def test_reference_gives_every_expected_answer(vectors):
    for case in vectors["cases"]:
        assert answer(case["request"]) == case["expected"], case["id"]


def test_coverage(vectors):
    """Every era x paging mode appears with each op, there are error cases, and the boundaries
    named in the brief (in-progress marks, maximum generation, v5.1 edge) are present."""
    answered = [case["request"] for case in vectors["cases"] if "error" not in case["expected"]]
    seen = {(req["profile"]["era"], req["profile"]["paging"], req["op"]) for req in answered}
    for era in ERAS:
        for paging in PAGING_MODES:
            assert {(era, paging, op) for op in ("encode", "decode", "check")} <= seen
    ids = {case["id"] for case in vectors["cases"]}
    assert sum(case_id.startswith("error-") for case_id in ids) >= 15
    for expected_id in (
        "v6-ept-p46c46-l1tf-check-in-progress",
        "v5.0-shadow-p46c46-l1tf-check-in-progress",
        "v5.1-shadow-p46c46-l1tf-check-bug-edge-high",
        "v6-shadow-p39c44-l1tf-encode-max",
        "v5.0-shadow-p52c52-nol1tf-decode-apic",
        "v6-shadow-p52c52-nol1tf-encode-disabled",
    ):
        assert expected_id in ids


def test_the_vectors_follow_the_shape_of_the_encoding(vectors):
    """Every physical width with and without L1TF, the cache widths on both sides of the L1TF
    switch, every gfn bit and generation bit, every MMIO mask bit, and checks of an spte older,
    equal and newer than the current generation, for every era and paging mode."""
    requests = [case["request"] for case in vectors["cases"] if "error" not in case["expected"]]
    ids = {case["id"] for case in vectors["cases"]}
    widths = {
        (
            r["profile"]["era"],
            r["profile"]["paging"],
            r["profile"]["phys_bits"],
            r["profile"]["l1tf"],
        )
        for r in requests
    }
    caches = {(r["profile"]["phys_bits"], r["profile"]["cache_bits"]) for r in requests}
    for era in ERAS:
        for paging in PAGING_MODES:
            assert {
                (era, paging, bits, l1tf) for bits in range(36, 53) for l1tf in (True, False)
            } <= widths
            base = f"{era}-{paging}-p46c46-l1tf"
            for label in ("same", "next", "newer", "in-progress", "zero-newer", "max-newer"):
                assert f"{base}-check-{label}" in ids
            gen_bits = Profile(era, paging).gen_bits
            assert {f"{base}-encode-gen-bit{bit}" for bit in range(gen_bits)} <= ids
            assert {f"{base}-decode-gfn-bit{bit}" for bit in range(34)} <= ids
            assert {f"{era}-{paging}-p36c36-l1tf-encode-gfn-bit{bit}" for bit in range(24)} <= ids
    assert {(40, 46), (40, 47), (40, 48), (46, 47), (51, 52)} <= caches
    assert "v6-shadow-p46c46-l1tf-decode-raw-mmio-bit0" in ids
    assert "v6-shadow-p46c46-l1tf-decode-raw-mmio-bit51" in ids
    assert "v6-ept-p46c46-l1tf-decode-raw-mmio-bit63" in ids
