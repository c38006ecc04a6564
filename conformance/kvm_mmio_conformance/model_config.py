"""The reset message's config, both ways: the spec's CONSTANTS as JSON, and kvm_mmio Constants.

Why its own module: the vectors carry a model's constants under their TLA+ names (the names of
spec/models/*.cfg, so an implementer can read them next to the spec), the reference adapter turns
them back into kvm_mmio.config.Constants, and both directions must agree byte for byte for the
generated vectors to be stable. The wire form is JSON with three conventions:

- sets (Vcpus, Modes, Gfns, SmmVcpus, InitRam) are sorted lists; vCPU ids (TLC model values) are
  strings;
- InitGen, a 64-bit generation, is always a "0x" hex string; any other integer too large for
  every JSON reader (2^53 and above: the kernel profiles' unbounded MaxUpdates) is one as well;
- every constant of the spec is present (kvm_mmio.config.CONSTANT_NAMES), the fix switches too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from kvm_mmio.config import CONSTANT_NAMES, Constants, constants_from_tla

__all__ = [
    "CANDIDATE_FIXES",
    "HEX_CONSTANTS",
    "KERNEL_FIXES",
    "SAFE_INTEGER",
    "constants_from_wire",
    "constants_to_wire",
    "kernel_switches",
    "switches_away_from_kernel",
]

# Integers from here on travel as hex strings (JSON readers of other languages lose precision).
SAFE_INTEGER = 2**53
# Constants that are 64-bit generations: always hex strings.
HEX_CONSTANTS = ("InitGen",)
# The fix switches of MODEL.md (the kernel has every one on), and the candidate fixes of the
# findings (the kernel has neither).
KERNEL_FIXES = (
    "FixCacheGen",
    "FixInProgress",
    "FixHookFirst",
    "FixWrapAnyAs",
    "FixNoCacheInFlux",
    "ZapOnWrap",
    "FlushOnDelete",
)
CANDIDATE_FIXES = ("FixNoSpteInFlux", "FixCacheOwnAs")


def constants_to_wire(consts: Constants) -> dict[str, Any]:
    """The constants as the config's "constants" object (TLA+ names, in the spec's order)."""
    wire: dict[str, Any] = {}
    for name, value in consts.as_tla().items():
        number = isinstance(value, int) and not isinstance(value, bool)
        if number and (name in HEX_CONSTANTS or value >= SAFE_INTEGER):
            value = hex(value)
        wire[name] = value
    return wire


def _integer(name: str, value: Any) -> Any:
    """A hex string as its number (other values are left for Constants to judge)."""
    if isinstance(value, str) and value.lower().startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            raise ValueError(f"{name}: {value!r} is not a hex number") from None
    return value


def constants_from_wire(wire: Any) -> Constants:
    """Constants from a config's "constants" object (ValueError naming the constant at fault)."""
    if not isinstance(wire, Mapping):
        raise ValueError(f"constants: expected an object of TLA+ constants, got {wire!r}")
    values = {name: _integer(name, value) for name, value in wire.items()}
    return constants_from_tla(values)


def kernel_switches(consts: Constants) -> Constants:
    """The same constants with every switch at the kernel's value: each fix of MODEL.md on,
    each candidate fix off (what "a correct implementation" means in the vectors)."""
    values = {CONSTANT_NAMES[name]: True for name in KERNEL_FIXES}
    values |= {CONSTANT_NAMES[name]: False for name in CANDIDATE_FIXES}
    return attrs.evolve(consts, **values)


def switches_away_from_kernel(consts: Constants) -> list[str]:
    """The switches these constants set away from the kernel: a kernel fix off, a candidate fix
    on (a case's `switches_off` requirement), in the spec's order."""
    away = []
    for name in (*KERNEL_FIXES, *CANDIDATE_FIXES):
        value = getattr(consts, CONSTANT_NAMES[name])
        if value != (name in KERNEL_FIXES):
            away.append(name)
    return away
