"""kvm_mmio.vm (the simulator other projects import) and kvm_mmio.strategies: whole operations
give the kernel's generations and outcomes, steps that are not enabled are refused, every random
behaviour keeps the invariants of a safe model, and a state machine drives the VM step by step."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kvm_mmio import strategies
from kvm_mmio.actions import apply
from kvm_mmio.config import load_model
from kvm_mmio.invariants import INVARIANTS
from kvm_mmio.trace import replay
from kvm_mmio.vm import ActionNotEnabled, Vm, kernel_constants


def test_live_host_generations_follow_kvm_live_md():
    # shared/KVM_LIVE.md: starts at 0; create +1, flags-only +1, delete +2, move +2.
    vm = Vm.from_kernel("live-host", gfns=(1, 2, 3))
    assert vm.generation() == 0
    assert [vm.create(2).generation_after, vm.set_flags(2).generation_after] == [1, 2]
    assert vm.delete(2).generation_after == 4
    assert vm.move(1, 3).generation_after == 6
    assert vm.memslots() == {1: "none", 2: "none", 3: "ram"}


def test_live_host_accesses_and_the_per_vcpu_cache():
    vm = Vm.from_kernel("live-host")
    first = vm.access("v1", 2)  # no slot: fault, cache filled, the emulator hits it
    assert (first.outcome, first.path) == ("mmio", "cache")
    assert vm.access("v1", 2, "emulated").path == "cache"  # CPL0 consults the cache, as measured
    vm.set_flags(1)  # any successful update turns the next hit into a miss
    assert vm.access("v1", 2, "emulated").path == "emulator"
    vm.create(2)
    assert vm.access("v1", 2, "emulated").outcome == "ram"


def test_v5_seed_generations_start_near_the_wrap():
    vm = Vm.from_kernel("v5.0-seed")
    assert (vm.generation(0), vm.generation(1)) == (2**64 - 150, 2**64 - 148)
    assert vm.create(2).generation_after == 2**64 - 146  # era A: + 2 * NR_AS


def test_a_step_that_is_not_enabled_is_refused_and_changes_nothing():
    vm = Vm.from_model("safe_liveness")
    before = vm.state
    with pytest.raises(ActionNotEnabled, match="SyncSrcu is not enabled now; enabled: Begin"):
        vm.step("SyncSrcu")
    with pytest.raises(ActionNotEnabled):
        vm.delete(2)  # gfn 2 has no slot to delete
    assert vm.state == before and len(vm.history) == 1


def test_a_whole_operation_refuses_to_run_over_a_vcpu_inside_an_access():
    vm = Vm.from_model("safe_liveness")
    vm.step("BeginAccess", v="v1", g=2, m="native")
    with pytest.raises(ActionNotEnabled, match="inside an access"):
        vm.create(2)


def test_unknown_profile_names_the_choices():
    with pytest.raises(ValueError, match="profile: must be one of live-host"):
        kernel_constants("v4")


def test_history_is_a_valid_behaviour():
    vm = Vm.from_model("bug_stale_cache")
    vm.access("v1", 2)
    vm.create(2)
    observation = vm.access("v1", 2)
    assert (observation.outcome, observation.allowed) == ("mmio", frozenset({"ram"}))  # the bug
    assert replay(vm.constants, vm.to_itf()) is None


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_traces_of_safe_models_keep_every_invariant(data):
    model = load_model(data.draw(st.sampled_from(["safe_liveness", "host", "smm_fixed"])))
    trace = data.draw(strategies.traces(model.constants, max_steps=40))
    for step in trace:
        for name in model.invariants:
            assert INVARIANTS[name](model.constants, step.state), (name, step)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_random_constants_give_enabled_steps_only(data):
    consts = data.draw(strategies.constants())
    trace = data.draw(strategies.traces(consts, max_steps=25))
    for before, after in itertools.pairwise(trace):
        assert apply(consts, before.state, after.action, after.params) == after.state
        assert INVARIANTS["TypeOK"](consts, after.state)


class VmMachine(RuleBasedStateMachine):
    """Drives a VM of the `safe_liveness` model with single steps and whole operations and
    accesses, checking every invariant the model lists after each rule."""

    def __init__(self):
        super().__init__()
        self.model = load_model("safe_liveness")
        self.vm = Vm(self.model.constants)

    @rule(data=st.data())
    def one_step(self, data):
        action, params = data.draw(st.sampled_from(self.vm.enabled()))
        self.vm.step(action, **params)

    @precondition(lambda self: set(self.vm.state.pc) == {"Idle"})
    @rule(g=st.sampled_from([1, 2]), m=st.sampled_from(["native"]))
    def whole_access(self, g, m):
        if self.vm.state.upd.phase == "idle":
            observation = self.vm.access("v1", g, m)
            assert observation.outcome in observation.allowed

    @precondition(
        lambda self: set(self.vm.state.pc) == {"Idle"} and self.vm.state.upd.phase == "idle"
    )
    @rule(data=st.data())
    def whole_operation(self, data):
        starts = [p for a, p in self.vm.enabled() if a == "Publish"]
        if starts:
            change = data.draw(st.sampled_from(starts))["c"]
            result = self.vm.memslot(change["kind"], change["gfn"], change["to"])
            assert result.generation_after > result.generation_before

    @invariant()
    def invariants_hold(self):
        for name in self.model.invariants:
            assert INVARIANTS[name](self.model.constants, self.vm.state), name


VmMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
TestVmMachine = VmMachine.TestCase


def test_the_kernel_generation_wraps_like_a_u64():
    """v5.0 starts each VM's generation at -150 (2^64 - 150 as the u64 it is): the 38th install
    in AS 0 (each adds 4 with two address spaces) crosses 2^64 and must read as a small number."""
    vm = Vm.from_kernel("v5.0-seed")
    values = [vm.set_flags(1).generation_after for _ in range(40)]
    assert values[0] == 2**64 - 150 + 4
    crossed = next(i for i, value in enumerate(values) if value < 2**32)
    assert crossed == 37
    assert values[crossed] == (2**64 - 150 + 4 * 38) % 2**64
    assert all(value % 2 == 0 for value in values)
