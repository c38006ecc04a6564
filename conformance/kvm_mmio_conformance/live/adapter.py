"""This machine's KVM as an implementation under test at the conformance suite's operations level.

Why: the conformance vectors are the reference's predictions as data; running them against
/dev/kvm asks the kernel the same questions the suite asks any implementation. In process:
`kvm-mmio conformance --impl kvm_mmio_conformance.live.adapter:LiveAdapter`; out of process:
`--cmd "python -m kvm_mmio_conformance.live.serve"`; `kvm-mmio live` runs it in process.

What it does with each message (conformance/README.md):
- reset(config): closes the previous VM and builds a fresh one with the config's Vcpus, Gfns and
  InitRam (layout.py maps spec gfns to guest frames and refuses, in one line, a config that does
  not describe this host: two address spaces, MMIO sptes, another era or generation width...);
- operation create / delete / move / flags: one KVM_SET_USER_MEMORY_REGION on the one-page slot
  of that gfn (flags toggles KVM_MEM_LOG_DIRTY_PAGES: a flags-only change). The answer is `{}`:
  the kernel's memslot generation is not visible to userspace, so no "generation" is declared. A
  refusal by the kernel (EEXIST, EINVAL) or an operation with no ioctl (moving a gfn without a
  slot) is answered {"error"} with the reason: the vectors hold only operations the spec enables;
- operation access: vCPU v runs a one-read guest program on that gfn, natively at CPL3 ("native":
  the load runs on the CPU and faults into KVM's shadow MMU) or at CPL0 ("emulated": this host
  emulates every CPL0 instruction, ../shared/KVM_LIVE.md). The outcome is what the guest saw: the
  page's marker byte ("ram") or a KVM_EXIT_MMIO ("mmio"); a read of a byte that is not the marker
  of the page installed there is answered {"error"} (a stale mapping). The path comes from the
  trace events of that access (accesspath.py says what each means) and is declared in "observes"
  only when a private trace instance with those events could be opened. Extra keys ("value",
  "trace": the event counts behind the path) are ignored by the suite and shown in failures.

A guest that stops (fault, hang: each run is bounded by `timeout` seconds) is answered {"error"}
and the VM is refused until the next reset. close() (or the context manager) releases the VM,
the watchdog threads, /dev/kvm and the trace instance; reset releases the previous VM first.
Limits: one address space, no MMIO sptes, and the kernel's generation starts 2 + |InitRam|
updates ahead of the spec's (the guest's own slots), which matters only for cases that run to the
2^19-update wrap.
"""

import os
from typing import Any

from kvm_mmio_conformance.protocol import PROTOCOL_VERSION, BaseAdapter

from .accesspath import PATH_EVENTS, REQUIRED_EVENTS, Unclassifiable, classify, evidence_from
from .layout import HOST_PROFILE, Layout, layout_from_config
from .livevm import LiveVm
from .operations import MemslotOp
from .run import GuestStopped
from .tracefs import TraceSession
from .tracefs import unavailable_reason as tracefs_unavailable_reason
from .vm import KvmSystem, kvm_unavailable_reason

__all__ = ["DEFAULT_TIMEOUT", "LiveAdapter", "capabilities"]

DEFAULT_TIMEOUT = 2.0  # seconds per guest run; a normal access takes well under a millisecond
MODES = {"native": 3, "emulated": 0}  # the guest's CPL for each access mode
MEMSLOT_KINDS = ("create", "delete", "move", "flags")
TRACE_BUFFER_KB = 1024  # per CPU; drained after every access


def capabilities(observes_path: bool) -> dict[str, Any]:
    """What this kernel is (KVM_LIVE.md): era B, one address space, no MMIO sptes, both modes;
    the path only when tracing works, never the generation."""
    return {
        "layers": ["operations"],
        "operations": {
            "eras": ["B"],
            "address_spaces": 1,
            "mmio_sptes": [False],
            "modes": list(MODES),
            "observes": ["outcome", "path"] if observes_path else ["outcome"],
            "configs": [f"kernel:{HOST_PROFILE}"],
        },
    }


