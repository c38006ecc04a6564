"""Run every spte vector through kvm_mmio.spte directly, checking the laws each function states.

Run by tests/test_spte_coverage.py under coverage.py, in a process of its own (kvm_mmio.spte must
be imported after coverage starts, so that its module-level lines count). It does not go through
kvm_mmio.spte_requests: it calls the encoding's functions with the request's values (a hex
string becomes its number; anything else is passed as it is, so that the encoding's own checks
meet the malformed values), and for every case it checks what kvm_mmio.spte promises:

- each answer, or the error, is the expected one;
- an encode's generation bits are generation_mmio_spte_mask of its generation, and the decode of
  that spte gives the generation back as far as round_trip_gen_mask says;
- describe() splits an spte into groups whose values OR back to the spte, and bit_ranges()
  names exactly the set bits;
- a check with the in-progress mark misses; one that hits compares equal MMIO generations; a
  same-generation check misses only in an era with a known bug.

Exit status 0 when every law held; otherwise the first broken one is printed.
"""

import json
import re
import sys

from kvm_mmio import spte

HEX = re.compile(r"0[xX][0-9a-fA-F]+")
U64_FIELDS = ("gfn", "gen", "spte", "current_gen")
FIELDS = {
    "encode": ("gfn", "access", "gen"),
    "decode": ("spte",),
    "check": ("spte", "current_gen"),
}


class BadRequest(Exception):
    """The request breaks the protocol itself, before the encoding is asked anything."""


def _value(field, raw):
    if field in U64_FIELDS and isinstance(raw, int):
        raise BadRequest(f"{field}: a 64-bit value must be a hex string")
    return int(raw, 16) if isinstance(raw, str) and HEX.fullmatch(raw) else raw


def _ranges_to_mask(text):
    mask = 0
    for item in text.split(", ") if text != "none" else ():
        low, _, high = item.partition("-")
        for bit in range(int(low), int(high or low) + 1):
            mask |= 1 << bit
    return mask


def _encode(profile, gfn, access, gen, made):
    value = spte.make_mmio_spte(profile, gfn, access, gen)
    assert value & profile.gen_spte_mask == spte.generation_mmio_spte_mask(profile, gen)
    made[value] = gen
    return {"spte": f"{value:#x}"}


def _decode(profile, value, made):
    fields = spte.describe(profile, value)
    combined = 0
    for field in fields:
        assert field.value == value & field.mask and _ranges_to_mask(field.bits) == field.mask
        combined |= field.value
    assert combined == value, "describe's groups must cover the spte"
    assert _ranges_to_mask(spte.bit_ranges(value)) == value
    answer = {
        "is_mmio": spte.is_mmio_spte(profile, value),
        "gfn": f"{spte.get_mmio_spte_gfn(profile, value):#x}",
        "access": spte.get_mmio_spte_access(profile, value),
        "gen": f"{spte.get_mmio_spte_generation(profile, value):#x}",
    }
    if value in made and answer["is_mmio"]:
        assert int(answer["gen"], 16) == made[value] & profile.round_trip_gen_mask
    return answer


def _check(profile, value, current):
    hit = spte.check_mmio_spte(profile, value, current)
    assert profile.gen_mask == (1 << profile.gen_bits) - 1
    if spte.is_update_in_progress(profile, current):
        assert not hit, "a check during an update must miss"
    elif hit:
        assert spte.mmio_generation(profile, current) == spte.get_mmio_spte_generation(
            profile, value
        )
    return {"hit": hit}


def through_spte(request, made):
    """The answer kvm_mmio.spte gives to `request` (ValueError or BadRequest if it refuses)."""
    if not isinstance(request, dict) or request.get("op") not in FIELDS:
        raise BadRequest("request: expected an object with a known op")
    op = request["op"]
    if set(request) != {"op", "profile", *FIELDS[op]}:
        raise BadRequest(f"{op}: expected exactly the fields op, profile, {FIELDS[op]}")
    if not isinstance(request["profile"], dict) or set(request["profile"]) != {
        "era",
        "paging",
        "phys_bits",
        "cache_bits",
        "l1tf",
    }:
        raise BadRequest("profile: expected its five keys")
    profile = spte.Profile(**request["profile"])
    values = [_value(field, request[field]) for field in FIELDS[op]]
    if op == "encode":
        return _encode(profile, *values, made)
    if op == "decode":
        return _decode(profile, *values, made)
    return _check(profile, *values)


def main(path):
    with open(path, encoding="utf-8") as file:
        cases = json.load(file)["cases"]
    made = {}  # spte -> the generation an encode case made it with
    for case in cases:
        expected = case["expected"]
        try:
            got = through_spte(case["request"], made)
        except (ValueError, BadRequest) as error:
            got = {"error": str(error)}
        if "error" in expected:
            assert "error" in got, f"{case['id']}: expected an error, got {got}"
        else:
            assert got == expected, f"{case['id']}: expected {expected}, got {got}"
        request = case["request"]
        if "error" not in got and request["op"] == "check" and not got["hit"]:
            profile = spte.Profile(**request["profile"])
            current = int(request["current_gen"], 16)
            value = int(request["spte"], 16)
            settled = not spte.is_update_in_progress(profile, current)
            made_now = made.get(value & ~(1 << 63)) == current & profile.gen_mask
            if settled and made_now and value >> 63 == 0:
                assert profile.known_bug, f"{case['id']}: a same-generation miss without a bug"
    print(f"{len(cases)} cases through kvm_mmio.spte")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
