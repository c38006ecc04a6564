"""The explorer's compact form of a state, and Next and the invariants over it.

Why: exhaustive exploration visits every reachable state (437,063 orbits of ``safe``, 865,113
states of ``safe_full``) and computes several successors of each; the readable twin in
kvm_mmio.actions, with an attrs State per successor, is about seven times slower (``safe_full``:
51 s against 7 s), slower than TLC.  So the explorer works on plain nested tuples of small values
(built, hashed and compared in C) and converts to State only at the edges (``pack`` /
``unpack``).  This module is a
second transcription of the same spec, kept honest by tests that compare it with kvm_mmio.actions
and kvm_mmio.invariants state by state and edge by edge.

Layout of a packed state ``P = (S, V_0, ..., V_{n-1})``, ``V_i`` the vCPU at position i:

- ``S = (slots, gen, busy, spte, upd_as, upd_change, upd_stage, upd_phase, upd_updates)``:
  slots, gen, busy as in State; spte per AS and gfn position as an int: SPTE_NONE (-2),
  SPTE_RAM (-1) or the MMIO spte's stored generation (>= 0); the change as (kind, gfn, to).
- ``V = (pc, out, path, dec, in_cs, waiting, acc, mode, saw, cache_gfn, cache_gen, cache_busy,
  spte_local, gen_local_gen, gen_local_busy)``: ``waiting`` is v \\in upd.waitFor; ``saw`` a bit
  mask (RAM 1, MMIO 2); ``spte_local`` coded like an spte.

Keeping waitFor as one bit per vCPU makes a permutation of the vCPUs a permutation of the V's,
so the symmetry class of a state is found by sorting them (``canonical``).

A successor comes with a fairness label: the vCPU position i for a step of VcpuStep(v_i),
``n`` (the number of vCPUs) for a step of UpdaterStep, and -1 for BeginAccess and a Publish that
starts an operation (no fairness).
"""

from __future__ import annotations

from collections.abc import Callable

from kvm_mmio import state as readable
from kvm_mmio.config import Change, Constants
from kvm_mmio.state import Cache, Gen, State, Upd, spte_mmio

__all__ = ["UNFAIR", "Kernel", "canonical"]

SPTE_NONE, SPTE_RAM = -2, -1
RAM, MMIO = 1, 2
UNFAIR = -1
_MASK_OF = {"ram": RAM, "none": MMIO, "invalid": MMIO}
_OUTCOMES_OF_MASK = {0: frozenset(), RAM: frozenset({"ram"}), MMIO: frozenset({"mmio"})}
_OUTCOMES_OF_MASK[RAM | MMIO] = frozenset({"ram", "mmio"})
_MASK_OF_OUTCOME = {"ram": RAM, "mmio": MMIO}

# Positions in S and V.
SLOTS, GEN, BUSY, SPTE, UAS, UCHANGE, USTAGE, UPHASE, UUPDATES = range(9)
PC, OUT, PATH, DEC, INCS, WAIT, ACC, MODE, SAW, CGFN, CGEN, CBUSY, SLOC, GLGEN, GLBUSY = range(15)
NO_LOCALS = (SPTE_NONE, 0, False)  # spteLocal = SpteNone, genLocal = NoGen

NO_CHANGE = ("none", 0, 0)
PCS = frozenset(
    ("Idle", "HwAccess", "CheckCache", "ReadMmioGen", "GetMmioSpte", "CheckSpte", "FillFromSpte",
     "Lookup", "InstallRam", "FillNoSlot", "MakeMmioSpte", "MarkMmioSpte", "Emulate", "ReadGuest",
     "EndAccess")
)  # fmt: skip
PHASES = frozenset(("idle", "publish", "sync", "hook", "store", "flush"))
OUTCOMES = frozenset(("none", "ram", "mmio"))
PATHS = frozenset(("none", "hw", "cache", "spte", "slow", "emulator"))
KINDS = frozenset(("create", "delete", "flags", "move"))


