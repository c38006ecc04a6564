"""Generate vectors/spte.json, the conformance vectors of the MMIO spte layer, from the reference.

No vector is written by hand: each case is a request of the spte protocol (kvm_mmio.spte_requests)
and the expected answer is what the reference answers. The cases follow the shape of the
encoding (spte_shape.py), not a few examples: for every era x paging mode, every CPU width where
a mask, the L1TF window or the MMIO caching switch changes (an encode and a decode at the APIC
page and at the top gfn, and a decode of every bit set, which shows every mask at once); every
bit of the gfn field on the widths that lay it out differently; every bit of the generation and
each run of bits an spte part holds; every bit of the MMIO mask flipped in an MMIO spte; check
cases with the spte's generation equal to, older and newer than the current one, with each era's
in-progress mark, one MMIO wrap apart, and with bit 63 set in the spte; raw sptes no encode makes;
and malformed requests. There is no randomness, so regenerating reproduces the committed file
byte for byte (a test checks it), and a test runs every case through kvm_mmio.spte under
coverage.py and requires every branch of it taken.

    python -m kvm_mmio_conformance.generate_spte [--output PATH]
"""

import argparse
from pathlib import Path

from kvm_mmio.spte import ERAS, PAGING_MODES, U64_MASK, Profile, make_mmio_spte
from kvm_mmio.spte_requests import answer, format_u64
from kvm_mmio_conformance import atomicfile, vectorfile
from kvm_mmio_conformance.spte_shape import (
    cpu_profiles,
    gen_edges,
    gfn_bits,
    gfn_walk_cpus,
    mmio_mask_bits,
)

__all__ = [
    "GENERATOR_VERSION",
    "SCHEMA",
    "VECTORS_PATH",
    "VERSION",
    "build_cases",
    "main",
    "render",
    "write",
]

SCHEMA = "kvm-mmio-spte-vectors"
VERSION = 1
GENERATOR_VERSION = 2
VECTORS_PATH = Path(__file__).parent / "vectors" / "spte.json"

NOTES = {
    "tier": "must: an implementation of the spte layer gives exactly this answer",
    "error": 'an expected answer {"error": ...} is met by any answer with an "error" key; '
    "the message is the reference's and only informative",
    "values": '64-bit values are "0x"-prefixed lower-case hex strings; access is an integer',
    "protocol": "see kvm_mmio.spte_requests: ops encode, decode and check",
    "requires": "a case applies to an implementation that declares the era and paging mode of "
    "its request's profile; a case expecting an error applies to every implementation",
    "ids": "<era>-<paging>-p<phys_bits>c<cache_bits>-<l1tf|nol1tf>-<op>-<what>: corners apic, "
    "max and zero, gfn-bitN and gen-bitN walks, gen-partN (the run of bits one spte part "
    "holds), raw-mmio-bitN (that bit of the MMIO mask flipped), raw-* (sptes no encode makes), "
    "check-* (the spte's generation against the current one)",
}

BASE_CPU = (46, 46, True)
APIC_GFN = 0xFEE00
MID_GEN = 0x12346
PRESENT_LEAF_SPTE = 0x8000000012345867  # NX, a pfn, accessed, user, writable, present
BIT_63 = 1 << 63  # the in-progress mark of v5.1 on; NX; EPT's SUPPRESS_VE


def _profile_dict(profile: Profile) -> dict:
    return {
        "era": profile.era,
        "paging": profile.paging,
        "phys_bits": profile.phys_bits,
        "cache_bits": profile.cache_bits,
        "l1tf": profile.l1tf,
    }


def _profile_id(profile: Profile) -> str:
    l1tf = "l1tf" if profile.l1tf else "nol1tf"
    return f"{profile.era}-{profile.paging}-p{profile.phys_bits}c{profile.cache_bits}-{l1tf}"


def _where(profile: Profile) -> str:
    return f"{profile.era} {profile.paging}, phys {profile.phys_bits} cache {profile.cache_bits}"


def _case(case_id: str, comment: str, request: dict) -> dict:
    return {
        "id": case_id,
        "tier": "must",
        "comment": comment,
        "request": request,
        "expected": answer(request),
    }


def _encode_request(profile: Profile, gfn: int, access: int, gen: int) -> dict:
    return {
        "op": "encode",
        "profile": _profile_dict(profile),
        "gfn": format_u64(gfn),
        "access": access,
        "gen": format_u64(gen),
    }


