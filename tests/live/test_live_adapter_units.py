"""The live adapter's translations, without /dev/kvm: which configs describe this host and where
their gfns live, and which path each traced access is (lines recorded on this host, 6.18)."""

import pytest

from kvm_mmio.vm import kernel_constants
from kvm_mmio_conformance.capabilities import parse_hello
from kvm_mmio_conformance.live.accesspath import Evidence, Unclassifiable, classify, evidence_from
from kvm_mmio_conformance.live.adapter import LiveAdapter, capabilities
from kvm_mmio_conformance.live.layout import GFN_BASE, GFN_STRIDE, MAX_GFN, layout_from_config
from kvm_mmio_conformance.live.opsrun import OperationsRun, run_vectors_file
from kvm_mmio_conformance.live.tracefs import parse_line


def host_config(vcpus=("v1",), gfns=(1, 2), init_ram=(1,), **overrides):
    constants = kernel_constants("live-host", vcpus=vcpus, gfns=gfns, init_ram=init_ram).as_tla()
    return {"constants": constants | overrides, "kernel": "live-host"}


# --- configs ---------------------------------------------------------------------------------


def test_a_host_config_gives_its_layout_with_gfns_one_prefetch_group_apart():
    layout = layout_from_config(host_config(("v2", "v1"), (3, 1, 2), (2,), InitGen="0x0"))
    assert (layout.vcpus, layout.gfns, layout.init_ram) == (("v1", "v2"), (1, 2, 3), (2,))
    frames = [layout.kernel_gfn(g) for g in layout.gfns]
    assert frames == [GFN_BASE + GFN_STRIDE * g for g in (1, 2, 3)]
    assert all(frame % 8 == 0 for frame in frames)  # each alone in its group of 8 gptes
    assert layout.vcpu_index("v2") == 1
    with pytest.raises(ValueError, match=r"gfn 4 is not one of Gfns \[1, 2, 3\]"):
        layout.kernel_gfn(4)
    with pytest.raises(ValueError, match="not one of Gfns"):
        layout.kernel_gfn(True)


def test_a_model_config_with_another_bound_or_fewer_modes_is_still_this_host():
    layout = layout_from_config(host_config(MaxUpdates=2, Modes=["native"]) | {"model": "host"})
    assert layout.gfns == (1, 2)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (host_config(NrAs=2), "NrAs = 2, but this host has NrAs = 1"),
        (host_config(MmioSptes=True), "MmioSptes = TRUE, but this host has MmioSptes = FALSE"),
        (host_config(GenBits=3), "GenBits = 3, but this host has GenBits = 19"),
        (host_config(Era="A"), "Era = 'A', but this host has Era = 'B'"),
        (host_config(FixCacheGen=False), "FixCacheGen = FALSE"),
        (host_config(InitGen="0x10"), "InitGen = '0x10'"),
        (host_config(Modes=["native", "smm"]), r"Modes \['smm'\]"),
        (host_config(Colour=1), "unknown constant 'Colour'"),
        (host_config() | {"kernel": "v6"}, "kernel 'v6': this is the 'live-host' kernel"),
        (host_config(InitRam=[3]), r"InitRam \[3\] not in Gfns \[1, 2\]"),
        (host_config(Gfns=[0, 1]), r"Gfns has 0; gfns here are 1\.\.959"),
        (host_config(Gfns=[1, MAX_GFN + 1]), "Gfns has 960"),
        (host_config(Vcpus=["v1", "v1"]), "Vcpus must be distinct names"),
        (host_config(Vcpus=[f"v{i}" for i in range(9)]), "at most 8"),
        ({"constants": {"Vcpus": ["v1"]}}, "constants lack Gfns, InitRam"),
        ({"model": "host"}, "expected"),
    ],
)
def test_a_config_that_is_not_this_host_is_refused_in_one_line(config, message):
    with pytest.raises(ValueError, match=message) as refused:
        layout_from_config(config)
    assert "\n" not in str(refused.value)


def test_reset_answers_the_refusal_as_an_error_without_touching_kvm():
    with LiveAdapter(trace=False) as adapter:
        answer = adapter.reset(host_config(NrAs=2))
        assert answer == {
            "error": "reset: config: NrAs = 2, but this host has NrAs = 1 "
            "(../shared/KVM_LIVE.md, profile live-host)"
        }
        assert adapter.operation({"kind": "create", "as": 0, "gfn": 1}) == {
            "error": "operation: no VM: reset first (or the last reset failed)"
        }


def test_capabilities_are_valid_and_declare_the_path_only_when_traced():
    for traced, observes in ((True, ["outcome", "path"]), (False, ["outcome"])):
        answer = {"name": "k", "protocol": 1, "capabilities": capabilities(traced)}
        section = parse_hello(answer).capabilities["operations"]
        assert section["observes"] == observes
        assert (section["address_spaces"], section["mmio_sptes"]) == (1, [False])
        assert section["configs"] == ["kernel:live-host"]
    with LiveAdapter(trace=False) as adapter:
        assert adapter.hello()["capabilities"]["operations"]["observes"] == ["outcome"]
        assert adapter.path_unobserved == "tracing switched off"


