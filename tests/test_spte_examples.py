"""The worked examples of ../shared/KERNEL_FACTS.md sections 2-4, one test each, as unit tests of
kvm_mmio.spte: if one fails, either the reference or the facts sheet is wrong."""

import pytest

from kvm_mmio.spte import (
    GenPart,
    Profile,
    bit_ranges,
    check_mmio_spte,
    describe,
    generation_mmio_spte_mask,
    get_mmio_spte_access,
    get_mmio_spte_generation,
    get_mmio_spte_gfn,
    is_mmio_spte,
    is_update_in_progress,
    make_mmio_spte,
    mmio_generation,
)

U64 = (1 << 64) - 1
V6_SHADOW = Profile(era="v6", paging="shadow", phys_bits=46, cache_bits=46, l1tf=True)
V6_EPT = Profile(era="v6", paging="ept", phys_bits=46, cache_bits=46, l1tf=True)


# Section 2: where each era keeps the generation.


@pytest.mark.parametrize(
    ("gen", "spte_bits"),
    [
        (0x2, 0x10),
        (0x100, 0x0010000000000000),
        (0x12346, 0x1230000000000230),
        (0x7FFFE, 0x7FF00000000007F0),
    ],
)
def test_era_b_generation_placement(gen, spte_bits):
    assert generation_mmio_spte_mask(V6_SHADOW, gen) == spte_bits


def test_era_b_generation_bits_union():
    assert V6_SHADOW.gen_spte_mask == 0x7FF00000000007F8
    assert generation_mmio_spte_mask(V6_SHADOW, 0x7FFFF) == 0x7FF00000000007F8


def test_era_layouts():
    assert Profile(era="v5.0").gen_layout == (GenPart(1, 3, 9), GenPart(10, 52, 10))
    assert Profile(era="v5.1").gen_layout == (GenPart(0, 3, 9), GenPart(0, 52, 10))
    assert Profile(era="v6").gen_layout == (GenPart(0, 3, 8), GenPart(8, 52, 11))


@pytest.mark.parametrize(
    ("era", "gen_mask", "gen_bits"),
    [("v5.0", 0xFFFFF, 20), ("v5.1", 0x7FFFF, 19), ("v6", 0x7FFFF, 19)],
)
def test_generation_widths(era, gen_mask, gen_bits):
    profile = Profile(era=era)
    assert (profile.gen_mask, profile.gen_bits) == (gen_mask, gen_bits)


def test_v5_0_stores_gen_bits_1_to_9_low_and_10_to_19_high():
    profile = Profile(era="v5.0", paging="shadow")
    gen = 0xABCDF  # odd: bit 0 must vanish
    assert generation_mmio_spte_mask(profile, gen) == ((gen & 0x3FE) << 2) | ((gen >> 10) << 52)
    spte = make_mmio_spte(profile, 0x1234, 6, gen)
    assert get_mmio_spte_generation(profile, spte) == gen & ~1


def test_v5_1_stores_low_gen_bits_in_the_high_part_too():
    profile = Profile(era="v5.1", paging="shadow")
    gen = 0x12346
    expected = ((gen << 3) & 0xFF8) | ((gen << 52) & 0x3FF0000000000000)
    assert generation_mmio_spte_mask(profile, gen) == expected
    assert get_mmio_spte_generation(profile, make_mmio_spte(profile, 1, 6, gen)) == gen & 0x3FF
    assert profile.known_bug and "cae7ed3c2cb0" in profile.known_bug
    assert "34c0f6f2695a" in profile.known_bug


def test_v5_1_checks_miss_from_generation_0x400_on():
    profile = Profile(era="v5.1", paging="ept")
    for gen in (0, 2, 0x3FE, 0x3FF):
        assert check_mmio_spte(profile, make_mmio_spte(profile, 7, 6, gen), gen)
    for gen in (0x400, 0x402, 0x12346, 0x7FFFF):
        assert not check_mmio_spte(profile, make_mmio_spte(profile, 7, 6, gen), gen)


def test_only_v5_1_has_a_known_bug():
    assert Profile(era="v5.0").known_bug is None
    assert Profile(era="v6").known_bug is None


# Section 3: masks.


@pytest.mark.parametrize("era", ["v5.0", "v5.1", "v6"])
def test_masks_phys_46(era):
    profile = Profile(era=era, phys_bits=46, cache_bits=46, l1tf=True)
    assert profile.rsvd_mask == 0x3E0000000000
    assert profile.lower_gfn_mask == 0x1FFFFFFF000


