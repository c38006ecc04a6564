"""Many flags-only memslot changes as one operation: how the vectors reach the MMIO generation wrap.

Why: the kernel's MMIO generation wraps after 2^18 installs of an address space (v6) or 2^19
(one address space), so a case that reads frames on both sides of the wrap needs hundreds of
thousands of memslot operations. As single messages that is minutes per case and megabytes of
vectors; as one operation `{"kind": "flags", "as": a, "gfn": g, "repeat": n}` it is one line.

A flags-only change with every vCPU idle changes nothing but the generation of its address space
and the count of installs, except that the install whose new generation wraps the MMIO
generation zaps every spte (actions.run_hook; the value the hook tests is the new generation
whether or not the hook runs first). So n of them in a row are computed here as the first and
the last taken step by step on the reference VM (which checks the change is enabled and gives
the observation), and the n - 2 between as one jump: the generation advanced by n - 2 steps, the
install count by n - 2, and every spte zapped if one of those installs wrapped. A test holds the
jump equal, state for state, to n single operations on every model and kernel profile, with
every switch setting.
"""

from __future__ import annotations

import math

import attrs

from kvm_mmio.actions import wraps, zap_all
from kvm_mmio.config import Constants
from kvm_mmio.state import no_upd
from kvm_mmio.vm import OperationResult, Vm

__all__ = ["STEPPED", "first_wrap", "repeat_flags"]

# Up to this many changes are taken one by one (no jump).
STEPPED = 4


def first_wrap(consts: Constants, start: int, step: int, count: int) -> int | None:
    """The least i in 1..count whose generation start + i * step passes the wrap test
    (actions.wraps), or None. The test depends only on the generation modulo GenMod and holds
    only below GenStep there, so each such residue is one linear congruence."""
    modulus = consts.gen_mod
    best = None
    for residue in range(min(consts.gen_step, modulus)):
        if not wraps(consts, residue):
            continue
        divisor = math.gcd(step, modulus)
        if (residue - start) % divisor:
            continue
        period = modulus // divisor
        i = ((residue - start) // divisor * pow(step // divisor, -1, period)) % period or period
        if i <= count and (best is None or i < best):
            best = i
    return best


def repeat_flags(vm: Vm, a: int, g: int, n: int) -> OperationResult:
    """`n` flags-only changes of the slot at gfn `g` in address space `a`, every vCPU idle; the
    result of the last. ValueError (the VM unchanged) if the change is not enabled n times."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"repeat: expected an integer >= 1, got {n!r}")
    consts = vm.constants
    if vm.state.upd.updates + n > consts.max_updates:
        raise ValueError(f"repeat: {n} installs would pass MaxUpdates {consts.max_updates}")
    if n <= STEPPED:
        for _ in range(n):
            result = vm.set_flags(g, a)
        return result
    before = vm.state.gen[a]
    vm.set_flags(g, a)
    step = vm.state.gen[a] - before
    state, jumped = vm.state, n - 2
    spte = state.spte
    if consts.zap_on_wrap and first_wrap(consts, state.gen[a], step, jumped) is not None:
        spte = zap_all(consts)
    gen = (*state.gen[:a], state.gen[a] + jumped * step, *state.gen[a + 1 :])
    vm.state = attrs.evolve(state, gen=gen, spte=spte, upd=no_upd(state.upd.updates + jumped))
    return vm.set_flags(g, a)
