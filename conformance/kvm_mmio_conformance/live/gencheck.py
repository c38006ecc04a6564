"""Check 1: memslot generation arithmetic, kernel against reference, through the wrap zap.

Why: the generation is not visible from userspace, but its wrap is (kvm_mmu_zap_all_fast, see
generation.py). After a prefix of operations, the number of flags-only updates until that zap is
2^19 minus where the prefix left the generation, so it tests every increment the prefix made:
create +1, delete and move +2, flags-only +1, a re-set or a refused operation +0. The reference
runs the same prefix (kvm_mmio.vm, the "live-host" profile) and predicts the number from its own
generation and the era's wrap rule (kvm_mmio.generation.wraps); it also predicts the zaps of the
prefix itself (every DELETE/MOVE flush zaps everything with FlushZapsAll). The prefixes stay far
below the wrap, so no wrap zap falls inside one.

The kernel side runs on a VM without vCPUs (nothing but the prefix touches the generation).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from kvm_mmio.generation import U64_MASK, gen_step, mmio_gen_bits, wraps
from kvm_mmio.vm import Vm as ReferenceVm

from .generation import measure_generation_wrap
from .operations import Applied, KernelMemslots, MemslotOp, apply_to_reference, gfns_of
from .vm import Vm

__all__ = [
    "DEFAULT_PREFIXES",
    "FULL_PREFIXES",
    "GenerationCheck",
    "Prefix",
    "ReferencePrefix",
    "WrapRow",
    "predicted_updates_until_wrap",
    "reference_prefix",
    "run_generation_check",
]

log = structlog.get_logger()

PROFILE = "live-host"
A, B, C = 0x600, 0x610, 0x620  # gfns of the prefixes' slots (any free gfns would do)


@dataclass(frozen=True, slots=True)
class Prefix:
    """Operations to run first, then the gfn whose slot's flags are toggled until the wrap."""

    name: str
    ops: tuple[MemslotOp, ...]
    toggle: int


DEFAULT_PREFIXES = (
    Prefix("create", (MemslotOp("create", A),), A),
    Prefix(
        "create, move, refused create and delete",
        (
            MemslotOp("create", A),
            MemslotOp("create", B),
            MemslotOp("move", B, C),
            MemslotOp("create", A),  # overlaps A: EEXIST
            MemslotOp("delete", B),  # B moved away: no slot there, EINVAL
        ),
        A,
    ),
)
FULL_PREFIXES = (
    *DEFAULT_PREFIXES,
    Prefix(
        "flags-only and identical re-set",
        (
            MemslotOp("create", A),
            MemslotOp("flags", A),
            MemslotOp("flags", A),
            MemslotOp("reset", A),
        ),
        A,
    ),
    Prefix(
        "delete, move away and back",
        (
            MemslotOp("create", A),
            MemslotOp("create", B),
            MemslotOp("delete", A),
            MemslotOp("delete", A),  # already gone: EINVAL
            MemslotOp("move", B, C),
            MemslotOp("move", C, B),
        ),
        B,
    ),
    Prefix(
        "every kind",
        (
            MemslotOp("create", A),
            MemslotOp("create", B),
            MemslotOp("create", C),
            MemslotOp("delete", C),
            MemslotOp("flags", B),
            MemslotOp("move", B, A),  # A is taken: EEXIST
            MemslotOp("reset", A),
        ),
        B,
    ),
)


def predicted_updates_until_wrap(era: str, nr_as: int, generation: int) -> int:
    """How many more installs (each adding GenStep) until one whose final generation wraps
    (kvm_mmio.generation.wraps), the wrap-zap update included.

    The MMIO generation wraps when its value modulo 2^bits falls below GenStep (era B: the
    address-space bits are cleared; era A: bit 0, the mark, too), so the first wrapping install
    is the first to cross a multiple of 2^bits.
    """
    step = gen_step(era, nr_as)
    period = 1 << mmio_gen_bits(era)
    updates = -(-(period - generation % period) // step)  # ceiling division
    if not wraps(era, (generation + updates * step) & U64_MASK, nr_as) or (
        updates > 1 and wraps(era, (generation + (updates - 1) * step) & U64_MASK, nr_as)
    ):
        raise RuntimeError(f"kvm_mmio.generation.wraps disagrees at {generation} + {updates}")
    return updates


@dataclass(frozen=True, slots=True)
class ReferencePrefix:
    """The reference after a prefix: which operations it accepted, its generation, its zaps."""

    accepted: tuple[bool, ...]
    generation: int
    zaps: int
    updates_until_wrap: int


def reference_prefix(prefix: Prefix) -> ReferencePrefix:
    """Run `prefix` on the reference's live-host VM and predict what the kernel will show."""
    vm = ReferenceVm.from_kernel(PROFILE, gfns=gfns_of(prefix.ops), init_ram=())
    accepted = tuple(apply_to_reference(vm, op) for op in prefix.ops)
    consts = vm.constants
    flushes = sum(step.action == "FlushSlot" for step in vm.history)
    zaps = flushes if consts.flush_on_delete and consts.flush_zaps_all else 0
    generation = vm.generation()
    return ReferencePrefix(
        accepted,
        generation,
        zaps,
        predicted_updates_until_wrap(consts.era, consts.nr_as, generation),
    )


@dataclass(frozen=True, slots=True)
class WrapRow:
    """One prefix on both sides: acceptance of each operation, the prefix's zap-all events and
    the flags-only updates until the wrap zap (kernel: None if it did not come within the cap)."""

    prefix: Prefix
    kernel: tuple[Applied, ...]
    reference: ReferencePrefix
    kernel_zaps: int
    kernel_updates_until_wrap: int | None
    seconds: float

    @property
    def ok(self) -> bool:
        return (
            tuple(applied.accepted for applied in self.kernel) == self.reference.accepted
            and self.kernel_zaps == self.reference.zaps
            and self.kernel_updates_until_wrap == self.reference.updates_until_wrap
        )


@dataclass(frozen=True, slots=True)
class GenerationCheck:
    rows: tuple[WrapRow, ...]

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)


def run_generation_check(
    prefixes: tuple[Prefix, ...] = DEFAULT_PREFIXES,
    *,
    progress: Callable[[Prefix, int], None] | None = None,
) -> GenerationCheck:
    """Measure each prefix on the kernel (several seconds each) and compare with the reference.
    `progress(prefix, updates)` is called every 2^16 updates."""
    return GenerationCheck(tuple(_measure(prefix, progress) for prefix in prefixes))


def _measure(prefix: Prefix, progress: Callable[[Prefix, int], None] | None) -> WrapRow:
    applied: list[Applied] = []

    def run_prefix(vm: Vm) -> int:
        memslots = KernelMemslots(vm)
        applied.extend(memslots.apply(op) for op in prefix.ops)
        return memslots.slot_at(prefix.toggle)

    def report(updates: int) -> None:
        if progress is not None:
            progress(prefix, updates)

    started = time.monotonic()
    measured = measure_generation_wrap(run_prefix, progress=report)
    row = WrapRow(
        prefix,
        tuple(applied),
        reference_prefix(prefix),
        measured.prefix_zaps,
        measured.updates_until_wrap,
        time.monotonic() - started,
    )
    log.info(
        "generation wrap measured",
        prefix=prefix.name,
        kernel=measured.updates_until_wrap,
        reference=row.reference.updates_until_wrap,
        seconds=round(row.seconds, 1),
    )
    return row
