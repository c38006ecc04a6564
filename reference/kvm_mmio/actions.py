"""The spec's actions, one function each, named after it and taking its parameters.

Why: this is the reference other projects call and the conformance suite trusts, so it reads like
spec/KvmMmio.tla, definition for definition: an action ``Name(p, ...)`` is
``name(consts, state, p, ...)`` and returns the next State, or None when the action is not enabled
in ``state``; the spec's helper operators keep their names (``allowed_in``, ``stage_layout``,
``cache_hit``, ...).  A parameter outside its constant set (a vCPU id not in Vcpus, a gfn not in
Gfns, a mode not in Modes, a change not in AllChanges, an AS not in ASes) is a ValueError: Next
never names one, so it is a mistake of the caller, not a disabled action.

``successors`` is Next: every enabled action instance, in the order of Next's disjuncts.
``is_fair_step`` says which weakly fair action of ``Fairness`` a step belongs to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from kvm_mmio.config import Change, Constants
from kvm_mmio.state import (
    NO_GEN,
    SPTE_NONE,
    SPTE_RAM,
    Cache,
    Gen,
    Spte,
    State,
    Upd,
    no_upd,
    spte_mmio,
)

__all__ = [
    "ACTIONS",
    "ACTION_PARAMETERS",
    "UPDATER_STEPS",
    "VCPU_STEPS",
    "after_install",
    "all_changes",
    "allowed",
    "allowed_in",
    "apply",
    "begin_access",
    "cache_hit",
    "change_from_params",
    "changes",
    "check_cache",
    "check_spte",
    "collect_allowed",
    "decide",
    "emulate",
    "end_access",
    "fairness_conditions",
    "fill_cache",
    "fill_from_spte",
    "fill_no_slot",
    "flush_slot",
    "get_mmio_spte",
    "hook_gen",
    "hw_access",
    "install_ram",
    "installs",
    "is_fair_step",
    "lookup",
    "make_mmio_spte",
    "mark_mmio_spte",
    "mmu_lock_free",
    "op_after",
    "op_before",
    "outcome",
    "publish",
    "read_guest",
    "read_mmio_gen",
    "record_decision",
    "retry",
    "run_hook",
    "stage_layout",
    "store_gen",
    "successors",
    "sync_srcu",
    "updater_step",
    "vcpu_step",
    "wraps",
    "zap_all",
    "zap_waiting",
]

Step = tuple[str, dict[str, Any], State]


def _with(values: tuple, index: int, value: Any) -> tuple:
    """[values EXCEPT ![index] = value] for a function held as a tuple."""
    return (*values[:index], value, *values[index + 1 :])


# --- Operations and the user contract ----------------------------------------------------------


def all_changes(consts: Constants) -> tuple[Change, ...]:
    """AllChanges: every change a model can name (Publish's label set)."""
    return consts.all_changes


def changes(consts: Constants, state: State, a: int) -> frozenset[Change]:
    """Changes(a): the changes that can start in AS a now (each needs its slot in the right
    state)."""
    layout = state.slots[a]
    none = [g for i, g in enumerate(consts.gfns) if layout[i] == "none"]
    ram = [g for i, g in enumerate(consts.gfns) if layout[i] == "ram"]
    return frozenset(
        [Change("create", g, 0) for g in none]
        + [Change(k, g, 0) for k in ("delete", "flags") for g in ram]
        + [Change("move", g, t) for g in ram for t in none]
    )


def installs(c: Change) -> int:
    """Installs(c): DELETE and MOVE first install a copy with the slot INVALID."""
    return 2 if c.kind in ("delete", "move") else 1


def outcome(s: str) -> str:
    """Outcome(s): an access to a frame whose memslot is in state s."""
    return "ram" if s == "ram" else "mmio"


def stage_layout(consts: Constants, s: tuple[str, ...], c: Change, st: int) -> tuple[str, ...]:
    """StageLayout(s, c, st): the layout of an AS that stage st of change c installs over s."""
    i = consts.gfn_index(c.gfn)
    if c.kind == "create":
        return _with(s, i, "ram")
    if c.kind == "flags":
        return s
    if st == 1:
        return _with(s, i, "invalid")
    if c.kind == "delete":
        return _with(s, i, "none")
    return _with(_with(s, i, "none"), consts.gfn_index(c.to), "ram")


def op_before(consts: Constants, u: Upd, s: tuple[str, ...], g: int) -> str:
    """OpBefore(u, s, g): frame g's state before the whole operation u."""
    kind = u.change.kind
    if kind == "create" and g == u.change.gfn:
        return "none"
    if kind in ("delete", "move") and g == u.change.gfn:
        return "ram"
    if kind == "move" and g == u.change.to:
        return "none"
    return s[consts.gfn_index(g)]


def op_after(consts: Constants, u: Upd, s: tuple[str, ...], g: int) -> str:
    """OpAfter(u, s, g): frame g's state after the whole operation u."""
    kind = u.change.kind
    if kind == "create" and g == u.change.gfn:
        return "ram"
    if kind in ("delete", "move") and g == u.change.gfn:
        return "none"
    if kind == "move" and g == u.change.to:
        return "ram"
    return s[consts.gfn_index(g)]


def allowed_in(
    consts: Constants, s: tuple[tuple[str, ...], ...], u: Upd, a: int, g: int
) -> frozenset[str]:
    """AllowedIn(s, u, a, g): the user contract (set_memory_region_test.c): g's outcome with no
    operation on AS a; during one, the outcome before or after the whole operation."""
    if u.phase != "idle" and u.as_ == a:
        return frozenset(
            {outcome(op_before(consts, u, s[a], g)), outcome(op_after(consts, u, s[a], g))}
        )
    return frozenset({outcome(s[a][consts.gfn_index(g)])})


def allowed(consts: Constants, state: State, a: int, g: int) -> frozenset[str]:
    """Allowed(a, g) == AllowedIn(slots, upd, a, g)."""
    return allowed_in(consts, state.slots, state.upd, a, g)


def collect_allowed(
    consts: Constants, state: State, s: tuple[tuple[str, ...], ...], u: Upd
) -> tuple[frozenset[str], ...]:
    """CollectAllowed(s, u): saw' after an updater step whose new slots and upd are s and u:
    every undecided access adds what the contract allows in the new state."""
    return tuple(
        state.saw[i] | allowed_in(consts, s, u, consts.vcpu_as(v), state.acc[i])
        if state.pc[i] != "Idle" and state.out[i] == "none"
        else state.saw[i]
        for i, v in enumerate(consts.vcpus)
    )


def wraps(consts: Constants, n: int) -> bool:
    """Wraps(n): the wrap test of kvm_mmu_invalidate_mmio_sptes; without FixWrapAnyAs only the
    raw value 0 (modulo GenMod) counts."""
    if consts.fix_wrap_any_as:
        return (n % consts.gen_mod) // consts.gen_step == 0
    return n % consts.gen_mod == 0


def zap_all(consts: Constants) -> tuple[tuple[Spte, ...], ...]:
    """ZapAll: no spte in any AS."""
    return tuple(tuple(SPTE_NONE for _ in consts.gfns) for _ in consts.ases)


# --- The per-vCPU MMIO cache --------------------------------------------------------------------


def cache_hit(consts: Constants, state: State, v: str) -> bool:
    """CacheHit(v): vcpu_match_mmio_gen + the gfn match (gfn 0 never matches); without FixCacheGen
    the cache has no generation at all."""
    i, ca = consts.vcpu_index(v), consts.cache_as(v)
    entry = state.cache[i]
    if entry.gfn != state.acc[i]:
        return False
    return not consts.fix_cache_gen or (entry.gen == state.gen[ca] and entry.busy == state.busy[ca])


def fill_cache(consts: Constants, state: State, v: str) -> tuple[Cache, ...]:
    """FillCache(v): cache' of vcpu_cache_mmio_info: tagged with the generation read now, and,
    with FixNoCacheInFlux (the seed), nothing while that generation carries the mark."""
    i, ca = consts.vcpu_index(v), consts.cache_as(v)
    if consts.fix_no_cache_in_flux and state.busy[ca]:
        return state.cache
    return _with(state.cache, i, Cache(state.acc[i], state.gen[ca], state.busy[ca]))


def retry(consts: Constants, state: State, v: str) -> dict[str, Any]:
    """Retry(v), as the new values of the variables it sets: RET_PF_RETRY, back into the guest,
    which leaves the read-side section; the access restarts with the hardware walk (the vCPU's
    locals and its history cleared)."""
    i = consts.vcpu_index(v)
    return {
        "pc": _with(state.pc, i, "HwAccess"),
        "in_cs": _with(state.in_cs, i, False),
        "upd": attrs.evolve(state.upd, wait_for=state.upd.wait_for - {v}),
        "spte_local": _with(state.spte_local, i, SPTE_NONE),
        "gen_local": _with(state.gen_local, i, NO_GEN),
        "dec": _with(state.dec, i, "none"),
    }


def decide(consts: Constants, state: State, v: str, o: str, p: str) -> dict[str, Any]:
    """Decide(v, o, p), as the new values of the variables it sets: the outcome o, how it was
    decided (p), and the access ends next."""
    i = consts.vcpu_index(v)
    return {
        "out": _with(state.out, i, o),
        "path": _with(state.path, i, p),
        "pc": _with(state.pc, i, "EndAccess"),
    }


def record_decision(consts: Constants, state: State, v: str) -> dict[str, Any]:
    """RecordDecision(v), as the new value of dec: the published layout's outcome at a hit's
    linearization point (history for CachedMmioIsCurrent)."""
    i = consts.vcpu_index(v)
    layout = state.slots[consts.vcpu_as(v)]
    return {"dec": _with(state.dec, i, outcome(layout[consts.gfn_index(state.acc[i])]))}


def mmu_lock_free(consts: Constants, state: State) -> bool:
    """MmuLockFree: no vCPU holds mmu_lock between MakeMmioSpte and MarkMmioSpte."""
    return "MarkMmioSpte" not in state.pc


def hook_gen(consts: Constants, state: State) -> int:
    """HookGen: the generation the arch hook is called with (the one about to be stored since
    152482580a1b, before it the one already stored)."""
    g = state.gen[state.upd.as_]
    return g + consts.gen_step if consts.fix_in_progress and consts.fix_hook_first else g


def zap_waiting(consts: Constants, state: State) -> bool:
    """ZapWaiting: the updater is at a step that zaps under mmu_lock; the lock is fair, so no
    vCPU takes it meanwhile."""
    u = state.upd
    return (
        u.phase == "hook" and consts.zap_on_wrap and wraps(consts, hook_gen(consts, state))
    ) or (u.phase == "flush" and consts.flush_on_delete)


# --- The vCPU -----------------------------------------------------------------------------------


def begin_access(consts: Constants, state: State, v: str, g: int, m: str) -> State | None:
    """BeginAccess(v, g, m): the guest starts an access to g: natively (guest mode, outside the
    SRCU read side) or emulated (KVM's emulator, inside KVM_RUN's read side)."""
    i = consts.vcpu_index(v)
    consts.gfn_index(g)  # a gfn outside Gfns is a ValueError
    if m not in consts.modes:
        raise ValueError(f"m: must be one of Modes {list(consts.modes)}, got {m!r}")
    if state.pc[i] != "Idle":
        return None
    return attrs.evolve(
        state,
        pc=_with(state.pc, i, "HwAccess" if m == "native" else "Emulate"),
        acc=_with(state.acc, i, g),
        mode=_with(state.mode, i, m),
        in_cs=_with(state.in_cs, i, m == "emulated"),
        saw=_with(state.saw, i, allowed(consts, state, consts.vcpu_as(v), g)),
    )


def _at(consts: Constants, state: State, v: str, pc: str) -> int | None:
    """v's position if v is at step pc, else None (the action is not enabled)."""
    i = consts.vcpu_index(v)
    return i if state.pc[i] == pc else None


def hw_access(consts: Constants, state: State, v: str) -> State | None:
    """HwAccess(v), lockless (guest mode): the hardware walks the spte: present reads memory; MMIO
    takes a reserved-bit fault (handle_mmio_page_fault); none is an ordinary page fault."""
    if (i := _at(consts, state, v, "HwAccess")) is None:
        return None
    s = state.spte[consts.vcpu_as(v)][consts.gfn_index(state.acc[i])]
    if s.kind == "ram":
        return attrs.evolve(state, **decide(consts, state, v, "ram", "hw"))
    return attrs.evolve(
        state, pc=_with(state.pc, i, "CheckCache" if s.kind == "mmio" else "Lookup")
    )


def check_cache(consts: Constants, state: State, v: str) -> State | None:
    """CheckCache(v), SRCU read side (entered after the VM-exit): handle_mmio_page_fault, first
    step: mmio_info_in_cache."""
    if (i := _at(consts, state, v, "CheckCache")) is None:
        return None
    in_cs = _with(state.in_cs, i, True)
    if cache_hit(consts, state, v):
        return attrs.evolve(
            state,
            in_cs=in_cs,
            **decide(consts, state, v, "mmio", "cache"),
            **record_decision(consts, state, v),
        )
    nxt = "ReadMmioGen" if consts.fix_gen_before_walk else "GetMmioSpte"
    return attrs.evolve(state, in_cs=in_cs, pc=_with(state.pc, i, nxt))


def read_mmio_gen(consts: Constants, state: State, v: str) -> State | None:
    """ReadMmioGen(v), SRCU read side, candidate fix FixGenBeforeWalk: the vCPU's AS generation
    read once, before the walk (the hit's linearization point)."""
    if (i := _at(consts, state, v, "ReadMmioGen")) is None:
        return None
    a = consts.vcpu_as(v)
    return attrs.evolve(
        state,
        gen_local=_with(state.gen_local, i, Gen(state.gen[a], state.busy[a])),
        pc=_with(state.pc, i, "GetMmioSpte"),
        **record_decision(consts, state, v),
    )


def get_mmio_spte(consts: Constants, state: State, v: str) -> State | None:
    """GetMmioSpte(v), lockless: get_mmio_spte's walk reads the spte; one that is no longer MMIO
    retries."""
    if (i := _at(consts, state, v, "GetMmioSpte")) is None:
        return None
    s = state.spte[consts.vcpu_as(v)][consts.gfn_index(state.acc[i])]
    if s.kind != "mmio":
        return attrs.evolve(state, **retry(consts, state, v))
    return attrs.evolve(
        state, pc=_with(state.pc, i, "CheckSpte"), spte_local=_with(state.spte_local, i, s)
    )


def check_spte(consts: Constants, state: State, v: str) -> State | None:
    """CheckSpte(v), lockless: check_mmio_spte compares the walked spte's bits with the vCPU's AS
    generation, read now (or before the walk with FixGenBeforeWalk): a miss while in progress,
    else a hit iff the bits equal the generation's low bits; a failed check takes the full page
    fault."""
    if (i := _at(consts, state, v, "CheckSpte")) is None:
        return None
    a = consts.vcpu_as(v)
    g = state.gen_local[i] if consts.fix_gen_before_walk else Gen(state.gen[a], state.busy[a])
    new: dict[str, Any] = {
        "spte_local": _with(state.spte_local, i, SPTE_NONE),
        "gen_local": _with(state.gen_local, i, NO_GEN),
    }
    if not g.busy and state.spte_local[i].gen == g.gen % consts.gen_mod:
        new["pc"] = _with(state.pc, i, "FillFromSpte")
        if not consts.fix_gen_before_walk:
            new |= record_decision(consts, state, v)
    else:
        new["pc"] = _with(state.pc, i, "Lookup")
        new["dec"] = _with(state.dec, i, "none")
    return attrs.evolve(state, **new)


def fill_from_spte(consts: Constants, state: State, v: str) -> State | None:
    """FillFromSpte(v): after a passing check, vcpu_cache_mmio_info, then emulate as MMIO."""
    if _at(consts, state, v, "FillFromSpte") is None:
        return None
    return attrs.evolve(
        state, cache=fill_cache(consts, state, v), **decide(consts, state, v, "mmio", "spte")
    )


def lookup(consts: Constants, state: State, v: str) -> State | None:
    """Lookup(v), SRCU read side (entered here after a page fault's VM-exit):
    kvm_vcpu_gfn_to_memslot in the vCPU's AS; an INVALID slot is no slot in era A and a retry
    with InvalidRetries (era B)."""
    if (i := _at(consts, state, v, "Lookup")) is None:
        return None
    s = state.slots[consts.vcpu_as(v)][consts.gfn_index(state.acc[i])]
    if s == "invalid" and consts.invalid_retries:
        return attrs.evolve(state, **retry(consts, state, v))
    nxt = "InstallRam" if s == "ram" else "FillNoSlot"
    return attrs.evolve(state, pc=_with(state.pc, i, nxt), in_cs=_with(state.in_cs, i, True))


def install_ram(consts: Constants, state: State, v: str) -> State | None:
    """InstallRam(v): under mmu_lock, install the spte that maps the frame."""
    if (i := _at(consts, state, v, "InstallRam")) is None:
        return None
    a, gi = consts.vcpu_as(v), consts.gfn_index(state.acc[i])
    spte = _with(state.spte, a, _with(state.spte[a], gi, SPTE_RAM))
    return attrs.evolve(state, spte=spte, **decide(consts, state, v, "ram", "slow"))


def fill_no_slot(consts: Constants, state: State, v: str) -> State | None:
    """FillNoSlot(v): no slot: vcpu_cache_mmio_info (its own read of the generation); without MMIO
    caching no spte is made."""
    if (i := _at(consts, state, v, "FillNoSlot")) is None:
        return None
    nxt = "MakeMmioSpte" if consts.mmio_sptes else "Emulate"
    return attrs.evolve(state, cache=fill_cache(consts, state, v), pc=_with(state.pc, i, nxt))


def make_mmio_spte(consts: Constants, state: State, v: str) -> State | None:
    """MakeMmioSpte(v), mmu_lock taken: make_mmio_spte reads the AS's generation and masks it (the
    mark is dropped); with FixNoSpteInFlux, no spte while the AS is busy (no lock taken).  The
    lock is not taken while a zap waits for it (ZapWaiting)."""
    if (i := _at(consts, state, v, "MakeMmioSpte")) is None:
        return None
    a = consts.vcpu_as(v)
    if consts.fix_no_spte_in_flux and state.busy[a]:
        return attrs.evolve(state, pc=_with(state.pc, i, "Emulate"))
    if zap_waiting(consts, state):
        return None
    made = spte_mmio(state.gen[a] % consts.gen_mod)
    return attrs.evolve(
        state,
        pc=_with(state.pc, i, "MarkMmioSpte"),
        spte_local=_with(state.spte_local, i, made),
    )


def mark_mmio_spte(consts: Constants, state: State, v: str) -> State | None:
    """MarkMmioSpte(v), mmu_lock released after: write the spte make_mmio_spte built."""
    if (i := _at(consts, state, v, "MarkMmioSpte")) is None:
        return None
    a, gi = consts.vcpu_as(v), consts.gfn_index(state.acc[i])
    return attrs.evolve(
        state,
        spte=_with(state.spte, a, _with(state.spte[a], gi, state.spte_local[i])),
        spte_local=_with(state.spte_local, i, SPTE_NONE),
        pc=_with(state.pc, i, "Emulate"),
    )


def emulate(consts: Constants, state: State, v: str) -> State | None:
    """Emulate(v): the emulator's gva->gpa consults the MMIO cache; a miss reads guest memory
    next."""
    if (i := _at(consts, state, v, "Emulate")) is None:
        return None
    if cache_hit(consts, state, v):
        return attrs.evolve(
            state, **decide(consts, state, v, "mmio", "cache"), **record_decision(consts, state, v)
        )
    return attrs.evolve(state, pc=_with(state.pc, i, "ReadGuest"))


def read_guest(consts: Constants, state: State, v: str) -> State | None:
    """ReadGuest(v): the emulator reads guest memory through the memslots (its own read of the
    published set): RAM reads memory, no slot or an INVALID one exits as MMIO."""
    if (i := _at(consts, state, v, "ReadGuest")) is None:
        return None
    s = state.slots[consts.vcpu_as(v)][consts.gfn_index(state.acc[i])]
    return attrs.evolve(state, **decide(consts, state, v, outcome(s), "emulator"))


def end_access(consts: Constants, state: State, v: str) -> State | None:
    """EndAccess(v): the access completes, the read-side section ends; the vCPU is idle."""
    if (i := _at(consts, state, v, "EndAccess")) is None:
        return None
    return attrs.evolve(
        state,
        pc=_with(state.pc, i, "Idle"),
        acc=_with(state.acc, i, 0),
        mode=_with(state.mode, i, "none"),
        in_cs=_with(state.in_cs, i, False),
        saw=_with(state.saw, i, frozenset()),
        out=_with(state.out, i, "none"),
        path=_with(state.path, i, "none"),
        dec=_with(state.dec, i, "none"),
        upd=attrs.evolve(state.upd, wait_for=state.upd.wait_for - {v}),
    )


# --- The updater --------------------------------------------------------------------------------


def after_install(u: Upd) -> Upd:
    """AfterInstall(u): the flush after stage 1 of a DELETE/MOVE, or the end of the operation."""
    if u.change.kind in ("delete", "move") and u.stage == 1:
        return attrs.evolve(u, phase="flush")
    return no_upd(u.updates)


def _check_as(consts: Constants, a: int) -> None:
    if a not in consts.ases or isinstance(a, bool):
        raise ValueError(f"a: must be one of ASes {list(consts.ases)}, got {a!r}")


def publish(consts: Constants, state: State, a: int, c: Change) -> State | None:
    """Publish(a, c): rcu_assign_pointer of AS a's new memslots: the first stage of change c (if
    it can start now and all its installs fit in MaxUpdates) or the second stage of the
    DELETE/MOVE in progress.  With FixInProgress the new set carries the mark; before it, the
    generation was incremented once, here."""
    _check_as(consts, a)
    if c not in consts.all_changes:
        raise ValueError(f"c: must be one of AllChanges, got {c!r}")
    u = state.upd
    starts = (
        u.phase == "idle"
        and c in changes(consts, state, a)
        and u.updates + installs(c) <= consts.max_updates
    )
    if not (starts or (u.phase == "publish" and a == u.as_ and c == u.change)):
        return None
    st = 1 if u.phase == "idle" else 2
    new_slots = _with(state.slots, a, stage_layout(consts, state.slots[a], c, st))
    waiting = frozenset(v for i, v in enumerate(consts.vcpus) if state.in_cs[i])
    new_upd = Upd(a, c, st, "sync", waiting, u.updates + 1)
    if consts.fix_in_progress:
        marks: dict[str, Any] = {"busy": _with(state.busy, a, True)}
    else:
        marks = {"gen": _with(state.gen, a, state.gen[a] + consts.gen_step)}
    return attrs.evolve(
        state,
        slots=new_slots,
        upd=new_upd,
        saw=collect_allowed(consts, state, new_slots, new_upd),
        **marks,
    )


def sync_srcu(consts: Constants, state: State) -> State | None:
    """SyncSrcu: synchronize_srcu_expedited returns once every reader that was inside at publish
    has left."""
    u = state.upd
    if u.phase != "sync" or u.wait_for:
        return None
    hook_later = consts.fix_in_progress and not consts.fix_hook_first
    new_upd = attrs.evolve(u, phase="store" if hook_later else "hook")
    return attrs.evolve(
        state, upd=new_upd, saw=collect_allowed(consts, state, state.slots, new_upd)
    )


def run_hook(consts: Constants, state: State) -> State | None:
    """RunHook: kvm_arch_memslots_updated -> kvm_mmu_invalidate_mmio_sptes(final generation): zap
    everything when the MMIO generation wraps; before StoreGen (with the value about to be stored)
    since 152482580a1b, after it before."""
    u = state.upd
    if u.phase != "hook":
        return None
    hook_first = consts.fix_in_progress and consts.fix_hook_first
    new_upd = attrs.evolve(u, phase="store") if hook_first else after_install(u)
    zap = consts.zap_on_wrap and wraps(consts, hook_gen(consts, state))
    if zap and not mmu_lock_free(consts, state):
        return None
    spte = zap_all(consts) if zap else state.spte
    return attrs.evolve(
        state, spte=spte, upd=new_upd, saw=collect_allowed(consts, state, state.slots, new_upd)
    )


def store_gen(consts: Constants, state: State) -> State | None:
    """StoreGen: the final generation becomes visible: drop the mark and add GenStep."""
    u = state.upd
    if u.phase != "store":
        return None
    a = u.as_
    new_upd = after_install(u) if consts.fix_hook_first else attrs.evolve(u, phase="hook")
    return attrs.evolve(
        state,
        gen=_with(state.gen, a, state.gen[a] + consts.gen_step),
        busy=_with(state.busy, a, False),
        upd=new_upd,
        saw=collect_allowed(consts, state, state.slots, new_upd),
    )


def flush_slot(consts: Constants, state: State) -> State | None:
    """FlushSlot: kvm_arch_flush_shadow_memslot after the INVALID copy is installed: zap the old
    slot's sptes (every spte with FlushZapsAll, nothing without FlushOnDelete); then stage 2."""
    u = state.upd
    if u.phase != "flush" or (consts.flush_on_delete and not mmu_lock_free(consts, state)):
        return None
    a = u.as_
    new_upd = attrs.evolve(u, stage=2, phase="publish")
    if not consts.flush_on_delete:
        spte = state.spte
    elif consts.flush_zaps_all:
        spte = zap_all(consts)
    else:
        gi = consts.gfn_index(u.change.gfn)
        spte = _with(state.spte, a, _with(state.spte[a], gi, SPTE_NONE))
    return attrs.evolve(
        state, spte=spte, upd=new_upd, saw=collect_allowed(consts, state, state.slots, new_upd)
    )


# --- Next, VcpuStep, UpdaterStep, Fairness ------------------------------------------------------

VcpuAction = Callable[[Constants, State, str], "State | None"]

# VcpuStep(v)'s disjuncts, in the spec's order.
VCPU_STEPS: dict[str, VcpuAction] = {
    "HwAccess": hw_access,
    "CheckCache": check_cache,
    "ReadMmioGen": read_mmio_gen,
    "GetMmioSpte": get_mmio_spte,
    "CheckSpte": check_spte,
    "FillFromSpte": fill_from_spte,
    "Lookup": lookup,
    "InstallRam": install_ram,
    "FillNoSlot": fill_no_slot,
    "MakeMmioSpte": make_mmio_spte,
    "MarkMmioSpte": mark_mmio_spte,
    "Emulate": emulate,
    "ReadGuest": read_guest,
    "EndAccess": end_access,
}

# UpdaterStep's disjuncts, in the spec's order.
UPDATER_STEPS: dict[str, Callable[[Constants, State], State | None]] = {
    "SyncSrcu": sync_srcu,
    "RunHook": run_hook,
    "StoreGen": store_gen,
    "FlushSlot": flush_slot,
}

# Every action of Next by TLA+ name, and its parameters' names.
ACTIONS: dict[str, Callable[..., State | None]] = {
    "BeginAccess": begin_access,
    **VCPU_STEPS,
    "Publish": publish,
    **UPDATER_STEPS,
}
ACTION_PARAMETERS: dict[str, tuple[str, ...]] = {
    "BeginAccess": ("v", "g", "m"),
    **{name: ("v",) for name in VCPU_STEPS},
    "Publish": ("a", "c"),
    **{name: () for name in UPDATER_STEPS},
}


def vcpu_step(consts: Constants, state: State, v: str) -> tuple[str, State] | None:
    """VcpuStep(v): the one step vCPU v can take now (its pc names it), or None when idle."""
    for name, action in VCPU_STEPS.items():
        if (after := action(consts, state, v)) is not None:
            return name, after
    return None


def updater_step(consts: Constants, state: State) -> tuple[str, State] | None:
    """UpdaterStep: the next step of the operation in progress (its stage-2 Publish included), or
    None when none is enabled."""
    u = state.upd
    if u.phase == "publish":
        after = publish(consts, state, u.as_, u.change)
        return ("Publish", after) if after is not None else None
    for name, action in UPDATER_STEPS.items():
        if (after := action(consts, state)) is not None:
            return name, after
    return None


def change_from_params(c: Any) -> Change:
    """A Change from Publish's ``c`` parameter as ITF writes it: {"kind", "gfn", "to"}."""
    if isinstance(c, Change):
        return c
    if not isinstance(c, Mapping) or set(c) != {"kind", "gfn", "to"}:
        raise ValueError(f'c: must be a change {{"kind", "gfn", "to"}}, got {c!r}')
    return Change(c["kind"], c["gfn"], c["to"])


def _change_params(c: Change) -> dict[str, Any]:
    return {"kind": c.kind, "gfn": c.gfn, "to": c.to}


def apply(consts: Constants, state: State, action: str, params: Mapping[str, Any]) -> State | None:
    """The action called ``action`` (its TLA+ name) with ``params`` (by the spec's parameter
    names, as ITF's #meta.params holds them): the next state, or None when not enabled."""
    if action not in ACTIONS:
        raise ValueError(f"action: must be one of {', '.join(ACTIONS)}, got {action!r}")
    names = ACTION_PARAMETERS[action]
    if set(params) != set(names):
        raise ValueError(f"params of {action}: expected {list(names)}, got {sorted(params)}")
    args = [params[name] for name in names]
    if action == "Publish":
        args[1] = change_from_params(args[1])
    return ACTIONS[action](consts, state, *args)


def successors(consts: Constants, state: State) -> Iterator[Step]:
    """Next: every enabled action instance as (TLA+ action name, params, next state), in the
    order of Next's disjuncts (BeginAccess over Vcpus x Gfns x Modes, VcpuStep over Vcpus,
    Publish over ASes x AllChanges, SyncSrcu, RunHook, StoreGen, FlushSlot)."""
    for v in consts.vcpus:
        for g in consts.gfns:
            for m in consts.modes:
                if (after := begin_access(consts, state, v, g, m)) is not None:
                    yield "BeginAccess", {"v": v, "g": g, "m": m}, after
    for v in consts.vcpus:
        if (step := vcpu_step(consts, state, v)) is not None:
            yield step[0], {"v": v}, step[1]
    for a in consts.ases:
        for c in consts.all_changes:
            if (after := publish(consts, state, a, c)) is not None:
                yield "Publish", {"a": a, "c": _change_params(c)}, after
    for name, action in UPDATER_STEPS.items():
        if (after := action(consts, state)) is not None:
            yield name, {}, after


def fairness_conditions(consts: Constants) -> tuple[str, ...]:
    """Fairness's weakly fair actions: VcpuStep(v) for each v, and UpdaterStep."""
    return (*(f"VcpuStep({v})" for v in consts.vcpus), "UpdaterStep")


def is_fair_step(state: State, action: str, params: Mapping[str, Any]) -> str | None:
    """The weakly fair action (a name of ``fairness_conditions``) that the step ``action`` with
    ``params`` from ``state`` belongs to, or None (BeginAccess, and a Publish that starts an
    operation).  A Publish is UpdaterStep's exactly when it is the second stage, which the state
    tells (upd.phase = "publish"), not the parameters."""
    if action in VCPU_STEPS:
        return f"VcpuStep({params['v']})"
    if action in UPDATER_STEPS or (action == "Publish" and state.upd.phase == "publish"):
        return "UpdaterStep"
    return None
