"""The spec's state: exactly its variables, as an immutable, hashable value.

Why: the reference is the spec's twin, so a State holds the spec's sixteen variables and nothing
else, and an action returns a new State (the spec's primed variables) instead of mutating one.

Representation (positions: see kvm_mmio.config):

==========  ==============================================  ===================================
TLA+        Python                                          indexed by
==========  ==============================================  ===================================
slots       tuple of tuples of "ram" / "none" / "invalid"   AS, then gfn position
gen, busy   tuple of int, tuple of bool                     AS
spte        tuple of tuples of Spte(kind, gen)              AS, then gfn position
cache       tuple of Cache(gfn, gen, busy)                  vCPU position
dec ... path  tuples (saw: of frozensets of outcomes)       vCPU position
upd         Upd(as_, change, stage, phase, wait_for,        (a record; ``as`` is ``as_``,
            updates)                                        ``waitFor`` ``wait_for``)
spteLocal   tuple of Spte                                   vCPU position
genLocal    tuple of Gen(gen, busy)                         vCPU position
==========  ==============================================  ===================================

``state_to_itf`` / ``state_from_itf`` convert a State to and from ITF values (Apalache ADR-015) the
way kvm_mmio_tools.itf writes TLC's states, so both tools' states compare as JSON: every TLA+
function (also those over gfns, which TLC prints as tuples) is a ``{"#map": [[key, value], ...]}``,
records are JSON objects, sets ``{"#set": [...]}``, vCPU ids (TLC model values) plain strings,
integers JSON numbers (``{"#bigint": "..."}`` from 2^53 on).  The spec has no tuple values; when
reading, a ``{"#tup": [...]}`` is accepted for a function over 1..n (the gfns, when Gfns = 1..n),
which is how TLC prints such a function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from kvm_mmio.config import NO_CHANGE, Change, Constants

__all__ = [
    "NO_CACHE",
    "NO_CHANGE",
    "NO_GEN",
    "PCS",
    "PHASES",
    "SPTE_NONE",
    "SPTE_RAM",
    "VARIABLES",
    "VARIABLE_FIELDS",
    "VCPU_VARIABLES",
    "Cache",
    "Change",
    "Gen",
    "Spte",
    "State",
    "Upd",
    "initial_state",
    "no_upd",
    "spte_mmio",
    "state_from_itf",
    "state_to_itf",
]


@attrs.frozen(slots=True)
class Spte:
    """The spec's spte record [kind, gen]: "none", "ram" (gen 0) or "mmio" with its stored gen."""

    kind: str
    gen: int


SPTE_NONE = Spte("none", 0)
SPTE_RAM = Spte("ram", 0)


def spte_mmio(n: int) -> Spte:
    """SpteMmio(n): an MMIO spte that stores generation bits n."""
    return Spte("mmio", n)


@attrs.frozen(slots=True)
class Cache:
    """The per-vCPU MMIO cache [gfn, gen, busy] (gfn 0: empty)."""

    gfn: int
    gen: int
    busy: bool


NO_CACHE = Cache(0, 0, False)


@attrs.frozen(slots=True)
class Gen:
    """A generation as one read of it gives it: [gen, busy] (genLocal's values)."""

    gen: int
    busy: bool


NO_GEN = Gen(0, False)


@attrs.frozen(slots=True)
class Upd:
    """The memslot operation in progress (the spec's record ``upd``)."""

    as_: int
    change: Change
    stage: int
    phase: str
    wait_for: frozenset[str]
    updates: int


def no_upd(updates: int) -> Upd:
    """NoUpd(updates): no operation in progress, ``updates`` installs done so far."""
    return Upd(0, NO_CHANGE, 0, "idle", frozenset(), updates)


PCS = (
    "Idle",
    "HwAccess",
    "CheckCache",
    "ReadMmioGen",
    "GetMmioSpte",
    "CheckSpte",
    "FillFromSpte",
    "Lookup",
    "InstallRam",
    "FillNoSlot",
    "MakeMmioSpte",
    "MarkMmioSpte",
    "Emulate",
    "ReadGuest",
    "EndAccess",
)
PHASES = ("idle", "publish", "sync", "hook", "store", "flush")


