"""How many memslot updates it takes to reach the generation-wrap zap, measured on the kernel.

The memslot generation is not visible from userspace, but its wrap is: when the MMIO generation
(19 bits on x86, arch/x86/kvm/mmu/spte.h MMIO_SPTE_GEN_MASK) returns to 0,
kvm_mmu_invalidate_mmio_sptes() calls kvm_mmu_zap_all_fast(), which has a trace event. Flags-only
updates advance the generation and zap nothing else, so toggling KVM_MEM_LOG_DIRTY_PAGES until
that event fires counts the updates left after a prefix of operations: the reference model
predicts that number from the prefix (../shared/probes/kvm_live/t4_gen_wrap.py measured it first).
A run of ~524,288 updates takes several seconds.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from . import ioctls
from .tracefs import TraceSession
from .vm import KvmSystem, Vm

__all__ = ["ZAP_ALL_FAST_EVENT", "WrapMeasurement", "measure_generation_wrap"]

ZAP_ALL_FAST_EVENT = "kvmmmu/kvm_mmu_zap_all_fast"


@dataclass(frozen=True, slots=True)
class WrapMeasurement:
    """prefix_zaps: zap-all events during the prefix; updates_until_wrap: flags-only updates
    until the next one, that update included (None: not within the cap)."""

    prefix_zaps: int
    updates_until_wrap: int | None
    seconds: float


def measure_generation_wrap(
    prefix: Callable[[Vm], int],
    *,
    cap: int = 1 << 20,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 1 << 16,
) -> WrapMeasurement:
    """Run `prefix` on a fresh VM (no vCPU); it returns the id of an installed memslot, whose
    KVM_MEM_LOG_DIRTY_PAGES flag is then toggled until kvm_mmu_zap_all_fast fires or `cap`
    updates were made. `progress(updates)` is called every `progress_every` updates."""
    with (
        KvmSystem() as kvm,
        kvm.create_vm() as vm,
        TraceSession([ZAP_ALL_FAST_EVENT]) as trace,
    ):
        if trace.missing:
            raise RuntimeError(f"this kernel has no {ZAP_ALL_FAST_EVENT} trace event")
        slot = prefix(vm)
        prefix_zaps = _count_zaps(trace)
        flags = vm.memslots[slot].flags
        started = time.monotonic()
        for updates in range(1, cap + 1):
            flags ^= ioctls.KVM_MEM_LOG_DIRTY_PAGES
            vm.set_memslot_flags(slot, flags)
            if trace.pending() and _count_zaps(trace):
                return WrapMeasurement(prefix_zaps, updates, time.monotonic() - started)
            if progress is not None and updates % progress_every == 0:
                progress(updates)
        return WrapMeasurement(prefix_zaps, None, time.monotonic() - started)


def _count_zaps(trace: TraceSession) -> int:
    return sum(record.event == "kvm_mmu_zap_all_fast" for record in trace.read())
