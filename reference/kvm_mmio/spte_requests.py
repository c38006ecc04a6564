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

`answer_bytes` answers one raw line exactly as `kvm-mmio spte batch` reads it: every line gets one
answer line, a blank line or bytes that are not UTF-8 included, and nothing a line holds (JSON
nested beyond Python's recursion limit, integers of thousands of digits, any type in any field)
can raise out of it, so one bad line never stops the answers to the lines after it.
"""

import json
import re

from kvm_mmio.spte import (
    PHYS_BITS_RANGE,
    U64_MASK,
    Profile,
    check_mmio_spte,
    get_mmio_spte_access,
    get_mmio_spte_generation,
    get_mmio_spte_gfn,
    is_mmio_spte,
    make_mmio_spte,
)

__all__ = [
    "OPS",
    "PROFILE_KEYS",
    "answer",
    "answer_bytes",
    "answer_line",
    "format_u64",
    "parse_u64",
]

PROFILE_KEYS = ("era", "paging", "phys_bits", "cache_bits", "l1tf")
# The fields each op takes besides "op" and "profile".
OPS = {
    "encode": ("gfn", "access", "gen"),
    "decode": ("spte",),
    "check": ("spte", "current_gen"),
}

_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
# How much of a bad value an error message quotes.
_SHOWN_CHARS = 60


def _shown(value: object) -> str:
    """A bad value as JSON for an error message, cut short; never raises (a value too deep or an
    integer too long for json.dumps is named by its type)."""
    try:
        text = json.dumps(value)
    except (ValueError, RecursionError):
        return f"a JSON {type(value).__name__} too large to show"
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def format_u64(value: int) -> str:
    """A 64-bit value as the protocol writes it: lower-case hex with a 0x prefix."""
    return f"{value:#x}"


def parse_u64(field: str, text: object) -> int:
    """A protocol hex string ("0x1f") as an int; range checks are left to the spte functions."""
    if not isinstance(text, str) or not _HEX.fullmatch(text):
        raise ValueError(f'{field}: expected a hex string like "0x1f", got {_shown(text)}')
    value = int(text, 16)
    if value > U64_MASK:
        raise ValueError(
            f"{field}: {_shown(text)} is wider than 64 bits (allowed range 0x0..{U64_MASK:#x})"
        )
    return value


def _parse_access(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 1 << 16:
        raise ValueError(f"access: expected an integer in 0..7, got {_shown(value)}")
    return value  # make_mmio_spte checks the range


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
    # Only values of the right JSON type reach Profile, whose messages quote them with repr
    # (which a 5,000-digit integer or a deeply nested list would make raise).
    for key in ("era", "paging"):
        if not isinstance(value[key], str):
            raise ValueError(f"{key}: expected a string, got {_shown(value[key])}")
    low, high = PHYS_BITS_RANGE
    for key, allowed in (("phys_bits", f"{low}..{high}"), ("cache_bits", f"phys_bits..{high}")):
        number = value[key]
        if not isinstance(number, int) or isinstance(number, bool) or abs(number) > 1 << 16:
            raise ValueError(f"{key}: expected an integer in {allowed}, got {_shown(number)}")
    if not isinstance(value["l1tf"], bool):
        raise ValueError(f"l1tf: {_shown(value['l1tf'])} is not a boolean (true or false)")
    return Profile(**{key: value[key] for key in PROFILE_KEYS})


def _answer(request: object) -> dict:
    if not isinstance(request, dict):
        raise ValueError("request: expected a JSON object")
    op = request.get("op")
    if not isinstance(op, str) or op not in OPS:
        raise ValueError(f"op: {_shown(op)} is not one of {', '.join(OPS)}")
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
    if not line.strip():
        return json.dumps({"error": "request: an empty line; expected a JSON object"})
    try:
        request = json.loads(line)
    except json.JSONDecodeError as error:
        return json.dumps({"error": f"request: not valid JSON ({error})"})
    except RecursionError:
        return json.dumps({"error": "request: JSON nested too deeply"})
    except ValueError as error:  # an integer of more digits than int() converts
        return json.dumps({"error": f"request: a JSON value out of range ({error})"})
    return json.dumps(answer(request))


def answer_bytes(raw: bytes) -> str:
    """The response line (without newline) to one raw request line (its newline removed)."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = raw[error.start]
        return json.dumps(
            {"error": f"request: not valid UTF-8 (byte {bad:#04x} at offset {error.start})"}
        )
    return answer_line(line)