@attrs.frozen(slots=True)
class State:
    """One state of the spec: its variables, functions as tuples (see the module's table)."""

    slots: tuple[tuple[str, ...], ...]
    gen: tuple[int, ...]
    busy: tuple[bool, ...]
    spte: tuple[tuple[Spte, ...], ...]
    cache: tuple[Cache, ...]
    dec: tuple[str, ...]
    pc: tuple[str, ...]
    acc: tuple[int, ...]
    mode: tuple[str, ...]
    in_cs: tuple[bool, ...]
    saw: tuple[frozenset[str], ...]
    out: tuple[str, ...]
    path: tuple[str, ...]
    upd: Upd
    spte_local: tuple[Spte, ...]
    gen_local: tuple[Gen, ...]


# TLA+ variable -> State field, in the order of the spec's VARIABLES (= vars).
VARIABLE_FIELDS: dict[str, str] = {
    "slots": "slots",
    "gen": "gen",
    "busy": "busy",
    "spte": "spte",
    "cache": "cache",
    "dec": "dec",
    "pc": "pc",
    "acc": "acc",
    "mode": "mode",
    "inCS": "in_cs",
    "saw": "saw",
    "out": "out",
    "path": "path",
    "upd": "upd",
    "spteLocal": "spte_local",
    "genLocal": "gen_local",
}
VARIABLES = tuple(VARIABLE_FIELDS)
# vcpuVars: the variables a vCPU owns (one entry each).
VCPU_VARIABLES = ("dec", "pc", "acc", "mode", "inCS", "saw", "out", "path", "spteLocal", "genLocal")


def initial_state(consts: Constants) -> State:
    """Init: the initial layout in every AS, each AS at its initial generation, vCPUs idle."""
    layout = tuple("ram" if g in consts.init_ram else "none" for g in consts.gfns)
    n = len(consts.vcpus)
    return State(
        slots=tuple(layout for _ in consts.ases),
        gen=tuple(consts.init_gen_of(a) for a in consts.ases),
        busy=tuple(False for _ in consts.ases),
        spte=tuple(tuple(SPTE_NONE for _ in consts.gfns) for _ in consts.ases),
        cache=(NO_CACHE,) * n,
        dec=("none",) * n,
        pc=("Idle",) * n,
        acc=(0,) * n,
        mode=("none",) * n,
        in_cs=(False,) * n,
        saw=(frozenset(),) * n,
        out=("none",) * n,
        path=("none",) * n,
        upd=no_upd(0),
        spte_local=(SPTE_NONE,) * n,
        gen_local=(NO_GEN,) * n,
    )


# --- ITF ---------------------------------------------------------------------------------------

_SAFE_INTEGER = 2**53


def _int_itf(value: int) -> Any:
    return value if abs(value) < _SAFE_INTEGER else {"#bigint": str(value)}


def _map(pairs: list[tuple[Any, Any]]) -> dict:
    return {"#map": [[key, value] for key, value in pairs]}


def _change_itf(change: Change) -> dict:
    return {"kind": change.kind, "gfn": change.gfn, "to": change.to}