def canonical(packed: tuple) -> tuple:
    """The representative of a packed state's class under permutations of the vCPUs: the V's
    sorted (so two states are in one class iff their representatives are equal)."""
    if len(packed) == 3:
        return packed if packed[1] <= packed[2] else (packed[0], packed[2], packed[1])
    return (packed[0], *sorted(packed[1:]))


class Kernel:
    """Next and the invariants of one model, over packed states.

    Built once per Constants: every constant is looked up here, not in the hot loop."""

    def __init__(self, consts: Constants):
        self.consts = consts
        self.n = len(consts.vcpus)
        self.gfns = consts.gfns
        self.gfn_pos = {g: i for i, g in enumerate(consts.gfns)}
        self.vcpu_as = tuple(consts.vcpu_as(v) for v in consts.vcpus)
        self.cache_as = tuple(consts.cache_as(v) for v in consts.vcpus)
        self._changes_memo: dict[tuple[str, ...], tuple[tuple, ...]] = {}
        self._stage_memo: dict[tuple, tuple[str, ...]] = {}
        self._op_memo: dict[tuple, tuple] = {}
        self._zap_all = tuple((SPTE_NONE,) * len(consts.gfns) for _ in consts.ases)
        self._vcpu_steps = self._build_vcpu_steps()
        # BeginAccess's first step for each mode: the hardware walk (outside the read side), or
        # the emulator (inside it).
        self._first_step = tuple(
            (m, "HwAccess" if m == "native" else "Emulate", m == "emulated") for m in consts.modes
        )

    # --- conversions ------------------------------------------------------------------------

    def pack(self, state: State) -> tuple:
        """The packed form of a State."""
        u = state.upd

        def spte_code(s):
            if s.kind not in ("none", "ram", "mmio"):
                raise ValueError(f"spte: kind must be none, ram or mmio, got {s.kind!r}")
            return {"none": SPTE_NONE, "ram": SPTE_RAM}.get(s.kind, s.gen)

        shared = (
            state.slots,
            state.gen,
            state.busy,
            tuple(tuple(spte_code(s) for s in row) for row in state.spte),
            u.as_,
            (u.change.kind, u.change.gfn, u.change.to),
            u.stage,
            u.phase,
            u.updates,
        )
        vcpus = []
        for i, v in enumerate(self.consts.vcpus):
            saw = 0
            for o in state.saw[i]:
                saw |= _MASK_OF_OUTCOME[o]
            cache, local = state.cache[i], state.gen_local[i]
            vcpus.append(
                (state.pc[i], state.out[i], state.path[i], state.dec[i], state.in_cs[i],
                 v in u.wait_for, state.acc[i], state.mode[i], saw, cache.gfn, cache.gen,
                 cache.busy, spte_code(state.spte_local[i]), local.gen, local.busy)
            )  # fmt: skip
        return (shared, *vcpus)

    def unpack(self, packed: tuple) -> State:
        """The State of a packed state."""
        s, vs = packed[0], packed[1:]

        def spte(code):
            if code == SPTE_NONE:
                return readable.SPTE_NONE
            return readable.SPTE_RAM if code == SPTE_RAM else spte_mmio(code)

        def column(k):
            return tuple(v[k] for v in vs)

        return State(
            slots=s[SLOTS],
            gen=s[GEN],
            busy=s[BUSY],
            spte=tuple(tuple(spte(code) for code in row) for row in s[SPTE]),
            cache=tuple(Cache(v[CGFN], v[CGEN], v[CBUSY]) for v in vs),
            dec=column(DEC),
            pc=column(PC),
            acc=column(ACC),
            mode=column(MODE),
            in_cs=column(INCS),
            saw=tuple(_OUTCOMES_OF_MASK[v[SAW]] for v in vs),
            out=column(OUT),
            path=column(PATH),
            upd=Upd(
                s[UAS],
                Change(*s[UCHANGE]),
                s[USTAGE],
                s[UPHASE],
                frozenset(name for name, v in zip(self.consts.vcpus, vs, strict=True) if v[WAIT]),
                s[UUPDATES],
            ),
            spte_local=tuple(spte(v[SLOC]) for v in vs),
            gen_local=tuple(Gen(v[GLGEN], v[GLBUSY]) for v in vs),
        )

    # --- the user contract --------------------------------------------------------------------

    def _op_frames(self, change: tuple) -> tuple:
        """For each gfn position: (OpBefore, OpAfter) when the operation fixes them, else None
        (the frame keeps the current layout's state)."""
        found = self._op_memo.get(change)
        if found is None:
            kind, cg, ct = change
            frames = []
            for g in self.gfns:
                if kind == "create" and g == cg:
                    frames.append(("none", "ram"))
                elif kind in ("delete", "move") and g == cg:
                    frames.append(("ram", "none"))
                elif kind == "move" and g == ct:
                    frames.append(("none", "ram"))
                else:
                    frames.append(None)
            found = self._op_memo[change] = tuple(frames)
        return found

    def _collect(self, s: tuple, vs: tuple, waiting: str) -> tuple:
        """CollectAllowed(s, u) over the V's, with waitFor as the new upd has it: ``"keep"``,
        ``"in_cs"`` (Publish: the readers inside now) or ``"none"`` (NoUpd)."""
        in_op = s[UPHASE] != "idle"
        frames = self._op_frames(s[UCHANGE]) if in_op else None
        out = []
        for i, v in enumerate(vs):
            saw = v[SAW]
            if v[PC] != "Idle" and v[OUT] == "none":
                a = self.vcpu_as[i]
                gi = self.gfn_pos[v[ACC]]
                fixed = frames[gi] if frames is not None and s[UAS] == a else None
                if fixed is None:
                    saw |= _MASK_OF[s[SLOTS][a][gi]]
                else:
                    saw |= _MASK_OF[fixed[0]] | _MASK_OF[fixed[1]]
            wait = v[WAIT] if waiting == "keep" else (waiting == "in_cs" and v[INCS])
            if saw != v[SAW] or wait != v[WAIT]:
                v = (*v[:WAIT], wait, v[ACC], v[MODE], saw, *v[CGFN:])
            out.append(v)
        return tuple(out)

    def _allowed(self, s: tuple, a: int, g: int) -> int:
        """Allowed(a, g) as a mask."""
        gi = self.gfn_pos[g]
        if s[UPHASE] != "idle" and s[UAS] == a:
            fixed = self._op_frames(s[UCHANGE])[gi]
            if fixed is not None:
                return _MASK_OF[fixed[0]] | _MASK_OF[fixed[1]]
        return _MASK_OF[s[SLOTS][a][gi]]

    # --- the vCPU -----------------------------------------------------------------------------

    def _build_vcpu_steps(self) -> dict[str, Callable[[tuple, tuple, int], tuple | None]]:
        """VcpuStep(v)'s actions by the pc they run at: (S, V, i) -> (S', V'), or None when the
        step is not enabled (MakeMmioSpte while a zap waits for mmu_lock)."""
        c = self.consts
        gen_mod = c.gen_mod
        gfn_pos = self.gfn_pos
        vcpu_as, cache_as = self.vcpu_as, self.cache_as
        fix_cache_gen = c.fix_cache_gen
        no_cache_in_flux = c.fix_no_cache_in_flux
        invalid_retries = c.invalid_retries
        mmio_sptes, no_spte_in_flux = c.mmio_sptes, c.fix_no_spte_in_flux
        gen_before_walk = c.fix_gen_before_walk
        after_miss = "ReadMmioGen" if gen_before_walk else "GetMmioSpte"
        after_no_slot = "MakeMmioSpte" if mmio_sptes else "Emulate"
        zap_waiting = self._zap_waiting

        def cache_hit(s, v, i):
            if v[CGFN] != v[ACC]:
                return False
            ca = cache_as[i]
            return not fix_cache_gen or (v[CGEN] == s[GEN][ca] and v[CBUSY] == s[BUSY][ca])

        def filled(s, v, i):
            """FillCache(v): the cache entry after vcpu_cache_mmio_info."""
            ca = cache_as[i]
            if no_cache_in_flux and s[BUSY][ca]:
                return v[CGFN:SLOC]
            return (v[ACC], s[GEN][ca], s[BUSY][ca])

        def decided(s, v, i):
            """RecordDecision(v)'s dec."""
            return "ram" if s[SLOTS][vcpu_as[i]][gfn_pos[v[ACC]]] == "ram" else "mmio"

        def retry(v):
            return ("HwAccess", v[OUT], v[PATH], "none", False, False, *v[ACC:SLOC], *NO_LOCALS)

        def set_spte(s, a, gi, code):
            row = s[SPTE][a]
            row = (*row[:gi], code, *row[gi + 1 :])
            sptes = (*s[SPTE][:a], row, *s[SPTE][a + 1 :])
            return (*s[:SPTE], sptes, *s[UAS:])

        def hw_access(s, v, i):
            code = s[SPTE][vcpu_as[i]][gfn_pos[v[ACC]]]
            if code == SPTE_RAM:
                return s, ("EndAccess", "ram", "hw", *v[DEC:])
            return s, ("CheckCache" if code >= 0 else "Lookup", *v[OUT:])

        def check_cache(s, v, i):
            if cache_hit(s, v, i):
                return s, ("EndAccess", "mmio", "cache", decided(s, v, i), True, *v[WAIT:])
            return s, (after_miss, *v[OUT:INCS], True, *v[WAIT:])

        def read_mmio_gen(s, v, i):
            a = vcpu_as[i]
            dec = decided(s, v, i)
            return s, ("GetMmioSpte", v[OUT], v[PATH], dec, *v[INCS:GLGEN], s[GEN][a], s[BUSY][a])

        def get_mmio_spte(s, v, i):
            code = s[SPTE][vcpu_as[i]][gfn_pos[v[ACC]]]
            if code < 0:
                return s, retry(v)
            return s, ("CheckSpte", *v[OUT:SLOC], code, *v[GLGEN:])

        def check_spte(s, v, i):
            a = vcpu_as[i]
            if gen_before_walk:
                gen, busy = v[GLGEN], v[GLBUSY]
            else:
                gen, busy = s[GEN][a], s[BUSY][a]
            if not busy and v[SLOC] == gen % gen_mod:
                dec = v[DEC] if gen_before_walk else decided(s, v, i)
                return s, ("FillFromSpte", v[OUT], v[PATH], dec, *v[INCS:SLOC], *NO_LOCALS)
            return s, ("Lookup", v[OUT], v[PATH], "none", *v[INCS:SLOC], *NO_LOCALS)

        def fill_from_spte(s, v, i):
            return s, ("EndAccess", "mmio", "spte", *v[DEC:CGFN], *filled(s, v, i), *v[SLOC:])

        def lookup(s, v, i):
            slot = s[SLOTS][vcpu_as[i]][gfn_pos[v[ACC]]]
            if slot == "invalid" and invalid_retries:
                return s, retry(v)
            pc = "InstallRam" if slot == "ram" else "FillNoSlot"
            return s, (pc, *v[OUT:INCS], True, *v[WAIT:])

        def install_ram(s, v, i):
            s = set_spte(s, vcpu_as[i], gfn_pos[v[ACC]], SPTE_RAM)
            return s, ("EndAccess", "ram", "slow", *v[DEC:])

        def fill_no_slot(s, v, i):
            return s, (after_no_slot, *v[OUT:CGFN], *filled(s, v, i), *v[SLOC:])

        def make_mmio_spte(s, v, i):
            a = vcpu_as[i]
            if no_spte_in_flux and s[BUSY][a]:
                return s, ("Emulate", *v[OUT:])
            if zap_waiting(s):
                return None
            return s, ("MarkMmioSpte", *v[OUT:SLOC], s[GEN][a] % gen_mod, *v[GLGEN:])

        def mark_mmio_spte(s, v, i):
            s = set_spte(s, vcpu_as[i], gfn_pos[v[ACC]], v[SLOC])
            return s, ("Emulate", *v[OUT:SLOC], SPTE_NONE, *v[GLGEN:])

        def emulate(s, v, i):
            if cache_hit(s, v, i):
                return s, ("EndAccess", "mmio", "cache", decided(s, v, i), *v[INCS:])
            return s, ("ReadGuest", *v[OUT:])

        def read_guest(s, v, i):
            slot = s[SLOTS][vcpu_as[i]][gfn_pos[v[ACC]]]
            return s, ("EndAccess", "ram" if slot == "ram" else "mmio", "emulator", *v[DEC:])

        def end_access(s, v, i):
            return s, ("Idle", "none", "none", "none", False, False, 0, "none", 0, *v[CGFN:])

        return {
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

    def _hook_zaps(self, s: tuple) -> bool:
        """RunHook zaps: ZapOnWrap and the wrap test on HookGen."""
        c = self.consts
        final = s[GEN][s[UAS]]
        if c.fix_in_progress and c.fix_hook_first:
            final += c.gen_step
        if c.fix_wrap_any_as:
            wraps = (final % c.gen_mod) // c.gen_step == 0
        else:
            wraps = final % c.gen_mod == 0
        return c.zap_on_wrap and wraps

    def _zap_waiting(self, s: tuple) -> bool:
        """ZapWaiting: the updater is at a step that zaps under mmu_lock."""
        phase = s[UPHASE]
        return (phase == "hook" and self._hook_zaps(s)) or (
            phase == "flush" and self.consts.flush_on_delete
        )

    # --- the updater --------------------------------------------------------------------------

    def _changes(self, layout: tuple[str, ...]) -> tuple[tuple, ...]:
        """Changes(a) for an AS whose layout is ``layout``, each with Installs(c)."""
        found = self._changes_memo.get(layout)
        if found is None:
            none = [g for g, s in zip(self.gfns, layout, strict=True) if s == "none"]
            ram = [g for g, s in zip(self.gfns, layout, strict=True) if s == "ram"]
            found = tuple(
                [(("create", g, 0), 1) for g in none]
                + [(("delete", g, 0), 2) for g in ram]
                + [(("flags", g, 0), 1) for g in ram]
                + [(("move", g, t), 2) for g in ram for t in none]
            )
            self._changes_memo[layout] = found
        return found

    def _stage_layout(self, layout: tuple[str, ...], change: tuple, st: int) -> tuple[str, ...]:
        key = (layout, change, st)
        found = self._stage_memo.get(key)
        if found is None:
            kind, g, to = change
            cells = list(layout)
            if kind == "create":
                cells[self.gfn_pos[g]] = "ram"
            elif kind == "flags":
                pass
            elif st == 1:
                cells[self.gfn_pos[g]] = "invalid"
            else:
                cells[self.gfn_pos[g]] = "none"
                if kind == "move":
                    cells[self.gfn_pos[to]] = "ram"
            found = self._stage_memo[key] = tuple(cells)
        return found

    def _publish(self, s: tuple, vs: tuple, a: int, change: tuple, st: int) -> tuple:
        c = self.consts
        slots = s[SLOTS]
        layout = self._stage_layout(slots[a], change, st)
        slots = (*slots[:a], layout, *slots[a + 1 :])
        if c.fix_in_progress:
            gen, busy = s[GEN], (*s[BUSY][:a], True, *s[BUSY][a + 1 :])
        else:
            gen, busy = (*s[GEN][:a], s[GEN][a] + c.gen_step, *s[GEN][a + 1 :]), s[BUSY]
        s2 = (slots, gen, busy, s[SPTE], a, change, st, "sync", s[UUPDATES] + 1)
        return (s2, *self._collect(s2, vs, "in_cs"))

    def _after_install(self, s: tuple) -> tuple:
        """AfterInstall(upd) as S's upd fields (from UAS on)."""
        if s[UCHANGE][0] in ("delete", "move") and s[USTAGE] == 1:
            return (s[UAS], s[UCHANGE], s[USTAGE], "flush", s[UUPDATES])
        return (0, NO_CHANGE, 0, "idle", s[UUPDATES])

    def _updater_step(self, s: tuple, vs: tuple) -> tuple | None:
        """SyncSrcu, RunHook, StoreGen or FlushSlot, whichever upd.phase enables."""
        c = self.consts
        phase = s[UPHASE]
        if phase == "sync":
            if any(v[WAIT] for v in vs):
                return None
            later = c.fix_in_progress and not c.fix_hook_first
            s2 = (*s[:UPHASE], "store" if later else "hook", s[UUPDATES])
        elif phase == "hook":
            zap = self._hook_zaps(s)
            if zap and any(v[PC] == "MarkMmioSpte" for v in vs):
                return None  # mmu_lock is held (MmuLockFree)
            spte = self._zap_all if zap else s[SPTE]
            if c.fix_in_progress and c.fix_hook_first:
                s2 = (*s[:SPTE], spte, *s[UAS:UPHASE], "store", s[UUPDATES])
            else:
                s2 = (*s[:SPTE], spte, *self._after_install(s))
        elif phase == "store":
            a = s[UAS]
            gen = (*s[GEN][:a], s[GEN][a] + c.gen_step, *s[GEN][a + 1 :])
            busy = (*s[BUSY][:a], False, *s[BUSY][a + 1 :])
            if c.fix_hook_first:
                upd = self._after_install(s)
            else:
                upd = (*s[UAS:UPHASE], "hook", s[UUPDATES])
            s2 = (s[SLOTS], gen, busy, s[SPTE], *upd)
        elif phase == "flush":
            a = s[UAS]
            if c.flush_on_delete and any(v[PC] == "MarkMmioSpte" for v in vs):
                return None  # mmu_lock is held (MmuLockFree)
            if not c.flush_on_delete:
                spte = s[SPTE]
            elif c.flush_zaps_all:
                spte = self._zap_all
            else:
                gi = self.gfn_pos[s[UCHANGE][1]]
                row = s[SPTE][a]
                row = (*row[:gi], SPTE_NONE, *row[gi + 1 :])
                spte = (*s[SPTE][:a], row, *s[SPTE][a + 1 :])
            s2 = (*s[:SPTE], spte, s[UAS], s[UCHANGE], 2, "publish", s[UUPDATES])
        else:
            return None
        return (s2, *self._collect(s2, vs, "none" if s2[UPHASE] == "idle" else "keep"))

    # --- Next ---------------------------------------------------------------------------------

    def successors(self, packed: tuple) -> list[tuple[int, tuple]]:
        """Next from a packed state: (fairness label, packed next state) for every enabled
        action instance (see the module's docstring for the labels)."""
        s = packed[0]
        vs = packed[1:]
        n = self.n
        found: list[tuple[int, tuple]] = []
        for i, v in enumerate(vs):
            pc = v[PC]
            if pc == "Idle":
                a = self.vcpu_as[i]
                for g in self.gfns:
                    saw = self._allowed(s, a, g)
                    for m, first, in_cs in self._first_step:
                        v2 = (first, *v[OUT:INCS], in_cs, v[WAIT], g, m, saw, *v[CGFN:])
                        found.append((UNFAIR, (s, *vs[:i], v2, *vs[i + 1 :])))
            else:
                step = self._vcpu_steps[pc](s, v, i)
                if step is not None:
                    s2, v2 = step
                    found.append((i, (s2, *vs[:i], v2, *vs[i + 1 :])))
        phase = s[UPHASE]
        if phase == "idle":
            updates, max_updates = s[UUPDATES], self.consts.max_updates
            for a, layout in enumerate(s[SLOTS]):
                for change, installs in self._changes(layout):
                    if updates + installs <= max_updates:
                        found.append((UNFAIR, self._publish(s, vs, a, change, 1)))
        elif phase == "publish":
            found.append((n, self._publish(s, vs, s[UAS], s[UCHANGE], 2)))
        else:
            after = self._updater_step(s, vs)
            if after is not None:
                found.append((n, after))
        return found

    # --- invariants ---------------------------------------------------------------------------

    def shared_invariants(self, s: tuple) -> frozenset[str]:
        """The invariants whose conjuncts on shared variables S violates."""
        c = self.consts
        gfn_count = len(c.gfns)
        ok = (
            len(s[SLOTS]) == c.nr_as
            and all(
                len(row) == gfn_count and all(x in ("ram", "none", "invalid") for x in row)
                for row in s[SLOTS]
            )
            and len(s[GEN]) == c.nr_as
            and all(0 <= g <= c.max_gen for g in s[GEN])
            and len(s[BUSY]) == c.nr_as
            and all(isinstance(b, bool) for b in s[BUSY])
            and len(s[SPTE]) == c.nr_as
            and all(
                len(row) == gfn_count
                and all(x in (SPTE_NONE, SPTE_RAM) or 0 <= x < c.gen_mod for x in row)
                for row in s[SPTE]
            )
            and s[UAS] in c.ases
            and 0 <= s[USTAGE] <= 2
            and s[UPHASE] in PHASES
            and (
                s[UCHANGE] == NO_CHANGE
                or (
                    s[UCHANGE][0] in KINDS
                    and s[UCHANGE][1] in self.gfn_pos
                    and (s[UCHANGE][2] == 0 or s[UCHANGE][2] in self.gfn_pos)
                )
            )
            and 0 <= s[UUPDATES] <= c.max_updates
        )
        return frozenset() if ok else frozenset({"TypeOK"})

    def vcpu_invariants(self, v: tuple) -> frozenset[str]:
        """The invariants whose conjuncts on one vCPU (its entries of the per-vCPU variables and
        of waitFor) V violates."""
        c = self.consts
        bad = set()
        type_ok = (
            v[PC] in PCS
            and v[OUT] in OUTCOMES
            and v[PATH] in PATHS
            and v[DEC] in OUTCOMES
            and isinstance(v[INCS], bool)
            and isinstance(v[WAIT], bool)
            and (v[ACC] == 0 or v[ACC] in self.gfn_pos)
            and (v[MODE] == "none" or v[MODE] in c.modes)
            and 0 <= v[SAW] <= RAM | MMIO
            and (v[CGFN] == 0 or v[CGFN] in self.gfn_pos)
            and 0 <= v[CGEN] <= c.max_gen
            and isinstance(v[CBUSY], bool)
            and (v[SLOC] == SPTE_NONE or 0 <= v[SLOC] < c.gen_mod)
            and 0 <= v[GLGEN] <= c.max_gen
            and isinstance(v[GLBUSY], bool)
        )
        if not type_ok:
            bad.add("TypeOK")
        if v[OUT] != "none" and not _MASK_OF_OUTCOME.get(v[OUT], 0) & v[SAW]:
            bad.add("ObservationsAllowed")
        if v[PATH] in ("cache", "spte") and v[OUT] != v[DEC]:
            bad.add("CachedMmioIsCurrent")
        if v[CBUSY]:
            bad.add("NoCacheWhileBusy")
        if v[PATH] == "cache":
            bad.add("NeverCacheHit")
        if v[PATH] == "spte":
            bad.add("NeverSpteHit")
        return frozenset(bad)
