"""A minimal x86-64 guest that performs a scripted sequence of memory accesses.

Why this shape (../shared/KVM_LIVE.md): on this host 64-bit code at CPL3 runs natively and its
page faults go through KVM's shadow MMU, the path whose MMIO caching the model describes; CPL0 code
is emulated one instruction at a time and never faults, so switching the same vCPU to CPL0 lets a
test consult the per-vCPU MMIO cache without refilling it.

Guest physical layout (identity-mapped with 4 KiB pages over [0, MAPPED_BYTES)):
- gfns 0x000-0x1fe: the system memslot (GDT, code, page tables), ordinary memory;
- gfn  0x1ff: the report page, a read-only memslot: a write to it is an MMIO exit (KVM_EXIT_MMIO)
  that takes the read-only-memslot path, not the no-memslot path, so reporting a value never
  touches the per-vCPU MMIO cache that the tests observe (a report page without a memslot would
  overwrite that cache entry after every access);
- gfns 0x200 and up: free for the test's own memslots and MMIO gfns.

Each access is followed by a qword write of the value read (or written) to REPORT_GPA, so the
host can attribute every exit to the access that caused it.
"""

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from . import ioctls
from .vm import PAGE_SIZE, Vcpu, Vm

__all__ = [
    "CODE_GPA",
    "FIRST_FREE_GFN",
    "MAPPED_BYTES",
    "REPORT_GPA",
    "REPORT_SLOT",
    "SYSTEM_SLOT",
    "Access",
    "Guest",
    "Program",
    "assemble",
    "read",
    "write",
]

MAPPED_BYTES = 64 << 20  # identity-mapped guest physical range: gfns [0, 0x4000)
SYSTEM_SLOT = 0
REPORT_SLOT = 1
REPORT_GPA = 0x1FF000
FIRST_FREE_GFN = 0x200

GDT_GPA = 0x500
CODE_GPA = 0x1000
CODE_LIMIT = 0x10000  # code occupies [CODE_GPA, CODE_LIMIT)
PML4_GPA = 0x10000
PDPT_GPA = 0x11000
PD_GPA = 0x12000
PT_GPA = 0x13000  # one page table per 2 MiB, MAPPED_BYTES >> 21 of them
STACK_TOP = 0x100000  # unused by the generated code; a sane rsp all the same

PTE_P_RW_US = 0x7  # present, writable, user: CPL3 may touch every page
KERNEL_CS, KERNEL_DS, USER_DS, USER_CS, TSS = 0x10, 0x18, 0x2B, 0x33, 0x40
GDT_ENTRIES = (
    0,
    0,
    0x00AF9B000000FFFF,  # 0x10 kernel code: 64-bit (L=1), DPL 0, execute/read accessed
    0x00CF93000000FFFF,  # 0x18 kernel data: DPL 0, read/write accessed
    0,
    0x00CFF3000000FFFF,  # 0x28 user data (selector 0x2b with RPL 3): DPL 3
    0x00AFFB000000FFFF,  # 0x30 user code (selector 0x33): 64-bit, DPL 3
    0,
    0,  # 0x40 TSS: only TR's cached descriptor is used
    0,
)
CR0 = 0x80050033  # PG | AM | WP | NE | ET | MP | PE
CR4 = 0x20  # PAE
EFER = 0x500  # LMA | LME
RFLAGS = 0x202  # IF and the reserved bit 1


@dataclass(frozen=True, slots=True)
class Access:
    """One guest access: `width` bytes at `gpa` (identity-mapped, so also the linear address)."""

    kind: Literal["read", "write"]
    gpa: int
    width: Literal[1, 8] = 1
    value: int = 0  # what a write stores

    @property
    def gfn(self) -> int:
        return self.gpa // PAGE_SIZE

    def __post_init__(self) -> None:
        if self.kind not in ("read", "write"):
            raise ValueError(f"access kind {self.kind!r} is not 'read' or 'write'")
        if self.width not in (1, 8):
            raise ValueError(f"access width {self.width} is not 1 or 8 bytes")
        if not 0 <= self.gpa <= MAPPED_BYTES - self.width:
            raise ValueError(f"access gpa {self.gpa:#x} outside [0, {MAPPED_BYTES:#x})")
        if self.gpa // PAGE_SIZE == REPORT_GPA // PAGE_SIZE:
            raise ValueError(f"access gpa {self.gpa:#x} is on the report page")
        if not 0 <= self.value < 1 << (8 * self.width):
            raise ValueError(f"write value {self.value:#x} does not fit {self.width} byte(s)")


def read(gfn: int, *, width: Literal[1, 8] = 1, offset: int = 0) -> Access:
    return Access("read", gfn * PAGE_SIZE + offset, width)


def write(gfn: int, value: int, *, width: Literal[1, 8] = 1, offset: int = 0) -> Access:
    return Access("write", gfn * PAGE_SIZE + offset, width, value)


@dataclass(frozen=True, slots=True)
class Program:
    """Machine code for a sequence of accesses; `loop` programs repeat forever."""

    accesses: tuple[Access, ...]
    code: bytes
    loop: bool


def assemble(accesses: Iterable[Access], *, loop: bool = False) -> Program:
    """Encode each access followed by its report; then `jmp $` (or a jump back to the start)."""
    accesses = tuple(accesses)
    code = bytearray()
    for access in accesses:
        if access.kind == "read":
            code += _load_rax(access.gpa, access.width)
        else:
            code += _mov_rax_imm64(access.value)
            code += _store_rax(access.gpa, access.width)
        code += _store_rax(REPORT_GPA, 8)
    code += _jmp_rel32(-(len(code) + 5)) if loop else _JMP_SELF
    if CODE_GPA + len(code) > CODE_LIMIT:
        raise ValueError(f"{len(accesses)} accesses need {len(code)} bytes of code, too many")
    return Program(accesses, bytes(code), loop)


