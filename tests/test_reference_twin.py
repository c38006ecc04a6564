"""kvm_mmio.packed (the explorer's fast transcription) is the readable twin kvm_mmio.actions /
kvm_mmio.invariants, state for state: on every reachable state of the models below, and on
random walks through every model, packing round-trips, the successors (with their fairness
labels) are the same set, and every invariant gives the same verdict.

Since the initial states agree, agreement on every reachable state's successors means the two
reachable graphs are the same graph."""

import random
from collections import Counter

import attrs
import pytest

from kvm_mmio.actions import fairness_conditions, is_fair_step, successors
from kvm_mmio.config import Constants, load_model, model_names
from kvm_mmio.invariants import INVARIANTS
from kvm_mmio.packed import UNFAIR, Kernel, canonical
from kvm_mmio.state import State, initial_state

# Small models that together switch every constant both ways (except ZapOnWrap off and era B
# with MMIO sptes, which the random walks cover).
EVERY_STATE = [
    "host",
    "bug_stale_cache",
    "bug_corrupt_cache",
    "bug_cache_in_flux",
    "bug_no_flush",
    "bug_wrap_one_as",
    "bug_hook_late",
    "smm",
    "smm_fixed",
]


def _label(consts: Constants, state: State, action: str, params: dict) -> int:
    fair = is_fair_step(state, action, params)
    return UNFAIR if fair is None else fairness_conditions(consts).index(fair)


def assert_twins_agree(consts: Constants, kernel: Kernel, packed: tuple) -> None:
    state = kernel.unpack(packed)
    assert kernel.pack(state) == packed
    readable = Counter(
        (_label(consts, state, action, params), kernel.pack(after))
        for action, params, after in successors(consts, state)
    )
    assert readable == Counter(kernel.successors(packed)), state
    bad = kernel.shared_invariants(packed[0]).union(
        *(kernel.vcpu_invariants(vcpu) for vcpu in packed[1:])
    )
    for name, invariant in INVARIANTS.items():
        assert invariant(consts, state) == (name not in bad), (name, state)


@pytest.mark.parametrize("name", EVERY_STATE)
def test_every_reachable_state(name):
    consts = load_model(name).constants
    kernel = Kernel(consts)
    first = kernel.pack(initial_state(consts))
    seen, frontier = {first}, [first]
    while frontier:
        following = []
        for packed in frontier:
            assert_twins_agree(consts, kernel, packed)
            for _, after in kernel.successors(packed):
                if after not in seen:
                    seen.add(after)
                    following.append(after)
        frontier = following
    assert len(seen) == load_model(name).recorded_states


def _walk_states(kernel: Kernel, consts: Constants, seed: int, walks: int, length: int):
    rng = random.Random(seed)
    for _ in range(walks):
        packed = kernel.pack(initial_state(consts))
        for _ in range(length):
            yield packed
            packed = rng.choice(kernel.successors(packed))[1]


@pytest.mark.parametrize("name", model_names())
def test_random_walks(name):
    consts = load_model(name).constants
    kernel = Kernel(consts)
    for packed in _walk_states(kernel, consts, seed=len(name), walks=25, length=70):
        assert_twins_agree(consts, kernel, packed)


def _permuted(consts: Constants, state: State, order: list[int]) -> State:
    """The state with vCPU i's entries moved to position order[i] (ids renamed to match)."""
    names = consts.vcpus
    renamed = {names[i]: names[order[i]] for i in range(len(names))}

    def move(values: tuple) -> tuple:
        out = list(values)
        for i, value in enumerate(values):
            out[order[i]] = value
        return tuple(out)

    fields = (
        "cache",
        "dec",
        "pc",
        "acc",
        "mode",
        "in_cs",
        "saw",
        "out",
        "path",
        "spte_local",
        "gen_local",
    )
    upd = attrs.evolve(state.upd, wait_for=frozenset(renamed[v] for v in state.upd.wait_for))
    return attrs.evolve(state, upd=upd, **{f: move(getattr(state, f)) for f in fields})


def test_canonical_is_a_representative_of_the_symmetry_class():
    consts = load_model("safe").constants
    kernel = Kernel(consts)
    for packed in _walk_states(kernel, consts, seed=7, walks=30, length=60):
        state = kernel.unpack(packed)
        swapped = kernel.pack(_permuted(consts, state, [1, 0]))
        assert canonical(packed) == canonical(swapped)
        assert canonical(packed) in (packed, swapped)


def test_three_vcpus_canonical_sorts():
    consts = attrs.evolve(load_model("safe").constants, vcpus=("v1", "v2", "v3"), max_updates=1)
    kernel = Kernel(consts)
    for packed in _walk_states(kernel, consts, seed=3, walks=10, length=40):
        state = kernel.unpack(packed)
        for order in ([1, 2, 0], [2, 0, 1], [0, 2, 1]):
            assert canonical(kernel.pack(_permuted(consts, state, order))) == canonical(packed)
        assert_twins_agree(consts, kernel, packed)
