"""Generate vectors/spte.json, the conformance vectors of the MMIO spte layer, from the reference.

No vector is written by hand: each case is a request of the spte protocol (kvm_mmio.spte_requests)
and the expected answer is what the reference answers. The cases walk every era x paging mode x a
few CPU profiles that change the masks, the generation boundaries (0, the maximum, the in-progress
marks, the v5.1 bug's 0x400 edge, the wrap alias), non-MMIO sptes, sptes with bit 63 set (so that
the in-progress mark and EPT's SUPPRESS_VE bit are told apart from generation bits: the mutants
catalog needs them), and malformed requests. There is no randomness, so regenerating reproduces
the committed file byte for byte (a test checks it).

    python -m kvm_mmio_conformance.generate_spte [--output PATH]
"""

import argparse
from pathlib import Path

from kvm_mmio.spte import ERAS, PAGING_MODES, Profile, make_mmio_spte
from kvm_mmio.spte_requests import answer, format_u64
from kvm_mmio_conformance import atomicfile, vectorfile

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
GENERATOR_VERSION = 1
VECTORS_PATH = Path(__file__).parent / "vectors" / "spte.json"

NOTES = {
    "tier": "must: an implementation of the spte layer gives exactly this answer",
    "error": 'an expected answer {"error": ...} is met by any answer with an "error" key; '
    "the message is the reference's and only informative",
    "values": '64-bit values are "0x"-prefixed lower-case hex strings; access is an integer',
    "protocol": "see kvm_mmio.spte_requests: ops encode, decode and check",
    "requires": "a case applies to an implementation that declares the era and paging mode of "
    "its request's profile; a case expecting an error applies to every implementation",
}

# (phys_bits, cache_bits, l1tf, what the CPU profile exercises)
CPU_PROFILES = (
    (39, 44, True, "L1 cache wider than MAXPHYADDR (era B masks by cache_bits, era A phys_bits)"),
    (39, 44, False, "no L1TF bug: era B keeps every gpa bit in place, era A ignores the flag"),
    (46, 46, True, "common Intel host with L1TF: gpa bits 41-45 relocated to 46-50"),
    (46, 46, False, "the same host without the L1TF bug"),
    (52, 52, False, "52 physical address bits: no reserved bit for shadow paging"),
)
BASE_CPU = (46, 46, True)
APIC_GFN = 0xFEE00
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


def _encode_decode_cases(profile: Profile, cpu_why: str) -> list[dict]:
    """Encode three (gfn, access, gen) corners, then decode what each encode gave."""
    base = _profile_id(profile)
    where = f"{profile.era} {profile.paging}, phys {profile.phys_bits} cache {profile.cache_bits}"
    if not profile.mmio_caching_enabled:
        encode = _encode_request(profile, APIC_GFN, 6, 0)
        # An spte shaped like a shadow-paging MMIO spte: with caching off, it is not one.
        shaped = (1 << 51) | (APIC_GFN << 12) | 7
        decode = {"op": "decode", "profile": _profile_dict(profile), "spte": format_u64(shaped)}
        return [
            _case(f"{base}-encode-disabled", f"{where}, {cpu_why}: MMIO caching is off", encode),
            _case(f"{base}-decode-disabled", f"{where}: no spte is an MMIO spte", decode),
        ]
    corners = (
        ("zero", 0, 0, 0, "generation 0, gfn 0, no access bits"),
        ("apic", APIC_GFN, 6, 0x12346 & profile.gen_mask, "APIC page, W|U, a mid generation"),
        ("max", profile.gfn_limit - 1, 7, profile.gen_mask, "top gfn, all access bits, max gen"),
    )
    cases = []
    for label, gfn, access, gen, what in corners:
        request = _encode_request(profile, gfn, access, gen)
        encode = _case(f"{base}-encode-{label}", f"{where}, {cpu_why}: encode {what}", request)
        decode = {
            "op": "decode",
            "profile": _profile_dict(profile),
            "spte": encode["expected"]["spte"],
        }
        cases.append(encode)
        cases.append(_case(f"{base}-decode-{label}", f"{where}: decode of {encode['id']}", decode))
    return cases