def _decode_request(profile: Profile, spte: int) -> dict:
    return {"op": "decode", "profile": _profile_dict(profile), "spte": format_u64(spte)}


def _encode_and_decode(
    profile: Profile, label: str, gfn: int, access: int, gen: int, what: str
) -> list[dict]:
    """An encode case and the decode of the spte it gives."""
    base = _profile_id(profile)
    encode = _case(
        f"{base}-encode-{label}",
        f"{_where(profile)}: encode {what}",
        _encode_request(profile, gfn, access, gen),
    )
    decode = _case(
        f"{base}-decode-{label}",
        f"{_where(profile)}: decode of {encode['id']}",
        _decode_request(profile, int(encode["expected"]["spte"], 16)),
    )
    return [encode, decode]


def _raw_case(profile: Profile, label: str, spte: int, what: str) -> dict:
    return _case(
        f"{_profile_id(profile)}-decode-raw-{label}",
        f"{profile.era} {profile.paging}: decode of {what}; the getters read any spte",
        _decode_request(profile, spte),
    )


def _disabled_cases(profile: Profile, cpu_why: str) -> list[dict]:
    base = _profile_id(profile)
    where = _where(profile)
    # An spte shaped like a shadow-paging MMIO spte: with caching off, it is not one.
    shaped = (1 << 51) | (APIC_GFN << 12) | 7
    return [
        _case(
            f"{base}-encode-disabled",
            f"{where}, {cpu_why}: MMIO caching is off",
            _encode_request(profile, APIC_GFN, 6, 0),
        ),
        _case(
            f"{base}-decode-disabled",
            f"{where}: no spte is an MMIO spte",
            _decode_request(profile, shaped),
        ),
    ]


def _cpu_cases(profile: Profile, cpu_why: str) -> list[dict]:
    """At one CPU width: the APIC page and the top gfn encoded and decoded, and every bit set
    decoded (all the masks of this width at once)."""
    if not profile.mmio_caching_enabled:
        return _disabled_cases(profile, cpu_why)
    mid = MID_GEN & profile.gen_mask
    cases = _encode_and_decode(profile, "apic", APIC_GFN, 6, mid, f"the APIC page, W|U: {cpu_why}")
    top = profile.gfn_limit - 1
    cases += _encode_and_decode(profile, "max", top, 7, profile.gen_mask, "top gfn, max gen")
    cases.append(_raw_case(profile, "all-ones", U64_MASK, "every bit set"))
    return cases


def _gfn_walk(profile: Profile) -> list[dict]:
    """gfn 0, then each bit of the gfn field alone: where each gpa bit lands (in place, or under
    the L1TF window and relocated 5 bits up) and where decode reads it back from."""
    cases = _encode_and_decode(profile, "zero", 0, 0, 0, "gfn 0, no access bits, generation 0")
    mid = MID_GEN & profile.gen_mask
    for bit in gfn_bits(profile):
        cases += _encode_and_decode(profile, f"gfn-bit{bit}", 1 << bit, 6, mid, f"gfn bit {bit}")
    return cases


def _gen_walk(profile: Profile) -> list[dict]:
    """Each generation bit alone and each part's run of bits: where the era stores them and
    which come back (v5.0 drops bit 0; v5.1 keeps only bits 0-9)."""
    cases = []
    for label, gen in gen_edges(profile):
        cases += _encode_and_decode(profile, label, APIC_GFN, 6, gen, f"generation {gen:#x}")
    return cases


def _mmio_bit_cases(profile: Profile) -> list[dict]:
    """The APIC page's MMIO spte with each bit of the MMIO mask flipped: none is an MMIO spte
    any more (is_mmio_spte compares every bit of the mask, not one)."""
    spte = make_mmio_spte(profile, APIC_GFN, 6, MID_GEN & profile.gen_mask)
    return [
        _raw_case(profile, f"mmio-bit{bit}", spte ^ (1 << bit), f"the APIC spte, bit {bit} flipped")
        for bit in mmio_mask_bits(profile)
    ]


def _check_request(profile: Profile, made: int, current: int, spte_extra: int = 0) -> dict:
    return {
        "op": "check",
        "profile": _profile_dict(profile),
        "spte": format_u64(make_mmio_spte(profile, APIC_GFN, 6, made) | spte_extra),
        "current_gen": format_u64(current),
    }


