"""The NumPy path (kvm_mmio.spte_batch) gives what the scalar reference gives, spte for spte."""

import itertools

import pytest

from kvm_mmio import spte

np = pytest.importorskip("numpy")
from kvm_mmio import spte_batch  # noqa: E402  (needs NumPy, skipped above without it)

U64 = (1 << 64) - 1
SAMPLES = 300
CPUS = [(39, 44, True), (39, 44, False), (46, 46, True), (46, 46, False), (52, 52, False)]
PROFILES = [
    spte.Profile(era, paging, *cpu)
    for era, paging, cpu in itertools.product(spte.ERAS, spte.PAGING_MODES, CPUS)
]


def random_u64(rng, count, high=U64):
    """`count` values in 0..high, spread over every bit length so that small values are common."""
    values = rng.integers(0, high, size=count, dtype=np.uint64, endpoint=True)
    return values >> rng.integers(0, high.bit_length(), size=count).astype(np.uint64)


@pytest.mark.parametrize("profile", PROFILES, ids=repr)
def test_batch_equals_scalar_on_random_samples(profile):
    rng = np.random.default_rng(20190315)
    sptes = random_u64(rng, SAMPLES)
    currents = random_u64(rng, SAMPLES)
    if profile.mmio_caching_enabled:
        gfns = random_u64(rng, SAMPLES, profile.gfn_limit - 1)
        gens = random_u64(rng, SAMPLES, profile.gen_mask)
        access = rng.integers(0, 8, size=SAMPLES)
        made = spte_batch.make_mmio_sptes(profile, gfns, access, gens)
        expected = [
            spte.make_mmio_spte(profile, int(g), int(a), int(n))
            for g, a, n in zip(gfns, access, gens, strict=True)
        ]
        assert made.tolist() == expected
        sptes = np.concatenate([sptes, made])
        # Half of the checks compare against the spte's own generation, with and without marks.
        own = spte_batch.get_mmio_spte_generations(profile, made)
        marks = rng.choice([0, 1, 1 << 63], size=SAMPLES).astype(np.uint64)
        currents = np.concatenate([currents, own | marks])
    as_ints = [int(value) for value in sptes]
    assert spte_batch.is_mmio_sptes(profile, sptes).tolist() == [
        spte.is_mmio_spte(profile, value) for value in as_ints
    ]
    assert spte_batch.get_mmio_spte_gfns(profile, sptes).tolist() == [
        spte.get_mmio_spte_gfn(profile, value) for value in as_ints
    ]
    assert spte_batch.get_mmio_spte_accesses(profile, sptes).tolist() == [
        spte.get_mmio_spte_access(profile, value) for value in as_ints
    ]
    assert spte_batch.get_mmio_spte_generations(profile, sptes).tolist() == [
        spte.get_mmio_spte_generation(profile, value) for value in as_ints
    ]
    assert spte_batch.check_mmio_sptes(profile, sptes, currents).tolist() == [
        spte.check_mmio_spte(profile, value, int(current))
        for value, current in zip(as_ints, currents, strict=True)
    ]


@pytest.mark.parametrize("era", spte.ERAS)
def test_every_generation_round_trips_as_documented(era):
    """All generations of the era (2^20 in v5.0, 2^19 after) x 8 gfns across the address width."""
    profile = spte.Profile(era=era, paging="shadow", phys_bits=46, cache_bits=46, l1tf=True)
    gens = np.arange(profile.gen_mask + 1, dtype=np.uint64)
    gfns = np.array([0, 1, 0xFEE00, 1 << 29, (1 << 34) - 1, 0x2AAAAAAAA, 0x155555555, 7 << 29])
    assert spte_batch.round_trip_failures(profile, gfns, 6, gens) == 0


@pytest.mark.parametrize(
    "profile", [profile for profile in PROFILES if profile.mmio_caching_enabled], ids=repr
)
def test_round_trip_failures_is_zero_on_a_sample_grid(profile):
    rng = np.random.default_rng(5)
    gens = random_u64(rng, 512, profile.gen_mask)
    gfns = random_u64(rng, 16, profile.gfn_limit - 1)
    assert spte_batch.round_trip_failures(profile, gfns, 7, gens, chunk_size=100) == 0


def test_round_trip_failures_counts_every_pair_that_breaks_the_law(monkeypatch):
    """The counter is not vacuous: held to v6's law, v5.1 fails for each pair with gen >= 0x400."""
    monkeypatch.setattr(spte.Profile, "round_trip_gen_mask", property(lambda _self: 0x7FFFF))
    gens = np.arange(0x800, dtype=np.uint64)
    v5_1 = spte.Profile(era="v5.1", paging="ept")
    assert spte_batch.round_trip_failures(v5_1, [3, 4], 6, gens, chunk_size=300) == 2 * 0x400


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda p: spte_batch.make_mmio_sptes(p, [1 << 34], 6, [0]), "gfn"),
        (lambda p: spte_batch.make_mmio_sptes(p, [1], [8], [0]), "access"),
        (lambda p: spte_batch.make_mmio_sptes(p, [1], 6, [-1]), "gen"),
        (lambda p: spte_batch.make_mmio_sptes(p, [1.5], 6, [0]), "gfn"),
        (lambda p: spte_batch.get_mmio_spte_gfns(p, [-1]), "spte"),
        (lambda p: spte_batch.check_mmio_sptes(p, [0], [-2]), "current_gen"),
    ],
)
def test_bad_arrays_raise_value_error_naming_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call(spte.Profile())


def test_caching_disabled_profile_refuses_to_make_sptes():
    profile = spte.Profile(era="v6", paging="shadow", phys_bits=52, cache_bits=52, l1tf=False)
    with pytest.raises(ValueError, match="MMIO caching is disabled"):
        spte_batch.make_mmio_sptes(profile, [1], 6, [0])
