"""The kernel's 64-bit memslot generation values behind the spec's abstract (gen, busy) pair.

Why: the spec (and the rest of the reference) works with a pair: ``gen``, the generation without
the "update in progress" mark, and ``busy``, the mark.  Conformance vectors, the live-kernel
adapter and the spte encoding need the value the kernel really holds in
``kvm_memslots->generation``; this module converts between the two and states each era's
arithmetic on the kernel value (see shared/KERNEL_FACTS.md sections 1, 2 and 4):

- era "A" (v5.0 and the v5.1 merge window, up to the seed ddfd1730fd82): the mark is bit 0, so
  the value is ``gen + 1`` while busy (odd) and ``gen`` (even) otherwise
  (virt/kvm/kvm_main.c install_new_memslots, ee3d1570b586);
- era "B" (v5.1 .. v6.x): the mark is bit 63, KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS
  (164bf7e56c5a; kvm_swap_active_memslots in v6.x).

The spec's ``GenBits`` stands for the generation bits an MMIO spte keeps (20 in era A, of which
bit 0 is never stored; 19 in era B: arch/x86/kvm/mmu.c in v5.0, arch/x86/kvm/mmu/spte.h in v6.x);
the functions here use the kernel's widths, so that the spec's abstract tests can be compared with
the kernel's on real values.  The bit layout inside the spte is kvm_mmio.spte's business.
"""

from __future__ import annotations

__all__ = [
    "ERAS",
    "U64_MASK",
    "abstract_generation",
    "check_mmio_spte",
    "gen_step",
    "initial_generation",
    "is_update_in_progress",
    "kernel_generation",
    "mmio_gen_bits",
    "mmio_generation",
    "spte_generation",
    "wraps",
]

ERAS = ("A", "B")
U64_MASK = (1 << 64) - 1
# Era B's KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS (include/linux/kvm_host.h).
_ERA_B_MARK = 1 << 63
# MMIO_GEN_MASK (v5.0 mmu.c: 20 bits) and MMIO_SPTE_GEN_MASK (v6 mmu/spte.h: GENMASK_ULL(18, 0)).
_MMIO_BITS = {"A": 20, "B": 19}


def _era(era: str) -> str:
    if era not in ERAS:
        raise ValueError(f'era: must be "A" or "B", got {era!r}')
    return era


def _u64(field: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= U64_MASK:
        raise ValueError(f"{field}: must be an integer in 0..2^64-1, got {value!r}")
    return value


def _nr_as(nr_as: object) -> int:
    if nr_as not in (1, 2) or isinstance(nr_as, bool):
        raise ValueError(f"nr_as: must be 1 or 2, got {nr_as!r}")
    return int(nr_as)  # type: ignore[arg-type]


def mmio_gen_bits(era: str) -> int:
    """The generation bits the kernel's MMIO generation keeps: 20 (era A), 19 (era B)."""
    return _MMIO_BITS[_era(era)]


def gen_step(era: str, nr_as: int) -> int:
    """The final increment of one install: 2 * NR_AS in era A (bit 0 is the mark, so the base
    stays even; install_new_memslots adds 2 * KVM_ADDRESS_SPACE_NUM - 1 to the marked value),
    NR_AS in era B (kvm_swap_active_memslots adds KVM_ADDRESS_SPACE_NUM to the unmarked one)."""
    return 2 * _nr_as(nr_as) if _era(era) == "A" else _nr_as(nr_as)


def initial_generation(era: str, a: int) -> int:
    """The generation kvm_create_vm gives AS ``a``: v5.0 ``a * 2 - 150`` as a u64 (placed near the
    wrap on purpose, so that wrap bugs show early); era B ``a``."""
    if a not in (0, 1) or isinstance(a, bool):
        raise ValueError(f"a: must be an address space 0 or 1, got {a!r}")
    return (a * 2 - 150) & U64_MASK if _era(era) == "A" else a


def kernel_generation(era: str, gen: int, busy: bool) -> int:
    """The kernel's value for the spec's pair (gen, busy).  Era A needs an even ``gen`` (bit 0 is
    the mark); era B a ``gen`` below 2^63 (bit 63 is the mark)."""
    _u64("gen", gen)
    if _era(era) == "A":
        if gen & 1:
            raise ValueError(f"gen: must be even in era A (bit 0 is the mark), got {gen}")
        return gen + 1 if busy else gen
    if gen & _ERA_B_MARK:
        raise ValueError(f"gen: must be below 2^63 in era B (bit 63 is the mark), got {gen}")
    return gen | _ERA_B_MARK if busy else gen


def abstract_generation(era: str, value: int) -> tuple[int, bool]:
    """The spec's pair (gen, busy) for a kernel value: the value without the mark, and the mark."""
    _u64("value", value)
    mark = 1 if _era(era) == "A" else _ERA_B_MARK
    return value & ~mark, bool(value & mark)


def is_update_in_progress(era: str, value: int) -> bool:
    """Whether a kernel generation carries the in-progress mark (era A: odd; era B: bit 63)."""
    return abstract_generation(era, value)[1]


def mmio_generation(era: str, value: int) -> int:
    """The MMIO generation the kernel derives from a memslots generation: masked to the era's
    width (kvm_mmu_invalidate_mmio_sptes, check_mmio_spte).  Era A keeps bit 0 (the mark) here;
    era B's mark, bit 63, falls outside the mask."""
    return _u64("value", value) & ((1 << mmio_gen_bits(era)) - 1)


def spte_generation(era: str, value: int) -> int:
    """The generation an MMIO spte made now stores: the MMIO generation without the mark (era A
    never stores bit 0, mmu.c generation_mmio_spte_mask; era B masks bit 63 away, mmu/spte.c
    make_mmio_spte).  So an spte made during an update keeps the old generation's bits."""
    masked = mmio_generation(era, value)
    return masked & ~1 if era == "A" else masked


def check_mmio_spte(era: str, value: int, stored: int) -> bool:
    """check_mmio_spte: does an MMIO spte that stores ``stored`` match the vCPU's memslots
    generation ``value``?  Era A compares the masked value with bit 0, so an odd (in-progress)
    generation never matches; era B misses outright while bit 63 is set."""
    _u64("stored", stored)
    if _era(era) == "B" and value & _ERA_B_MARK:
        return False
    return mmio_generation(era, value) == stored


def wraps(era: str, value: int, nr_as: int, *, any_as_fix: bool = True) -> bool:
    """The wrap test of kvm_mmu_invalidate_mmio_sptes on the final generation of an install: zap
    every shadow page when the MMIO generation wrapped.

    v5.0 (``any_as_fix=False``, era A only) tests the raw 20-bit value, which only the AS whose
    generations are multiples of 4 can hit; "KVM: x86/mmu: Detect MMIO generation wrap in any
    address space" (2019) drops bit 0 (era A) and the address-space bits (NR_AS - 1) first; era B
    masks to 19 bits and clears the address-space bits."""
    nr_as = _nr_as(nr_as)
    masked = mmio_generation(era, value)
    if not any_as_fix:
        if era != "A":
            raise ValueError("any_as_fix: era B always has the fix (False is era A only)")
        return masked == 0
    if era == "A":
        masked >>= 1
    return masked & ~(nr_as - 1) == 0
