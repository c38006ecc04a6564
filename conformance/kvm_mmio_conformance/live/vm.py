"""/dev/kvm, its VMs, their vCPUs, memslots and guest memory, as objects that own their resources.

Each class is a context manager and closes what it opened, in reverse order, exactly once; a
`Vm` also closes the vCPUs, stats fds and guest memory it handed out, so that a test that forgets
one still leaks nothing. Memslot updates are the operations the reference model names (create,
delete, move, flags-only change); the kernel's refusal of one is an OSError with the kernel's errno
(EEXIST for an overlap, EINVAL for deleting a slot that does not exist), and the VM's record of its
memslots changes only when the kernel accepted the update.
"""

import ctypes
import fcntl
import mmap
import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from . import ioctls
from .stats import StatsReader

__all__ = [
    "PAGE_SIZE",
    "GuestMemory",
    "KvmSystem",
    "Memslot",
    "Vcpu",
    "Vm",
    "kvm_unavailable_reason",
]

PAGE_SIZE = 4096


def kvm_unavailable_reason(path: str = "/dev/kvm") -> str | None:
    """Why KvmSystem(path) cannot open here (one line, for a skip or an error), or None."""
    if not os.path.exists(path):
        return f"{path} not present"
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CLOEXEC))
    except OSError as error:
        return f"{path} not openable: {error.strerror}"
    return None


