"""A conformance config (reset's payload) as a VM this kernel can build, or why it cannot be.

Why a module of its own: the config speaks the spec's language (TLA+ constants: vCPU names, small
gfns, InitRam) and the kernel speaks slots and guest physical addresses; this is the one place
that translates, and the one place that says, in one line, why a config does not describe this
host (../shared/KVM_LIVE.md) so that reset can refuse it instead of running something else.

The layout constants (Vcpus, Gfns, InitRam) are free; every other constant must be what the
reference's `live-host` profile says this kernel is (kvm_mmio.vm.kernel_constants), except
MaxUpdates (a bound for model checking only) and Modes (any subset of the host's two).

Spec gfn g lives at kernel gfn GFN_BASE + GFN_STRIDE * g. The stride keeps every memslot of a
config alone in its aligned group of PTE_PREFETCH_NUM (8) guest ptes: a page fault on one gfn
makes KVM's shadow MMU prefetch sptes for the other gptes of that group that have a memslot
(FNAME(pte_prefetch) in arch/x86/kvm/mmu/paging_tmpl.h, torvalds/linux 037dd1308c6d), which
the spec does not model; with nothing else in the group, a gfn gets an spte only from its own
fault, as in the spec.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kvm_mmio.vm import kernel_constants

from .guest import FIRST_FREE_GFN, MAPPED_BYTES
from .vm import PAGE_SIZE

__all__ = [
    "GFN_BASE",
    "GFN_STRIDE",
    "HOST_PROFILE",
    "MAX_GFN",
    "MAX_VCPUS",
    "Layout",
    "layout_from_config",
]

HOST_PROFILE = "live-host"
GFN_BASE = 2 * FIRST_FREE_GFN  # 0x400: clear of the guest's own pages
GFN_STRIDE = 16  # >= 8 (PTE_PREFETCH_NUM) and a multiple of it: one memslot per prefetch group
MAX_GFN = (MAPPED_BYTES // PAGE_SIZE - GFN_BASE) // GFN_STRIDE - 1  # 959: still identity-mapped
MAX_VCPUS = 8  # each vCPU has a watchdog thread; the spec's models use one or two
LAYOUT_CONSTANTS = ("Vcpus", "Gfns", "InitRam")
FREE_CONSTANTS = ("MaxUpdates", "Modes")


@dataclass(frozen=True, slots=True)
class Layout:
    """The VM a config asks for: vCPU names (in KVM vCPU id order), spec gfns, initial RAM."""

    vcpus: tuple[str, ...]
    gfns: tuple[int, ...]
    init_ram: tuple[int, ...]

    def kernel_gfn(self, g: int) -> int:
        """Where spec gfn `g` lives in the guest (ValueError naming Gfns if it is not one)."""
        if isinstance(g, bool) or g not in self.gfns:
            raise ValueError(f"gfn {g!r} is not one of Gfns {list(self.gfns)}")
        return GFN_BASE + GFN_STRIDE * g

    def vcpu_index(self, v: str) -> int:
        """The KVM vCPU id of vCPU `v` (ValueError naming Vcpus if it is not one)."""
        if v not in self.vcpus:
            raise ValueError(f"vcpu {v!r} is not one of Vcpus {list(self.vcpus)}")
        return self.vcpus.index(v)


def layout_from_config(config: Any) -> Layout:
    """The layout of a reset config; ValueError with one line saying what this host cannot be."""
    if not isinstance(config, Mapping) or not isinstance(config.get("constants"), Mapping):
        raise ValueError('config: expected {"constants": {...}, ...}')
    kernel = config.get("kernel")
    if kernel is not None and kernel != HOST_PROFILE:
        raise ValueError(f"config: kernel {kernel!r}: this is the {HOST_PROFILE!r} kernel")
    constants = config["constants"]
    missing = [name for name in LAYOUT_CONSTANTS if name not in constants]
    if missing:
        raise ValueError(f"config: constants lack {', '.join(missing)}")
    vcpus = _names(constants["Vcpus"])
    gfns = _gfns("Gfns", constants["Gfns"])
    init_ram = _gfns("InitRam", constants["InitRam"])
    outside = sorted(set(init_ram) - set(gfns))
    if outside:
        raise ValueError(f"config: InitRam {outside} not in Gfns {list(gfns)}")
    host = kernel_constants(HOST_PROFILE, vcpus=vcpus, gfns=gfns, init_ram=init_ram).as_tla()
    for name, value in constants.items():
        if name in LAYOUT_CONSTANTS or name == "MaxUpdates":
            continue
        if name not in host:
            raise ValueError(f"config: unknown constant {name!r}")
        if name == "Modes":
            modes = _list("Modes", value)
            if not all(isinstance(mode, str) for mode in modes):
                raise ValueError(f"config: Modes must be strings, got {_show(value)}")
            extra = sorted(set(modes) - set(host["Modes"]))
            if extra:
                raise ValueError(f"config: Modes {extra}: this host runs {host['Modes']} only")
        elif not _same(value, host[name]):
            raise ValueError(
                f"config: {name} = {_show(value)}, but this host has {name} = {_show(host[name])} "
                f"(../shared/KVM_LIVE.md, profile {HOST_PROFILE})"
            )
    return Layout(vcpus, gfns, init_ram)


def _list(name: str, value: Any) -> list:
    if not isinstance(value, list):
        raise ValueError(f"config: {name} must be a list, got {_show(value)}")
    return value


def _names(value: Any) -> tuple[str, ...]:
    names = _list("Vcpus", value)
    named = bool(names) and all(isinstance(v, str) and v for v in names)
    if not named or len(set(names)) < len(names):
        raise ValueError(f"config: Vcpus must be distinct names, got {_show(value)}")
    if len(names) > MAX_VCPUS:
        raise ValueError(f"config: {len(names)} Vcpus; this adapter runs at most {MAX_VCPUS}")
    return tuple(sorted(names))


def _gfns(name: str, value: Any) -> tuple[int, ...]:
    gfns = _list(name, value)
    for g in gfns:
        if isinstance(g, bool) or not isinstance(g, int) or not 1 <= g <= MAX_GFN:
            raise ValueError(f"config: {name} has {_show(g)}; gfns here are 1..{MAX_GFN}")
    if len(set(gfns)) != len(gfns):
        raise ValueError(f"config: {name} repeats a gfn: {_show(value)}")
    return tuple(sorted(gfns))


def _same(value: Any, host: Any) -> bool:
    """Config values as the README writes them: hex strings for 64-bit values, lists for sets."""
    if isinstance(value, str) and value.lower().startswith("0x") and isinstance(host, int):
        try:
            return int(value, 16) == host
        except ValueError:
            return False
    if isinstance(value, list) and isinstance(host, list):
        return sorted(map(str, value)) == sorted(map(str, host))
    return type(value) is type(host) and value == host


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return repr(value)
