"""The bit-exact x86 MMIO spte encoding of each kernel era.

An MMIO spte is KVM's note, left in the shadow page table, that a gfn has no memslot: the next guest
access faults straight into MMIO emulation instead of walking the memslots again. The note is tagged
with a few bits of the memslots generation so that a memslot update makes it stale. Whether the
abstract "generation compare" of the spec is sound depends on which bits really survive in the spte,
so this module says, to the bit, what each era stores and reads back.

Eras (a `Profile` picks one):

- ``v5.0``: the seed's tree (v3.17 to v5.0, and the v5.1 merge window up to the seed ddfd1730fd82).
  20-bit MMIO generation; bit 0 is the "update in progress" mark and is never stored.
- ``v5.1``: the v5.1 to v5.4 releases. The in-progress mark moved to bit 63 (164bf7e56c5a, same
  2019 series as the seed), 19 bits are kept, and the upper half is stored and read back without its
  shift (cae7ed3c2cb0, fixed by 34c0f6f2695a in Dec 2020). See `Profile.known_bug`.
- ``v6``: v5.13 to v6.x, the layout of arch/x86/kvm/mmu/spte.h today (19 bits, high part 52-62).

Every fact is tagged with the kernel file it was read in. Kernel code is GPL; this is an
independent description of the same arithmetic, not a copy.
"""

import attrs

__all__ = [
    "ERAS",
    "PAGING_MODES",
    "PHYS_BITS_RANGE",
    "GenPart",
    "Profile",
    "SpteField",
    "bit_ranges",
    "check_mmio_spte",
    "describe",
    "generation_mmio_spte_mask",
    "get_mmio_spte_access",
    "get_mmio_spte_generation",
    "get_mmio_spte_gfn",
    "is_mmio_spte",
    "is_update_in_progress",
    "make_mmio_spte",
    "mmio_generation",
]

ERAS = ("v5.0", "v5.1", "v6")
# "shadow": shadow paging or AMD NPT (the non-EPT masks); "ept": Intel EPT.
PAGING_MODES = ("shadow", "ept")
# CPUID.80000008H:EAX[7:0] on x86-64 parts ranges from 36 to 52 (the architectural maximum).
PHYS_BITS_RANGE = (36, 52)

U64_MASK = (1 << 64) - 1
PAGE_SHIFT = 12
# SHADOW_NONPRESENT_OR_RSVD_MASK_LEN (mmu.c in era A, mmu/spte.h in era B): the L1TF mitigation
# forces the top 5 bits below the cache width to 1 and moves the gpa bits found there 5 bits higher.
RSVD_MASK_LEN = 5
# x86 ACC_* bits (mmu/spte.h): ACC_EXEC_MASK 1, ACC_WRITE_MASK 2, ACC_USER_MASK 4.
ACC_ALL = 7
ACC_WRITE_USER = 6
# SPTE_SPECIAL_MASK of v5.0-v5.4 (mmu.c): bit 62, OR-ed into shadow_mmio_value and shadow_mmio_mask
# by kvm_mmu_set_mmio_spte_mask. It became 3 << 52 in v5.5, which forced 56871d444bc4.
ERA_A_SPECIAL_BIT = 1 << 62
# Shadow paging / NPT (x86.c kvm_set_mmio_spte_mask in era A, spte.c kvm_mmu_reset_all_pte_masks
# in era B): a reserved physical address bit (51) plus the present bit, so accesses fault with RSVD.
SHADOW_MMIO_BITS = (1 << 51) | 1
# EPT (vmx.c ept_set_mmio_spte_mask in era A, spte.c kvm_mmu_set_ept_masks in era B): W+X without R,
# VMX_EPT_MISCONFIG_WX_VALUE, which makes an EPT misconfiguration exit; VMX_EPT_RWX_MASK selects it.
EPT_MISCONFIG_WX = 0x6
EPT_RWX = 0x7
# Era B also puts VMX_EPT_SUPPRESS_VE_BIT (63) in the EPT mmio mask ("KVM: x86/mmu: Add Suppress VE
# bit to EPT shadow_mmio_mask/shadow_present_mask", TDX preparation, 2024); before that it was 0x7.
EPT_SUPPRESS_VE = 1 << 63
# Era B kvm_mmu_reset_all_pte_masks applies the L1TF mask only while x86_cache_bits < 52 - 5.
L1TF_MAX_CACHE_BITS = 52 - RSVD_MASK_LEN


