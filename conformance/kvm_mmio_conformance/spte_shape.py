"""Where the MMIO spte encoding changes shape: the values the spte vectors are generated from.

Why derived rather than listed: an encoding that is wrong only at a width nobody thought of (36,
47, 51 physical bits), at the edge of the L1TF window, for one gfn bit or at one generation bit
passes any handful of examples. So the vectors are built from the shape of kvm_mmio.spte.Profile
itself: every physical width (each moves the gfn field, and under L1TF the window), the widths
where the L1TF mask switches off (cache_bits 46, 47, 48) and where MMIO caching switches off (51,
52), cache widths above the physical one on both sides of the switch, every bit of the gfn field
on the widths that lay it out differently, every bit of each era's generation and each part of
the spte that holds it, and every bit of the MMIO mask.
"""

from __future__ import annotations

from collections.abc import Iterator

from kvm_mmio.spte import (
    L1TF_MAX_CACHE_BITS,
    PAGE_SHIFT,
    PHYS_BITS_RANGE,
    U64_MASK,
    Profile,
)

__all__ = [
    "cpu_profiles",
    "gen_edges",
    "gfn_bits",
    "gfn_walk_cpus",
    "mmio_mask_bits",
]

LOW, HIGH = PHYS_BITS_RANGE
# The last cache width with an L1TF window, and the first without (era B; era A: phys_bits).
LAST_WINDOW = L1TF_MAX_CACHE_BITS - 1


def cpu_profiles() -> Iterator[tuple[int, int, bool, str]]:
    """(phys_bits, cache_bits, l1tf, why) for every CPU the vectors try, in a fixed order."""
    for bits in range(LOW, HIGH + 1):
        for l1tf in (True, False):
            yield bits, bits, l1tf, _why_equal(bits, l1tf)
    # The L1 cache wider than MAXPHYADDR: era B masks by cache_bits, era A by phys_bits; on both
    # sides of the L1TF switch, and up to the widest cache.
    wider = [
        (LOW, HIGH),
        (39, 44),
        (40, LAST_WINDOW),
        (40, L1TF_MAX_CACHE_BITS),
        (40, L1TF_MAX_CACHE_BITS + 1),
        (LAST_WINDOW, L1TF_MAX_CACHE_BITS),
        (HIGH - 1, HIGH),
    ]
    for phys, cache in wider:
        for l1tf in (True, False):
            yield phys, cache, l1tf, _why_wider(phys, cache, l1tf)


def _why_equal(bits: int, l1tf: bool) -> str:
    if bits == HIGH:
        return "52 physical address bits: no reserved bit for shadow paging"
    if bits == HIGH - 1:
        return "51 physical address bits: bit 51, the shadow MMIO bit, is the first reserved one"
    window = " with an L1TF window" if bits <= LAST_WINDOW else ", above the L1TF switch"
    flag = "L1TF" if l1tf else "no L1TF bug"
    return f"{bits} physical address bits{window} ({flag})"


def _why_wider(phys: int, cache: int, l1tf: bool) -> str:
    side = "has" if cache <= LAST_WINDOW else "has no"
    flag = "L1TF" if l1tf else "no L1TF bug"
    return f"L1 cache width {cache} above MAXPHYADDR {phys}: era B {side} an L1TF window ({flag})"


def gfn_walk_cpus() -> tuple[tuple[int, int, bool], ...]:
    """The CPUs whose gfn field is walked bit by bit: the narrowest (window at 31-35), the common
    host (41-45), a cache wider than the physical width (era A and B windows differ), the
    first width without a window, and the widest."""
    return (
        (LOW, LOW, True),
        (46, 46, True),
        (39, 44, True),
        (L1TF_MAX_CACHE_BITS, L1TF_MAX_CACHE_BITS, True),
        (HIGH, HIGH, False),
    )


def gfn_bits(profile: Profile) -> range:
    """Every bit of the gfn field: gfn bit i is gpa bit i + 12, below phys_bits."""
    return range(profile.phys_bits - PAGE_SHIFT)


def gen_edges(profile: Profile) -> Iterator[tuple[str, int]]:
    """(label, generation): each generation bit alone, then each run of bits an spte part holds
    (all set), then the whole mask."""
    for bit in range(profile.gen_bits):
        yield f"gen-bit{bit}", 1 << bit
    for index, part in enumerate(profile.gen_layout):
        run = ((1 << part.width) - 1) << part.gen_start
        yield f"gen-part{index}", run & profile.gen_mask
    yield "gen-all", profile.gen_mask


def mmio_mask_bits(profile: Profile) -> list[int]:
    """The bits of shadow_mmio_mask, lowest first (is_mmio_spte compares all of them)."""
    mask = profile.mmio_mask & U64_MASK
    return [bit for bit in range(64) if mask >> bit & 1]
