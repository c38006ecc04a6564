"""One VM laid out as a conformance config asks: the guest, one-page memslots by spec gfn, one
runner per vCPU, and the marker byte of every page so that each memory read can be checked.

Why separate from the adapter: the adapter speaks the protocol (validation, answers, trace
classification); this class owns kernel resources and must release all of them, in order, even
when building it fails half way. Memslot operations go through KernelMemslots (operations.py), so
that they mean exactly what they mean in the live checks. Every page created here holds its own
marker byte; a memory read that returns another page's byte is a stale mapping, which the spec
forbids, and is reported as such rather than as "ram".
"""

import contextlib
from dataclasses import dataclass
from typing import Literal

from .guest import Guest, assemble, read
from .layout import Layout
from .operations import Applied, KernelMemslots, MemslotOp
from .run import VcpuRunner
from .vm import PAGE_SIZE, GuestMemory, KvmSystem, Vm

__all__ = ["FIRST_SLOT", "LiveVm", "ReadResult"]

FIRST_SLOT = 2  # the Guest holds slots 0 (system) and 1 (report page)
MARKERS = 255  # marker bytes 1..255, in creation order, then again from 1


@dataclass(frozen=True, slots=True)
class ReadResult:
    """One guest read of a page: "ram" with the byte read, or "mmio" (an MMIO exit)."""

    outcome: Literal["ram", "mmio"]
    value: int
    expected: int | None  # the marker of the page installed there now (None: no memslot)


class LiveVm:
    """A fresh VM of `kvm` with the guest, `layout`'s vCPUs and its InitRam slots installed."""

    def __init__(self, kvm: KvmSystem, layout: Layout, *, timeout: float) -> None:
        self.layout = layout
        self._created = 0
        self._runners: dict[str, VcpuRunner] = {}
        self.vm: Vm = kvm.create_vm()
        try:
            self.guest = Guest(self.vm)
            self.memslots = KernelMemslots(self.vm, first_slot=FIRST_SLOT)
            for g in layout.init_ram:
                applied = self.apply(MemslotOp("create", layout.kernel_gfn(g)))
                if not applied.accepted:
                    raise RuntimeError(f"installing InitRam gfn {g} failed: {applied.error}")
            for index, name in enumerate(layout.vcpus):
                self._runners[name] = VcpuRunner(self.vm.create_vcpu(index), timeout=timeout)
        except BaseException:
            self.close()
            raise

    def apply(self, op: MemslotOp) -> Applied:
        """One KVM_SET_USER_MEMORY_REGION (a create installs a new page with the next marker)."""
        page = self._new_page() if op.kind == "create" else None
        return self.memslots.apply(op, page)

    def read(self, v: str, gfn: int, cpl: Literal[0, 3]) -> ReadResult:
        """vCPU `v` reads the first byte of kernel gfn `gfn` at `cpl` (3 native, 0 emulated).

        GuestStopped (run.py) when the guest leaves its script, e.g. on a timeout."""
        (outcome,) = self._runners[v].run_program(self.guest, assemble([read(gfn)]), cpl=cpl)
        try:
            expected = self.memslots.memory_at(gfn).read_int(0, 1)
        except LookupError:
            expected = None
        return ReadResult(
            "ram" if outcome.path == "memory" else "mmio", outcome.value & 0xFF, expected
        )

    def close(self) -> None:
        """Stop every watchdog thread, then close the VM (vCPUs, stats, memory); idempotent."""
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(self.vm.close)
            for runner in self._runners.values():
                cleanup.callback(runner.close)
            self._runners = {}

    def _new_page(self) -> GuestMemory:
        page = self.vm.allocate(PAGE_SIZE)
        page.write_int(0, 1, self._created % MARKERS + 1)
        self._created += 1
        return page
