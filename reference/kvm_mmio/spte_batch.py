"""The MMIO spte encoding on NumPy arrays, for checking millions of (gfn, gen) pairs at once.

The scalar functions of kvm_mmio.spte are the reference: plain Python, one spte at a time, read
against the kernel. This module does the same arithmetic on uint64 arrays (the tests hold it equal
to the scalar path), so that every generation an era can hold, times many gfns, round-trips in
seconds rather than minutes. NumPy is an optional extra: ``pip install 'kvm-mmio-spec[fast]'``.
Array arguments broadcast against each other like NumPy ufunc arguments.
"""

try:
    import numpy as np
except ImportError as error:
    raise ImportError(
        "kvm_mmio.spte_batch needs NumPy, an optional extra: pip install 'kvm-mmio-spec[fast]'"
    ) from error

from kvm_mmio.spte import (
    ACC_ALL,
    PAGE_SHIFT,
    RSVD_MASK_LEN,
    U64_MASK,
    Profile,
    _require_mmio_caching,
)

__all__ = [
    "check_mmio_sptes",
    "generation_mmio_spte_masks",
    "get_mmio_spte_accesses",
    "get_mmio_spte_generations",
    "get_mmio_spte_gfns",
    "is_mmio_sptes",
    "make_mmio_sptes",
    "round_trip_failures",
]


def _u64(value: int) -> np.uint64:
    return np.uint64(value)


def _as_u64(field: str, values, high: int) -> np.ndarray:
    """`values` as a uint64 array, or ValueError naming the field and the range 0..high."""
    array = np.asarray(values)
    if array.dtype.kind not in "iu":
        raise ValueError(f"{field}: expected integers in 0x0..{high:#x}, got dtype {array.dtype}")
    # Only the scans that can fail: uint64 is never negative and never above U64_MASK.
    negative = array.dtype.kind == "i" and array.size and array.min() < 0
    if negative or (high < U64_MASK and array.size and array.max() > high):
        raise ValueError(f"{field}: values outside the allowed range 0x0..{high:#x}")
    return array.astype(np.uint64, copy=False)


def generation_mmio_spte_masks(profile: Profile, gens) -> np.ndarray:
    """generation_mmio_spte_mask for each generation."""
    gens = _as_u64("gen", gens, profile.gen_mask)
    sptes = np.zeros(gens.shape, dtype=np.uint64)
    for part in profile.gen_layout:
        stored = (gens >> _u64(part.gen_start)) << _u64(part.spte_start)
        sptes |= stored & _u64(part.spte_mask)
    return sptes


def _gfn_bits(profile: Profile, gfns: np.ndarray, access: np.ndarray) -> np.ndarray:
    """The part of make_mmio_spte that does not depend on the generation."""
    gpas = gfns << _u64(PAGE_SHIFT)
    rsvd_mask = _u64(profile.rsvd_mask)
    bits = gpas | rsvd_mask | ((gpas & rsvd_mask) << _u64(RSVD_MASK_LEN))
    bits |= _u64(profile.mmio_value) | (access & _u64(profile.access_mask))
    return bits


def make_mmio_sptes(profile: Profile, gfns, access, gens) -> np.ndarray:
    """make_mmio_spte for each (gfn, access, gen)."""
    gfns = _as_u64("gfn", gfns, profile.gfn_limit - 1)
    access = _as_u64("access", access, ACC_ALL)
    _require_mmio_caching(profile)
    return generation_mmio_spte_masks(profile, gens) | _gfn_bits(profile, gfns, access)


# The decoders below write into caller-given arrays so that round_trip_failures can reuse its
# buffers: on big arrays, fresh memory (page faults, zeroing) costs more than the arithmetic.


def _is_mmio_into(profile: Profile, sptes, out, scratch) -> np.ndarray:
    np.bitwise_and(sptes, _u64(profile.mmio_mask), out=scratch)
    np.equal(scratch, _u64(profile.mmio_value), out=out)
    out &= profile.mmio_caching_enabled
    return out


def _gfns_into(profile: Profile, sptes, out, scratch) -> np.ndarray:
    np.right_shift(sptes, _u64(RSVD_MASK_LEN), out=scratch)
    scratch &= _u64(profile.rsvd_mask)
    np.bitwise_and(sptes, _u64(profile.lower_gfn_mask), out=out)
    out |= scratch
    out >>= _u64(PAGE_SHIFT)
    return out