def _genmask(high: int, low: int) -> int:
    """Bits low..high set, like the kernel's GENMASK_ULL(high, low)."""
    return ((1 << (high - low + 1)) - 1) << low


@attrs.frozen
class GenPart:
    """One run of generation bits kept in an spte: gen bits [gen_start, gen_start + width) live in
    spte bits [spte_start, spte_start + width)."""

    gen_start: int
    spte_start: int
    width: int

    @property
    def spte_mask(self) -> int:
        return _genmask(self.spte_start + self.width - 1, self.spte_start)

    def store(self, gen: int) -> int:
        """The spte bits this part holds for generation `gen`."""
        return ((gen >> self.gen_start) << self.spte_start) & self.spte_mask

    def load(self, spte: int) -> int:
        """The generation bits this part reads back from `spte`."""
        return ((spte & self.spte_mask) >> self.spte_start) << self.gen_start


@attrs.frozen
class _Era:
    """What differs between eras, in one row per era (see `_ERAS`)."""

    family: str  # "A": v5.0-v5.4 masks (mmu.c, x86.c); "B": v5.13+ masks (mmu/spte.c)
    gen_mask: int
    store_parts: tuple[GenPart, ...]
    load_parts: tuple[GenPart, ...]
    round_trip_gen_mask: int
    update_in_progress_mask: int
    known_bug: str | None


_V5_1_BUG = (
    "v5.1-v5.4 store and read back the upper part of the MMIO generation without its shift "
    "(cae7ed3c2cb0 'KVM: x86: Refactor the MMIO SPTE generation handling', fixed by 34c0f6f2695a "
    "'KVM: mmu: Fix SPTE encoding of MMIO generation upper half'): spte bits 52-61 hold generation "
    "bits 0-9 instead of 9-18, so only bits 0-9 survive and every check misses once the "
    "generation reaches 0x400"
)

_ERAS = {
    # mmu.c v5.0: MMIO_GEN_MASK (1 << 20) - 1; generation_mmio_spte_mask stores (gen & 0x3FE) << 2
    # (gen bits 1-9 in spte 3-11) and (gen >> 10) << 52 (gen bits 10-19 in spte 52-61).
    # get_mmio_spte_generation clears shadow_mmio_mask, then reads (spte >> 2) & 0x3FE and
    # (spte >> 52) << 10: the high read takes every bit from 52 up, so spte bit 63 lands in gen
    # bit 21. The in-progress mark is bit 0 (kvm_main.c install_new_memslots: old + 1).
    "v5.0": _Era(
        family="A",
        gen_mask=_genmask(19, 0),
        store_parts=(GenPart(1, 3, 9), GenPart(10, 52, 10)),
        load_parts=(GenPart(1, 3, 9), GenPart(10, 52, 12)),
        round_trip_gen_mask=_genmask(19, 1),
        update_in_progress_mask=1,
        known_bug=None,
    ),
    # mmu.c v5.1-v5.4: MMIO_SPTE_GEN_MASK GENMASK_ULL(18, 0); low part GENMASK(11, 3), high part
    # GENMASK(61, 52); both shifted by their START (3 and 52) on store and on load, which is the
    # bug. KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS is bit 63 (164bf7e56c5a) and check_mmio_spte tests it.
    "v5.1": _Era(
        family="A",
        gen_mask=_genmask(18, 0),
        store_parts=(GenPart(0, 3, 9), GenPart(0, 52, 10)),
        load_parts=(GenPart(0, 3, 9), GenPart(0, 52, 10)),
        round_trip_gen_mask=_genmask(9, 0),
        update_in_progress_mask=1 << 63,
        known_bug=_V5_1_BUG,
    ),
    # mmu/spte.h v5.13-v6.17: MMIO_SPTE_GEN_LOW 3-10 (8 bits), HIGH 52-62 (11 bits), high shift
    # 52 - 8 = 44; MMIO_SPTE_GEN_MASK GENMASK_ULL(18, 0). The 3-10 low part came with "KVM: x86/mmu:
    # Use a dedicated bit to track shadow/MMU-present SPTEs" (bit 11, v5.13). The 18-bit note in
    # Documentation/virt/kvm/x86/mmu.rst is stale; the code keeps 19.
    "v6": _Era(
        family="B",
        gen_mask=_genmask(18, 0),
        store_parts=(GenPart(0, 3, 8), GenPart(8, 52, 11)),
        load_parts=(GenPart(0, 3, 8), GenPart(8, 52, 11)),
        round_trip_gen_mask=_genmask(18, 0),
        update_in_progress_mask=1 << 63,
        known_bug=None,
    ),
}


