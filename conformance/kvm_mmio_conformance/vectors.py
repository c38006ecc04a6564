"""Load the vector files into cases: protocol messages, each with the answers the spec allows.

Why a loader: the three vector files (spte, operations, steps) have different shapes because each
is written for a person and a generator first, but the runner treats every case the same way: an
optional reset, then messages, each with its expected answer. This module does that translation,
checks each file against its schema first, and selects cases by tier, layer and id.

A case's `requires` says what an implementation must declare for the case to apply (see
capabilities.py). The spte file states nothing: a case needs its profile's era and paging mode,
except a case expecting an error, which every implementation must refuse, whatever it supports.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from kvm_mmio_conformance.protocol import LAYERS
from kvm_mmio_conformance.schemacheck import load_schema, validate

__all__ = [
    "SCHEMAS",
    "TIERS",
    "VECTORS_DIR",
    "Case",
    "Exchange",
    "cases_from_document",
    "load_file",
    "load_vectors",
    "select",
    "tiers_up_to",
]

VECTORS_DIR = Path(__file__).parent / "vectors"
TIERS = ("must", "should", "may")
# The "schema" name a vectors file declares -> its layer (and schema/<layer>.schema.json).
SCHEMAS = {f"kvm-mmio-{layer}-vectors": layer for layer in LAYERS}


@attrs.frozen
class Exchange:
    """One message to the implementation and the answer the spec allows (layer-shaped)."""

    message: dict[str, Any]
    expected: dict[str, Any]


@attrs.frozen
class Case:
    """One scenario of one layer: its messages in order, and what an implementation must
    declare for it to apply."""

    id: str
    layer: str
    tier: str
    comment: str
    requires: dict[str, Any]
    exchanges: tuple[Exchange, ...]
    source: str | None = None
    seed: int | None = None


def _spte_case(raw: dict) -> Case:
    request, expected = raw["request"], raw["expected"]
    requires = {}
    if "error" not in expected:
        requires = {"era": request["profile"]["era"], "paging": request["profile"]["paging"]}
    message = {"op": "spte", "request": request}
    return Case(
        raw["id"], "spte", raw["tier"], raw["comment"], requires, (Exchange(message, expected),)
    )


def _reset(raw: dict, expected: dict) -> Exchange:
    return Exchange({"op": "reset", "config": raw["config"]}, {"ok": True, **expected})


def _sequence_case(layer: str, raw: dict) -> Case:
    if layer == "operations":
        exchanges = [_reset(raw, {})]
        exchanges += [
            Exchange({"op": "operation", "operation": step["operation"]}, step["expected"])
            for step in raw["steps"]
        ]
    else:
        exchanges = [_reset(raw, raw["initial"])]
        exchanges += [
            Exchange({"op": "step", "action": step["action"]}, step["expected"])
            for step in raw["steps"]
        ]
    return Case(
        raw["id"],
        layer,
        raw["tier"],
        raw["comment"],
        raw["requires"],
        tuple(exchanges),
        raw["source"],
        raw.get("seed"),
    )


def cases_from_document(document: Any, where: str = "vectors") -> list[Case]:
    """The cases of one parsed vectors file, after checking it against its schema
    (ValueError naming the file and the problem)."""
    name = document.get("schema") if isinstance(document, dict) else None
    if name not in SCHEMAS:
        raise ValueError(f"{where}: schema must be one of {', '.join(SCHEMAS)}, got {name!r}")
    layer = SCHEMAS[name]
    try:
        validate(document, load_schema(layer))
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    if document["count"] != len(document["cases"]):
        raise ValueError(f"{where}: count {document['count']} != {len(document['cases'])} cases")
    if layer == "spte":
        return [_spte_case(raw) for raw in document["cases"]]
    return [_sequence_case(layer, raw) for raw in document["cases"]]


def load_file(path: Path) -> list[Case]:
    with path.open(encoding="utf-8") as file:
        return cases_from_document(json.load(file), str(path))


def load_vectors(directory: Path = VECTORS_DIR) -> list[Case]:
    """Every case of every vectors file in `directory`, layer by layer (spte, operations,
    steps); a layer without a file has no cases yet."""
    cases: list[Case] = []
    for layer in LAYERS:
        path = directory / f"{layer}.json"
        if path.exists():
            cases += load_file(path)
    return cases


def tiers_up_to(tier: str) -> tuple[str, ...]:
    """The tiers a run at `tier` includes: must, then should, then may."""
    if tier not in TIERS:
        raise ValueError(f"tier: {tier!r} is not one of {', '.join(TIERS)}")
    return TIERS[: TIERS.index(tier) + 1]


def select(
    cases: Iterable[Case],
    *,
    tier: str = "must",
    layers: Sequence[str] = LAYERS,
    patterns: Sequence[str] = (),
) -> list[Case]:
    """The cases of these tiers (up to `tier`) and layers whose id matches one of `patterns`
    (shell-style, so an exact id matches itself; no patterns: every id)."""
    tiers = tiers_up_to(tier)
    unknown = [layer for layer in layers if layer not in LAYERS]
    if unknown:
        raise ValueError(f"layer: {', '.join(unknown)} is not one of {', '.join(LAYERS)}")
    return [
        case
        for case in cases
        if case.tier in tiers
        and case.layer in layers
        and (not patterns or any(fnmatch.fnmatchcase(case.id, p) for p in patterns))
    ]
