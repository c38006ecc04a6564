"""What an implementation declares in its hello answer, and which cases that makes applicable.

Why: an implementation of one era, or a real kernel that cannot show its generations, must still
be able to run the suite and be told, case by case, what was left out and why. The hello answer
(schema/capabilities.schema.json) has one section per layer it implements:

    {"layers": ["spte", "operations"],
     "spte": {"eras": ["v5.0", "v6"], "paging": ["shadow", "ept"]},
     "operations": {"eras": ["B"], "address_spaces": 2, "mmio_sptes": [true, false],
                    "modes": ["native", "emulated"], "observes": ["outcome", "path"],
                    "configs": ["kernel:v6"]},
     "steps": {..., "observes": ["enabled", "state"], "switches": ["FixCacheGen", ...],
               "configs": ["constants"]}}

A case applies when every entry of its `requires` is met (REQUIREMENTS says how); "configs" lists
"constants" (a model: any constants) and/or "kernel:<profile>" (the kernel profiles it is).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from kvm_mmio_conformance.schemacheck import load_schema, validate
from kvm_mmio_conformance.vectors import Case

__all__ = ["REQUIREMENTS", "Implementation", "parse_hello", "skip_reason"]


@attrs.frozen
class Implementation:
    """Who answered hello, and what it declared."""

    name: str
    capabilities: dict[str, Any]


def parse_hello(answer: Any) -> Implementation:
    """The implementation a hello answer describes (ValueError saying what is wrong with it)."""
    if isinstance(answer, dict) and "error" in answer:
        raise ValueError(f"hello: the implementation answered an error: {answer['error']}")
    try:
        validate(answer, load_schema("capabilities"))
    except ValueError as error:
        raise ValueError(f"hello: {error}") from None
    capabilities = answer["capabilities"]
    missing = [layer for layer in capabilities["layers"] if layer not in capabilities]
    if missing:
        raise ValueError(f"hello: layers {', '.join(missing)} are declared without a section")
    return Implementation(answer["name"], capabilities)


def _listed(what: str, key: str) -> Callable[[Any, dict], str | None]:
    def check(needed: Any, section: dict) -> str | None:
        declared = section.get(key, [])
        if needed in declared:
            return None
        return f"needs {what} {_show(needed)}; the implementation declares {_show(declared)}"

    return check


def _subset(what: str, key: str) -> Callable[[Any, dict], str | None]:
    def check(needed: list, section: dict) -> str | None:
        declared = section.get(key, [])
        lacking = [item for item in needed if item not in declared]
        if not lacking:
            return None
        return f"needs {what} {_show(lacking)}; the implementation declares {_show(declared)}"

    return check


def _address_spaces(needed: int, section: dict) -> str | None:
    if needed <= section["address_spaces"]:
        return None
    return f"needs {needed} address spaces; the implementation has {section['address_spaces']}"


def _config(needed: str, section: dict) -> str | None:
    if needed in section["configs"] or "constants" in section["configs"]:
        return None
    return (
        f"needs config {needed} (a model takes any constants); the implementation declares "
        f"{_show(section['configs'])}"
    )


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _exact_generation(needed: bool, section: dict) -> str | None:
    if not needed or section.get("exact_generation") is True:
        return None
    return (
        "needs exact_generation: the case counts memslot installs up to the MMIO generation "
        "wrap, and the implementation does not declare that its generation starts at InitGen"
    )


# requirement -> check(needed value, the layer's capabilities section) -> reason to skip or None
REQUIREMENTS: dict[str, Callable[[Any, dict], str | None]] = {
    "era": _listed("era", "eras"),
    "paging": _listed("paging mode", "paging"),
    "mmio_sptes": _listed("mmio_sptes", "mmio_sptes"),
    "address_spaces": _address_spaces,
    "modes": _subset("modes", "modes"),
    "observes": _subset("to observe", "observes"),
    "switches_off": _subset("switches off", "switches"),
    "config": _config,
    "exact_generation": _exact_generation,
}


def skip_reason(case: Case, implementation: Implementation) -> str | None:
    """Why `case` does not apply to `implementation`, or None if it does."""
    capabilities = implementation.capabilities
    if case.layer not in capabilities["layers"]:
        return f"the implementation does not implement the {case.layer} layer"
    section = capabilities[case.layer]
    for key, needed in case.requires.items():
        check = REQUIREMENTS.get(key)
        if check is None:
            return f"unknown requirement {key!r} (vectors newer than this suite?)"
        reason = check(needed, section)
        if reason:
            return reason
    return None
