"""The spte layer's request/response protocol: one JSON object in, one JSON object out.

`kvm-mmio spte batch` speaks it on stdin/stdout, the conformance vectors are written in it, and the
conformance suite sends it to implementations under test, so it lives here, free of I/O, where all
three share one definition. Requests:

    {"op": "encode", "profile": P, "gfn": "0x...", "access": 0-7, "gen": "0x..."}
        -> {"spte": "0x..."}
    {"op": "decode", "profile": P, "spte": "0x..."}
        -> {"is_mmio": bool, "gfn": "0x...", "access": 0-7, "gen": "0x..."}
    {"op": "check", "profile": P, "spte": "0x...", "current_gen": "0x..."} -> {"hit": bool}

P is {"era", "paging", "phys_bits", "cache_bits", "l1tf"} (all five required). Every 64-bit value
is a "0x"-prefixed hex string so that no JSON reader rounds it; access is a small integer. `check`
answers check_mmio_spte alone (the generation test); whether the spte is an MMIO spte at all is
`decode`'s is_mmio. A bad request is answered {"error": "..."} naming the field and its range.
"""

import json
import re

from kvm_mmio.spte import (
    Profile,
    check_mmio_spte,
    get_mmio_spte_access,
    get_mmio_spte_generation,
    get_mmio_spte_gfn,
    is_mmio_spte,
    make_mmio_spte,
)

__all__ = ["OPS", "PROFILE_KEYS", "answer", "answer_line", "format_u64", "parse_u64"]

PROFILE_KEYS = ("era", "paging", "phys_bits", "cache_bits", "l1tf")
# The fields each op takes besides "op" and "profile".
OPS = {
    "encode": ("gfn", "access", "gen"),
    "decode": ("spte",),
    "check": ("spte", "current_gen"),
}

_HEX = re.compile(r"0[xX][0-9a-fA-F]+")


def format_u64(value: int) -> str:
    """A 64-bit value as the protocol writes it: lower-case hex with a 0x prefix."""
    return f"{value:#x}"


def parse_u64(field: str, text: object) -> int:
    """A protocol hex string ("0x1f") as an int; range checks are left to the spte functions."""
    if not isinstance(text, str) or not _HEX.fullmatch(text):
        raise ValueError(f'{field}: expected a hex string like "0x1f", got {json.dumps(text)}')
    return int(text, 16)


def _parse_access(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"access: expected an integer in 0..7, got {json.dumps(value)}")
    return value


def _require_keys(where: str, given: dict, required: tuple[str, ...]) -> None:
    missing = [key for key in required if key not in given]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)} (needs {', '.join(required)})")
    unknown = sorted(set(given) - set(required))
    if unknown:
        raise ValueError(f"{where}: unknown {', '.join(unknown)} (takes {', '.join(required)})")


def _parse_profile(value: object) -> Profile:
    if not isinstance(value, dict):
        raise ValueError(f"profile: expected an object with {', '.join(PROFILE_KEYS)}")
    _require_keys("profile", value, PROFILE_KEYS)
    return Profile(**{key: value[key] for key in PROFILE_KEYS})


def _answer(request: object) -> dict:
    if not isinstance(request, dict):
        raise ValueError("request: expected a JSON object")
    op = request.get("op")
    if op not in OPS:
        raise ValueError(f"op: {json.dumps(op)} is not one of {', '.join(OPS)}")
    _require_keys(f"{op} request", request, ("op", "profile", *OPS[op]))
    profile = _parse_profile(request["profile"])
    if op == "encode":
        gfn = parse_u64("gfn", request["gfn"])
        gen = parse_u64("gen", request["gen"])
        spte = make_mmio_spte(profile, gfn, _parse_access(request["access"]), gen)
        return {"spte": format_u64(spte)}
    spte = parse_u64("spte", request["spte"])
    if op == "decode":
        return {
            "is_mmio": is_mmio_spte(profile, spte),
            "gfn": format_u64(get_mmio_spte_gfn(profile, spte)),
            "access": get_mmio_spte_access(profile, spte),
            "gen": format_u64(get_mmio_spte_generation(profile, spte)),
        }
    current_gen = parse_u64("current_gen", request["current_gen"])
    return {"hit": check_mmio_spte(profile, spte, current_gen)}


def answer(request: object) -> dict:
    """The response to one decoded request; bad input gives {"error": message}, not an exception."""
    try:
        return _answer(request)
    except ValueError as error:
        return {"error": str(error)}


def answer_line(line: str) -> str:
    """The response line (without newline) to one request line of JSON text."""
    try:
        request = json.loads(line)
    except json.JSONDecodeError as error:
        return json.dumps({"error": f"request: not valid JSON ({error})"})
    return json.dumps(answer(request))