@pytest.mark.parametrize(
    ("era", "rsvd_mask", "lower_gfn_mask"),
    [("v5.0", 0x7C00000000, 0x3FFFFF000), ("v6", 0xF8000000000, 0x7FFFFFF000)],
)
def test_masks_phys_39_cache_44_with_l1tf(era, rsvd_mask, lower_gfn_mask):
    profile = Profile(era=era, phys_bits=39, cache_bits=44, l1tf=True)
    assert (profile.rsvd_mask, profile.lower_gfn_mask) == (rsvd_mask, lower_gfn_mask)


def test_era_a_ignores_the_l1tf_flag_and_cache_bits():
    with_bug = Profile(era="v5.0", phys_bits=39, cache_bits=44, l1tf=True)
    without = Profile(era="v5.0", phys_bits=39, cache_bits=39, l1tf=False)
    assert (with_bug.rsvd_mask, with_bug.lower_gfn_mask) == (
        without.rsvd_mask,
        without.lower_gfn_mask,
    )


def test_era_b_without_l1tf_keeps_every_gpa_bit_in_place():
    profile = Profile(era="v6", phys_bits=39, cache_bits=44, l1tf=False)
    assert profile.rsvd_mask == 0
    assert profile.lower_gfn_mask == 0x7FFFFFF000  # bits 12-38


def test_era_b_l1tf_with_cache_bits_47_or_more_sets_no_mask():
    profile = Profile(era="v6", phys_bits=46, cache_bits=47, l1tf=True)
    assert profile.rsvd_mask == 0
    assert profile.lower_gfn_mask == 0x3FFFFFFFF000  # bits 12-45


@pytest.mark.parametrize(
    ("era", "paging", "value", "mask", "access_mask"),
    [
        ("v6", "shadow", 0x0008000000000001, 0x0008000000000001, 6),
        ("v6", "ept", 0x6, 0x8000000000000007, 0),
        ("v5.0", "shadow", 0x4008000000000001, 0x4008000000000001, 6),
        ("v5.0", "ept", 0x4000000000000006, 0x4000000000000007, 6),
        ("v5.1", "shadow", 0x4008000000000001, 0x4008000000000001, 6),
        ("v5.1", "ept", 0x4000000000000006, 0x4000000000000007, 6),
    ],
)
def test_mmio_value_and_mask(era, paging, value, mask, access_mask):
    profile = Profile(era=era, paging=paging)
    assert (profile.mmio_value, profile.mmio_mask, profile.access_mask) == (
        value,
        mask,
        access_mask,
    )
    assert profile.mmio_caching_enabled


def test_era_b_shadow_phys_52_disables_mmio_caching():
    profile = Profile(era="v6", paging="shadow", phys_bits=52, cache_bits=52, l1tf=False)
    assert (profile.mmio_value, profile.mmio_mask) == (0, 0)
    assert not profile.mmio_caching_enabled
    assert not is_mmio_spte(profile, 0x0008000000000001)
    with pytest.raises(ValueError, match="MMIO caching is disabled"):
        make_mmio_spte(profile, 0xFEE00, 6, 0)


def test_era_b_ept_phys_52_keeps_mmio_caching():
    profile = Profile(era="v6", paging="ept", phys_bits=52, cache_bits=52, l1tf=False)
    assert profile.mmio_caching_enabled
    spte = make_mmio_spte(profile, (1 << 40) - 1, 6, 0x7FFFF)
    assert get_mmio_spte_gfn(profile, spte) == (1 << 40) - 1


@pytest.mark.parametrize("era", ["v5.0", "v5.1"])
def test_era_a_shadow_phys_52_drops_the_present_bit_and_decodes_gfn_bit_39(era):
    profile = Profile(era=era, paging="shadow", phys_bits=52, cache_bits=52, l1tf=False)
    assert profile.mmio_value == profile.mmio_mask == 0x4008000000000000
    spte = make_mmio_spte(profile, 0xFEE00, 6, 0)
    assert is_mmio_spte(profile, spte)
    assert get_mmio_spte_gfn(profile, spte) == 0xFEE00 | (1 << 39)


def test_full_era_b_examples():
    assert make_mmio_spte(V6_SHADOW, 0xFEE00, 6, 0x12346) == 0x12383E00FEE00237
    assert make_mmio_spte(V6_EPT, 0xFEE00, 6, 0x12346) == 0x12303E00FEE00236


def test_full_era_b_examples_decode():
    assert get_mmio_spte_gfn(V6_SHADOW, 0x12383E00FEE00237) == 0xFEE00
    assert get_mmio_spte_access(V6_SHADOW, 0x12383E00FEE00237) == 6
    assert get_mmio_spte_generation(V6_SHADOW, 0x12383E00FEE00237) == 0x12346
    assert get_mmio_spte_access(V6_EPT, 0x12303E00FEE00236) == 0  # EPT keeps no access bits


