"""KVM ioctl numbers and the uapi structures they carry, for x86-64.

Everything here is transcribed from the Linux uapi headers, so that the harness needs no C compiler
and no third-party binding: include/uapi/linux/kvm.h (generic KVM) and
arch/x86/include/uapi/asm/kvm.h (x86 register state). The ioctl numbers are computed from the
structure sizes with the kernel's _IOC encoding (include/uapi/asm-generic/ioctl.h), so a layout
mistake shows up as a wrong number (tests compare them with the values the headers produce).
"""

import ctypes

__all__ = [
    "KVMIO",
    "KVM_CAP_IMMEDIATE_EXIT",
    "KVM_CAP_READONLY_MEM",
    "KVM_CHECK_EXTENSION",
    "KVM_CREATE_VCPU",
    "KVM_CREATE_VM",
    "KVM_EXIT_FAIL_ENTRY",
    "KVM_EXIT_INTERNAL_ERROR",
    "KVM_EXIT_MMIO",
    "KVM_EXIT_SHUTDOWN",
    "KVM_GET_API_VERSION",
    "KVM_GET_REGS",
    "KVM_GET_SREGS",
    "KVM_GET_STATS_FD",
    "KVM_GET_VCPU_MMAP_SIZE",
    "KVM_MEM_LOG_DIRTY_PAGES",
    "KVM_MEM_READONLY",
    "KVM_RUN",
    "KVM_SET_REGS",
    "KVM_SET_SREGS",
    "KVM_SET_USER_MEMORY_REGION",
    "KVM_STATS_TYPE_LINEAR_HIST",
    "KVM_STATS_TYPE_LOG_HIST",
    "KVM_STATS_TYPE_MASK",
    "RUN_EXIT_INFO_OFFSET",
    "RUN_IMMEDIATE_EXIT_OFFSET",
    "Dtable",
    "Regs",
    "RunFailEntry",
    "RunHeader",
    "RunInternal",
    "RunMmio",
    "Segment",
    "Sregs",
    "StatsDesc",
    "StatsHeader",
    "UserspaceMemoryRegion",
]

# include/uapi/asm-generic/ioctl.h: nr in bits 0-7, type in 8-15, size in 16-29, direction in 30-31.
_IOC_WRITE = 1
_IOC_READ = 2
KVMIO = 0xAE