def state_to_itf(consts: Constants, state: State) -> dict[str, Any]:
    """The state as ITF values by TLA+ variable name, in the spec's variable order."""

    def per_as(values: tuple, item: Callable[[Any], Any]) -> dict:
        return _map([(a, item(values[a])) for a in consts.ases])

    def per_gfn(values: tuple, item: Callable[[Any], Any]) -> dict:
        return _map([(g, item(values[i])) for i, g in enumerate(consts.gfns)])

    def per_vcpu(values: tuple, item: Callable[[Any], Any] = lambda x: x) -> dict:
        return _map([(v, item(values[i])) for i, v in enumerate(consts.vcpus)])

    def spte(s: Spte) -> dict:
        return {"kind": s.kind, "gen": _int_itf(s.gen)}

    upd = state.upd
    return {
        "slots": per_as(state.slots, lambda layout: per_gfn(layout, lambda s: s)),
        "gen": per_as(state.gen, _int_itf),
        "busy": per_as(state.busy, lambda b: b),
        "spte": per_as(state.spte, lambda row: per_gfn(row, spte)),
        "cache": per_vcpu(
            state.cache, lambda c: {"gfn": c.gfn, "gen": _int_itf(c.gen), "busy": c.busy}
        ),
        "dec": per_vcpu(state.dec),
        "pc": per_vcpu(state.pc),
        "acc": per_vcpu(state.acc),
        "mode": per_vcpu(state.mode),
        "inCS": per_vcpu(state.in_cs),
        "saw": per_vcpu(state.saw, lambda s: {"#set": sorted(s)}),
        "out": per_vcpu(state.out),
        "path": per_vcpu(state.path),
        "upd": {
            "as": upd.as_,
            "change": _change_itf(upd.change),
            "stage": upd.stage,
            "phase": upd.phase,
            "waitFor": {"#set": sorted(upd.wait_for)},
            "updates": upd.updates,
        },
        "spteLocal": per_vcpu(state.spte_local, spte),
        "genLocal": per_vcpu(state.gen_local, lambda g: {"gen": _int_itf(g.gen), "busy": g.busy}),
    }


