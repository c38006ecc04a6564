"""Laws of the MMIO spte encoding, for every era and profile: what comes back from an spte, which
bits may never share a place, and when check_mmio_spte may pass. The expected values are stated
from KERNEL_FACTS.md, not taken from the implementation's own derived properties."""

import functools
import itertools
import operator

from hypothesis import given
from hypothesis import strategies as st

from kvm_mmio.spte import (
    ERAS,
    PAGING_MODES,
    PHYS_BITS_RANGE,
    Profile,
    check_mmio_spte,
    describe,
    get_mmio_spte_access,
    get_mmio_spte_generation,
    get_mmio_spte_gfn,
    is_mmio_spte,
    make_mmio_spte,
    mmio_generation,
)

U64 = (1 << 64) - 1
BIT_63 = 1 << 63
# Generation bits that survive make -> get, per era (KERNEL_FACTS.md section 2).
SURVIVING_GEN_BITS = {"v5.0": 0xFFFFE, "v5.1": 0x3FF, "v6": 0x7FFFF}


def all_profiles():
    low, high = PHYS_BITS_RANGE
    for era, paging, l1tf in itertools.product(ERAS, PAGING_MODES, (False, True)):
        for phys_bits in range(low, high + 1):
            for cache_bits in range(phys_bits, high + 1):
                yield Profile(era, paging, phys_bits, cache_bits, l1tf)


@st.composite
def profiles(draw, caching=True):
    low, high = PHYS_BITS_RANGE
    phys_bits = draw(st.integers(low, high) | st.sampled_from([39, 46, 52]))
    profile = Profile(
        era=draw(st.sampled_from(ERAS)),
        paging=draw(st.sampled_from(PAGING_MODES)),
        phys_bits=phys_bits,
        cache_bits=draw(st.integers(phys_bits, high) | st.just(phys_bits)),
        l1tf=draw(st.booleans()),
    )
    if caching and not profile.mmio_caching_enabled:
        return Profile(profile.era, "ept", phys_bits, profile.cache_bits, profile.l1tf)
    return profile


@st.composite
def mmio_sptes(draw):
    """A profile with MMIO caching, and the (gfn, access, gen) of an spte it makes."""
    profile = draw(profiles())
    gfn = draw(st.integers(0, profile.gfn_limit - 1))
    access = draw(st.integers(0, 7))
    gen = draw(st.integers(0, profile.gen_mask) | st.sampled_from([0, 0x3FF, 0x400]))
    return profile, gfn, access, gen


@given(mmio_sptes())
def test_round_trip(case):
    profile, gfn, access, gen = case
    spte = make_mmio_spte(profile, gfn, access, gen)
    quirk_bit_39 = profile.era in ("v5.0", "v5.1") and profile.paging == "shadow"
    quirk_bit_39 = quirk_bit_39 and profile.phys_bits == 52
    assert is_mmio_spte(profile, spte)
    assert get_mmio_spte_gfn(profile, spte) == gfn | (quirk_bit_39 << 39)
    assert get_mmio_spte_access(profile, spte) == (access & 6 if profile.paging == "shadow" else 0)
    assert get_mmio_spte_generation(profile, spte) == gen & SURVIVING_GEN_BITS[profile.era]


def test_round_trip_gen_mask_matches_the_facts():
    for era, surviving in SURVIVING_GEN_BITS.items():
        assert Profile(era=era).round_trip_gen_mask == surviving


def test_bit_groups_never_overlap():
    """Generation, gfn (in place and relocated), access, L1TF and mmio-mask bits are disjoint in
    every profile, except bit 51 in era A shadow paging with phys_bits 52 (the mmio mask and the
    gfn both own it); describe() accounts for every bit."""
    for profile in all_profiles():
        groups = {
            "gen": profile.gen_spte_mask,
            "gfn": profile.lower_gfn_mask,
            "relocated gfn": profile.rsvd_mask << 5,
            "access": profile.access_decode_mask,
            "rsvd": profile.rsvd_mask,
            "mmio mask": profile.mmio_mask,
        }
        quirk = profile.family == "A" and profile.paging == "shadow" and profile.phys_bits == 52
        for (name_a, mask_a), (name_b, mask_b) in itertools.combinations(groups.items(), 2):
            expected = 1 << 51 if quirk and {name_a, name_b} == {"gfn", "mmio mask"} else 0
            assert mask_a & mask_b == expected, (profile, name_a, name_b)
        assert functools.reduce(operator.or_, groups.values()) <= U64, profile
        described = functools.reduce(operator.or_, (field.mask for field in describe(profile, 0)))
        assert described == U64, profile


@given(mmio_sptes(), st.sampled_from([1, 2]), st.integers(0, 8))
def test_spte_built_during_an_update_never_passes(case, address_spaces, later_updates):
    """An spte made while the generation carries the in-progress mark misses in that generation,
    in the generation the update ends in, and in later ones up to the next MMIO wrap."""
    profile, gfn, access, old_gen = case
    if profile.era == "v5.0":
        old = old_gen & ~1  # settled generations are even in era A
        marked = old + 1
        final = marked + 2 * address_spaces - 1
        step = 2 * address_spaces
    else:
        old = old_gen
        marked = old | BIT_63
        final = old + address_spaces
        step = address_spaces
    spte = make_mmio_spte(profile, gfn, access, mmio_generation(profile, marked))
    assert not check_mmio_spte(profile, spte, marked)
    assert not check_mmio_spte(profile, spte, final + later_updates * step)


@st.composite
def spte_and_current(draw):
    """Any spte, and a memslots generation that often equals the spte's generation."""
    profile = draw(profiles(caching=False))
    spte = draw(st.integers(0, U64))
    spte_gen = get_mmio_spte_generation(profile, spte)
    above = draw(st.integers(0, U64 >> profile.gen_bits)) << profile.gen_bits
    near = (above | spte_gen) & U64
    current = draw(st.just(near) | st.integers(0, U64) | st.just(near | BIT_63) | st.just(near | 1))
    return profile, spte, current


@given(spte_and_current())
def test_check_passes_iff_generations_equal_when_settled(case):
    profile, spte, current = case
    in_progress = current & profile.update_in_progress_mask
    equal = (current & profile.gen_mask) == get_mmio_spte_generation(profile, spte)
    assert check_mmio_spte(profile, spte, current) == (equal and not in_progress)


@given(profiles(), st.integers(0, U64))
def test_decoders_accept_any_64_bit_spte(profile, spte):
    assert 0 <= get_mmio_spte_gfn(profile, spte) < 1 << 52
    assert get_mmio_spte_access(profile, spte) in range(8)
    assert get_mmio_spte_generation(profile, spte) >> 22 == 0
    assert isinstance(is_mmio_spte(profile, spte), bool)
