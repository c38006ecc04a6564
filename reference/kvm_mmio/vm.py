"""A simulated KVM VM that follows the spec, for other projects.

Build one from a model of spec/models (``Vm.from_model("safe")``) or from a kernel profile
(``Vm.from_kernel("live-host")``: the machine of shared/KVM_LIVE.md), then either take the spec's
steps one at a time (``step("BeginAccess", v="v1", g=2, m="native")``), or run whole operations:
``create(g)``, ``delete(g)``, ``move(g, to)``, ``set_flags(g)`` (a memslot operation from its first
Publish to its end) and ``access(v, g)`` (one guest access, observed as outcome and path).  The
kernel's 64-bit generation of an address space is ``generation(a)``.  An action that is not
enabled raises ActionNotEnabled (a ValueError) that says what is enabled instead; nothing changes.

Whole operations never interleave: an access runs with the updater standing still and an operation
runs with every vCPU idle, so what they return is the kernel's sequential behaviour.  For races,
interleave ``step`` calls (``history`` records every step, ``to_itf`` writes it as ITF).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from kvm_mmio.actions import apply, successors, updater_step
from kvm_mmio.config import Change, Constants, load_model
from kvm_mmio.generation import U64_MASK, kernel_generation
from kvm_mmio.state import State, initial_state
from kvm_mmio.trace import Step, write_itf

__all__ = [
    "KERNEL_PROFILES",
    "ActionNotEnabled",
    "Observation",
    "OperationResult",
    "Vm",
    "kernel_constants",
]

# A bound no simulation reaches: MaxUpdates only keeps model checking finite.
UNBOUNDED_UPDATES = 2**62
# An access or operation that needs more steps than this is blocked (e.g. a vCPU retrying on an
# INVALID slot while the operation that made it INVALID is itself half done).
STEP_LIMIT = 1000

_KERNEL_FIXES = {
    "fix_cache_gen": True,
    "fix_in_progress": True,
    "fix_hook_first": True,
    "fix_wrap_any_as": True,
    "fix_no_cache_in_flux": True,
    "zap_on_wrap": True,
    "flush_on_delete": True,
    "fix_no_spte_in_flux": False,
    "fix_cache_own_as": False,
    "fix_gen_before_walk": False,
}

# Kernel configurations, as the constants of the spec (generations, flush and fault behaviour).
KERNEL_PROFILES: dict[str, dict[str, Any]] = {
    # shared/KVM_LIVE.md: Linux 6.18, kvm.mmio_caching=N, one AS, SLOT_ZAP_ALL (the default),
    # faults on INVALID slots retry (e0c378684b65); CPL3 native and CPL0 emulated accesses.
    "live-host": {
        "era": "B",
        "nr_as": 1,
        "gen_bits": 19,
        "init_gen": 0,
        "modes": ("emulated", "native"),
        "invalid_retries": True,
        "mmio_sptes": False,
        "flush_zaps_all": True,
    },
    # v5.13 .. v6.x with MMIO caching on, SMM (two AS), the SLOT_ZAP_ALL default.
    "v6": {
        "era": "B",
        "nr_as": 2,
        "gen_bits": 19,
        "init_gen": 0,
        "modes": ("emulated", "native"),
        "invalid_retries": True,
        "mmio_sptes": True,
        "flush_zaps_all": True,
    },
    # The seed's tree (the 2019 series on v5.0): bit-0 in-progress mark, generations from
    # i * 2 - 150 (virt/kvm/kvm_main.c, kvm_create_vm), per-slot flush, INVALID becomes MMIO.
    "v5.0-seed": {
        "era": "A",
        "nr_as": 2,
        "gen_bits": 20,
        "init_gen": 2**64 - 150,
        "modes": ("emulated", "native"),
        "invalid_retries": False,
        "mmio_sptes": True,
        "flush_zaps_all": False,
    },
}


def kernel_constants(
    profile: str,
    *,
    vcpus: Sequence[str] = ("v1",),
    gfns: Sequence[int] = (1, 2),
    init_ram: Sequence[int] = (1,),
    smm_vcpus: Sequence[str] = (),
) -> Constants:
    """The constants of a kernel profile (KERNEL_PROFILES) for these vCPUs and gfns."""
    if profile not in KERNEL_PROFILES:
        known = ", ".join(KERNEL_PROFILES)
        raise ValueError(f"profile: must be one of {known}, got {profile!r}")
    return Constants(
        vcpus=tuple(vcpus),
        gfns=tuple(gfns),
        init_ram=frozenset(init_ram),
        smm_vcpus=frozenset(smm_vcpus),
        max_updates=UNBOUNDED_UPDATES,
        **KERNEL_PROFILES[profile],
        **_KERNEL_FIXES,
    )


class ActionNotEnabled(ValueError):
    """The requested step is not enabled in the current state."""


@attrs.frozen
class Observation:
    """One access as a guest and its observer see it: the outcome ("ram" for a memory access,
    "mmio" for an MMIO exit), how KVM decided it ("hw", "cache", "spte", "slow", "emulator"), and
    the outcomes the user contract allowed during it."""

    v: str
    g: int
    m: str
    outcome: str
    path: str
    allowed: frozenset[str]


@attrs.frozen
class OperationResult:
    """One memslot operation: the kernel's generation of its AS before and after (64-bit values),
    and the number of memslot installs it made (2 for DELETE/MOVE, else 1)."""

    change: Change
    a: int
    generation_before: int
    generation_after: int
    installs: int


class Vm:
    """A VM of the spec: its constants, its current state, and every step taken so far."""

    def __init__(self, constants: Constants, state: State | None = None, *, name: str = "vm"):
        self.name = name
        self.constants = constants
        self.state = state if state is not None else initial_state(constants)
        self.history: list[Step] = [Step(self.state)]

    @classmethod
    def from_model(cls, name: str) -> Vm:
        """A VM with the constants of model ``name`` of spec/models."""
        return cls(load_model(name).constants, name=name)

    @classmethod
    def from_kernel(cls, profile: str, **layout: Any) -> Vm:
        """A VM of a kernel profile (see kernel_constants for the layout keywords)."""
        return cls(kernel_constants(profile, **layout), name=f"kernel:{profile}")

    # -- single steps -----------------------------------------------------------------------

    def enabled(self) -> list[tuple[str, dict[str, Any]]]:
        """Every step that may be taken now: (TLA+ action name, parameters)."""
        return [(action, params) for action, params, _ in successors(self.constants, self.state)]

    def step(self, action: str, **params: Any) -> State:
        """Take one step of the spec; ActionNotEnabled (nothing changes) if it is not enabled."""
        after = apply(self.constants, self.state, action, params)
        if after is None:
            enabled = ", ".join(_describe(a, p) for a, p in self.enabled()) or "nothing"
            raise ActionNotEnabled(
                f"{_describe(action, params)} is not enabled now; enabled: {enabled}"
            )
        self.state = after
        self.history.append(Step(after, action, dict(params)))
        return after

    # -- whole operations -------------------------------------------------------------------

    def access(self, v: str, g: int, m: str = "native") -> Observation:
        """One whole access by vCPU v to gfn g, with the updater standing still."""
        i = self.constants.vcpu_index(v)
        self.step("BeginAccess", v=v, g=g, m=m)
        for _ in range(STEP_LIMIT):
            pc = self.state.pc[i]
            if pc == "EndAccess":
                observation = Observation(
                    v, g, m, self.state.out[i], self.state.path[i], self.state.saw[i]
                )
                self.step("EndAccess", v=v)
                return observation
            self.step(pc, v=v)
        raise ActionNotEnabled(
            f"the access of {v} to gfn {g} does not finish on its own (it retries on an INVALID "
            "slot): finish the memslot operation in progress first"
        )

    def memslot(self, kind: str, g: int, to: int = 0, a: int = 0) -> OperationResult:
        """One whole memslot operation in address space a, with every vCPU idle."""
        busy = [
            v for v, pc in zip(self.constants.vcpus, self.state.pc, strict=True) if pc != "Idle"
        ]
        if busy:
            raise ActionNotEnabled(
                f"vCPUs {', '.join(busy)} are inside an access: finish them (access or step) "
                "before a whole memslot operation, or interleave with step()"
            )
        change = Change(kind, g, to)
        before = self.generation(a)
        updates = self.state.upd.updates
        self.step("Publish", a=a, c={"kind": kind, "gfn": g, "to": to})
        while self.state.upd.phase != "idle":
            action, _ = updater_step(self.constants, self.state) or (None, None)
            if action is None:
                raise ActionNotEnabled(f"the operation {kind} of gfn {g} is blocked")
            params = (
                {"a": a, "c": {"kind": kind, "gfn": g, "to": to}} if action == "Publish" else {}
            )
            self.step(action, **params)
        return OperationResult(
            change, a, before, self.generation(a), self.state.upd.updates - updates
        )

    def create(self, g: int, a: int = 0) -> OperationResult:
        """KVM_SET_USER_MEMORY_REGION creating a RAM slot at gfn g."""
        return self.memslot("create", g, a=a)

    def delete(self, g: int, a: int = 0) -> OperationResult:
        """Deleting the slot at gfn g (two installs: INVALID, then gone)."""
        return self.memslot("delete", g, a=a)

    def move(self, g: int, to: int, a: int = 0) -> OperationResult:
        """Moving the slot at gfn g to gfn ``to`` (two installs)."""
        return self.memslot("move", g, to, a=a)

    def set_flags(self, g: int, a: int = 0) -> OperationResult:
        """A flags-only change of the slot at gfn g (e.g. dirty logging on or off)."""
        return self.memslot("flags", g, a=a)

    # -- what an observer can read ----------------------------------------------------------

    def generation(self, a: int = 0) -> int:
        """The kernel's memslots generation of address space a (with its in-progress mark).
        The spec's generation is an unbounded number; the kernel's is a u64 (struct kvm_memslots,
        include/linux/kvm_host.h), so it wraps: v5.0's start at -150 reaches 2^64 in 75 installs."""
        value = self.state.gen[a] & U64_MASK
        return kernel_generation(self.constants.era, value, self.state.busy[a])

    def memslots(self, a: int = 0) -> dict[int, str]:
        """The published layout of address space a: gfn -> "ram", "none" or "invalid"."""
        return dict(zip(self.constants.gfns, self.state.slots[a], strict=True))

    def to_itf(self, *, description: str = "kvm_mmio.vm history") -> dict:
        """Every state so far, with the step that led to it, as an ITF document."""
        return write_itf(self.constants, self.history, model=self.name, description=description)


def _describe(action: str, params: Mapping[str, Any]) -> str:
    if action == "Publish" and isinstance(params.get("c"), Mapping):
        c = params["c"]
        return f"Publish(a={params.get('a')}, {c.get('kind')} gfn {c.get('gfn')}->{c.get('to')})"
    inside = ", ".join(f"{name}={value!r}" for name, value in params.items())
    return f"{action}({inside})" if params else action
