"""The reference's state graph projected on whole operations, and the classes the vectors cover.

Why: the operations level runs memslot operations with every vCPU idle and accesses with no
memslot operation in flight, so its states are the spec's quiescent states (every vCPU idle, no
operation in progress) and its edges are whole operations: every access (vCPU, gfn, mode) and
every memslot change the spec enables (Changes(a), per AS). Each edge is deterministic: a whole
operation from a quiescent state always ends in the same quiescent state.

The generation grows without bound (MaxUpdates is only a model checker's bound; at this level it
is unbounded), so the graph is explored up to what the behaviour can tell apart (`abstract`):

- the layouts; each AS's generation modulo 2^GenBits when that is small (the models whose MMIO
  generation wraps within a few installs), else only how many installs are left before its wrap
  test fires, capped at WRAP_HORIZON (the v5.0-seed profile starts 38 installs before its wrap);
- each spte: none, ram, or MMIO with its stored generation (small GenBits) or whether it is the
  current one (it cannot match again before a wrap);
- each per-vCPU cache: its gfn, and whether its tag is the current generation of its AS (a stale
  tag never becomes current again: generations only grow).

Two states alike in all of this behave alike under every sequence of whole operations (the
generators check it while replaying each walk). What the vectors cover is `coverage_key`: the
kind of operation, its address space and the slot layout, and the cache and spte state it meets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kvm_mmio.actions import changes, installs, wraps
from kvm_mmio.config import Constants
from kvm_mmio.state import State
from kvm_mmio.vm import UNBOUNDED_UPDATES, Vm
from kvm_mmio_conformance.coverwalk import Graph, explore_graph
from kvm_mmio_conformance.model_wire import access_operation, memslot_operation, perform

__all__ = [
    "SMALL_GEN_MOD",
    "WRAP_HORIZON",
    "abstract",
    "coverage_key",
    "enabled_operations",
    "operation_graph",
    "run",
    "used_ases",
]

# GenMod up to this is kept exactly; above it, only the distance to the next wrap.
SMALL_GEN_MOD = 64
WRAP_HORIZON = 48


def used_ases(consts: Constants) -> tuple[int, ...]:
    """The address spaces whose layout some vCPU can see: AS 0, and AS 1 when a vCPU is in SMM.
    An operation in an AS no vCPU uses changes nothing any access observes (only that AS's
    generation, and a zap on its wrap), so the cover leaves it out: it would only multiply the
    graph by that AS's distance to its wrap."""
    return tuple(a for a in consts.ases if a == 0 or consts.smm_vcpus)


def enabled_operations(consts: Constants, state: State) -> list[dict[str, Any]]:
    """Every whole operation the spec enables in a quiescent state: accesses (by vCPU, gfn,
    mode), then memslot changes (by AS some vCPU uses, then kind, gfn, to) with room left in
    MaxUpdates."""
    ops = [
        access_operation(v, g, m) for v in consts.vcpus for g in consts.gfns for m in consts.modes
    ]
    for a in used_ases(consts):
        for c in sorted(changes(consts, state, a), key=lambda c: (c.kind, c.gfn, c.to)):
            if state.upd.updates + installs(c) <= consts.max_updates:
                ops.append(memslot_operation(c.kind, a, c.gfn, c.to))
    return ops


def run(consts: Constants, state: State, operation: dict[str, Any]) -> tuple[State, dict]:
    """The quiescent state after one whole operation, and its observation."""
    vm = Vm(consts, state)
    observation = perform(vm, operation)
    return vm.state, observation


def _installs_to_wrap(consts: Constants, gen: int) -> int:
    for k in range(1, WRAP_HORIZON + 1):
        if wraps(consts, gen + k * consts.gen_step):
            return k
    return WRAP_HORIZON + 1


def _cache_current(consts: Constants, state: State, i: int, v: str) -> bool:
    entry, a = state.cache[i], consts.cache_as(v)
    return (entry.gen, entry.busy) == (state.gen[a], state.busy[a])


def abstract(consts: Constants, state: State) -> tuple:
    """What of a quiescent state the behaviour of whole operations depends on (module doc)."""
    small = consts.gen_mod <= SMALL_GEN_MOD
    if small:
        gens = tuple(gen % consts.gen_mod for gen in state.gen)
        sptes = state.spte
    else:
        gens = tuple(_installs_to_wrap(consts, gen) for gen in state.gen)
        sptes = tuple(
            tuple(_spte_class(consts, state, a, i) for i in range(len(consts.gfns)))
            for a in consts.ases
        )
    caches = tuple(
        (entry.gfn, _cache_current(consts, state, i, v))
        for i, (v, entry) in enumerate(zip(consts.vcpus, state.cache, strict=True))
    )
    # A bounded MaxUpdates is part of the behaviour: what is left of it (kernel profiles and
    # the operations level's configs are unbounded, and then it is not).
    left = consts.max_updates - state.upd.updates if consts.max_updates < UNBOUNDED_UPDATES else 0
    return (state.slots, gens, sptes, caches, left)


def _spte_class(consts: Constants, state: State, a: int, i: int) -> str:
    spte = state.spte[a][i]
    if spte.kind != "mmio":
        return spte.kind
    return "mmio-current" if spte.gen == state.gen[a] % consts.gen_mod else "mmio-stale"


def _cache_class(consts: Constants, state: State, v: str, g: int) -> str:
    i = consts.vcpu_index(v)
    entry = state.cache[i]
    if entry.gfn == 0:
        return "empty"
    if entry.gfn != g:
        return "other"
    return "current" if _cache_current(consts, state, i, v) else "stale"


def coverage_key(consts: Constants, state: State, operation: dict[str, Any]) -> tuple:
    """The class of a whole operation from a quiescent state: for an access, its mode, the
    vCPU's AS, the gfn's slot, spte and this vCPU's cache entry; for a memslot operation, its
    kind, gfn(s) and AS, the AS's layout and the sptes of its gfns, or, when one of its installs
    fires the wrap test, only that (the wrap zaps every spte, whatever they were). An operation
    reads no cache: what it does to them shows in the next access."""
    g = operation["gfn"]
    gi = consts.gfn_index(g)
    if operation["kind"] == "access":
        v = operation["vcpu"]
        a = consts.vcpu_as(v)
        return (
            "access",
            operation["mode"],
            a,
            g,
            state.slots[a][gi],
            _spte_class(consts, state, a, gi),
            _cache_class(consts, state, v, g),
        )
    a, kind, to = operation["as"], operation["kind"], operation.get("to", 0)
    count = 2 if kind in ("delete", "move") else 1
    if any(wraps(consts, state.gen[a] + k * consts.gen_step) for k in range(1, count + 1)):
        return (kind, a, "wraps")
    named = (gi, consts.gfn_index(to)) if to else (gi,)
    return (
        kind,
        a,
        g,
        to,
        state.slots[a],
        tuple(_spte_class(consts, state, a, i) for i in named),
    )


def operation_graph(consts: Constants, initial: State) -> Graph:
    """The graph of whole operations from `initial`, up to `abstract`: each node's value is
    the first quiescent state found for it; each edge's label is (operation, observation)."""

    def successors(state: State) -> Iterator[tuple[Any, State]]:
        for operation in enabled_operations(consts, state):
            after, observation = run(consts, state, operation)
            yield (operation, observation), after

    return explore_graph(initial, successors, lambda state: abstract(consts, state))