class GuestMemory:
    """Anonymous host pages that back a memslot; the host reads and writes them directly."""

    def __init__(self, size: int) -> None:
        if size <= 0 or size % PAGE_SIZE:
            raise ValueError(f"guest memory size {size:#x} must be a positive multiple of 4 KiB")
        self.size = size
        self._map = mmap.mmap(-1, size, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        view = ctypes.c_char.from_buffer(self._map)
        self.hva = ctypes.addressof(view)  # the userspace_addr KVM maps into the guest
        del view  # an exported buffer would keep the mmap from closing

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        return self._map[offset : offset + length]

    def write(self, offset: int, data: bytes) -> None:
        self._check(offset, len(data))
        self._map[offset : offset + len(data)] = data

    def read_int(self, offset: int, width: int) -> int:
        """A little-endian value of `width` bytes, as the guest would read it."""
        return int.from_bytes(self.read(offset, width), "little")

    def write_int(self, offset: int, width: int, value: int) -> None:
        self.write(offset, value.to_bytes(width, "little"))

    @property
    def closed(self) -> bool:
        return self._map.closed

    def close(self) -> None:
        self._map.close()

    def __enter__(self) -> "GuestMemory":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise IndexError(f"[{offset:#x}, {offset + length:#x}) outside {self.size:#x} bytes")


@dataclass(frozen=True, slots=True)
class Memslot:
    """One installed memslot as KVM accepted it."""

    slot: int
    guest_phys_addr: int
    memory: GuestMemory
    flags: int = 0

    @property
    def size(self) -> int:
        return self.memory.size

    def contains(self, gpa: int) -> bool:
        return self.guest_phys_addr <= gpa < self.guest_phys_addr + self.size


class KvmSystem:
    """An open /dev/kvm: capability queries and VM creation."""

    def __init__(self, path: str = "/dev/kvm") -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        self._vms: list[Vm] = []

    @property
    def api_version(self) -> int:
        return fcntl.ioctl(self.fd, ioctls.KVM_GET_API_VERSION, 0)

    def check_extension(self, capability: int) -> int:
        """KVM_CHECK_EXTENSION: 0 when absent, otherwise a capability-specific positive value."""
        return fcntl.ioctl(self.fd, ioctls.KVM_CHECK_EXTENSION, capability)

    @property
    def vcpu_mmap_size(self) -> int:
        return fcntl.ioctl(self.fd, ioctls.KVM_GET_VCPU_MMAP_SIZE, 0)

    def create_vm(self) -> "Vm":
        vm = Vm(self, fcntl.ioctl(self.fd, ioctls.KVM_CREATE_VM, 0))
        self._vms = [open_vm for open_vm in self._vms if not open_vm.closed]
        self._vms.append(vm)
        return vm

    def close(self) -> None:
        for vm in reversed(self._vms):
            vm.close()
        self._vms.clear()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "KvmSystem":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Vm:
    """A VM fd with its memslots; create it with `KvmSystem.create_vm()`."""

    def __init__(self, system: KvmSystem, fd: int) -> None:
        self.system = system
        self.fd = fd
        self._memslots: dict[int, Memslot] = {}  # what KVM holds, by slot id
        self._vcpus: list[Vcpu] = []
        self._memories: list[GuestMemory] = []
        self._stats: StatsReader | None = None

    def allocate(self, size: int) -> GuestMemory:
        """Backing pages for a memslot, released when the VM closes (after the VM fd)."""
        memory = GuestMemory(size)
        self._memories.append(memory)
        return memory

    def set_user_memory_region(
        self, slot: int, flags: int, guest_phys_addr: int, memory_size: int, userspace_addr: int
    ) -> None:
        """The raw KVM_SET_USER_MEMORY_REGION; OSError carries the kernel's errno."""
        region = ioctls.UserspaceMemoryRegion(
            slot, flags, guest_phys_addr, memory_size, userspace_addr
        )
        try:
            fcntl.ioctl(self.fd, ioctls.KVM_SET_USER_MEMORY_REGION, bytes(region))
        except OSError as error:
            raise OSError(
                error.errno,
                f"{os.strerror(error.errno)}: KVM_SET_USER_MEMORY_REGION(slot={slot}, "
                f"flags={flags:#x}, gpa={guest_phys_addr:#x}, size={memory_size:#x})",
            ) from None

    def create_memslot(
        self, slot: int, guest_phys_addr: int, memory: GuestMemory, flags: int = 0
    ) -> Memslot:
        """Install `memory` at `guest_phys_addr` (also re-installs an existing slot id as given)."""
        self.set_user_memory_region(slot, flags, guest_phys_addr, memory.size, memory.hva)
        self._memslots[slot] = Memslot(slot, guest_phys_addr, memory, flags)
        return self._memslots[slot]

    def delete_memslot(self, slot: int) -> None:
        """memory_size 0 deletes; the kernel refuses (EINVAL) a slot that does not exist."""
        self.set_user_memory_region(slot, 0, 0, 0, 0)
        self._memslots.pop(slot, None)

    def move_memslot(self, slot: int, guest_phys_addr: int) -> Memslot:
        """Same slot id, same backing and flags, new guest physical address (KVM_MR_MOVE)."""
        current = self._installed(slot)
        return self.create_memslot(slot, guest_phys_addr, current.memory, current.flags)

    def set_memslot_flags(self, slot: int, flags: int) -> Memslot:
        """A flags-only update (KVM_MR_FLAGS_ONLY), e.g. toggling KVM_MEM_LOG_DIRTY_PAGES."""
        current = self._installed(slot)
        return self.create_memslot(slot, current.guest_phys_addr, current.memory, flags)

    @property
    def memslots(self) -> Mapping[int, Memslot]:
        """The installed memslots by slot id, as KVM accepted them (read-only view)."""
        return MappingProxyType(self._memslots)

    def create_vcpu(self, index: int = 0) -> "Vcpu":
        vcpu = Vcpu(self, index)
        self._vcpus = [open_vcpu for open_vcpu in self._vcpus if not open_vcpu.closed]
        self._vcpus.append(vcpu)
        return vcpu

    @property
    def stats(self) -> StatsReader:
        """The VM's binary stats (opened on first use, closed with the VM)."""
        if self._stats is None:
            self._stats = StatsReader(self.fd)
        return self._stats

    @property
    def closed(self) -> bool:
        return self.fd < 0

    def close(self) -> None:
        for vcpu in reversed(self._vcpus):
            vcpu.close()
        self._vcpus.clear()
        if self._stats is not None:
            self._stats.close()
            self._stats = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        for memory in self._memories:
            memory.close()
        self._memories.clear()
        self._memslots.clear()

    def __enter__(self) -> "Vm":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _installed(self, slot: int) -> Memslot:
        try:
            return self._memslots[slot]
        except KeyError:
            raise LookupError(f"memslot {slot} is not installed in this VM") from None


class Vcpu:
    """A vCPU fd and its kvm_run page; create it with `Vm.create_vcpu()`."""

    def __init__(self, vm: Vm, index: int) -> None:
        self.vm = vm
        self.index = index
        self.fd = fcntl.ioctl(vm.fd, ioctls.KVM_CREATE_VCPU, index)
        try:
            self.kvm_run = mmap.mmap(self.fd, vm.system.vcpu_mmap_size, flags=mmap.MAP_SHARED)
        except BaseException:
            os.close(self.fd)
            raise
        self._stats: StatsReader | None = None

    def get_regs(self) -> ioctls.Regs:
        regs = ioctls.Regs()
        fcntl.ioctl(self.fd, ioctls.KVM_GET_REGS, regs)
        return regs

    def set_regs(self, regs: ioctls.Regs) -> None:
        fcntl.ioctl(self.fd, ioctls.KVM_SET_REGS, regs)

    def get_sregs(self) -> ioctls.Sregs:
        sregs = ioctls.Sregs()
        fcntl.ioctl(self.fd, ioctls.KVM_GET_SREGS, sregs)
        return sregs

    def set_sregs(self, sregs: ioctls.Sregs) -> None:
        fcntl.ioctl(self.fd, ioctls.KVM_SET_SREGS, sregs)

    @property
    def stats(self) -> StatsReader:
        """The vCPU's binary stats (opened on first use, closed with the vCPU)."""
        if self._stats is None:
            self._stats = StatsReader(self.fd)
        return self._stats

    @property
    def closed(self) -> bool:
        return self.fd < 0

    def close(self) -> None:
        if self._stats is not None:
            self._stats.close()
            self._stats = None
        if self.fd >= 0:
            self.kvm_run.close()
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "Vcpu":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
