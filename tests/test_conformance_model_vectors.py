"""The vectors of the operations and steps levels: regenerating them gives the committed files
byte for byte, they hold every source the issue asks for (edge cover, counterexamples,
selftests, seeded Hypothesis draws), the edge cover really covers, and the live host's cases
are ones a real /dev/kvm of that profile can run."""

import json

import pytest

from kvm_mmio.actions import successors
from kvm_mmio.config import load_model
from kvm_mmio.explore import explore
from kvm_mmio.state import initial_state
from kvm_mmio.vm import Vm, kernel_constants
from kvm_mmio_conformance import generate_operations, generate_steps
from kvm_mmio_conformance.counterexamples import bug_models
from kvm_mmio_conformance.coverwalk import explore_graph
from kvm_mmio_conformance.model_config import constants_from_wire, constants_to_wire
from kvm_mmio_conformance.model_wire import perform
from kvm_mmio_conformance.opgraph import coverage_key, operation_graph

GENERATORS = {"operations": generate_operations, "steps": generate_steps}
MAX_BYTES = 3_000_000


@pytest.fixture(scope="module")
def documents():
    return {
        layer: json.loads(module.VECTORS_PATH.read_text(encoding="utf-8"))
        for layer, module in GENERATORS.items()
    }


@pytest.mark.slow
@pytest.mark.parametrize("layer", list(GENERATORS))
def test_regenerating_reproduces_the_committed_file_byte_for_byte(layer, tmp_path, capsys):
    module = GENERATORS[layer]
    output = tmp_path / f"{layer}.json"
    assert module.main(["--output", str(output)]) == 0
    assert output.read_bytes() == module.VECTORS_PATH.read_bytes()
    assert capsys.readouterr().out.startswith("wrote ")


@pytest.mark.parametrize("layer", list(GENERATORS))
def test_header_and_size(documents, layer):
    document = documents[layer]
    module = GENERATORS[layer]
    assert document["schema"] == module.SCHEMA
    assert document["generator"] == {
        "name": f"kvm_mmio_conformance.generate_{layer}",
        "version": module.GENERATOR_VERSION,
    }
    assert document["count"] == len(document["cases"]) >= 250
    assert module.VECTORS_PATH.stat().st_size < MAX_BYTES


def _by_source(document):
    found = {}
    for case in document["cases"]:
        kind, _, name = case["source"].partition(":")
        found.setdefault(kind, []).append((name, case))
    return found


def test_operations_sources(documents):
    found = _by_source(documents["operations"])
    assert set(found) == {"edge-cover", "counterexample", "selftest", "hypothesis", "wrap"}
    assert len(found["edge-cover"]) >= 150
    # the bug models that some sequence of whole operations tells apart from their fix
    assert sorted(name for name, _ in found["counterexample"]) == [
        "bug_no_flush",
        "bug_no_wrap_zap",
        "bug_stale_cache",
        "bug_wrap_one_as",
    ]
    assert {name for name, _ in found["selftest"]} == {
        "set_memory_region_test-delete",
        "set_memory_region_test-move",
    }
    assert all("seed" in case for _, case in found["hypothesis"])
    assert {case["tier"] for case in documents["operations"]["cases"]} == {"must"}


def test_steps_sources(documents):
    found = _by_source(documents["steps"])
    assert set(found) == {"edge-cover", "counterexample", "selftest", "hypothesis"}
    replayed = {name for name, case in found["counterexample"] if case["tier"] == "should"}
    assert set(bug_models()) <= replayed
    as_is = [case for _, case in found["counterexample"] if case["id"].endswith("-as-is")]
    assert len(as_is) == len(bug_models())
    assert all(case["tier"] == "may" and case["requires"]["switches_off"] for case in as_is)
    refused = sum(
        "error" in step["expected"] for _, case in found["counterexample"] for step in case["steps"]
    )
    assert refused > 0  # the fixed models refuse steps that the buggy interleavings took


LIVE_KINDS = {"access", "create", "delete", "move", "flags"}


def test_every_kernel_profile_is_run_through_its_mmio_generation_wrap(documents):
    """Both variants (with and without a slot created in between) in every address space of
    every kernel profile; frames are read just before and just after the wrapping install, and
    the RAM page mapped before it is mapped by the hardware until then and faults after."""
    wraps = [
        case for case in documents["operations"]["cases"] if case["source"].startswith("wrap:")
    ]
    expected = {
        f"wrap-{profile}-as{a}-{variant}"
        for profile, ases in (("live-host", (0,)), ("v6", (0, 1)), ("v5.0-seed", (0, 1)))
        for a in ases
        for variant in ("across", "create")
    }
    assert {case["id"] for case in wraps} == expected
    for case in wraps:
        assert case["requires"]["exact_generation"] is True
        assert case["requires"]["config"] == f"kernel:{case['config']['kernel']}"
        steps = case["steps"]
        flags = [i for i, step in enumerate(steps) if step["operation"]["kind"] == "flags"]
        wrapping = flags[1]  # the first repeat stops one install short of the wrap
        assert steps[wrapping]["operation"]["repeat"] == 1
        # v1 reads gfn 1 first after the install before the wrap, and first after the wrap
        before, after = steps[flags[0] + 1], steps[wrapping + 1]
        assert before["operation"] == after["operation"]
        assert before["operation"]["gfn"] == 1
        assert before["expected"]["allowed"] == [{"outcome": "ram", "path": "hw"}], case["id"]
        assert after["expected"]["allowed"] == [{"outcome": "ram", "path": "slow"}], case["id"]
    installs = {case["id"]: case["steps"][8 if "v6" in case["id"] else 4] for case in wraps}
    assert installs["wrap-live-host-as0-across"]["operation"]["repeat"] == 2**19 - 1
    assert installs["wrap-v6-as0-across"]["operation"]["repeat"] == 2**18 - 1