def _ioc(direction: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (KVMIO << 8) | nr


def _io(nr: int) -> int:
    return _ioc(0, nr, 0)


def _ior(nr: int, struct_type: type[ctypes.Structure]) -> int:
    return _ioc(_IOC_READ, nr, ctypes.sizeof(struct_type))


def _iow(nr: int, struct_type: type[ctypes.Structure]) -> int:
    return _ioc(_IOC_WRITE, nr, ctypes.sizeof(struct_type))


class UserspaceMemoryRegion(ctypes.Structure):
    """struct kvm_userspace_memory_region (kvm.h): one memslot; memory_size 0 deletes the slot."""

    _fields_ = (
        ("slot", ctypes.c_uint32),  # bits 0-15 slot id, bits 16-31 address space id
        ("flags", ctypes.c_uint32),  # KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY
        ("guest_phys_addr", ctypes.c_uint64),
        ("memory_size", ctypes.c_uint64),  # bytes
        ("userspace_addr", ctypes.c_uint64),  # host virtual address of the backing pages
    )


class Regs(ctypes.Structure):
    """struct kvm_regs (asm/kvm.h): general-purpose registers, rip and rflags."""

    _fields_ = tuple(
        (name, ctypes.c_uint64)
        for name in (
            *("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp"),
            *("r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"),
            *("rip", "rflags"),
        )
    )


class Segment(ctypes.Structure):
    """struct kvm_segment (asm/kvm.h): a segment register in its unpacked, descriptor-cache form."""

    _fields_ = (
        ("base", ctypes.c_uint64),
        ("limit", ctypes.c_uint32),
        ("selector", ctypes.c_uint16),
        ("type", ctypes.c_uint8),
        ("present", ctypes.c_uint8),
        ("dpl", ctypes.c_uint8),
        ("db", ctypes.c_uint8),
        ("s", ctypes.c_uint8),
        ("l", ctypes.c_uint8),
        ("g", ctypes.c_uint8),
        ("avl", ctypes.c_uint8),
        ("unusable", ctypes.c_uint8),
        ("padding", ctypes.c_uint8),
    )


class Dtable(ctypes.Structure):
    """struct kvm_dtable (asm/kvm.h): GDTR / IDTR."""

    _fields_ = (
        ("base", ctypes.c_uint64),
        ("limit", ctypes.c_uint16),
        ("padding", ctypes.c_uint16 * 3),
    )


class Sregs(ctypes.Structure):
    """struct kvm_sregs (asm/kvm.h): segments, descriptor tables, control registers and EFER."""

    _fields_ = (
        ("cs", Segment),
        ("ds", Segment),
        ("es", Segment),
        ("fs", Segment),
        ("gs", Segment),
        ("ss", Segment),
        ("tr", Segment),
        ("ldt", Segment),
        ("gdt", Dtable),
        ("idt", Dtable),
        ("cr0", ctypes.c_uint64),
        ("cr2", ctypes.c_uint64),
        ("cr3", ctypes.c_uint64),
        ("cr4", ctypes.c_uint64),
        ("cr8", ctypes.c_uint64),
        ("efer", ctypes.c_uint64),
        ("apic_base", ctypes.c_uint64),
        ("interrupt_bitmap", ctypes.c_uint64 * 4),  # (KVM_NR_INTERRUPTS + 63) / 64
    )


class RunHeader(ctypes.Structure):
    """The fixed head of struct kvm_run (kvm.h), the page shared with KVM through mmap(vcpu_fd)."""

    _fields_ = (
        ("request_interrupt_window", ctypes.c_uint8),
        ("immediate_exit", ctypes.c_uint8),  # KVM_RUN returns -EINTR at once (after pending I/O)
        ("padding1", ctypes.c_uint8 * 6),
        ("exit_reason", ctypes.c_uint32),
        ("ready_for_interrupt_injection", ctypes.c_uint8),
        ("if_flag", ctypes.c_uint8),
        ("flags", ctypes.c_uint16),
        ("cr8", ctypes.c_uint64),
        ("apic_base", ctypes.c_uint64),
    )


class RunMmio(ctypes.Structure):
    """kvm_run.mmio: the access of a KVM_EXIT_MMIO (for a read, userspace fills in data)."""

    _fields_ = (
        ("phys_addr", ctypes.c_uint64),
        ("data", ctypes.c_uint8 * 8),
        ("len", ctypes.c_uint32),
        ("is_write", ctypes.c_uint8),
    )


class RunFailEntry(ctypes.Structure):
    """kvm_run.fail_entry: KVM_EXIT_FAIL_ENTRY."""

    _fields_ = (
        ("hardware_entry_failure_reason", ctypes.c_uint64),
        ("cpu", ctypes.c_uint32),
    )


class RunInternal(ctypes.Structure):
    """kvm_run.internal: KVM_EXIT_INTERNAL_ERROR (suberror 1 = emulation failure)."""

    _fields_ = (
        ("suberror", ctypes.c_uint32),
        ("ndata", ctypes.c_uint32),
        ("data", ctypes.c_uint64 * 16),
    )


class StatsHeader(ctypes.Structure):
    """struct kvm_stats_header (kvm.h): read at offset 0 of a binary stats fd."""

    _fields_ = (
        ("flags", ctypes.c_uint32),
        ("name_size", ctypes.c_uint32),
        ("num_desc", ctypes.c_uint32),
        ("id_offset", ctypes.c_uint32),
        ("desc_offset", ctypes.c_uint32),
        ("data_offset", ctypes.c_uint32),
    )


class StatsDesc(ctypes.Structure):
    """struct kvm_stats_desc (kvm.h) without its trailing name[name_size]."""

    _fields_ = (
        ("flags", ctypes.c_uint32),  # KVM_STATS_TYPE_* | KVM_STATS_UNIT_* | KVM_STATS_BASE_*
        ("exponent", ctypes.c_int16),
        ("size", ctypes.c_uint16),  # number of u64 values
        ("offset", ctypes.c_uint32),  # from the start of the data block
        ("bucket_size", ctypes.c_uint32),
    )


# The union after kvm_run's head starts at byte 32 (no s390 fields on x86).
RUN_EXIT_INFO_OFFSET = ctypes.sizeof(RunHeader)
RUN_IMMEDIATE_EXIT_OFFSET = RunHeader.immediate_exit.offset

# ioctls on /dev/kvm
KVM_GET_API_VERSION = _io(0x00)
KVM_CREATE_VM = _io(0x01)
KVM_CHECK_EXTENSION = _io(0x03)
KVM_GET_VCPU_MMAP_SIZE = _io(0x04)
# ioctls on a VM fd
KVM_CREATE_VCPU = _io(0x41)
KVM_SET_USER_MEMORY_REGION = _iow(0x46, UserspaceMemoryRegion)
# ioctls on a vCPU fd
KVM_RUN = _io(0x80)
KVM_GET_REGS = _ior(0x81, Regs)
KVM_SET_REGS = _iow(0x82, Regs)
KVM_GET_SREGS = _ior(0x83, Sregs)
KVM_SET_SREGS = _iow(0x84, Sregs)
# on a VM or vCPU fd
KVM_GET_STATS_FD = _io(0xCE)

# KVM_CHECK_EXTENSION capabilities the harness relies on
KVM_CAP_READONLY_MEM = 81  # the guest's report page is a read-only memslot
KVM_CAP_IMMEDIATE_EXIT = 136  # the runner's timeout and pending-I/O completion

# kvm_userspace_memory_region.flags
KVM_MEM_LOG_DIRTY_PAGES = 1 << 0
KVM_MEM_READONLY = 1 << 1

# kvm_run.exit_reason values the harness decodes
KVM_EXIT_MMIO = 6
KVM_EXIT_SHUTDOWN = 8
KVM_EXIT_FAIL_ENTRY = 9
KVM_EXIT_INTERNAL_ERROR = 17

# kvm_stats_desc.flags
KVM_STATS_TYPE_MASK = 0xF
KVM_STATS_TYPE_LINEAR_HIST = 0x3
KVM_STATS_TYPE_LOG_HIST = 0x4
