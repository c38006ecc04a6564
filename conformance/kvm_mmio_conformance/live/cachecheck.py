"""Check 2: the per-vCPU MMIO cache after each kind of memslot operation, kernel against reference.

Why: the cache entry is tagged with the memslot generation, so whether it survives an operation
says exactly which operations the kernel counts as updates. Each case runs on a fresh VM:

1. a slot at OTHER (unrelated to the gfn under test, X) is created;
2. a native CPL3 read of X, which has no slot, fills the cache (an MMIO exit);
3. the case's operations;
4. an emulated CPL0 read of X consults the cache without faulting first: kvm/vcpu_match_mmio on
   X's address means a hit; the outcome is a memory value or an MMIO exit.

The reference does the same with ``access(v, X, "native")``, the operations, then
``access(v, X, "emulated")``: path "cache" is a hit, outcome "ram" or "mmio". A memory read must
also return the page installed at X (each created page holds its own marker byte).
"""

from dataclasses import dataclass

from kvm_mmio.vm import Observation
from kvm_mmio.vm import Vm as ReferenceVm

from .eventlog import NO_RECORDER, EventLog
from .guest import Guest, assemble, read
from .operations import Applied, KernelMemslots, MemslotOp, apply_to_reference, gfns_of
from .run import VcpuRunner
from .tracefs import TraceRecord, TraceSession, parse_cache_hit
from .vm import PAGE_SIZE, KvmSystem, Vm

__all__ = [
    "CACHE_CASES",
    "CacheCase",
    "CacheCheck",
    "CacheRow",
    "KernelProbe",
    "X",
    "reference_probe",
    "run_cache_check",
]

PROFILE = "live-host"
X, OTHER, SPARE, AWAY = 0x300, 0x500, 0x600, 0x700
CACHE_HIT_EVENT = "kvm/vcpu_match_mmio"
FIRST_SLOT = 2  # the Guest holds slots 0 and 1
MARKER_BASE = 0x40  # the n-th page a case creates holds MARKER_BASE + n


@dataclass(frozen=True, slots=True)
class CacheCase:
    """One kind of memslot operation between the cache fill and the probe."""

    name: str
    ops: tuple[MemslotOp, ...]


CACHE_CASES = (
    CacheCase("none", ()),
    CacheCase("identical re-set", (MemslotOp("reset", OTHER),)),
    CacheCase("create unrelated", (MemslotOp("create", SPARE),)),
    CacheCase("create over the cached gfn", (MemslotOp("create", X),)),
    CacheCase("delete", (MemslotOp("delete", OTHER),)),
    CacheCase("move", (MemslotOp("move", OTHER, AWAY),)),
    CacheCase("move onto the cached gfn", (MemslotOp("move", OTHER, X),)),
    CacheCase("flags-only", (MemslotOp("flags", OTHER),)),
    CacheCase("failed create (overlap)", (MemslotOp("create", OTHER),)),
    CacheCase("failed delete (no slot)", (MemslotOp("delete", SPARE),)),
)


@dataclass(frozen=True, slots=True)
class KernelProbe:
    """The kernel's side of one case: the operations' results and the probe read."""

    applied: tuple[Applied, ...]
    hit: bool
    outcome: str  # "ram" or "mmio", as the reference names them
    value: int
    expected_value: int | None  # the marker of the page at X, for a memory read


@dataclass(frozen=True, slots=True)
class CacheRow:
    case: CacheCase
    kernel: KernelProbe
    reference_accepted: tuple[bool, ...]
    reference: Observation

    @property
    def reference_hit(self) -> bool:
        return self.reference.path == "cache"

    @property
    def ok(self) -> bool:
        kernel = self.kernel
        return (
            tuple(applied.accepted for applied in kernel.applied) == self.reference_accepted
            and kernel.hit == self.reference_hit
            and kernel.outcome == self.reference.outcome
            and (kernel.outcome != "ram" or kernel.value == kernel.expected_value)
        )