def _check_cases(profile: Profile) -> list[dict]:
    """check_mmio_spte around the generation boundaries, on the base CPU of each era and paging."""
    base = _profile_id(profile)
    gen = 0x12346 & profile.gen_mask
    # (label, generation the spte is made in, memslots generation it is checked against, what)
    checks = [
        ("same", gen, gen, "the same generation, no update in progress"),
        (
            "in-progress",
            gen,
            gen | profile.update_in_progress_mask,
            "that generation with the in-progress mark",
        ),
        ("next", gen, gen + 2, "a later generation"),
        (
            "wrap-alias",
            gen,
            gen + profile.gen_mask + 1,
            "the generation one MMIO wrap later (KVM zaps every MMIO spte when the MMIO "
            "generation wraps, so the kernel never asks this)",
        ),
    ]
    if profile.era == "v5.1":
        checks.append(("bug-edge-low", 0x3FF, 0x3FF, "the same generation, the bug's last hit"))
        checks.append(("bug-edge-high", 0x400, 0x400, "the same generation, the bug's first miss"))
    cases = []
    for label, made, current, what in checks:
        request = {
            "op": "check",
            "profile": _profile_dict(profile),
            "spte": format_u64(make_mmio_spte(profile, APIC_GFN, 6, made)),
            "current_gen": format_u64(current),
        }
        verdict = "hit" if answer(request)["hit"] else "miss"
        bug = (
            " (v5.1 bug: only gen bits 0-9 survive)" if profile.known_bug and made >= 0x400 else ""
        )
        comment = (
            f"{profile.era} {profile.paging}: spte of gen {made:#x} checked against "
            f"{current:#x}, {what}: a {verdict}{bug}"
        )
        cases.append(_case(f"{base}-check-{label}", comment, request))
    if profile.update_in_progress_mask == BIT_63:
        cases.append(_marked_spte_case(profile, gen))
    return cases


def _marked_spte_case(profile: Profile, gen: int) -> dict:
    """An spte that carries bit 63, the in-progress mark, checked during an update of its own
    generation: the mark is never part of an spte's generation, so this misses (an
    implementation that stores and compares the marked generation would hit)."""
    request = {
        "op": "check",
        "profile": _profile_dict(profile),
        "spte": format_u64(make_mmio_spte(profile, APIC_GFN, 6, gen) | BIT_63),
        "current_gen": format_u64(gen | BIT_63),
    }
    comment = (
        f"{profile.era} {profile.paging}: spte of gen {gen:#x} with bit 63 set, checked against "
        f"{gen | BIT_63:#x} (the same generation, update in progress): a miss; bit 63 is never "
        "a generation bit of an spte"
    )
    return _case(f"{_profile_id(profile)}-check-marked-spte", comment, request)


def _raw_decode_cases(profile: Profile) -> list[dict]:
    """Decode sptes that make_mmio_spte never builds: the getters still read them bit by bit."""
    base = _profile_id(profile)
    sptes = (
        ("empty", 0, "the empty spte"),
        ("all-ones", (1 << 64) - 1, "every bit set"),
        ("present-leaf", PRESENT_LEAF_SPTE, "a present 4K leaf spte"),
        (
            "bit63",
            make_mmio_spte(profile, APIC_GFN, 6, 0x12346 & profile.gen_mask) | BIT_63,
            "the APIC page's MMIO spte with bit 63 (NX; SUPPRESS_VE with EPT) also set",
        ),
    )
    return [
        _case(
            f"{base}-decode-raw-{label}",
            f"{profile.era} {profile.paging}: decode of {what}; the getters read any spte",
            {"op": "decode", "profile": _profile_dict(profile), "spte": format_u64(value)},
        )
        for label, value, what in sptes
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
    )
    return [
        _case(f"error-{label}", f"bad request: {what}", request)
        for label, what, request in bad_requests
    ]


def build_cases() -> list[dict]:
    """Every case, in a fixed order."""
    cases = []
    for era in ERAS:
        for paging in PAGING_MODES:
            for phys_bits, cache_bits, l1tf, why in CPU_PROFILES:
                profile = Profile(era, paging, phys_bits, cache_bits, l1tf)
                cases += _encode_decode_cases(profile, why)
            base = Profile(era, paging, *BASE_CPU)
            cases += _check_cases(base)
            cases += _raw_decode_cases(base)
    cases += _error_cases()
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