class LiveAdapter(BaseAdapter):
    """The kernel of this machine behind the adapter protocol (operations level)."""

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, trace: bool = True, kvm_path: str = "/dev/kvm"
    ) -> None:
        self.timeout = timeout
        self._kvm_path = kvm_path
        self._kvm: KvmSystem | None = None
        self._machine: LiveVm | None = None
        self._broken: str | None = None  # why the current VM cannot be used any more
        self._trace: TraceSession | None = None
        # Why the path is not observed (None: it is); decided once, on first need.
        self.path_unobserved: str | None = None if trace else "tracing switched off"
        self._trace_decided = not trace

    # -- the protocol ---------------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        return {
            "name": f"Linux KVM {os.uname().release} ({self._kvm_path}, live adapter)",
            "protocol": PROTOCOL_VERSION,
            "capabilities": capabilities(self._open_trace()),
        }

    def reset(self, config: dict[str, Any]) -> dict[str, Any]:
        self._close_machine()
        try:
            layout = layout_from_config(config)
        except ValueError as error:
            return {"error": f"reset: {error}"}
        reason = kvm_unavailable_reason(self._kvm_path)
        if reason is not None:
            return {"error": f"reset: {reason}"}
        self._open_trace()
        try:
            if self._kvm is None:
                self._kvm = KvmSystem(self._kvm_path)
            self._machine = LiveVm(self._kvm, layout, timeout=self.timeout)
        except (OSError, RuntimeError) as error:
            return {"error": f"reset: building the VM failed: {type(error).__name__}: {error}"}
        return {"ok": True}

    def operation(self, operation: dict[str, Any]) -> dict[str, Any]:
        if self._machine is None:
            return {"error": "operation: no VM: reset first (or the last reset failed)"}
        if self._broken is not None:
            return {"error": f"operation: the VM stopped earlier ({self._broken}); reset first"}
        kind = operation.get("kind") if isinstance(operation, dict) else None
        try:
            if kind == "access":
                return self._access(self._machine, operation)
            if kind in MEMSLOT_KINDS:
                return self._memslot(self._machine, operation)
        except ValueError as error:
            return {"error": f"{kind}: {error}"}
        kinds = ", ".join((*MEMSLOT_KINDS, "access"))
        return {"error": f"operation: expected an object whose kind is one of {kinds}"}

    def close(self) -> None:
        """Release the VM, its threads, /dev/kvm and the trace instance; idempotent."""
        try:
            self._close_machine()
        finally:
            kvm, self._kvm = self._kvm, None
            trace, self._trace = self._trace, None
            try:
                if kvm is not None:
                    kvm.close()
            finally:
                if trace is not None:
                    trace.close()

    def __enter__(self) -> "LiveAdapter":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- operations -----------------------------------------------------------------------

    def _memslot(self, machine: LiveVm, operation: dict[str, Any]) -> dict[str, Any]:
        layout = machine.layout
        kind = operation["kind"]
        _only_keys(operation, {"kind", "as", "gfn", *(("to",) if kind == "move" else ())})
        if operation.get("as") != 0:
            raise ValueError(f"as {operation.get('as')!r}: this host has one address space, 0")
        gfn = layout.kernel_gfn(operation.get("gfn"))
        to = layout.kernel_gfn(operation.get("to")) if kind == "move" else 0
        if to == gfn:
            raise ValueError(f"gfn {operation['gfn']} cannot move onto itself")
        try:
            applied = machine.apply(MemslotOp(kind, gfn, to))
        except LookupError:
            raise ValueError(f"gfn {operation['gfn']} has no memslot to {kind}") from None
        if not applied.accepted:
            return {
                "error": f"{kind}: KVM_SET_USER_MEMORY_REGION refused it ({applied.error}); "
                f"memslots at spec gfns {_installed(machine)}"
            }
        return {}

    def _access(self, machine: LiveVm, operation: dict[str, Any]) -> dict[str, Any]:
        _only_keys(operation, {"kind", "vcpu", "gfn", "mode"})
        layout = machine.layout
        v, mode = operation.get("vcpu"), operation.get("mode")
        layout.vcpu_index(v)
        if not isinstance(mode, str) or mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        gfn = layout.kernel_gfn(operation.get("gfn"))
        if self._trace is not None:
            self._trace.read()  # forget what came before this access
        try:
            result = machine.read(v, gfn, MODES[mode])
        except GuestStopped as stopped:
            self._broken = f"{v}'s {mode} read of gfn {operation['gfn']}: {stopped}"
            return {"error": f"access: the guest stopped: {stopped}"}
        if result.outcome == "ram" and result.value != result.expected:
            holds = (
                "which has no memslot"
                if result.expected is None
                else f"whose memslot's page holds {result.expected:#04x}"
            )
            return {
                "error": f"access: read byte {result.value:#04x} at gfn {operation['gfn']}, "
                f"{holds}: a stale or wrong mapping"
            }
        answer: dict[str, Any] = {"outcome": result.outcome}
        if result.outcome == "ram":
            answer["value"] = f"{result.value:#x}"
        if self._trace is not None:
            evidence = evidence_from(self._trace.read(), gfn)
            answer["trace"] = evidence.as_json()
            try:
                answer["path"] = classify(mode, result.outcome, evidence)
            except Unclassifiable as error:
                return {"error": f"access: {error}", "trace": evidence.as_json()}
        return answer

    # -- resources ------------------------------------------------------------------------

    def _open_trace(self) -> bool:
        """Open the private trace instance once; True if the path can be observed."""
        if not self._trace_decided:
            self._trace_decided = True
            self.path_unobserved = tracefs_unavailable_reason()
            if self.path_unobserved is None:
                try:
                    trace = TraceSession(PATH_EVENTS, buffer_kb_per_cpu=TRACE_BUFFER_KB)
                except OSError as error:
                    self.path_unobserved = f"cannot open a trace instance: {error}"
                else:
                    missing = [event for event in REQUIRED_EVENTS if event in trace.missing]
                    if missing:
                        trace.close()
                        self.path_unobserved = f"this kernel lacks {', '.join(missing)}"
                    else:
                        self._trace = trace
        return self._trace is not None

    def _close_machine(self) -> None:
        machine, self._machine, self._broken = self._machine, None, None
        if machine is not None:
            machine.close()


def _only_keys(operation: dict[str, Any], keys: set[str]) -> None:
    extra = sorted(set(operation) - keys)
    if extra:
        raise ValueError(f"unexpected key(s) {', '.join(extra)}")


def _installed(machine: LiveVm) -> list[int]:
    layout: Layout = machine.layout
    return [g for g in layout.gfns if _has_slot(machine, layout.kernel_gfn(g))]


def _has_slot(machine: LiveVm, gfn: int) -> bool:
    try:
        machine.memslots.slot_at(gfn)
    except LookupError:
        return False
    return True
