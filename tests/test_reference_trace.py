"""ITF: states and behaviours round-trip through JSON, the encoding is the one the TLC tools use
for TLC's states (so the two compare), a malformed document is a ValueError naming the place, and
replay accepts exactly the spec's behaviours."""

import copy
import json
import random

import attrs
import pytest

from kvm_mmio.actions import successors
from kvm_mmio.config import load_model
from kvm_mmio.explore import explore_model
from kvm_mmio.state import initial_state, state_from_itf, state_to_itf
from kvm_mmio.trace import Mismatch, Step, read_itf, render_trace, replay, write_itf
from kvm_mmio_tools.itf import tla_to_itf
from kvm_mmio_tools.stategraph import canonical
from kvm_mmio_tools.tlavalue import parse_state

SAFE = load_model("safe").constants
SMM = load_model("smm").constants


def random_behaviour(consts, length: int, seed: int) -> list[Step]:
    rng = random.Random(seed)
    steps = [Step(initial_state(consts))]
    for _ in range(length):
        action, params, after = rng.choice(list(successors(consts, steps[-1].state)))
        steps.append(Step(after, action, params))
    return steps


@pytest.mark.parametrize("consts", [SAFE, SMM, load_model("host").constants])
def test_states_and_behaviours_round_trip_through_json(consts):
    steps = random_behaviour(consts, 60, seed=1)
    for step in steps:
        values = json.loads(json.dumps(state_to_itf(consts, step.state)))
        assert state_from_itf(consts, values) == step.state
    document = json.loads(json.dumps(write_itf(consts, steps, model="m", description="d")))
    assert read_itf(consts, document) == tuple(steps)
    assert document["vars"][0] == "slots" and document["#meta"]["format"] == "ITF"
    assert document["states"][1]["#meta"]["index"] == 1
    assert replay(consts, document) is None


def test_big_generations_are_bigints():
    state = attrs.evolve(initial_state(SAFE), gen=(2**60,))
    values = state_to_itf(SAFE, state)
    assert values["gen"] == {"#map": [[0, {"#bigint": str(2**60)}]]}
    assert state_from_itf(SAFE, values) == state


TLC_INITIAL_STATE_OF_SAFE = """/\\ slots = (0 :> <<"ram", "none">>)
/\\ gen = (0 :> 0)
/\\ busy = (0 :> FALSE)
/\\ spte = (0 :> <<[kind |-> "none", gen |-> 0], [kind |-> "none", gen |-> 0]>>)
/\\ cache = ( v1 :> [gfn |-> 0, gen |-> 0, busy |-> FALSE] @@
  v2 :> [gfn |-> 0, gen |-> 0, busy |-> FALSE] )
/\\ dec = (v1 :> "none" @@ v2 :> "none")
/\\ pc = (v1 :> "Idle" @@ v2 :> "Idle")
/\\ acc = (v1 :> 0 @@ v2 :> 0)
/\\ mode = (v1 :> "none" @@ v2 :> "none")
/\\ inCS = (v1 :> FALSE @@ v2 :> FALSE)
/\\ saw = (v1 :> {} @@ v2 :> {})
/\\ out = (v1 :> "none" @@ v2 :> "none")
/\\ path = (v1 :> "none" @@ v2 :> "none")
/\\ upd = [ as |-> 0,
  change |-> [kind |-> "none", gfn |-> 0, to |-> 0],
  stage |-> 0,
  phase |-> "idle",
  waitFor |-> {},
  updates |-> 0 ]
/\\ spteLocal = (v1 :> [kind |-> "none", gen |-> 0] @@ v2 :> [kind |-> "none", gen |-> 0])
/\\ genLocal = (v1 :> [gen |-> 0, busy |-> FALSE] @@ v2 :> [gen |-> 0, busy |-> FALSE])
"""


def test_the_encoding_is_the_tlc_tools_encoding_of_tlcs_states():
    tlc = {
        name: tla_to_itf(value) for name, value in parse_state(TLC_INITIAL_STATE_OF_SAFE).items()
    }
    ours = state_to_itf(SAFE, initial_state(SAFE))
    assert canonical(ours) == canonical(tlc)
    assert state_from_itf(SAFE, tlc) == initial_state(SAFE)


def test_a_function_over_1_to_n_may_be_a_tuple():
    values = state_to_itf(SAFE, initial_state(SAFE))
    values["slots"] = {"#map": [[0, {"#tup": ["ram", "none"]}]]}
    assert state_from_itf(SAFE, values) == initial_state(SAFE)
    values["gen"] = {"#tup": [0]}
    with pytest.raises(ValueError, match=r"state\.gen: a #tup is a function over 1\.\.n"):
        state_from_itf(SAFE, values)


def valid_document():
    return write_itf(SMM, random_behaviour(SMM, 8, seed=2), model="smm", description="test")


