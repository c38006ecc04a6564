"""P ~> Q under weak fairness on explicit graphs (kvm_mmio.liveness), and the explorer's liveness
counterexamples: a lasso in ITF that replays and keeps Q false from its P state on."""

import attrs
import pytest

from kvm_mmio import invariants
from kvm_mmio.actions import successors
from kvm_mmio.config import load_model
from kvm_mmio.explore import explore
from kvm_mmio.invariants import LeadsTo
from kvm_mmio.liveness import FairLasso, find_fair_lasso, strongly_connected_components
from kvm_mmio.trace import read_itf, replay

# Toy graphs: states 0..n-1; Q holds in the states listed as q; the fairness conditions are
# labels of edges ("w" by default).


def lasso(n, edges, q, sources=(0,), conditions=("w",)):
    not_q = [state not in q for state in range(n)]
    return find_fair_lasso(n, edges, not_q, sources, conditions)


def test_a_cycle_is_fair_when_the_fair_action_is_disabled_on_it_infinitely_often():
    # 0 <-> 1 by steps of "v"; "w" (into Q) is enabled in 1 only: the cycle is fair.
    edges = [(0, 1, "v"), (1, 0, "v"), (1, 2, "w")]
    assert lasso(3, edges, q={2}, conditions=("v", "w")) == FairLasso(0, (), (1, 0))
    # With "w" enabled in 0 too and never taken on the cycle, the cycle is unfair: P ~> Q holds.
    edges.append((0, 2, "w"))
    assert lasso(3, edges, q={2}, conditions=("v", "w")) is None


def test_a_fair_cycle_that_takes_the_fair_step():
    # 0 -w-> 1 -w-> 0: w is taken on the cycle, which is fair; Q (state 2) is never reached.
    edges = [(0, 1, "w"), (1, 0, "w"), (1, 2, None)]
    found = lasso(3, edges, q={2})
    assert found is not None and found.cycle[-1] == found.source and found.stem == ()


def test_stuttering_where_every_fair_action_is_disabled():
    # 0 -v-> 1, and in 1 no fair action is enabled: stuttering in 1 for ever is fair.
    found = lasso(3, [(0, 1, "v"), (1, 2, None)], q={2}, conditions=("v", "w"))
    assert found == FairLasso(0, (1,), ())
    # With a fair step out of 1 into Q, the behaviour cannot stay in 1.
    assert lasso(3, [(0, 1, "v"), (1, 2, "w")], q={2}, conditions=("v", "w")) is None


def test_sources_in_q_or_unable_to_reach_a_bad_end_are_fine():
    edges = [(0, 1, "w"), (1, 2, "w"), (2, 2, None)]
    assert lasso(3, edges, q={2}, sources=(0, 2)) is None


def test_tarjan_on_the_member_subgraph():
    successors = [[1], [2], [0, 3], [3], []]
    components = strongly_connected_components(5, successors, [True] * 5)
    assert sorted(sorted(c) for c in components) == [[0, 1, 2], [3], [4]]
    components = strongly_connected_components(5, successors, [True, True, False, True, True])
    assert sorted(sorted(c) for c in components) == [[0], [1], [3], [4]]


def test_every_liveness_model_holds():
    for name in ("safe_liveness", "host", "smm_fixed"):
        model = load_model(name)
        found = explore(model.constants, (), model.properties, model=name)
        assert found.holds == model.properties and not found.counterexamples


def _two_vcpus_no_updates():
    return attrs.evolve(load_model("safe").constants, max_updates=0)


@pytest.mark.parametrize(
    ("consts", "p", "q", "cycle"),
    [
        # "Some time both vCPUs are idle": two vCPUs that take turns never are, fairly (each
        # keeps stepping); a cycle, since every state where all could stutter has Q.
        (
            _two_vcpus_no_updates(),
            lambda s: s.pc[0] != "Idle",
            lambda s: s.pc == ("Idle", "Idle") and s.upd.phase == "idle",
            True,
        ),
        # "An operation ends in a state where Q": Q never holds; with no vCPU step and no
        # operation step enabled, the behaviour may stutter for ever.
        (
            load_model("safe_liveness").constants,
            lambda s: s.upd.phase != "idle",
            lambda s: False,
            False,
        ),
    ],
)
def test_a_violated_property_comes_as_a_replayable_lasso(monkeypatch, consts, p, q, cycle):
    monkeypatch.setitem(invariants.PROPERTIES, "Broken", lambda c: (LeadsTo("Broken", p, q),))
    found = explore(consts, (), ("Broken",), model="toy")
    assert found.violated == ("Broken",)
    document = found.counterexamples["Broken"]
    loop = document["#meta"]["loop"]
    steps = read_itf(consts, document)
    assert replay(consts, document) is None
    assert document["#meta"]["property"] == "Broken"
    entered = next(i for i, step in enumerate(steps) if p(step.state))
    assert entered <= loop and not any(q(step.state) for step in steps[entered:])
    if cycle:
        # The last state steps back to the loop state.
        assert loop < len(steps) - 1
        targets = [after for _, _, after in successors(consts, steps[-1].state)]
        assert steps[loop].state in targets
    else:
        assert loop == len(steps) - 1