def test_live_host_cases_are_what_a_real_kvm_of_that_profile_runs(documents):
    live = [
        case
        for case in documents["operations"]["cases"]
        if case["requires"].get("config") == "kernel:live-host"
        and not case["requires"].get("exact_generation")  # its VM installs slots of its own
    ]
    assert len(live) >= 50
    for case in live:
        requires, constants = case["requires"], case["config"]["constants"]
        assert requires["era"] == "B" and requires["address_spaces"] == 1
        assert requires["mmio_sptes"] is False and requires["observes"] == ["outcome", "path"]
        assert case["config"]["kernel"] == "live-host"
        expected = kernel_constants(
            "live-host",
            vcpus=constants["Vcpus"],
            gfns=constants["Gfns"],
            init_ram=constants["InitRam"],
        )
        assert constants_from_wire(constants) == expected
        for step in case["steps"]:
            operation = step["operation"]
            assert operation["kind"] in LIVE_KINDS
            assert operation.get("as", 0) == 0
    paths = {
        allowed["path"]
        for case in live
        for step in case["steps"]
        for allowed in step["expected"]["allowed"]
        if "path" in allowed
    }
    assert paths == {"cache", "emulator", "hw", "slow"}  # no MMIO spte on that host


def test_the_operations_cover_of_a_setting_takes_every_class_of_its_graph(documents):
    setting = next(s for s in generate_operations.settings() if s.label == "host")
    consts = setting.constants
    graph = operation_graph(consts, initial_state(consts))
    every = {
        coverage_key(consts, graph.values[node], label[0])
        for node, out in enumerate(graph.edges)
        for label, _ in out
    }
    taken = set()
    for case in documents["operations"]["cases"]:
        if case["source"] != "edge-cover:host":
            continue
        assert constants_from_wire(case["config"]["constants"]) == consts
        vm = Vm(consts)
        for step in case["steps"]:
            taken.add(coverage_key(consts, vm.state, step["operation"]))
            assert perform(vm, step["operation"]) in step["expected"]["allowed"]
    assert taken == every
    assert len(every) > 50


def test_the_steps_cover_of_a_tiny_model_takes_every_edge(documents):
    setting = next(s for s in generate_steps.tiny_settings() if s.label == "tiny-b")
    consts = setting.constants
    every = set()
    graph = explore_graph(
        initial_state(consts),
        lambda state: ((label, after) for *label, after in successors(consts, state)),
    )
    for state, out in zip(graph.values, graph.edges, strict=True):
        every |= {(state, name, json.dumps(params, sort_keys=True)) for (name, params), _ in out}
    taken = set()
    for case in documents["steps"]["cases"]:
        if case["source"] != "edge-cover:tiny-b":
            continue
        assert constants_from_wire(case["config"]["constants"]) == consts
        vm = Vm(consts)
        for step in case["steps"]:
            name, params = step["action"]["name"], step["action"]["params"]
            taken.add((vm.state, name, json.dumps(params, sort_keys=True)))
            vm.step(name, **params)
    assert taken == every
    # The packed explorer (a second transcription of the spec) finds the same states.
    assert len(graph.values) == explore(consts).distinct_states


def test_model_configs_round_trip_through_the_wire():
    for name in ("safe", "host", "smm", "bug_wrap_one_as"):
        consts = load_model(name).constants
        assert constants_from_wire(json.loads(json.dumps(constants_to_wire(consts)))) == consts
    seed = kernel_constants("v5.0-seed")
    wire = constants_to_wire(seed)
    assert wire["InitGen"] == "0xffffffffffffff6a"  # 2^64 - 150
    assert wire["MaxUpdates"] == "0x4000000000000000"  # unbounded: above 2^53, so hex
    assert wire["Vcpus"] == ["v1"] and wire["Era"] == "A"
    assert constants_from_wire(wire) == seed
    with pytest.raises(ValueError, match="InitGen"):
        constants_from_wire({**wire, "InitGen": "0xZZ"})
    with pytest.raises(ValueError, match="missing MmioSptes"):
        constants_from_wire({k: v for k, v in wire.items() if k != "MmioSptes"})