def _check_int(field: str, value: object, low: int, high: int) -> None:
    """Raise ValueError naming the field and the range unless `value` is an int in low..high."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{field}: expected an integer in {low:#x}..{high:#x}, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{field}: {value:#x} is outside the allowed range {low:#x}..{high:#x}")


def _one_of(field: str, choices: tuple[str, ...]):
    def validate(_instance, _attribute, value):
        if value not in choices:
            raise ValueError(f"{field}: {value!r} is not one of {', '.join(choices)}")

    return validate


def _validate_phys_bits(_instance, _attribute, value):
    low, high = PHYS_BITS_RANGE
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"phys_bits: {value!r} is outside the allowed range {low}..{high}")


def _validate_cache_bits(instance, _attribute, value):
    # x86_cache_bits starts equal to x86_phys_bits and is only ever raised (arch/x86/kernel/cpu/
    # bugs.c override_cache_bits), so it lies in phys_bits..52.
    low, high = instance.phys_bits, PHYS_BITS_RANGE[1]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(
            f"cache_bits: {value!r} is outside the allowed range {low}..{high} (phys_bits..52)"
        )


def _validate_l1tf(_instance, _attribute, value):
    if not isinstance(value, bool):
        raise ValueError(f"l1tf: {value!r} is not a boolean (true or false)")


@attrs.frozen
class Profile:
    """One kernel configuration: the era, the paging mode and the CPU facts the masks depend on.

    `phys_bits` is x86_phys_bits (CPUID MAXPHYADDR), `cache_bits` x86_cache_bits (the width the
    L1 cache is addressed with; only era B's L1TF mask reads it) and `l1tf` whether the CPU has
    X86_BUG_L1TF (only era B looks). The defaults are those of a common Intel host with EPT.
    """

    era: str = attrs.field(default="v6", validator=_one_of("era", ERAS))
    paging: str = attrs.field(default="ept", validator=_one_of("paging", PAGING_MODES))
    phys_bits: int = attrs.field(default=46, validator=_validate_phys_bits)
    cache_bits: int = attrs.field(default=46, validator=_validate_cache_bits)
    l1tf: bool = attrs.field(default=True, validator=_validate_l1tf)

    @property
    def _era(self) -> _Era:
        return _ERAS[self.era]

    @property
    def family(self) -> str:
        """Mask family: A for the v5.0-v5.4 masks (mmu.c, x86.c), B for v5.13+ (mmu/spte.c)."""
        return self._era.family

    @property
    def gen_mask(self) -> int:
        """MMIO_SPTE_GEN_MASK (MMIO_GEN_MASK in v5.0): the memslots generation bits kept."""
        return self._era.gen_mask

    @property
    def gen_bits(self) -> int:
        return self.gen_mask.bit_length()

    @property
    def gen_layout(self) -> tuple[GenPart, ...]:
        """Where make_mmio_spte puts the generation: the low part first, then the high part."""
        return self._era.store_parts

    @property
    def gen_load_layout(self) -> tuple[GenPart, ...]:
        """Where get_mmio_spte_generation reads the generation back: gen_layout, except that v5.0
        reads every bit from 52 up, so spte bit 63 lands in generation bit 21."""
        return self._era.load_parts

    @property
    def gen_spte_mask(self) -> int:
        """Every spte bit that holds generation bits (generation_mmio_spte_mask of the max gen)."""
        mask = 0
        for part in self.gen_layout:
            mask |= part.spte_mask
        return mask

    @property
    def round_trip_gen_mask(self) -> int:
        """The generation bits get_mmio_spte_generation gives back from make_mmio_spte (derived):
        v5.0 drops bit 0, v5.1's missing shift keeps only bits 0-9, v6 keeps all 19."""
        return self._era.round_trip_gen_mask

    @property
    def update_in_progress_mask(self) -> int:
        """The memslots generation bit set while an update is in flight: bit 0 (odd) in v5.0,
        KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS (bit 63) from v5.1 on (164bf7e56c5a)."""
        return self._era.update_in_progress_mask

    @property
    def known_bug(self) -> str | None:
        """The documented encoding bug of this era, if it has one (only v5.1)."""
        return self._era.known_bug

    @property
    def mmio_value(self) -> int:
        """shadow_mmio_value: the bits that mark an spte as MMIO.

        Era A non-EPT with phys_bits 52 drops the present bit (x86.c kvm_set_mmio_spte_mask: no
        reserved bit exists), leaving bit 51 inside lower_gfn_mask. Era B shadow paging with
        phys_bits 52 disables MMIO caching instead (value 0, spte.c kvm_mmu_reset_all_pte_masks).
        """
        if self.family == "A":
            if self.paging == "ept":
                return EPT_MISCONFIG_WX | ERA_A_SPECIAL_BIT
            present_dropped = SHADOW_MMIO_BITS & ~1 if self.phys_bits == 52 else SHADOW_MMIO_BITS
            return present_dropped | ERA_A_SPECIAL_BIT
        if self.paging == "ept":
            return EPT_MISCONFIG_WX
        # kvm_mmu_set_mmio_spte_mask also zeroes a value that overlaps the L1TF-relocated gfn
        # bits, but those end at cache_bits + 4 <= 50 (cache_bits < 47), below bit 51.
        return 0 if self.phys_bits == 52 else SHADOW_MMIO_BITS

    @property
    def mmio_mask(self) -> int:
        """shadow_mmio_mask: the bits compared with mmio_value by is_mmio_spte."""
        if self.family == "A":
            if self.paging == "ept":
                return EPT_RWX | ERA_A_SPECIAL_BIT
            return self.mmio_value
        if self.paging == "ept":
            return EPT_RWX | EPT_SUPPRESS_VE
        return 0 if self.phys_bits == 52 else SHADOW_MMIO_BITS

    @property
    def mmio_caching_enabled(self) -> bool:
        """Whether KVM makes MMIO sptes at all: era B turns caching off when mmio_value is 0
        (spte.c kvm_mmu_set_mmio_spte_mask: enable_mmio_caching = false); era A always does."""
        return self.family == "A" or self.mmio_value != 0

    @property
    def access_mask(self) -> int:
        """The ACC_* bits make_mmio_spte keeps: WRITE|USER in era A (mmu.c mark_mmio_spte);
        shadow_mmio_access_mask in era B: WRITE|USER for shadow/NPT, 0 for EPT."""
        if self.family == "B" and self.paging == "ept":
            return 0
        return ACC_WRITE_USER

    @property
    def access_decode_mask(self) -> int:
        """The spte bits get_mmio_spte_access returns. Era A: the low 12 bits minus the generation
        bits and shadow_mmio_mask (so nothing at all with EPT, whose mask covers bits 0-2);
        era B: shadow_mmio_access_mask."""
        if self.family == "A":
            return 0xFFF & ~self.gen_spte_mask & ~self.mmio_mask
        return self.access_mask

    @property
    def _l1tf_window(self) -> tuple[int, int] | None:
        """The first and last bit of shadow_nonpresent_or_rsvd_mask, or None when no mask is set."""
        if self.family == "A":
            # mmu.c v5.0 kvm_mmu_reset_all_pte_masks: x86_phys_bits, no L1TF flag test; it switched
            # to x86_cache_bits in 61455bf26236 (v5.2) and tested X86_BUG_L1TF from 2020 on.
            width, applies = self.phys_bits, self.phys_bits < L1TF_MAX_CACHE_BITS
        else:
            # mmu/spte.c kvm_mmu_reset_all_pte_masks: X86_BUG_L1TF and x86_cache_bits < 47.
            width = self.cache_bits
            applies = self.l1tf and self.cache_bits < L1TF_MAX_CACHE_BITS
        return (width - RSVD_MASK_LEN, width - 1) if applies else None

    @property
    def rsvd_mask(self) -> int:
        """shadow_nonpresent_or_rsvd_mask: the 5 bits forced to 1 against L1TF, or 0."""
        window = self._l1tf_window
        return _genmask(window[1], window[0]) if window else 0

    @property
    def lower_gfn_mask(self) -> int:
        """shadow_nonpresent_or_rsvd_lower_gfn_mask: the gpa bits left in place, from bit 12 up to
        the L1TF window (or to phys_bits - 1 without one)."""
        window = self._l1tf_window
        low_phys_bits = window[0] if window else self.phys_bits
        return _genmask(low_phys_bits - 1, PAGE_SHIFT)

    @property
    def gfn_limit(self) -> int:
        """One past the largest gfn the physical address width allows."""
        return 1 << (self.phys_bits - PAGE_SHIFT)


def mmio_generation(profile: Profile, memslots_generation: int) -> int:
    """The MMIO generation make_mmio_spte stores for a memslots generation as the kernel holds it:
    the generation masked to the era's width. Era B drops bit 63 here, so an spte made during an
    update carries the old generation's bits (mmu/spte.c make_mmio_spte)."""
    _check_int("memslots_generation", memslots_generation, 0, U64_MASK)
    return memslots_generation & profile.gen_mask


def is_update_in_progress(profile: Profile, memslots_generation: int) -> bool:
    """Whether a memslots generation carries the era's "update in progress" mark."""
    _check_int("memslots_generation", memslots_generation, 0, U64_MASK)
    return bool(memslots_generation & profile.update_in_progress_mask)


def generation_mmio_spte_mask(profile: Profile, gen: int) -> int:
    """The spte bits that hold MMIO generation `gen` (generation_mmio_spte_mask in the kernel)."""
    _check_int("gen", gen, 0, profile.gen_mask)
    spte = 0
    for part in profile.gen_layout:
        spte |= part.store(gen)
    return spte


def _require_mmio_caching(profile: Profile) -> None:
    if not profile.mmio_caching_enabled:
        raise ValueError(
            f"profile: MMIO caching is disabled for era {profile.era} {profile.paging} paging "
            f"with phys_bits {profile.phys_bits}: the kernel never makes an MMIO spte"
        )


def make_mmio_spte(profile: Profile, gfn: int, access: int, gen: int) -> int:
    """The MMIO spte KVM installs for `gfn` (make_mmio_spte / mark_mmio_spte in the kernel).

    `gen` is the MMIO generation (see `mmio_generation`), `access` the ACC_* bits of the fault.
    """
    _check_int("gfn", gfn, 0, profile.gfn_limit - 1)
    _check_int("access", access, 0, ACC_ALL)
    _require_mmio_caching(profile)
    gpa = gfn << PAGE_SHIFT
    spte = generation_mmio_spte_mask(profile, gen)
    spte |= profile.mmio_value | (access & profile.access_mask)
    spte |= gpa | profile.rsvd_mask
    spte |= (gpa & profile.rsvd_mask) << RSVD_MASK_LEN
    return spte


def is_mmio_spte(profile: Profile, spte: int) -> bool:
    """Whether `spte` is an MMIO spte: its mmio_mask bits equal mmio_value; era B also needs MMIO
    caching enabled (mmu/spte.h is_mmio_spte)."""
    _check_int("spte", spte, 0, U64_MASK)
    return (spte & profile.mmio_mask) == profile.mmio_value and profile.mmio_caching_enabled


def get_mmio_spte_gfn(profile: Profile, spte: int) -> int:
    """The gfn of an MMIO spte: the gpa bits in place plus the L1TF-relocated ones moved back."""
    _check_int("spte", spte, 0, U64_MASK)
    gpa = spte & profile.lower_gfn_mask
    gpa |= (spte >> RSVD_MASK_LEN) & profile.rsvd_mask
    return gpa >> PAGE_SHIFT


def get_mmio_spte_access(profile: Profile, spte: int) -> int:
    """The ACC_* bits of an MMIO spte (see `Profile.access_decode_mask`)."""
    _check_int("spte", spte, 0, U64_MASK)
    return spte & profile.access_decode_mask


def get_mmio_spte_generation(profile: Profile, spte: int) -> int:
    """The MMIO generation an spte carries. Era A clears shadow_mmio_mask first (mmu.c; the
    clearing went away in v5.5 with 56871d444bc4)."""
    _check_int("spte", spte, 0, U64_MASK)
    if profile.family == "A":
        spte &= ~profile.mmio_mask
    gen = 0
    for part in profile.gen_load_layout:
        gen |= part.load(spte)
    return gen


def check_mmio_spte(profile: Profile, spte: int, current_gen: int) -> bool:
    """Whether an MMIO spte's generation is current (check_mmio_spte in mmu.c).

    `current_gen` is the vCPU address space's memslots generation as the kernel holds it, with its
    in-progress mark. v5.1 on: a set KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS misses outright. v5.0 does
    not test the mark, but keeps bit 0 in the compared value while no spte stores it, so an odd
    generation never matches either: the explicit test below gives the same answers.
    The caller tests is_mmio_spte first, as handle_mmio_page_fault does.
    """
    _check_int("current_gen", current_gen, 0, U64_MASK)
    spte_gen = get_mmio_spte_generation(profile, spte)
    if current_gen & profile.update_in_progress_mask:
        return False
    return (current_gen & profile.gen_mask) == spte_gen


@attrs.frozen
class SpteField:
    """One named group of spte bits, for showing an spte to a person."""

    name: str
    mask: int
    value: int

    @property
    def bits(self) -> str:
        return bit_ranges(self.mask)


def bit_ranges(mask: int) -> str:
    """The set bits of `mask` as ranges, lowest first: 0x7FF00000000007F8 -> "3-10, 52-62"."""
    ranges = []
    bit = 0
    while mask >> bit:
        if (mask >> bit) & 1:
            start = bit
            while (mask >> (bit + 1)) & 1:
                bit += 1
            ranges.append(str(start) if start == bit else f"{start}-{bit}")
        bit += 1
    return ", ".join(ranges) if ranges else "none"


def describe(profile: Profile, spte: int) -> tuple[SpteField, ...]:
    """Which spte bits hold what in this profile's MMIO sptes, with `spte`'s value in each group.
    Groups may overlap where the kernel's masks do (v5.0/v5.1 shadow paging with phys_bits 52:
    bit 51 is both in the mmio mask and in the gfn). Empty groups are left out."""
    _check_int("spte", spte, 0, U64_MASK)
    relocated = profile.rsvd_mask << RSVD_MASK_LEN
    groups = [(f"mmio mask (MMIO iff equal to {profile.mmio_value:#x})", profile.mmio_mask)]
    groups.append(("access (ACC_EXEC 1, ACC_WRITE 2, ACC_USER 4)", profile.access_decode_mask))
    for part in profile.gen_layout:
        last = part.gen_start + part.width - 1
        groups.append((f"generation bits {part.gen_start}-{last}", part.spte_mask))
    last_gpa_bit = profile.lower_gfn_mask.bit_length() - 1
    groups.append((f"gfn, gpa bits 12-{last_gpa_bit} in place", profile.lower_gfn_mask))
    groups.append(("L1TF reserved bits (forced to 1)", profile.rsvd_mask))
    groups.append(("gfn, gpa bits relocated 5 up by L1TF", relocated))
    used = 0
    for _, mask in groups:
        used |= mask
    groups.append(("not part of an MMIO spte", U64_MASK & ~used))
    return tuple(SpteField(name, mask, spte & mask) for name, mask in groups if mask)