def _generations_into(profile: Profile, sptes, out, scratch) -> np.ndarray:
    # Era A clears shadow_mmio_mask before reading; folding that into each part's mask is the
    # same arithmetic without a copy of the sptes.
    kept = U64_MASK & ~profile.mmio_mask if profile.family == "A" else U64_MASK
    out.fill(0)
    for part in profile.gen_load_layout:
        np.bitwise_and(sptes, _u64(part.spte_mask & kept), out=scratch)
        scratch >>= _u64(part.spte_start)
        scratch <<= _u64(part.gen_start)
        out |= scratch
    return out


def is_mmio_sptes(profile: Profile, sptes) -> np.ndarray:
    """is_mmio_spte for each spte."""
    sptes = _as_u64("spte", sptes, U64_MASK)
    return _is_mmio_into(profile, sptes, np.empty(sptes.shape, bool), np.empty_like(sptes))


def get_mmio_spte_gfns(profile: Profile, sptes) -> np.ndarray:
    """get_mmio_spte_gfn for each spte."""
    sptes = _as_u64("spte", sptes, U64_MASK)
    return _gfns_into(profile, sptes, np.empty_like(sptes), np.empty_like(sptes))


def get_mmio_spte_accesses(profile: Profile, sptes) -> np.ndarray:
    """get_mmio_spte_access for each spte."""
    return _as_u64("spte", sptes, U64_MASK) & _u64(profile.access_decode_mask)


def get_mmio_spte_generations(profile: Profile, sptes) -> np.ndarray:
    """get_mmio_spte_generation for each spte."""
    sptes = _as_u64("spte", sptes, U64_MASK)
    return _generations_into(profile, sptes, np.empty_like(sptes), np.empty_like(sptes))


def check_mmio_sptes(profile: Profile, sptes, current_gens) -> np.ndarray:
    """check_mmio_spte for each (spte, current memslots generation)."""
    current_gens = _as_u64("current_gen", current_gens, U64_MASK)
    spte_gens = get_mmio_spte_generations(profile, sptes)
    settled = (current_gens & _u64(profile.update_in_progress_mask)) == 0
    return settled & ((current_gens & _u64(profile.gen_mask)) == spte_gens)


def round_trip_failures(profile: Profile, gfns, access: int, gens, chunk_size: int = 2048) -> int:
    """How many of the len(gens) x len(gfns) MMIO sptes do not decode as the era is documented to:
    is_mmio_spte true; gen & Profile.round_trip_gen_mask; access & access_mask & access_decode_mask;
    the gfn plus any mmio_value bits inside lower_gfn_mask (v5.0/v5.1 shadow with phys_bits 52).

    Generations are taken `chunk_size` at a time through the same few buffers of chunk_size x
    len(gfns) values.
    """
    gfns = _as_u64("gfn", gfns, profile.gfn_limit - 1).reshape(1, -1)
    gens = _as_u64("gen", gens, profile.gen_mask).reshape(-1, 1)
    access_array = _as_u64("access", access, ACC_ALL)
    _require_mmio_caching(profile)
    gfn_bits = _gfn_bits(profile, gfns, access_array)
    gfn_extra = (profile.mmio_value & profile.lower_gfn_mask) >> PAGE_SHIFT
    expected_gfns = gfns | _u64(gfn_extra)
    expected_access = _u64(access & profile.access_mask & profile.access_decode_mask)
    shape = (min(chunk_size, gens.shape[0]), gfns.shape[1])
    buffers = (
        *(np.empty(shape, np.uint64) for _ in range(3)),
        *(np.empty(shape, bool) for _ in range(2)),
    )
    failures = 0
    for start in range(0, gens.shape[0], chunk_size):
        chunk = gens[start : start + chunk_size]
        sptes, decoded, scratch, wrong, differs = (buffer[: chunk.shape[0]] for buffer in buffers)
        np.bitwise_or(generation_mmio_spte_masks(profile, chunk), gfn_bits, out=sptes)
        np.logical_not(_is_mmio_into(profile, sptes, wrong, scratch), out=wrong)
        _gfns_into(profile, sptes, decoded, scratch)
        wrong |= np.not_equal(decoded, expected_gfns, out=differs)
        np.bitwise_and(sptes, _u64(profile.access_decode_mask), out=decoded)
        wrong |= np.not_equal(decoded, expected_access, out=differs)
        _generations_into(profile, sptes, decoded, scratch)
        expected_gens = chunk & _u64(profile.round_trip_gen_mask)
        wrong |= np.not_equal(decoded, expected_gens, out=differs)
        failures += int(np.count_nonzero(wrong))
    return failures
