"""Laws of kvm_mmio.generation: the kernel's 64-bit generation is a bijection of the spec's
(gen, busy) pair; the mark is exactly the in-progress state; the spte generation agrees with the
bit-exact encoding of kvm_mmio.spte; and the spec's abstract tests (CheckSpte's pass condition and
Wraps, with GenBits at the kernel's width) agree with the kernel's tests on kernel values."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvm_mmio import generation as kgen
from kvm_mmio import spte
from kvm_mmio.actions import wraps as spec_wraps
from kvm_mmio.config import CONSTANT_NAMES, constants_from_tla, load_model

U64 = (1 << 64) - 1
BIT_63 = 1 << 63
SPTE_ERA = {"A": "v5.0", "B": "v6"}

u64 = st.integers(0, U64)
era_a_gen = st.integers(0, U64 // 2).map(lambda n: 2 * n)  # era A: bit 0 is the mark
era_b_gen = st.integers(0, BIT_63 - 1)  # era B: bit 63 is the mark


def abstract_pairs(era):
    return st.tuples(era_a_gen if era == "A" else era_b_gen, st.booleans())


@pytest.mark.parametrize("era", kgen.ERAS)
@given(data=st.data())
def test_pair_to_kernel_value_and_back(era, data):
    gen, busy = data.draw(abstract_pairs(era))
    value = kgen.kernel_generation(era, gen, busy)
    assert kgen.abstract_generation(era, value) == (gen, busy)
    assert kgen.is_update_in_progress(era, value) is busy


@pytest.mark.parametrize("era", kgen.ERAS)
@given(value=u64)
def test_kernel_value_to_pair_and_back(era, value):
    assert kgen.kernel_generation(era, *kgen.abstract_generation(era, value)) == value


@given(value=u64)
def test_the_mark_is_bit_0_in_era_a_and_bit_63_in_era_b(value):
    assert kgen.is_update_in_progress("A", value) == bool(value & 1)
    assert kgen.is_update_in_progress("B", value) == bool(value & BIT_63)


def test_initial_generations_and_steps():
    # v5.0 kvm_create_vm: i * 2 - 150 as a u64; AS 0 is 2 mod 4 and AS 1 0 mod 4 (KERNEL_FACTS 1).
    assert kgen.initial_generation("A", 0) == U64 + 1 - 150
    assert kgen.initial_generation("A", 1) == U64 + 1 - 148
    assert kgen.initial_generation("A", 0) % 4 == 2 and kgen.initial_generation("A", 1) % 4 == 0
    assert [kgen.initial_generation("B", a) for a in (0, 1)] == [0, 1]
    assert [kgen.gen_step("A", n) for n in (1, 2)] == [2, 4]
    assert [kgen.gen_step("B", n) for n in (1, 2)] == [1, 2]
    assert (kgen.mmio_gen_bits("A"), kgen.mmio_gen_bits("B")) == (20, 19)


@pytest.mark.parametrize("era", kgen.ERAS)
@given(data=st.data())
def test_an_install_goes_mark_then_final_value(era, data):
    """Publish marks the value, StoreGen stores gen + GenStep unmarked (ee3d1570b586)."""
    nr_as = data.draw(st.sampled_from((1, 2)))
    gen = data.draw(era_a_gen if era == "A" else era_b_gen) // 8 * 2
    marked = kgen.kernel_generation(era, gen, True)
    final = kgen.kernel_generation(era, gen + kgen.gen_step(era, nr_as), False)
    assert kgen.is_update_in_progress(era, marked) and not kgen.is_update_in_progress(era, final)
    if era == "A":  # v5.0 install_new_memslots: marked + 2 * NR_AS - 1
        assert final == marked + 2 * nr_as - 1


@pytest.mark.parametrize("era", kgen.ERAS)
@given(value=u64, gfn=st.integers(1, 0xFFFFF), access=st.sampled_from((0, 2, 4, 6)))
def test_spte_generation_is_what_the_bit_exact_spte_reads_back(era, value, gfn, access):
    profile = spte.Profile(era=SPTE_ERA[era], paging="shadow", phys_bits=46, cache_bits=46)
    made = spte.make_mmio_spte(profile, gfn, access, spte.mmio_generation(profile, value))
    assert spte.get_mmio_spte_generation(profile, made) == kgen.spte_generation(era, value)
    assert kgen.mmio_generation(era, value) == spte.mmio_generation(profile, value)


@pytest.mark.parametrize("era", kgen.ERAS)
@given(data=st.data())
def test_check_mmio_spte_is_the_specs_check_at_kernel_width(era, data):
    """CheckSpte passes iff ~busy[a] /\\ s.gen = gen[a] % GenMod, where MarkMmioSpte stored
    s.gen = gen'[a] % GenMod: the same answers as the kernel's check on kernel values."""
    gen_mod = 2 ** kgen.mmio_gen_bits(era)
    now_gen, now_busy = data.draw(abstract_pairs(era))
    made_gen, made_busy = data.draw(abstract_pairs(era))
    if data.draw(st.booleans()):  # make matches likely
        made_gen = now_gen
    stored = kgen.spte_generation(era, kgen.kernel_generation(era, made_gen, made_busy))
    assert stored == made_gen % gen_mod
    kernel = kgen.check_mmio_spte(era, kgen.kernel_generation(era, now_gen, now_busy), stored)
    assert kernel == (not now_busy and stored == now_gen % gen_mod)
    profile = spte.Profile(era=SPTE_ERA[era], paging="ept")
    made = spte.make_mmio_spte(profile, 1, 0, stored)
    assert spte.check_mmio_spte(profile, made, kgen.kernel_generation(era, now_gen, now_busy)) == (
        kernel
    )


def _constants(era, nr_as, fix_wrap_any_as):
    safe = load_model("safe").constants
    values = {tla: getattr(safe, field) for tla, field in CONSTANT_NAMES.items()}
    values |= {
        "Era": era,
        "NrAs": nr_as,
        "GenBits": kgen.mmio_gen_bits(era),
        "FixWrapAnyAs": fix_wrap_any_as,
    }
    return constants_from_tla(values)


@pytest.mark.parametrize(
    ("era", "nr_as", "fixed"),
    [
        ("A", 1, True),
        ("A", 2, True),
        ("A", 1, False),
        ("A", 2, False),
        ("B", 1, True),
        ("B", 2, True),
    ],
)
@given(data=st.data())
def test_the_specs_wraps_is_the_kernels_wrap_test(era, nr_as, fixed, data):
    consts = _constants(era, nr_as, fixed)
    n = data.draw(era_a_gen if era == "A" else era_b_gen)
    if data.draw(st.booleans()):  # near a wrap
        n = n >> 20 << 20 | data.draw(st.integers(0, 7)) & ~(1 if era == "A" else 0)
    assert spec_wraps(consts, n) == kgen.wraps(era, n, nr_as, any_as_fix=fixed)


def test_the_v5_0_wrap_test_misses_the_address_space_that_never_hits_0():
    """bug_wrap_one_as: with two address spaces, AS 1's generations (0 mod 4) reach 0 modulo
    2^20, AS 0's (2 mod 4) never do: only the fixed test sees AS 0 wrap."""
    as1_wrap, as0_wrap = 1 << 20, (1 << 20) + 2
    assert kgen.wraps("A", as1_wrap, 2, any_as_fix=False) and kgen.wraps("A", as1_wrap, 2)
    assert not kgen.wraps("A", as0_wrap, 2, any_as_fix=False) and kgen.wraps("A", as0_wrap, 2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: kgen.kernel_generation("A", 3, False), "gen: must be even in era A"),
        (lambda: kgen.kernel_generation("B", BIT_63, False), r"gen: must be below 2\^63"),
        (lambda: kgen.kernel_generation("C", 0, False), 'era: must be "A" or "B"'),
        (lambda: kgen.abstract_generation("A", -1), r"value: must be an integer in 0\.\.2\^64-1"),
        (lambda: kgen.abstract_generation("A", 1 << 64), r"value: must be an integer"),
        (lambda: kgen.initial_generation("B", 2), "a: must be an address space 0 or 1"),
        (lambda: kgen.gen_step("A", 3), "nr_as: must be 1 or 2"),
        (lambda: kgen.wraps("B", 0, 1, any_as_fix=False), "era B always has the fix"),
    ],
)
def test_bad_input_names_the_field(call, message):
    with pytest.raises(ValueError, match=message):
        call()