def test_l1tf_relocates_gpa_bits_five_up_and_back():
    gfn = 0x3FFFFFFFF  # every gpa bit of phys_bits 46, including 41-45 in the L1TF window
    spte = make_mmio_spte(V6_SHADOW, gfn, 0, 0)
    assert spte & 0x7C00000000000 == 0x7C00000000000  # gpa bits 41-45 copied to 46-50
    assert spte & V6_SHADOW.rsvd_mask == V6_SHADOW.rsvd_mask
    assert get_mmio_spte_gfn(V6_SHADOW, spte) == gfn


def test_access_is_masked_on_encode():
    profile = Profile(era="v5.0", paging="shadow")
    assert get_mmio_spte_access(profile, make_mmio_spte(profile, 1, 7, 0)) == 6
    ept = Profile(era="v5.0", paging="ept")
    assert ept.access_decode_mask == 0  # the mmio mask covers bits 0-2
    assert get_mmio_spte_access(ept, make_mmio_spte(ept, 1, 6, 0)) == 0


# Section 4: check_mmio_spte and the in-progress marks.


def test_era_a_odd_generation_never_hits():
    profile = Profile(era="v5.0", paging="shadow")
    spte = make_mmio_spte(profile, 0xFEE00, 6, 0x12346)
    assert check_mmio_spte(profile, spte, 0x12346)
    assert not check_mmio_spte(profile, spte, 0x12347)
    odd_spte = make_mmio_spte(profile, 0xFEE00, 6, 0x12347)
    assert odd_spte == spte  # bit 0 is never stored
    assert is_update_in_progress(profile, 0x12347)


def test_era_a_compares_twenty_bits_of_a_64_bit_generation():
    profile = Profile(era="v5.0", paging="ept")
    initial_as0 = (-150) & U64  # kvm_main.c v5.0 initial generation of address space 0
    gen = mmio_generation(profile, initial_as0)
    assert gen == 0xFFF6A
    assert check_mmio_spte(profile, make_mmio_spte(profile, 1, 6, gen), initial_as0)


def test_era_b_in_progress_bit_63_misses():
    spte = make_mmio_spte(V6_SHADOW, 0xFEE00, 6, 0x12346)
    assert check_mmio_spte(V6_SHADOW, spte, 0x12346)
    assert not check_mmio_spte(V6_SHADOW, spte, 0x12346 | 1 << 63)
    # An spte made while bit 63 is set carries the old generation's bits (the mask drops 63).
    assert mmio_generation(V6_SHADOW, 0x12346 | 1 << 63) == 0x12346


def test_v5_1_uses_bit_63_not_bit_0():
    profile = Profile(era="v5.1", paging="shadow")
    assert profile.update_in_progress_mask == 1 << 63
    spte = make_mmio_spte(profile, 5, 6, 0x3)  # odd generations are ordinary from v5.1 on
    assert check_mmio_spte(profile, spte, 0x3)
    assert not check_mmio_spte(profile, spte, 0x3 | 1 << 63)


# describe(): the decode's map of bits.


def test_describe_names_every_group_of_the_full_example():
    fields = {
        field.name: (field.bits, field.value) for field in describe(V6_SHADOW, 0x12383E00FEE00237)
    }
    assert fields == {
        "mmio mask (MMIO iff equal to 0x8000000000001)": ("0, 51", 0x8000000000001),
        "access (ACC_EXEC 1, ACC_WRITE 2, ACC_USER 4)": ("1-2", 0x6),
        "generation bits 0-7": ("3-10", 0x230),
        "generation bits 8-18": ("52-62", 0x1230000000000000),
        "gfn, gpa bits 12-40 in place": ("12-40", 0xFEE00000),
        "L1TF reserved bits (forced to 1)": ("41-45", 0x3E0000000000),
        "gfn, gpa bits relocated 5 up by L1TF": ("46-50", 0),
        "not part of an MMIO spte": ("11, 63", 0),
    }


def test_describe_leaves_out_empty_groups():
    profile = Profile(era="v6", paging="ept", phys_bits=46, cache_bits=46, l1tf=False)
    names = [field.name for field in describe(profile, 0)]
    assert not any(name.startswith(("access", "L1TF", "gfn, gpa bits relocated")) for name in names)


@pytest.mark.parametrize(
    ("mask", "text"),
    [(0, "none"), (1, "0"), (0x7FF00000000007F8, "3-10, 52-62"), (1 << 63 | 0b101, "0, 2, 63")],
)
def test_bit_ranges(mask, text):
    assert bit_ranges(mask) == text
