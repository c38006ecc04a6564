"""The models of spec/models: each cfg (TLC's input, the only source of constants) with its
manifest entry (expected verdict, recorded counts), as the TLC tools need them.

The reference reads the same files through kvm_mmio.config; this module adds only what running
TLC needs: where the spec is, which checks a cfg lists, and how to rewrite that list for one run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import attrs

from kvm_mmio import config
from kvm_mmio_conformance.atomicfile import write_text
from kvm_mmio_tools.errors import ToolMissing, UsageError

__all__ = [
    "Model",
    "copy_modules",
    "load_models",
    "model_listing",
    "select_models",
    "spec_dir",
    "spec_variables",
    "with_checks",
    "write_manifest",
]

_CHECK_LINE = re.compile(r"^(INVARIANTS?|PROPERTY|PROPERTIES)\b(.*)$", re.MULTILINE)


def spec_dir() -> Path:
    """The spec's folder (kvm_mmio.config.spec_dir), its absence as the CLI's error: bad input if
    $KVM_MMIO_SPEC_DIR names a wrong folder, a missing tool if the installed package lacks it."""
    try:
        return config.spec_dir()
    except FileNotFoundError as error:
        if os.environ.get(config.SPEC_DIR_VARIABLE):
            raise UsageError(str(error)) from None
        raise ToolMissing(str(error)) from None


def copy_modules(folder: Path) -> None:
    """Copy every TLA+ module of the spec into ``folder``, a TLC run's scratch copy (TLC finds the
    modules a spec EXTENDS next to it, and nothing is ever written into the spec's folder)."""
    for module in spec_dir().glob("*.tla"):
        shutil.copy(module, folder)


def spec_variables(root: Path | None = None) -> tuple[str, ...]:
    """The spec's variables in the order of its VARIABLES declaration (TLC prints them hashed)."""
    text = ((root or spec_dir()) / "KvmMmio.tla").read_text()
    block = re.search(r"^VARIABLES\b(.*?)^\s*$", text, re.MULTILINE | re.DOTALL)
    if block is None:
        raise UsageError("KvmMmio.tla declares no VARIABLES")
    return tuple(re.findall(r"^\s*(\w+),?\s*(?:\\\*.*)?$", block.group(1), re.MULTILINE))


@attrs.frozen
class Model:
    """One model: its cfg, what the manifest expects of it, and what TLC recorded for it."""

    name: str
    cfg_path: Path
    default: bool
    kind: str
    summary: str
    twin: str | None
    switch: str | None
    invariants: tuple[str, ...]
    properties: tuple[str, ...]
    expect_holds: tuple[str, ...]
    expect_violated: tuple[str, ...]
    recorded_states: int | None
    recorded_depth: int | None

    @property
    def cfg_text(self) -> str:
        return self.cfg_path.read_text()

    @property
    def symmetric(self) -> bool:
        return re.search(r"^SYMMETRY\b", self.cfg_text, re.MULTILINE) is not None


def _checks(cfg_text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    invariants: list[str] = []
    properties: list[str] = []
    for keyword, names in _CHECK_LINE.findall(cfg_text):
        (invariants if keyword.startswith("INVARIANT") else properties).extend(names.split())
    return tuple(invariants), tuple(properties)


def load_models(root: Path | None = None) -> dict[str, Model]:
    """Every model of the manifest, by name, in manifest order."""
    models_dir = (root or spec_dir()) / "models"
    manifest = json.loads((models_dir / "manifest.json").read_text())
    models = {}
    for entry in manifest["models"]:
        cfg_path = models_dir / entry["cfg"]
        invariants, properties = _checks(cfg_path.read_text())
        recorded = entry.get("recorded") or {}
        models[entry["name"]] = Model(
            name=entry["name"],
            cfg_path=cfg_path,
            default=bool(entry.get("default", False)),
            kind=entry.get("kind", ""),
            summary=entry.get("summary", ""),
            twin=entry.get("twin"),
            switch=entry.get("switch"),
            invariants=invariants,
            properties=properties,
            expect_holds=tuple(entry["expect"]["holds"]),
            expect_violated=tuple(entry["expect"]["violated"]),
            recorded_states=recorded.get("distinct_states"),
            recorded_depth=recorded.get("depth"),
        )
    return models


def select_models(names: list[str], *, everything: bool = False) -> list[Model]:
    """The named models, or the default set, in manifest order (each once, whatever the order on
    the command line, so that reports read alike); an unknown name is a UsageError listing the
    known ones."""
    models = load_models()
    if everything:
        return list(models.values())
    if not names:
        return [model for model in models.values() if model.default]
    unknown = [name for name in names if name not in models]
    if unknown:
        raise UsageError(f"unknown model {', '.join(unknown)}; known models: {', '.join(models)}")
    return [model for model in models.values() if model.name in names]


def model_listing() -> str:
    """What `--list` prints: each model of the manifest, whether it is in the default set, and its
    summary."""
    return "\n".join(
        f"{model.name:<22} {'default' if model.default else '       '}  {model.summary}"
        for model in load_models().values()
    )


def with_checks(cfg_text: str, invariants: tuple[str, ...], properties: tuple[str, ...]) -> str:
    """The cfg with its INVARIANTS/PROPERTIES lines replaced by exactly these checks."""
    kept = _CHECK_LINE.sub("", cfg_text).rstrip("\n").splitlines()
    lines = [line for line in kept if line.strip()]
    if invariants:
        lines.append("INVARIANTS " + " ".join(invariants))
    if properties:
        lines.append("PROPERTIES " + " ".join(properties))
    return "\n".join(lines) + "\n"


def write_manifest(recorded: dict[str, tuple[int, int]], root: Path | None = None) -> Path:
    """Rewrite the manifest's recorded counts for these models (temp file, then rename)."""
    path = (root or spec_dir()) / "models" / "manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["models"]:
        if entry["name"] in recorded:
            states, depth = recorded[entry["name"]]
            entry["recorded"] = {"distinct_states": states, "depth": depth}
    return write_text(path, json.dumps(manifest, indent=2) + "\n")