class _Reader:
    """Decodes one ITF state, checking its shape; errors name the place (``states[3].spte[0]``)."""

    def __init__(self, consts: Constants):
        self.consts = consts

    @staticmethod
    def fail(where: str, reason: str) -> ValueError:
        return ValueError(f"{where}: {reason}")

    def integer(self, value: Any, where: str) -> int:
        if isinstance(value, dict) and set(value) == {"#bigint"}:
            text = value["#bigint"]
            if isinstance(text, str) and text.lstrip("-").isdigit():
                return int(text)
            raise self.fail(where, f"malformed #bigint {text!r}")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise self.fail(where, f"expected an integer, got {value!r}")

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, f"expected a string, got {value!r}")
        return value

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, f"expected a boolean, got {value!r}")
        return value

    def set_of(self, value: Any, where: str, item: Callable[[Any, str], Any]) -> frozenset:
        if (
            not isinstance(value, dict)
            or set(value) != {"#set"}
            or not isinstance(value["#set"], list)
        ):
            raise self.fail(where, f'expected a set {{"#set": [...]}}, got {value!r}')
        return frozenset(item(x, f"{where}[{i}]") for i, x in enumerate(value["#set"]))

    def function(
        self, value: Any, where: str, domain: tuple, item: Callable[[Any, str], Any]
    ) -> tuple:
        """A TLA+ function over ``domain`` as the tuple of its values in domain order.  A
        ``{"#tup": [...]}`` is accepted for a function over 1..n (TLC prints those as tuples)."""
        if isinstance(value, dict) and set(value) == {"#tup"} and isinstance(value["#tup"], list):
            if tuple(domain) != tuple(range(1, len(value["#tup"]) + 1)):
                raise self.fail(
                    where, f"a #tup is a function over 1..n; domain must be {list(domain)}"
                )
            return tuple(item(x, f"{where}[{i}]") for i, x in enumerate(value["#tup"], 1))
        if (
            not isinstance(value, dict)
            or set(value) != {"#map"}
            or not isinstance(value["#map"], list)
        ):
            raise self.fail(
                where, f'expected a function {{"#map": [[key, value], ...]}}, got {value!r}'
            )
        entries: dict[Any, Any] = {}
        for pair in value["#map"]:
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.fail(where, f"a #map entry must be a [key, value] pair, got {pair!r}")
            key = pair[0]
            if isinstance(key, dict):
                raise self.fail(where, f"unexpected key {key!r}")
            if key in entries:
                raise self.fail(where, f"key {key!r} appears twice")
            entries[key] = pair[1]
        if set(entries) != set(domain) or any(isinstance(k, bool) for k in entries):
            raise self.fail(
                where, f"domain must be {sorted(domain)}, got {sorted(map(str, entries))}"
            )
        return tuple(item(entries[key], f"{where}[{key}]") for key in domain)

    def record(self, value: Any, where: str, fields: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, dict) or set(value) != set(fields):
            got = sorted(value) if isinstance(value, dict) else value
            raise self.fail(where, f"expected a record with fields {list(fields)}, got {got!r}")
        return value

    def spte(self, value: Any, where: str) -> Spte:
        fields = self.record(value, where, ("kind", "gen"))
        return Spte(
            self.string(fields["kind"], f"{where}.kind"),
            self.integer(fields["gen"], f"{where}.gen"),
        )

    def cache(self, value: Any, where: str) -> Cache:
        fields = self.record(value, where, ("gfn", "gen", "busy"))
        return Cache(
            self.integer(fields["gfn"], f"{where}.gfn"),
            self.integer(fields["gen"], f"{where}.gen"),
            self.boolean(fields["busy"], f"{where}.busy"),
        )

    def gen(self, value: Any, where: str) -> Gen:
        fields = self.record(value, where, ("gen", "busy"))
        return Gen(
            self.integer(fields["gen"], f"{where}.gen"),
            self.boolean(fields["busy"], f"{where}.busy"),
        )

    def change(self, value: Any, where: str) -> Change:
        fields = self.record(value, where, ("kind", "gfn", "to"))
        return Change(
            self.string(fields["kind"], f"{where}.kind"),
            self.integer(fields["gfn"], f"{where}.gfn"),
            self.integer(fields["to"], f"{where}.to"),
        )

    def upd(self, value: Any, where: str) -> Upd:
        fields = self.record(value, where, ("as", "change", "stage", "phase", "waitFor", "updates"))
        return Upd(
            as_=self.integer(fields["as"], f"{where}.as"),
            change=self.change(fields["change"], f"{where}.change"),
            stage=self.integer(fields["stage"], f"{where}.stage"),
            phase=self.string(fields["phase"], f"{where}.phase"),
            wait_for=self.set_of(fields["waitFor"], f"{where}.waitFor", self.string),
            updates=self.integer(fields["updates"], f"{where}.updates"),
        )

    def state(self, values: Mapping[str, Any], where: str) -> State:
        if not isinstance(values, Mapping):
            raise self.fail(where, f"expected an object of variables, got {values!r}")
        missing = [name for name in VARIABLES if name not in values]
        if missing:
            raise self.fail(where, f"missing variable(s) {', '.join(missing)}")
        unknown = sorted(str(k) for k in values if k not in VARIABLE_FIELDS and k[:1] != "#")
        if unknown:
            raise self.fail(where, f"unknown variable(s) {', '.join(unknown)}")
        c = self.consts

        def at(name: str) -> tuple[Any, str]:
            return values[name], f"{where}.{name}"

        def per_as(name: str, item: Callable[[Any, str], Any]) -> tuple:
            return self.function(*at(name), c.ases, item)

        def per_gfn(item: Callable[[Any, str], Any]) -> Callable[[Any, str], tuple]:
            return lambda value, place: self.function(value, place, c.gfns, item)

        def per_vcpu(name: str, item: Callable[[Any, str], Any]) -> tuple:
            return self.function(*at(name), c.vcpus, item)

        return State(
            slots=per_as("slots", per_gfn(self.string)),
            gen=per_as("gen", self.integer),
            busy=per_as("busy", self.boolean),
            spte=per_as("spte", per_gfn(self.spte)),
            cache=per_vcpu("cache", self.cache),
            dec=per_vcpu("dec", self.string),
            pc=per_vcpu("pc", self.string),
            acc=per_vcpu("acc", self.integer),
            mode=per_vcpu("mode", self.string),
            in_cs=per_vcpu("inCS", self.boolean),
            saw=per_vcpu("saw", lambda v, w: self.set_of(v, w, self.string)),
            out=per_vcpu("out", self.string),
            path=per_vcpu("path", self.string),
            upd=self.upd(*at("upd")),
            spte_local=per_vcpu("spteLocal", self.spte),
            gen_local=per_vcpu("genLocal", self.gen),
        )


def state_from_itf(consts: Constants, values: Mapping[str, Any], where: str = "state") -> State:
    """A State from ITF values by TLA+ variable name (keys starting with '#' are ignored).  A value
    of the wrong shape or a function over the wrong domain is a ValueError naming the place."""
    return _Reader(consts).state(values, where)