# --- paths -----------------------------------------------------------------------------------

# Recorded on this host (kvm_pvm, 6.18): a first and a second native read of gfn 0x300 with a
# memslot, an emulated read of it, and a native read of gfn 0x400 without one.
FIRST_NATIVE_RAM = """\
 python3-7 [001] ..... 10.000001: kvm_mmu_pagetable_walk: addr 1000 pferr 14 U|F
 python3-7 [001] ..... 10.000002: kvm_mmu_set_spte: gfn 1 spte 2d47eea25 (r-xu) level 1 at 14008
 python3-7 [001] ..... 10.000003: kvm_mmu_pagetable_walk: addr 300000 pferr 4 U
 python3-7 [001] ..... 10.000004: kvm_mmu_set_spte: gfn 300 spte 26374ca25 (r-xu) level 1 at 14800
 python3-7 [001] ..... 10.000005: kvm_mmu_pagetable_walk: addr 1ff000 pferr 6 W|U
"""
SECOND_NATIVE_RAM = """\
 python3-7 [001] ..... 10.000006: kvm_mmu_pagetable_walk: addr 1ff000 pferr 6 W|U
 python3-7 [001] ..... 10.000007: kvm_mmu_pagetable_walk: addr 1008 pferr 14 U|F
"""
EMULATED_RAM = """\
 python3-7 [001] ..... 10.000008: kvm_mmu_pagetable_walk: addr 1000 pferr 10 F
 python3-7 [001] ..... 10.000009: kvm_mmu_pagetable_walk: addr 300000 pferr 0
 python3-7 [001] ..... 10.000010: kvm_mmu_pagetable_walk: addr 1ff000 pferr 2 W
"""
NATIVE_NO_SLOT = """\
 python3-7 [001] ..... 10.000011: kvm_mmu_pagetable_walk: addr 400000 pferr 4 U
 python3-7 [001] ..... 10.000012: vcpu_match_mmio: gva 0x400000 gpa 0x400000 Read GVA
 python3-7 [001] ..... 10.000013: kvm_mmu_pagetable_walk: addr 1ff000 pferr 6 W|U
"""


def _evidence(text: str, gfn: int) -> Evidence:
    return evidence_from([parse_line(line) for line in text.splitlines()], gfn)


@pytest.mark.parametrize(
    ("text", "gfn", "mode", "outcome", "evidence", "path"),
    [
        (FIRST_NATIVE_RAM, 0x300, "native", "ram", Evidence(1, 1, 0, 0), "slow"),
        (SECOND_NATIVE_RAM, 0x300, "native", "ram", Evidence(0, 0, 0, 0), "hw"),
        (EMULATED_RAM, 0x300, "emulated", "ram", Evidence(1, 0, 0, 0), "emulator"),
        (NATIVE_NO_SLOT, 0x400, "native", "mmio", Evidence(1, 0, 1, 0), "cache"),
        ("", 0x400, "emulated", "mmio", Evidence(), "emulator"),
        (NATIVE_NO_SLOT, 0x300, "emulated", "mmio", Evidence(), "emulator"),  # another page's hit
    ],
)
def test_each_access_gets_the_path_its_own_page_events_show(
    text, gfn, mode, outcome, evidence, path
):
    assert _evidence(text, gfn) == evidence
    assert classify(mode, outcome, evidence) == path


def test_facts_no_path_of_this_host_explains_are_refused():
    with pytest.raises(Unclassifiable, match=r"kvm\.mmio_caching=N excludes"):
        classify("native", "mmio", Evidence(1, 0, 1, 1))
    with pytest.raises(Unclassifiable, match="memory read with a per-vCPU MMIO cache hit"):
        classify("emulated", "ram", Evidence(0, 0, 1, 0))
    spte = " qemu-9 [000] ..... 1.5: handle_mmio_page_fault: addr:300000 gfn 300 access 6"
    assert _evidence(spte, 0x999).mmio_spte_events == 1  # counted whatever its gfn


# --- the operations vectors file -------------------------------------------------------------


def test_without_the_vectors_file_the_run_is_skipped_with_a_message(tmp_path):
    missing = tmp_path / "operations.json"
    result = run_vectors_file(missing)
    assert result == OperationsRun(
        str(missing),
        skipped=f"no operations vectors to run: {missing} does not exist yet (the reference "
        "model generates it; --vectors FILE runs another file)",
    )
    assert (result.status, result.ran, result.reason) == ("skipped", 0, result.skipped)


def test_a_vectors_file_that_breaks_its_schema_is_an_error(tmp_path):
    broken = tmp_path / "operations.json"
    broken.write_text('{"schema": "kvm-mmio-operations-vectors", "version": 2}')
    result = run_vectors_file(broken)
    assert result.status == "error" and result.error.startswith("ValueError: ")
