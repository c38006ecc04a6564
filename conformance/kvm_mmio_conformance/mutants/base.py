"""The spte arithmetic with each kernel decision in a method of its own, for mutants to get wrong.

Why: a mutant of this catalog is one plausible mistake, and the mistake must be the only thing it
changes. SpteArithmetic re-derives the reference's answers from the facts of kvm_mmio.spte.Profile
through small methods (a test holds the unmutated class to every vector), and each mutant
overrides the one method a careless port would get wrong. It parses requests with the rules of
kvm_mmio.spte_requests, so a mutant is judged on its arithmetic, not on its parser.
"""

from __future__ import annotations

import json
from typing import Any

from kvm_mmio.spte import (
    ACC_ALL,
    ERAS,
    PAGE_SHIFT,
    PAGING_MODES,
    RSVD_MASK_LEN,
    U64_MASK,
    GenPart,
    Profile,
)
from kvm_mmio.spte_requests import OPS, PROFILE_KEYS, format_u64, parse_u64
from kvm_mmio_conformance.protocol import PROTOCOL_VERSION, BaseAdapter

__all__ = ["SpteArithmetic"]


def _genmask(high: int, low: int) -> int:
    return ((1 << (high - low + 1)) - 1) << low


def _in_range(field: str, value: Any, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{field}: expected an integer in 0x0..{high:#x}, got {json.dumps(value)}")
    if not 0 <= value <= high:
        raise ValueError(f"{field}: {value:#x} is outside the allowed range 0x0..{high:#x}")
    return value


def _keys(where: str, given: dict, required: tuple[str, ...]) -> None:
    if set(given) != set(required):
        raise ValueError(f"{where}: expected exactly the keys {', '.join(required)}")


class SpteArithmetic(BaseAdapter):
    """The reference's spte answers, one overridable decision at a time.

    A mutant sets `name`, `mistake` (one line), `imitates` (the kernel commit or era it copies)
    and `witness` (a case id that must reject it), and overrides one or two methods."""

    name = "spte-arithmetic"
    mistake = "none: the reference's arithmetic"
    imitates = "kvm_mmio.spte"
    witness = ""
    killed_at = "spte"

    def hello(self) -> dict[str, Any]:
        return {
            "name": f"mutant {self.name}",
            "protocol": PROTOCOL_VERSION,
            "capabilities": {
                "layers": ["spte"],
                "spte": {"eras": list(ERAS), "paging": list(PAGING_MODES)},
            },
        }

    def spte(self, request: Any) -> dict[str, Any]:
        try:
            return self._answer(request)
        except ValueError as error:
            return {"error": str(error)}

    def _answer(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict) or request.get("op") not in OPS:
            raise ValueError("request: expected an object with op encode, decode or check")
        op = request["op"]
        _keys(f"{op} request", request, ("op", "profile", *OPS[op]))
        if not isinstance(request["profile"], dict):
            raise ValueError("profile: expected an object")
        _keys("profile", request["profile"], PROFILE_KEYS)
        p = Profile(**request["profile"])
        if op == "encode":
            gfn = parse_u64("gfn", request["gfn"])
            gen = parse_u64("gen", request["gen"])
            return {"spte": format_u64(self.encode(p, gfn, request["access"], gen))}
        spte = _in_range("spte", parse_u64("spte", request["spte"]), U64_MASK)
        if op == "decode":
            return {
                "is_mmio": self.is_mmio(p, spte),
                "gfn": format_u64(self.gfn(p, spte)),
                "access": self.access(p, spte),
                "gen": format_u64(self.generation(p, spte)),
            }
        current = _in_range(
            "current_gen", parse_u64("current_gen", request["current_gen"]), U64_MASK
        )
        return {"hit": self.check(p, spte, current)}

    # -- the decisions a mutant may get wrong ----------------------------------------------

    def gen_mask(self, p: Profile) -> int:
        return p.gen_mask

    def gen_limit(self, p: Profile) -> int:
        """The largest generation encode accepts."""
        return self.gen_mask(p)

    def store_parts(self, p: Profile) -> tuple[GenPart, ...]:
        return p.gen_layout

    def load_parts(self, p: Profile) -> tuple[GenPart, ...]:
        return p.gen_load_layout

    def in_progress_mask(self, p: Profile) -> int:
        return p.update_in_progress_mask

    def mmio_value(self, p: Profile) -> int:
        return p.mmio_value

    def mmio_mask(self, p: Profile) -> int:
        return p.mmio_mask

    def caching_enabled(self, p: Profile) -> bool:
        return p.mmio_caching_enabled

    def access_mask(self, p: Profile) -> int:
        return p.access_mask

    def access_decode_mask(self, p: Profile) -> int:
        if p.family == "A":
            gen_bits = 0
            for part in self.store_parts(p):
                gen_bits |= part.spte_mask
            return 0xFFF & ~gen_bits & ~self.mmio_mask(p)
        return self.access_mask(p)

    def l1tf_window(self, p: Profile) -> tuple[int, int] | None:
        """The first and last bit forced to 1 against L1TF, or None."""
        if not p.rsvd_mask:
            return None
        return p.rsvd_mask.bit_length() - RSVD_MASK_LEN, p.rsvd_mask.bit_length() - 1

    def rsvd_mask(self, p: Profile) -> int:
        window = self.l1tf_window(p)
        return _genmask(window[1], window[0]) if window else 0

    def lower_gfn_mask(self, p: Profile) -> int:
        window = self.l1tf_window(p)
        return _genmask((window[0] if window else p.phys_bits) - 1, PAGE_SHIFT)

    def relocates(self, p: Profile) -> bool:
        """Whether gpa bits under the L1TF window move 5 bits up (and back on decode)."""
        return True

    def clears_mmio_mask(self, p: Profile) -> bool:
        """Whether reading the generation first clears shadow_mmio_mask (era A)."""
        return p.family == "A"

    # -- the operations, built from the decisions -----------------------------------------

    def encode(self, p: Profile, gfn: int, access: Any, gen: int) -> int:
        _in_range("gfn", gfn, p.gfn_limit - 1)
        _in_range("access", access, ACC_ALL)
        if not self.caching_enabled(p):
            raise ValueError(f"profile: MMIO caching is disabled for {p.era} {p.paging}")
        _in_range("gen", gen, self.gen_limit(p))
        gpa = gfn << PAGE_SHIFT
        rsvd = self.rsvd_mask(p)
        spte = self.mmio_value(p) | (access & self.access_mask(p)) | gpa | rsvd
        for part in self.store_parts(p):
            spte |= part.store(gen)
        if self.relocates(p):
            spte |= (gpa & rsvd) << RSVD_MASK_LEN
        return spte & U64_MASK

    def is_mmio(self, p: Profile, spte: int) -> bool:
        return (spte & self.mmio_mask(p)) == self.mmio_value(p) and self.caching_enabled(p)

    def gfn(self, p: Profile, spte: int) -> int:
        gpa = spte & self.lower_gfn_mask(p)
        if self.relocates(p):
            gpa |= (spte >> RSVD_MASK_LEN) & self.rsvd_mask(p)
        return gpa >> PAGE_SHIFT

    def access(self, p: Profile, spte: int) -> int:
        return spte & self.access_decode_mask(p)

    def generation(self, p: Profile, spte: int) -> int:
        if self.clears_mmio_mask(p):
            spte &= ~self.mmio_mask(p)
        gen = 0
        for part in self.load_parts(p):
            gen |= part.load(spte)
        return gen

    def check(self, p: Profile, spte: int, current_gen: int) -> bool:
        if current_gen & self.in_progress_mask(p):
            return False
        return (current_gen & self.gen_mask(p)) == self.generation(p, spte)
