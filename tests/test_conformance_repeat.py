"""A repeated flags change (repeat.py) is exactly that many single flags changes: the jump over
the middle ones is held equal to stepping through them, state for state, on every model and
kernel profile (with small generation widths, so that the stepping crosses several wraps) and
every setting of the switches the wrap depends on."""

import itertools

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvm_mmio.actions import wraps
from kvm_mmio.config import load_model, model_names
from kvm_mmio.vm import KERNEL_PROFILES, Vm, kernel_constants
from kvm_mmio_conformance.casekit import operations_constants
from kvm_mmio_conformance.model_wire import access_operation, perform
from kvm_mmio_conformance.repeat import first_wrap

SWITCHES = ("zap_on_wrap", "fix_wrap_any_as", "fix_in_progress", "fix_hook_first")


def _settings():
    """Every model and kernel profile, with at most 3 generation bits (a wrap every few
    installs, so that stepping through several wraps stays quick)."""
    for name in model_names():
        consts = operations_constants(load_model(name).constants)
        yield name, attrs.evolve(consts, gen_bits=min(consts.gen_bits, 3))
    for profile in KERNEL_PROFILES:
        consts = kernel_constants(profile, vcpus=("v1",), gfns=(1, 2))
        yield profile, attrs.evolve(consts, gen_bits=3)


SETTINGS = list(_settings())


def _reads(consts):
    mode = consts.modes[0]
    return [access_operation(v, g, mode) for v in consts.vcpus for g in consts.gfns]


@pytest.mark.parametrize(("name", "consts"), SETTINGS, ids=[name for name, _ in SETTINGS])
def test_a_repeat_equals_that_many_single_changes(name, consts):
    ram = sorted(consts.init_ram)
    if not ram:
        pytest.skip(f"{name}: no RAM slot to change the flags of")
    for values in itertools.product((True, False), repeat=len(SWITCHES)):
        switched = attrs.evolve(consts, **dict(zip(SWITCHES, values, strict=True)))
        for a in switched.ases:
            for n in (1, 5, switched.gen_mod // switched.gen_step + 3, 3 * switched.gen_mod + 1):
                jumped, stepped = Vm(switched), Vm(switched)
                for operation in _reads(switched):
                    assert perform(jumped, operation) == perform(stepped, operation)
                flags = {"kind": "flags", "as": a, "gfn": ram[0]}
                answer = perform(jumped, {**flags, "repeat": n})
                for _ in range(n):
                    single = perform(stepped, flags)
                assert answer == single
                assert jumped.state == stepped.state, (name, values, a, n)
                for operation in _reads(switched):
                    assert perform(jumped, operation) == perform(stepped, operation)


@settings(max_examples=300, deadline=None)
@given(
    setting=st.sampled_from(SETTINGS),
    any_as=st.booleans(),
    start=st.integers(0, 2**64),
    count=st.integers(0, 40),
)
def test_first_wrap_is_the_first_generation_that_passes_the_wrap_test(
    setting, any_as, start, count
):
    consts = attrs.evolve(setting[1], fix_wrap_any_as=any_as)
    step = consts.gen_step
    expected = next((i for i in range(1, count + 1) if wraps(consts, start + i * step)), None)
    assert first_wrap(consts, start, step, count) == expected


def test_a_repeat_that_is_not_enabled_changes_nothing():
    vm = Vm(kernel_constants("v6", gfns=(1, 2)))
    before = vm.state
    with pytest.raises(ValueError, match="flags"):
        perform(vm, {"kind": "flags", "as": 0, "gfn": 2, "repeat": 10})  # gfn 2 has no slot
    with pytest.raises(ValueError, match="repeat: expected an integer >= 1"):
        perform(vm, {"kind": "flags", "as": 0, "gfn": 1, "repeat": 0})
    with pytest.raises(ValueError, match="expected exactly the keys"):
        perform(vm, {"kind": "create", "as": 0, "gfn": 2, "repeat": 2})
    assert vm.state == before