# A tiny x86-64 encoder. Every memory operand is an absolute address: ModRM mod=00 rm=100 selects
# a SIB byte, and SIB 0x25 (no base, no index) means "disp32", sign-extended, so every address
# used here is below 2 GiB.


def _absolute(modrm_reg: int, address: int) -> bytes:
    return bytes((modrm_reg << 3 | 0b100, 0x25)) + struct.pack("<i", address)


def _load_rax(address: int, width: int) -> bytes:
    if width == 1:
        return b"\x0f\xb6" + _absolute(0, address)  # movzx eax, byte [address] (clears rax high)
    return b"\x48\x8b" + _absolute(0, address)  # mov rax, qword [address]


def _store_rax(address: int, width: int) -> bytes:
    if width == 1:
        return b"\x88" + _absolute(0, address)  # mov byte [address], al
    return b"\x48\x89" + _absolute(0, address)  # mov qword [address], rax


def _mov_rax_imm64(value: int) -> bytes:
    return b"\x48\xb8" + struct.pack("<Q", value)  # movabs rax, imm64


def _jmp_rel32(displacement: int) -> bytes:
    return b"\xe9" + struct.pack("<i", displacement)  # jmp rel32 (from the next instruction)


_JMP_SELF = b"\xeb\xfe"  # jmp $ : where a finished program waits


class Guest:
    """The guest's own memory inside a VM: page tables, GDT, code area and report page.

    Creating it installs two memslots (SYSTEM_SLOT and the read-only REPORT_SLOT), i.e. two
    memslot generation steps, before any test operation.
    """

    def __init__(self, vm: Vm) -> None:
        if not vm.system.check_extension(ioctls.KVM_CAP_READONLY_MEM):
            raise RuntimeError("this KVM has no KVM_CAP_READONLY_MEM, needed by the report page")
        self.vm = vm
        self.system = vm.allocate(REPORT_GPA)
        self.report_page = vm.allocate(PAGE_SIZE)
        self._write_page_tables()
        for index, entry in enumerate(GDT_ENTRIES):
            self.system.write_int(GDT_GPA + 8 * index, 8, entry)
        vm.create_memslot(SYSTEM_SLOT, 0, self.system)
        vm.create_memslot(REPORT_SLOT, REPORT_GPA, self.report_page, ioctls.KVM_MEM_READONLY)

    def enter(self, vcpu: Vcpu, program: Program, *, cpl: Literal[0, 3] = 3) -> None:
        """Load `program` and point `vcpu` at it, in native CPL3 or emulated CPL0 mode.

        The vCPU must have no MMIO access pending (VcpuRunner.enter takes care of that).
        """
        self.system.write(CODE_GPA, program.code)
        vcpu.set_sregs(_sregs(vcpu.get_sregs(), cpl))
        regs = ioctls.Regs()
        regs.rip, regs.rsp, regs.rflags = CODE_GPA, STACK_TOP, RFLAGS
        vcpu.set_regs(regs)

    def _write_page_tables(self) -> None:
        self.system.write_int(PML4_GPA, 8, PDPT_GPA | PTE_P_RW_US)
        self.system.write_int(PDPT_GPA, 8, PD_GPA | PTE_P_RW_US)
        entries_per_table = PAGE_SIZE // 8
        for table in range(MAPPED_BYTES >> 21):
            table_gpa = PT_GPA + table * PAGE_SIZE
            self.system.write_int(PD_GPA + 8 * table, 8, table_gpa | PTE_P_RW_US)
            first_gfn = table * entries_per_table
            entries = [
                (first_gfn + index) * PAGE_SIZE | PTE_P_RW_US for index in range(entries_per_table)
            ]
            self.system.write(table_gpa, struct.pack(f"<{entries_per_table}Q", *entries))


def _sregs(sregs: ioctls.Sregs, cpl: int) -> ioctls.Sregs:
    """Flat 64-bit segments at the requested privilege level, paging with the guest's PML4."""
    if cpl not in (0, 3):
        raise ValueError(f"cpl {cpl} is not 0 or 3")
    code_selector, data_selector = (USER_CS, USER_DS) if cpl == 3 else (KERNEL_CS, KERNEL_DS)
    sregs.cs = _segment(code_selector, segment_type=11, dpl=cpl, long_mode=True)
    for name in ("ds", "es", "fs", "gs", "ss"):
        setattr(sregs, name, _segment(data_selector, segment_type=3, dpl=cpl, long_mode=False))
    sregs.tr = ioctls.Segment(base=0, limit=0x67, selector=TSS, type=11, present=1)
    sregs.ldt = ioctls.Segment(limit=0xFFFF, type=2, unusable=1)
    sregs.gdt = ioctls.Dtable(base=GDT_GPA, limit=8 * len(GDT_ENTRIES) - 1)
    sregs.idt = ioctls.Dtable(base=0, limit=0)  # no IDT: any exception ends the run (SHUTDOWN)
    sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer = CR0, PML4_GPA, CR4, EFER
    return sregs


def _segment(selector: int, *, segment_type: int, dpl: int, long_mode: bool) -> ioctls.Segment:
    return ioctls.Segment(
        base=0,
        limit=0xFFFFFFFF,
        selector=selector,
        type=segment_type,
        present=1,
        dpl=dpl,
        db=0 if long_mode else 1,
        s=1,
        l=int(long_mode),
        g=1,
    )
