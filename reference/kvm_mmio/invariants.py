"""The spec's invariants, witnesses and liveness properties, under the spec's names.

Why: a verdict of the reference means something only if it judges the same predicates as TLC.
Each invariant is ``name(consts, state) -> bool``; each liveness property ``P ~> Q`` is given by its
state predicates, one ``LeadsTo`` per conjunct (AccessesFinish is one per vCPU), which
kvm_mmio.explore checks on the state graph under the spec's weak fairness.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from kvm_mmio.config import KINDS, Constants
from kvm_mmio.state import PCS, PHASES, SPTE_NONE, SPTE_RAM, Cache, Gen, Spte, State

__all__ = [
    "INVARIANTS",
    "PROPERTIES",
    "LeadsTo",
    "accesses_finish",
    "cached_mmio_is_current",
    "never_cache_hit",
    "never_spte_hit",
    "no_cache_while_busy",
    "observations_allowed",
    "operations_finish",
    "type_ok",
]

Invariant = Callable[[Constants, State], bool]
OUTCOMES = ("none", "ram", "mmio")
PATHS = ("none", "hw", "cache", "spte", "slow", "emulator")


def _is_int(value: Any, low: int, high: int | None = None) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and low <= value
        and (high is None or value <= high)
    )


def _function(values: Any, size: int, member: Callable[[Any], bool]) -> bool:
    """values \\in [D -> S] for a function held as a tuple over a domain of ``size`` elements."""
    return isinstance(values, tuple) and len(values) == size and all(map(member, values))


def type_ok(consts: Constants, state: State) -> bool:
    """TypeOK: every variable in its type (generations bounded by MaxGen, spte generations by
    GenMod, installs by MaxUpdates)."""
    c = consts
    nas, ngfn, nv = len(c.ases), len(c.gfns), len(c.vcpus)
    gfn_or_0 = {0, *c.gfns}

    def slot_row(row: Any) -> bool:
        return _function(row, ngfn, lambda s: s in ("ram", "none", "invalid"))

    def spte_ok(s: Any) -> bool:
        return isinstance(s, Spte) and (
            s in (SPTE_NONE, SPTE_RAM) or (s.kind == "mmio" and _is_int(s.gen, 0, c.gen_mod - 1))
        )

    def cache_ok(entry: Any) -> bool:
        return (
            isinstance(entry, Cache)
            and _is_int(entry.gfn, 0)
            and entry.gfn in gfn_or_0
            and _is_int(entry.gen, 0, c.max_gen)
            and isinstance(entry.busy, bool)
        )

    u = state.upd
    change = u.change
    return (
        _function(state.slots, nas, slot_row)
        and _function(state.spte, nas, lambda row: _function(row, ngfn, spte_ok))
        and _function(state.gen, nas, lambda g: _is_int(g, 0, c.max_gen))
        and _function(state.busy, nas, lambda b: isinstance(b, bool))
        and _function(state.cache, nv, cache_ok)
        and _function(state.dec, nv, lambda d: d in OUTCOMES)
        and _function(state.pc, nv, lambda p: p in PCS)
        and _function(state.acc, nv, lambda g: _is_int(g, 0) and g in gfn_or_0)
        and _function(state.mode, nv, lambda m: m == "none" or m in c.modes)
        and _function(state.in_cs, nv, lambda b: isinstance(b, bool))
        and _function(state.saw, nv, lambda s: isinstance(s, frozenset) and s <= {"ram", "mmio"})
        and _function(state.out, nv, lambda o: o in OUTCOMES)
        and _function(state.path, nv, lambda p: p in PATHS)
        and u.as_ in c.ases
        and _is_int(u.stage, 0, 2)
        and u.phase in PHASES
        and (
            (change.kind, change.gfn, change.to) == ("none", 0, 0)
            or (change.kind in KINDS and change.gfn in c.gfns and change.to in gfn_or_0)
        )
        and isinstance(u.wait_for, frozenset)
        and u.wait_for <= set(c.vcpus)
        and _is_int(u.updates, 0, c.max_updates)
        and _function(
            state.spte_local,
            nv,
            lambda s: s == SPTE_NONE or (spte_ok(s) and s.kind == "mmio"),
        )
        and _function(
            state.gen_local,
            nv,
            lambda g: (
                isinstance(g, Gen) and _is_int(g.gen, 0, c.max_gen) and isinstance(g.busy, bool)
            ),
        )
    )


def observations_allowed(consts: Constants, state: State) -> bool:
    """ObservationsAllowed (weak, the user contract): every outcome is one the contract allowed
    at some point of the access."""
    return all(o == "none" or o in s for o, s in zip(state.out, state.saw, strict=True))


def cached_mmio_is_current(consts: Constants, state: State) -> bool:
    """CachedMmioIsCurrent (strong, what the seed buys): a cache hit or a passing spte check
    agrees with the layout published when it decided."""
    return all(
        p not in ("cache", "spte") or o == d
        for p, o, d in zip(state.path, state.out, state.dec, strict=True)
    )


def no_cache_while_busy(consts: Constants, state: State) -> bool:
    """NoCacheWhileBusy (the seed's own statement): no cache tag carries the in-progress mark."""
    return not any(entry.busy for entry in state.cache)


def never_cache_hit(consts: Constants, state: State) -> bool:
    """NeverCacheHit: a witness, expected to fail (the per-vCPU cache is used)."""
    return "cache" not in state.path


def never_spte_hit(consts: Constants, state: State) -> bool:
    """NeverSpteHit: a witness, expected to fail (MMIO sptes are used)."""
    return "spte" not in state.path


INVARIANTS: dict[str, Invariant] = {
    "TypeOK": type_ok,
    "ObservationsAllowed": observations_allowed,
    "CachedMmioIsCurrent": cached_mmio_is_current,
    "NoCacheWhileBusy": no_cache_while_busy,
    "NeverCacheHit": never_cache_hit,
    "NeverSpteHit": never_spte_hit,
}


@attrs.frozen
class LeadsTo:
    """One conjunct ``P ~> Q`` of a liveness property: its label and its state predicates."""

    label: str
    p: Callable[[State], bool]
    q: Callable[[State], bool]


def operations_finish(consts: Constants) -> tuple[LeadsTo, ...]:
    """OperationsFinish == upd.phase # "idle" ~> upd.phase = "idle"."""
    return (
        LeadsTo(
            "OperationsFinish",
            lambda s: s.upd.phase != "idle",
            lambda s: s.upd.phase == "idle",
        ),
    )


def accesses_finish(consts: Constants) -> tuple[LeadsTo, ...]:
    """AccessesFinish == \\A v \\in Vcpus : pc[v] # "Idle" ~> pc[v] = "Idle" (one per vCPU)."""

    def conjunct(i: int, v: str) -> LeadsTo:
        return LeadsTo(
            f"AccessesFinish[{v}]", lambda s: s.pc[i] != "Idle", lambda s: s.pc[i] == "Idle"
        )

    return tuple(conjunct(i, v) for i, v in enumerate(consts.vcpus))


PROPERTIES: dict[str, Callable[[Constants], tuple[LeadsTo, ...]]] = {
    "OperationsFinish": operations_finish,
    "AccessesFinish": accesses_finish,
}