def _check_cases(profile: Profile) -> list[dict]:
    """check_mmio_spte around the generation boundaries: the spte's generation equal to, older
    and newer than the current one, at 0, mid and the maximum; with the era's in-progress mark;
    one MMIO wrap apart; v5.1's bug edge; and an spte carrying bit 63."""
    base = _profile_id(profile)
    mask, mark = profile.gen_mask, profile.update_in_progress_mask
    # Era A's settled generations are even (bit 0 is the mark): a neighbour is 2 away.
    step = 2 if mark == 1 else 1
    mid = MID_GEN & mask
    checks = [
        ("same", mid, mid, "the same generation, no update in progress"),
        ("in-progress", mid, mid | mark, "that generation with the in-progress mark"),
        ("next", mid, mid + step, "a later generation (the spte is older)"),
        ("newer", mid, mid - step, "an earlier generation (the spte is newer)"),
        (
            "wrap-alias",
            mid,
            mid + mask + 1,
            "the generation one MMIO wrap later (KVM zaps every MMIO spte when the MMIO "
            "generation wraps, so the kernel never asks this)",
        ),
        ("zero-same", 0, 0, "generation 0 against itself"),
        ("zero-newer", step, 0, "an spte one generation newer than generation 0"),
        ("max-same", mask & ~(step - 1), mask & ~(step - 1), "the largest settled generation"),
        ("max-older", 0, mask & ~(step - 1), "generation 0 against the largest (spte older)"),
        ("max-newer", mask & ~(step - 1), 0, "the largest against generation 0 (spte newer)"),
    ]
    if profile.era == "v5.1":
        checks.append(("bug-edge-low", 0x3FF, 0x3FF, "the same generation, the bug's last hit"))
        checks.append(("bug-edge-high", 0x400, 0x400, "the same generation, the bug's first miss"))
    cases = []
    for label, made, current, what in checks:
        request = _check_request(profile, made, current)
        verdict = "hit" if answer(request)["hit"] else "miss"
        bug = (
            " (v5.1 bug: only gen bits 0-9 survive)" if profile.known_bug and made >= 0x400 else ""
        )
        comment = (
            f"{profile.era} {profile.paging}: spte of gen {made:#x} checked against "
            f"{current:#x}, {what}: a {verdict}{bug}"
        )
        cases.append(_case(f"{base}-check-{label}", comment, request))
    if mark == BIT_63:
        cases.append(_marked_spte_case(profile, mid))
    return cases


def _marked_spte_case(profile: Profile, gen: int) -> dict:
    """An spte that carries bit 63, the in-progress mark, checked during an update of its own
    generation: the mark is never part of an spte's generation, so this misses (an
    implementation that stores and compares the marked generation would hit)."""
    comment = (
        f"{profile.era} {profile.paging}: spte of gen {gen:#x} with bit 63 set, checked against "
        f"{gen | BIT_63:#x} (the same generation, update in progress): a miss; bit 63 is never "
        "a generation bit of an spte"
    )
    request = _check_request(profile, gen, gen | BIT_63, BIT_63)
    return _case(f"{_profile_id(profile)}-check-marked-spte", comment, request)


def _raw_decode_cases(profile: Profile) -> list[dict]:
    """Decode sptes that make_mmio_spte never builds: the getters still read them bit by bit."""
    marked = make_mmio_spte(profile, APIC_GFN, 6, MID_GEN & profile.gen_mask) | BIT_63
    return [
        _raw_case(profile, "empty", 0, "the empty spte"),
        _raw_case(profile, "present-leaf", PRESENT_LEAF_SPTE, "a present 4K leaf spte"),
        _raw_case(profile, "bit63", marked, "the APIC MMIO spte with bit 63 (NX; SUPPRESS_VE)"),
    ]


