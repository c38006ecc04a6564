"""Operations that cross the MMIO generation wrap in every kernel profile, reading frames on both
sides of it: the sequences of the operations vectors' `wrap:` cases.

Why: an MMIO spte keeps only the low GenBits of its generation, so the kernel zaps every spte
when the MMIO generation wraps (kvm_mmu_invalidate_mmio_sptes), and the wrap test has its own
history of bugs (one address space only, tested on the wrong value, no zap at all). None of that
shows unless a case gets there, which takes 2^18 installs of an address space in v6, 2^19 with
one address space (the live host) and 37 or 38 in the seed's tree; and it shows only to an
implementation that reads a frame just before and just after the wrapping install: a RAM page
mapped before the wrap is mapped by the hardware until the zap and faults again after it. A
wrong generation width moves the wrap (18 bits: the read before it already faults; 20 bits: the
read after it still hits), a wrap tested one install late or not at all leaves the mapping.

Each sequence primes the vCPUs (every vCPU reads gfn 1, a RAM slot, and gfn 2, no slot, twice:
mapped, and an MMIO spte or cache entry), runs flags-only changes of gfn 1 in one address space
up to the install before the wrap (one repeated operation, repeat.py), reads gfn 1 (and gfn 2)
with every vCPU, makes the wrapping install, and reads again. The "create" variant creates the
slot at gfn 2 first, so that the MMIO spte primed there is stale, and after the wrap goes on to
the generation whose low bits equal that spte's: without the zap it would be taken as current
and the read of a page that has memory would exit as MMIO.
"""

from __future__ import annotations

from typing import Any

from kvm_mmio.vm import Vm, kernel_constants
from kvm_mmio_conformance.casekit import Setting
from kvm_mmio_conformance.model_wire import access_operation, memslot_operation, perform
from kvm_mmio_conformance.repeat import first_wrap

__all__ = ["VARIANTS", "wrap_operations", "wrap_settings"]

RAM_GFN, HOLE_GFN = 1, 2
VARIANTS = ("across", "create")
# Further than any wrap of the kernel profiles (2^19 installs).
_HORIZON = 2**21


def wrap_settings() -> list[tuple[Setting, tuple[int, ...]]]:
    """Each kernel profile, with the address spaces whose wrap is crossed: two vCPUs where the
    profile has SMM (v1 in address space 0, v2 in address space 1), so that a wrap of either
    is read in both."""

    def setting(profile: str, about: str, **layout: Any) -> Setting:
        consts = kernel_constants(profile, gfns=(RAM_GFN, HOLE_GFN), init_ram=(RAM_GFN,), **layout)
        return Setting(f"{profile}-wrap", consts, kernel=profile, about=about)

    return [
        (setting("live-host", "the live host: one vCPU, one address space"), (0,)),
        (
            setting(
                "v6",
                "v6 with MMIO caching: v1 in address space 0, v2 in SMM",
                vcpus=("v1", "v2"),
                smm_vcpus=("v2",),
            ),
            (0, 1),
        ),
        (
            setting(
                "v5.0-seed",
                "the seed's tree (InitGen 2^64 - 150): v1 in address space 0, v2 in SMM",
                vcpus=("v1", "v2"),
                smm_vcpus=("v2",),
            ),
            (0, 1),
        ),
    ]


class _Builder:
    """Operations appended and performed on a reference VM, which says where the wrap is."""

    def __init__(self, setting: Setting):
        self.consts = setting.constants
        self.vm = Vm(self.consts)
        self.ops: list[dict[str, Any]] = []

    def do(self, operation: dict[str, Any]) -> None:
        perform(self.vm, operation)
        self.ops.append(operation)

    def reads(self, gfns: tuple[int, ...], vcpus: tuple[str, ...] | None = None) -> None:
        for v in self.consts.vcpus if vcpus is None else vcpus:
            for g in gfns:
                self.do(access_operation(v, g, "native"))

    def flags(self, a: int, times: int) -> None:
        if times:
            self.do({**memslot_operation("flags", a, RAM_GFN), "repeat": times})

    def installs_to_wrap(self, a: int) -> int:
        """How many installs of address space `a` from here the wrapping one is (1: the next)."""
        wrap = first_wrap(self.consts, self.vm.state.gen[a], self.consts.gen_step, _HORIZON)
        if wrap is None:
            raise AssertionError(f"no MMIO generation wrap within {_HORIZON} installs")
        return wrap

    def installs_to_alias(self, a: int, stored: int) -> int:
        """How many installs of `a` from here until the generation's low bits equal `stored`."""
        consts, gen = self.consts, self.vm.state.gen[a]
        for count in range(consts.gen_mod // consts.gen_step + 1):
            if (gen + count * consts.gen_step) % consts.gen_mod == stored:
                return count
        raise AssertionError(f"generation bits {stored} never come back in address space {a}")


def wrap_operations(setting: Setting, a: int, variant: str) -> list[dict[str, Any]]:
    """The operations of one wrap case: address space `a`'s MMIO generation wraps (see the
    module's docstring for the two variants)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {', '.join(VARIANTS)}, got {variant!r}")
    build = _Builder(setting)
    consts = build.consts
    build.reads((RAM_GFN, RAM_GFN, HOLE_GFN, HOLE_GFN))
    probe = (RAM_GFN, HOLE_GFN) if variant == "across" else (RAM_GFN,)
    primed = build.vm.state.spte[a][consts.gfn_index(HOLE_GFN)]
    if variant == "create":
        build.do(memslot_operation("create", a, HOLE_GFN))
    build.flags(a, build.installs_to_wrap(a) - 1)
    build.reads(probe)
    build.flags(a, 1)
    build.reads(probe)
    if variant == "create":
        if primed.kind == "mmio":
            build.flags(a, build.installs_to_alias(a, primed.gen))
        readers = tuple(v for v in consts.vcpus if consts.vcpu_as(v) == a)
        build.reads((HOLE_GFN, HOLE_GFN), readers)
    return build.ops
