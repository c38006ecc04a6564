"""Memslot operations named as the reference names them, applied to the kernel and to the reference.

Why: every live check runs the same operations on /dev/kvm and on ``kvm_mmio.vm.Vm`` and compares
what each does. The reference addresses a memslot by its gfn (each gfn is its own one-page slot);
KVM addresses it by a slot id. ``KernelMemslots`` keeps that mapping over a harness ``Vm``, so an
operation is written once, as a ``MemslotOp``, and means the same on both sides:

- create / delete / move / flags are the spec's changes; a refusal is the kernel's errno on one
  side and ActionNotEnabled (the change is not in the spec's Changes(a)) on the other, and on both
  sides a refused operation changes nothing;
- reset re-installs a slot exactly as it is. KVM returns before any install ("Nothing to change"
  in kvm_set_memory_region), so the reference takes no step at all.

The conformance suite's live adapter can drive the kernel through the same class.
"""

import errno
from dataclasses import dataclass
from typing import Literal

from kvm_mmio.vm import ActionNotEnabled
from kvm_mmio.vm import Vm as ReferenceVm

from . import ioctls
from .vm import PAGE_SIZE, GuestMemory, Vm

__all__ = ["Applied", "KernelMemslots", "MemslotOp", "apply_to_reference", "gfns_of"]

OpKind = Literal["create", "delete", "move", "flags", "reset"]


@dataclass(frozen=True, slots=True)
class MemslotOp:
    """One memslot operation on the one-page slot at `gfn` (`to`: a move's destination)."""

    kind: OpKind
    gfn: int
    to: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("create", "delete", "move", "flags", "reset"):
            raise ValueError(f"memslot operation {self.kind!r} is not one the reference names")
        if self.gfn < 1 or (self.kind == "move") != (self.to >= 1) or self.to == self.gfn:
            raise ValueError(
                f"{self.kind} {self.gfn}->{self.to}: gfns are >= 1, only a move has a "
                "destination, and it differs from the source"
            )

    def __str__(self) -> str:
        if self.kind == "move":
            return f"move {self.gfn:#x}->{self.to:#x}"
        return f"{self.kind} {self.gfn:#x}"


def gfns_of(ops: tuple[MemslotOp, ...]) -> tuple[int, ...]:
    """Every gfn the operations name, sorted: the reference's Gfns for them."""
    return tuple(sorted({op.gfn for op in ops} | {op.to for op in ops if op.kind == "move"}))


@dataclass(frozen=True, slots=True)
class Applied:
    """What the kernel did with one operation: `error` is its errno name when it refused."""

    op: MemslotOp
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.error is None


class KernelMemslots:
    """The memslots of a harness VM, addressed by gfn: one page per slot, slot ids from
    `first_slot` up (below it, e.g. the Guest's own slots, nothing is touched)."""

    def __init__(self, vm: Vm, *, first_slot: int = 0) -> None:
        self.vm = vm
        self._slot_at: dict[int, int] = {}
        self._next_slot = first_slot

    def slot_at(self, gfn: int) -> int:
        """The slot id installed at `gfn` (LookupError if none)."""
        try:
            return self._slot_at[gfn]
        except KeyError:
            raise LookupError(f"no memslot of this run is installed at gfn {gfn:#x}") from None

    def memory_at(self, gfn: int) -> GuestMemory:
        """The page backing the slot at `gfn`."""
        return self.vm.memslots[self.slot_at(gfn)].memory

    def apply(self, op: MemslotOp, memory: GuestMemory | None = None) -> Applied:
        """Run `op` with one KVM_SET_USER_MEMORY_REGION; a create installs `memory` (default: a
        new zeroed page). A refusal is returned, not raised; an operation that cannot be written
        as an ioctl (moving, flagging or re-setting a gfn without a slot) is a LookupError."""
        try:
            self._apply(op, memory)
        except OSError as error:
            return Applied(op, errno.errorcode.get(error.errno or 0, str(error.errno)))
        return Applied(op)

    def _apply(self, op: MemslotOp, memory: GuestMemory | None) -> None:
        vm = self.vm
        if op.kind == "create":
            slot = self._fresh_slot()
            vm.create_memslot(slot, op.gfn * PAGE_SIZE, memory or vm.allocate(PAGE_SIZE))
            self._slot_at[op.gfn] = slot
        elif op.kind == "delete":
            slot = self._slot_at.get(op.gfn)
            vm.delete_memslot(self._fresh_slot() if slot is None else slot)  # none: EINVAL
            self._slot_at.pop(op.gfn, None)
        elif op.kind == "move":
            slot = self.slot_at(op.gfn)
            vm.move_memslot(slot, op.to * PAGE_SIZE)
            self._slot_at[op.to] = self._slot_at.pop(op.gfn)
        elif op.kind == "flags":
            slot = self.slot_at(op.gfn)
            vm.set_memslot_flags(slot, vm.memslots[slot].flags ^ ioctls.KVM_MEM_LOG_DIRTY_PAGES)
        else:
            current = vm.memslots[self.slot_at(op.gfn)]
            vm.create_memslot(current.slot, current.guest_phys_addr, current.memory, current.flags)

    def _fresh_slot(self) -> int:
        """A slot id never used by this run: a create installs it, a delete of it fails."""
        slot, self._next_slot = self._next_slot, self._next_slot + 1
        return slot


def apply_to_reference(vm: ReferenceVm, op: MemslotOp) -> bool:
    """Run `op` as one whole operation of the reference; False when the spec does not enable it
    (then nothing changed). A reset of a gfn without RAM is a LookupError, as on the kernel."""
    if op.kind == "reset":
        if vm.memslots()[op.gfn] != "ram":
            raise LookupError(f"no memslot is installed at gfn {op.gfn:#x}")
        return True  # KVM returns before any install: the spec takes no step
    try:
        vm.memslot(op.kind, op.gfn, op.to)
    except ActionNotEnabled:
        return False
    return True