def _set(document, path, value):
    target = document
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("vars",), ["slots"], r"ITF vars: expected the spec's variables"),
        (("states",), [], r"ITF states: expected a non-empty list"),
        (("states", 2), 7, r"ITF states\[2\]: expected a JSON object"),
        (("states", 1, "pc"), _DELETE, r"ITF states\[1\]: missing variable\(s\) pc"),
        (("states", 1, "bogus"), 1, r"ITF states\[1\]: unknown variable\(s\) bogus"),
        (("states", 1, "gen"), {"#map": [[0, 0]]}, r"states\[1\]\.gen: domain must be \[0, 1\]"),
        (("states", 1, "gen", "#map", 0, 1), "x", r"states\[1\]\.gen\[0\]: expected an integer"),
        (("states", 1, "gen", "#map", 0, 1), {"#bigint": "1x"}, r"gen\[0\]: malformed #bigint"),
        (("states", 1, "busy", "#map", 1), [0, False], r"states\[1\]\.busy: key 0 appears twice"),
        (("states", 1, "saw"), {"#set": []}, r"states\[1\]\.saw: expected a function"),
        (("states", 1, "saw", "#map", 0, 1), [], r"saw\[v1\]: expected a set"),
        (("states", 1, "upd", "as"), _DELETE, r"states\[1\]\.upd: expected a record with fields"),
        (("states", 1, "inCS", "#map", 0, 1), 1, r"inCS\[v1\]: expected a boolean"),
        (("states", 1, "#meta", "action"), "Teleport", r"states\[1\]\.#meta\.action: expected one"),
        (("states", 1, "#meta", "index"), 5, r"states\[1\]\.#meta\.index: expected 1, got 5"),
        (("states", 1, "#meta", "params"), [1], r"states\[1\]\.#meta\.params: expected an object"),
        (("states", 0, "#meta", "action"), "HwAccess", r"states\[0\]\.#meta\.action: the initial"),
        (("#meta", "loop"), 99, r"ITF #meta\.loop: expected a state index below 9"),
    ],
)
def test_malformed_itf_names_the_place_and_the_reason(path, value, message):
    document = valid_document()
    _set(document, path, value)
    with pytest.raises(ValueError, match=message):
        read_itf(SMM, document)


def test_a_document_must_be_an_object():
    with pytest.raises(ValueError, match="ITF document: expected a JSON object, got list"):
        read_itf(SMM, [])


def test_replay_finds_the_first_step_that_leaves_the_spec():
    document = valid_document()
    assert replay(SMM, document) is None

    changed = copy.deepcopy(document)
    changed["states"][4]["out"]["#map"][0][1] = "ram"
    changed["states"][5]["out"]["#map"][0][1] = "ram"
    found = replay(SMM, changed)
    assert found is not None and found.index == 4 and "differs in out[v1]" in found.reason

    wrong_start = copy.deepcopy(document)
    wrong_start["states"][0]["gen"]["#map"][0][1] = 4
    assert replay(SMM, wrong_start) == Mismatch(0, "the first state is not the initial state")

    disabled = copy.deepcopy(document)
    disabled["states"][1]["#meta"] = {"index": 1, "action": "EndAccess", "params": {"v": "v1"}}
    assert replay(SMM, disabled) == Mismatch(1, "EndAccess(v1) is not enabled")

    bad_params = copy.deepcopy(document)
    bad_params["states"][1]["#meta"]["params"] = {"v": "v9", "g": 1, "m": "native"}
    found = replay(SMM, bad_params)
    assert found is not None and found.index == 1 and "v: must be one of Vcpus" in found.reason


def test_replay_without_parameters_looks_for_any_instance_tlc_style():
    document = valid_document()
    for state in document["states"][1:]:
        state["#meta"]["params"] = None
    assert replay(SMM, document) is None
    document["states"][3]["#meta"]["action"] = "SyncSrcu"
    found = replay(SMM, document)
    assert found is not None and found.index == 3 and "no enabled SyncSrcu step" in found.reason


def test_render_shows_each_step_and_only_what_changed():
    document = explore_model("bug_stale_cache").counterexamples["ObservationsAllowed"]
    consts = load_model("bug_stale_cache").constants
    text = render_trace(consts, document, title="counterexample:")
    lines = text.splitlines()
    assert lines[0] == "counterexample:"
    assert lines[1].split() == ["1", "Init"]
    assert any(line.split()[1:] == ["BeginAccess(v1,", "2,", '"native")'] for line in lines)
    publish = next(i for i, line in enumerate(lines) if "Publish(0," in line)
    assert lines[publish].endswith('Publish(0, [kind |-> "create", gfn |-> 2, to |-> 0])')
    assert lines[publish + 1].split() == ["slots[0][2]", '"ram"']
    assert "upd.waitFor" not in text.split("Publish")[1].split("SyncSrcu")[0]
    assert lines[-1].split() == ["path[v1]", '"cache"']
    looped = dict(document, **{"#meta": {**document["#meta"], "loop": 3}})
    assert render_trace(consts, looped).endswith("(back to state 4: a cycle)")