def _error_cases() -> list[dict]:
    profile = _profile_dict(Profile())
    encode = {"op": "encode", "profile": profile, "gfn": "0xfee00", "access": 6, "gen": "0x2"}

    def with_profile(**changes) -> dict:
        return {**encode, "profile": {**profile, **changes}}

    without_l1tf = {key: value for key, value in profile.items() if key != "l1tf"}
    bad_requests = (
        ("not-object", "a request that is not an object", ["encode"]),
        ("unknown-op", "an unknown op", {**encode, "op": "zap"}),
        ("missing-field", "encode without gen", {k: v for k, v in encode.items() if k != "gen"}),
        ("extra-field", "encode with an unknown field", {**encode, "spte": "0x0"}),
        ("era", "an unknown era", with_profile(era="v4.19")),
        ("paging", "an unknown paging mode", with_profile(paging="npt")),
        ("phys-bits", "phys_bits above 52", with_profile(phys_bits=53)),
        ("cache-bits", "cache_bits below phys_bits", with_profile(cache_bits=40)),
        ("l1tf", "l1tf not a boolean", with_profile(l1tf="yes")),
        ("profile-key", "a profile without l1tf", {**encode, "profile": without_l1tf}),
        ("gfn-range", "a gfn beyond phys_bits 46", {**encode, "gfn": "0x400000000"}),
        ("access-range", "access 8", {**encode, "access": 8}),
        ("access-type", "access as a string", {**encode, "access": "6"}),
        ("access-bool", "access as a boolean", {**encode, "access": True}),
        ("phys-bits-low", "phys_bits below 36", with_profile(phys_bits=35, cache_bits=35)),
        ("cache-bits-high", "cache_bits above 52", with_profile(cache_bits=53)),
        ("gen-range", "gen above the v6 mask 0x7ffff", {**encode, "gen": "0x80000"}),
        (
            "gen-in-progress",
            "gen with the v6 in-progress mark: an MMIO generation never carries it",
            {**encode, "gen": "0x8000000000012346"},
        ),
        ("negative", "a negative gfn", {**encode, "gfn": "-0x1"}),
        ("not-hex", "a gfn that is not hex", {**encode, "gfn": "0xfeg00"}),
        ("decimal", "a 64-bit value in decimal", {**encode, "gen": "2"}),
        ("json-number", "a 64-bit value as a JSON number", {**encode, "gen": 2}),
        (
            "spte-range",
            "an spte wider than 64 bits",
            {"op": "decode", "profile": profile, "spte": "0x10000000000000000"},
        ),
        (
            "current-gen-range",
            "a current generation wider than 64 bits",
            {
                "op": "check",
                "profile": profile,
                "spte": "0x0",
                "current_gen": "0x10000000000000000",
            },
        ),
    )
    return [
        _case(f"error-{label}", f"bad request: {what}", request)
        for label, what, request in bad_requests
    ]


def build_cases() -> list[dict]:
    """Every case, in a fixed order: per era and paging mode the CPU widths, the gfn walks, the
    generation walk, the MMIO mask bits, the checks and the raw sptes; then the bad requests."""
    cases = []
    for era in ERAS:
        for paging in PAGING_MODES:
            for phys_bits, cache_bits, l1tf, why in cpu_profiles():
                cases += _cpu_cases(Profile(era, paging, phys_bits, cache_bits, l1tf), why)
            for cpu in gfn_walk_cpus():
                profile = Profile(era, paging, *cpu)
                if profile.mmio_caching_enabled:
                    cases += _gfn_walk(profile)
            base = Profile(era, paging, *BASE_CPU)
            cases += _gen_walk(base)
            for phys_bits in (46, 51, 52):
                profile = Profile(era, paging, phys_bits, phys_bits, phys_bits < 47)
                if profile.mmio_caching_enabled:
                    cases += _mmio_bit_cases(profile)
            cases += _check_cases(base)
            cases += _raw_decode_cases(base)
    cases += _error_cases()
    ids = [case["id"] for case in cases]
    if len(ids) != len(set(ids)):
        raise AssertionError("duplicate case ids")
    return cases


def render(cases: list[dict]) -> str:
    """The vectors file's text (vectorfile.render: a header, then one case per line)."""
    return vectorfile.render(
        SCHEMA, VERSION, "kvm_mmio_conformance.generate_spte", GENERATOR_VERSION, NOTES, cases
    )


def write(path: Path) -> int:
    """Write the vectors to `path` atomically (temp file + rename); return the number of cases."""
    cases = build_cases()
    atomicfile.write_text(path, render(cases))
    return len(cases)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=VECTORS_PATH, help="default: %(default)s")
    args = parser.parse_args(argv)
    count = write(args.output)
    print(f"wrote {count} cases to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