@dataclass(frozen=True, slots=True)
class CacheCheck:
    rows: tuple[CacheRow, ...]
    logs: tuple[tuple[TraceRecord, ...], ...] = ()  # each case's event log, when recorded

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)


def reference_probe(case: CacheCase) -> tuple[tuple[bool, ...], Observation]:
    """The reference's acceptance of the case's operations and its probe access."""
    gfns = gfns_of((MemslotOp("create", X), MemslotOp("create", OTHER), *case.ops))
    vm = ReferenceVm.from_kernel(PROFILE, gfns=gfns, init_ram=())
    apply_to_reference(vm, MemslotOp("create", OTHER))
    vm.access("v1", X, "native")
    accepted = tuple(apply_to_reference(vm, op) for op in case.ops)
    return accepted, vm.access("v1", X, "emulated")


def run_cache_check(
    cases: tuple[CacheCase, ...] = CACHE_CASES, *, record: bool = False
) -> CacheCheck:
    """Every case on a fresh VM of one /dev/kvm, under one trace session (needs tracefs).
    `record`: also keep each case's event log (eventlog.py), for trace validation."""
    rows, logs = [], []
    with KvmSystem() as kvm, _session(record) as trace:
        for case in cases:
            with kvm.create_vm() as vm:
                kernel = _kernel_probe(vm, trace, case)
            if isinstance(trace, EventLog):
                logs.append(tuple(trace.cut()))
            rows.append(CacheRow(case, kernel, *reference_probe(case)))
    return CacheCheck(tuple(rows), tuple(logs))


def _session(record: bool) -> EventLog | TraceSession:
    if record:
        return EventLog()
    trace = TraceSession([CACHE_HIT_EVENT])
    if trace.missing:
        trace.close()
        raise RuntimeError(f"this kernel has no {CACHE_HIT_EVENT} trace event")
    return trace


def _kernel_probe(vm: Vm, trace: EventLog | TraceSession, case: CacheCase) -> KernelProbe:
    guest = Guest(vm)
    memslots = KernelMemslots(vm, first_slot=FIRST_SLOT)
    recorder = trace if isinstance(trace, EventLog) else NO_RECORDER
    created = 0

    def apply(op: MemslotOp) -> Applied:
        nonlocal created
        page = None
        if op.kind == "create":
            page = vm.allocate(PAGE_SIZE)
            page.write_int(0, 1, MARKER_BASE + created)
            created += 1
        recorder.ioctl_begin(op.kind, op.gfn, op.to)
        applied = memslots.apply(op, page)
        recorder.ioctl_end(applied.accepted)
        return applied

    if not apply(MemslotOp("create", OTHER)).accepted:
        raise RuntimeError(f"creating the unrelated slot at {OTHER:#x} failed")
    with VcpuRunner(vm.create_vcpu(0)) as runner:
        recorder.access(X, "native")
        (fill,) = runner.run_program(guest, assemble([read(X)]), cpl=3)
        recorder.result(X, "ram" if fill.path == "memory" else "mmio")
        if fill.path != "mmio":
            raise RuntimeError(f"the native read of gfn {X:#x} (no slot) did not exit as MMIO")
        applied = tuple(apply(op) for op in case.ops)
        trace.read()  # the fill's own hit and anything else before the probe
        recorder.access(X, "emulated")
        (probe,) = runner.run_program(guest, assemble([read(X)]), cpl=0)
        recorder.result(X, "ram" if probe.path == "memory" else "mmio")
    hits = [parse_cache_hit(record) for record in trace.read()]
    hit = any(h is not None and h.gva == X * PAGE_SIZE for h in hits)
    try:
        expected = memslots.memory_at(X).read_int(0, 1)
    except LookupError:
        expected = None
    outcome = "ram" if probe.path == "memory" else "mmio"
    return KernelProbe(applied, hit, outcome, probe.value, expected)
