"""The constants of a model, read from the same spec/models/*.cfg files that TLC reads.

Why: the reference must explore exactly the machine TLC checks, so a model's constants are written
once, in its cfg, and both tools parse that file.  This module parses the small subset of TLC's cfg
language the models use, validates the constants against the spec's ASSUME (a ValueError names the
constant and what it may be), derives the spec's derived constants (ASes, GenStep, GenMod,
InitGenOf, VcpuAs, CacheAs) and pairs each cfg with its manifest entry (expected verdict, TLC's
recorded counts).

Positions: the reference represents TLA+ functions as tuples.  A vCPU's position is its index in
``Constants.vcpus`` (the model values sorted by name), a gfn's position its index in
``Constants.gfns`` (sorted), an address space is its own index (0 .. NrAs - 1).
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "CONSTANT_NAMES",
    "ERAS",
    "KINDS",
    "MODES",
    "NO_CHANGE",
    "SPEC_DIR_VARIABLE",
    "CfgFile",
    "Change",
    "Constants",
    "Model",
    "ModelValue",
    "constants_from_tla",
    "load_model",
    "load_models",
    "model_names",
    "parse_cfg",
    "spec_dir",
]

ERAS = ("A", "B")
MODES = ("emulated", "native")
KINDS = ("create", "delete", "flags", "move")


@attrs.frozen(slots=True)
class Change:
    """A memslot change: the spec's record [kind, gfn, to] (NoChange is kind "none", gfn 0)."""

    kind: str
    gfn: int
    to: int


NO_CHANGE = Change("none", 0, 0)


@attrs.frozen(slots=True)
class ModelValue:
    """A TLC model value written bare in a cfg (``v1``), as opposed to the string ``"v1"``."""

    name: str


def _set_of(kind: type, field: str, value: object, what: str) -> frozenset:
    if not isinstance(value, frozenset | set | tuple | list):
        raise ValueError(f"{field}: must be a set of {what}, got {value!r}")
    items = frozenset(item.name if isinstance(item, ModelValue) else item for item in value)
    for item in items:
        if not isinstance(item, kind) or isinstance(item, bool):
            raise ValueError(f"{field}: must be a set of {what}, got the element {item!r}")
    return items


def _natural(field: str, value: object, least: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValueError(f"{field}: must be an integer >= {least}, got {value!r}")
    return value


def _boolean(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{field}: must be TRUE or FALSE, got {value!r}")
    return value


# TLA+ constant name -> Constants field, in the spec's CONSTANTS order.
CONSTANT_NAMES: dict[str, str] = {
    "Vcpus": "vcpus",
    "Modes": "modes",
    "Gfns": "gfns",
    "NrAs": "nr_as",
    "SmmVcpus": "smm_vcpus",
    "MaxUpdates": "max_updates",
    "GenBits": "gen_bits",
    "InitGen": "init_gen",
    "InitRam": "init_ram",
    "Era": "era",
    "InvalidRetries": "invalid_retries",
    "MmioSptes": "mmio_sptes",
    "FlushZapsAll": "flush_zaps_all",
    "FixCacheGen": "fix_cache_gen",
    "FixInProgress": "fix_in_progress",
    "FixHookFirst": "fix_hook_first",
    "FixWrapAnyAs": "fix_wrap_any_as",
    "FixNoCacheInFlux": "fix_no_cache_in_flux",
    "ZapOnWrap": "zap_on_wrap",
    "FlushOnDelete": "flush_on_delete",
    "FixNoSpteInFlux": "fix_no_spte_in_flux",
    "FixCacheOwnAs": "fix_cache_own_as",
    "FixGenBeforeWalk": "fix_gen_before_walk",
}
_BOOLEAN_CONSTANTS = tuple(CONSTANT_NAMES)[10:]


@attrs.frozen(slots=True)
class Constants:
    """One assignment of the spec's CONSTANTS (snake_case), validated as the spec's ASSUME says.

    Sets are held sorted (``vcpus``, ``modes``, ``gfns``: the order defines positions) or as
    frozensets (``smm_vcpus``, ``init_ram``)."""

    vcpus: tuple[str, ...]
    modes: tuple[str, ...]
    gfns: tuple[int, ...]
    nr_as: int
    smm_vcpus: frozenset[str]
    max_updates: int
    gen_bits: int
    init_gen: int
    init_ram: frozenset[int]
    era: str
    invalid_retries: bool
    mmio_sptes: bool
    flush_zaps_all: bool
    fix_cache_gen: bool
    fix_in_progress: bool
    fix_hook_first: bool
    fix_wrap_any_as: bool
    fix_no_cache_in_flux: bool
    zap_on_wrap: bool
    flush_on_delete: bool
    fix_no_spte_in_flux: bool
    fix_cache_own_as: bool
    fix_gen_before_walk: bool
    # Derived constants (computed once, below).
    ases: tuple[int, ...] = attrs.field(init=False, eq=False, repr=False)
    gen_step: int = attrs.field(init=False, eq=False, repr=False)
    gen_mod: int = attrs.field(init=False, eq=False, repr=False)
    max_gen: int = attrs.field(init=False, eq=False, repr=False)
    all_changes: tuple[Change, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        """The spec's ASSUME, one field at a time, with what each may be."""
        vcpus = _set_of(str, "Vcpus", self.vcpus, "vCPU ids (model values)")
        if not vcpus:
            raise ValueError("Vcpus: must be a non-empty set of vCPU ids, got {}")
        modes = _set_of(str, "Modes", self.modes, 'access modes ("native", "emulated")')
        if not modes or not modes <= set(MODES):
            raise ValueError(
                f'Modes: must be a non-empty subset of {{"native", "emulated"}}, got {set(modes)}'
            )
        gfns = _set_of(int, "Gfns", self.gfns, "gfns (integers >= 1)")
        if not gfns or min(gfns) < 1:
            raise ValueError(
                f"Gfns: must be a non-empty set of integers >= 1 (gfn 0 is excluded), "
                f"got {set(gfns) or '{}'}"
            )
        if self.nr_as not in (1, 2) or isinstance(self.nr_as, bool):
            raise ValueError(f"NrAs: must be 1 or 2, got {self.nr_as!r}")
        smm = _set_of(str, "SmmVcpus", self.smm_vcpus, "vCPU ids (model values)")
        if not smm <= vcpus:
            raise ValueError(
                f"SmmVcpus: must be a subset of Vcpus {sorted(vcpus)}, got {sorted(smm)}"
            )
        if smm and self.nr_as == 1:
            raise ValueError(f"SmmVcpus: must be empty when NrAs = 1, got {sorted(smm)}")
        _natural("MaxUpdates", self.max_updates)
        _natural("GenBits", self.gen_bits, least=1)
        _natural("InitGen", self.init_gen)
        init_ram = _set_of(int, "InitRam", self.init_ram, "gfns")
        if not init_ram <= gfns:
            raise ValueError(
                f"InitRam: must be a subset of Gfns {sorted(gfns)}, got {sorted(init_ram)}"
            )
        if self.era not in ERAS:
            raise ValueError(f'Era: must be "A" or "B", got {self.era!r}')
        if self.era == "A" and self.init_gen % 2:
            raise ValueError(
                "InitGen: must be even in era A (bit 0 is the in-progress mark), "
                f"got {self.init_gen}"
            )
        for name in _BOOLEAN_CONSTANTS:
            _boolean(name, getattr(self, CONSTANT_NAMES[name]))
        for field, value in (
            ("vcpus", tuple(sorted(vcpus))),
            ("modes", tuple(sorted(modes))),
            ("gfns", tuple(sorted(gfns))),
            ("smm_vcpus", smm),
            ("init_ram", init_ram),
        ):
            object.__setattr__(self, field, value)
        self._derive()

    def _derive(self) -> None:
        """The spec's derived constants.  ASes == 0 .. NrAs - 1; GenStep, the final increment of
        one install (era A 2 * NrAs, era B NrAs); GenMod == 2 ^ GenBits (an MMIO spte keeps the
        generation modulo this); MaxGen, TypeOK's bound on generations; AllChanges, every change
        a model can name (sorted)."""
        derived = {
            "ases": tuple(range(self.nr_as)),
            "gen_step": 2 * self.nr_as if self.era == "A" else self.nr_as,
            "gen_mod": 2**self.gen_bits,
        }
        for field, value in derived.items():
            object.__setattr__(self, field, value)
        object.__setattr__(
            self, "max_gen", self.init_gen_of(self.nr_as - 1) + self.max_updates * self.gen_step
        )
        changes = [Change(k, g, 0) for k in ("create", "delete", "flags") for g in self.gfns]
        changes += [Change("move", g, t) for g in self.gfns for t in self.gfns if g != t]
        changes.sort(key=lambda c: (c.kind, c.gfn, c.to))
        object.__setattr__(self, "all_changes", tuple(changes))

    def init_gen_of(self, a: int) -> int:
        """InitGenOf(a): AS a starts a * (GenStep \\div NrAs) after AS 0."""
        return self.init_gen + a * (self.gen_step // self.nr_as)

    def vcpu_as(self, v: str) -> int:
        """VcpuAs(v): 1 for a vCPU in SMM, else 0."""
        return 1 if v in self.smm_vcpus else 0

    def cache_as(self, v: str) -> int:
        """CacheAs(v): the AS whose generation tags v's MMIO cache (AS 0 in the kernel)."""
        return self.vcpu_as(v) if self.fix_cache_own_as else 0

    def vcpu_index(self, v: str) -> int:
        """The position of vCPU v in per-vCPU tuples (ValueError for an unknown id)."""
        try:
            return self.vcpus.index(v)
        except ValueError:
            raise ValueError(f"v: must be one of Vcpus {list(self.vcpus)}, got {v!r}") from None

    def gfn_index(self, g: int) -> int:
        """The position of gfn g in per-gfn tuples (ValueError for a gfn outside Gfns)."""
        try:
            return self.gfns.index(g)
        except ValueError:
            raise ValueError(f"g: must be one of Gfns {list(self.gfns)}, got {g!r}") from None

    def as_tla(self) -> dict[str, Any]:
        """The constants under their TLA+ names (sets as sorted lists), e.g. for an ITF header."""
        values: dict[str, Any] = {}
        for tla, field in CONSTANT_NAMES.items():
            value = getattr(self, field)
            values[tla] = sorted(value) if isinstance(value, frozenset | tuple) else value
        return values


def constants_from_tla(values: Mapping[str, Any]) -> Constants:
    """Constants from a mapping of TLA+ constant names to values (a parsed cfg's CONSTANTS)."""
    missing = [name for name in CONSTANT_NAMES if name not in values]
    if missing:
        raise ValueError(f"CONSTANTS: missing {', '.join(missing)} (the spec declares them)")
    unknown = sorted(set(values) - set(CONSTANT_NAMES))
    if unknown:
        raise ValueError(
            f"CONSTANTS: unknown {', '.join(unknown)}; "
            f"the spec declares {', '.join(CONSTANT_NAMES)}"
        )
    return Constants(**{CONSTANT_NAMES[name]: values[name] for name in CONSTANT_NAMES})


# --- The cfg subset ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r'\s*(?:(?P<string>"[^"\\]*")|(?P<int>-?\d+)|(?P<name>[A-Za-z_]\w*)|(?P<punct>[{},=]))'
)
_SECTIONS = {
    "SPECIFICATION": "specification",
    "CONSTANT": "constants",
    "CONSTANTS": "constants",
    "INVARIANT": "invariants",
    "INVARIANTS": "invariants",
    "PROPERTY": "properties",
    "PROPERTIES": "properties",
    "SYMMETRY": "symmetry",
}


@attrs.frozen
class CfgFile:
    """What a cfg says: its SPECIFICATION, CONSTANTS (TLA+ names, parsed values), checks and
    SYMMETRY (the name of the symmetry set, or None)."""

    specification: str | None
    constants: dict[str, Any]
    invariants: tuple[str, ...]
    properties: tuple[str, ...]
    symmetry: str | None


def _tokens(text: str, where: str) -> list[tuple[str, str, int]]:
    tokens = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("\\*", 1)[0]
        position = 0
        while line[position:].strip():
            found = _TOKEN.match(line, position)
            if found is None:
                bad = line[position:].strip()[:20]
                raise ValueError(f"{where}:{number}: cannot read {bad!r} (unsupported cfg syntax)")
            kind = found.lastgroup or ""
            tokens.append((kind, found.group(kind), number))
            position = found.end()
    return tokens


class _CfgParser:
    def __init__(self, text: str, where: str):
        self.tokens = _tokens(text, where)
        self.where = where
        self.at = 0

    def error(self, message: str) -> ValueError:
        line = self.tokens[min(self.at, len(self.tokens) - 1)][2] if self.tokens else 1
        return ValueError(f"{self.where}:{line}: {message}")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise self.error("unexpected end of file")
        self.at += 1
        return token

    def value(self) -> Any:
        kind, text, _ = self.take()
        if kind == "int":
            return int(text)
        if kind == "string":
            return text[1:-1]
        if kind == "name":
            return {"TRUE": True, "FALSE": False}.get(text, ModelValue(text))
        if text == "{":
            items: list[Any] = []
            while (token := self.peek()) is not None and token[1] != "}":
                if items and self.take()[1] != ",":
                    raise self.error("expected ',' or '}' in a set")
                items.append(self.value())
            self.take()
            if any(isinstance(item, frozenset) for item in items):
                raise self.error("nested sets are not supported")
            return frozenset(items)
        raise self.error(f"expected a value, got {text!r}")

    def names(self) -> list[str]:
        found = []
        while (token := self.peek()) is not None and token[0] == "name":
            if token[1] in _SECTIONS:
                break
            found.append(self.take()[1])
        return found

    def parse(self) -> CfgFile:
        sections: dict[str, Any] = {"constants": {}, "invariants": [], "properties": []}
        while (token := self.peek()) is not None:
            kind, keyword, _ = self.take()
            section = _SECTIONS.get(keyword) if kind == "name" else None
            if section is None:
                raise self.error(
                    f"expected a cfg keyword ({', '.join(_SECTIONS)}), got {keyword!r}"
                )
            if section == "constants":
                while (token := self.peek()) is not None and token[1] not in _SECTIONS:
                    name_kind, name, _ = self.take()
                    if name_kind != "name" or self.take()[1] != "=":
                        raise self.error(f"expected 'Name = value' in CONSTANTS, got {name!r}")
                    if name in sections["constants"]:
                        raise self.error(f"constant {name} is assigned twice")
                    sections["constants"][name] = self.value()
            elif section in ("invariants", "properties"):
                names = self.names()
                if not names:
                    raise self.error(f"{keyword} names nothing")
                sections[section] += names
            else:
                names = self.names()
                if len(names) != 1:
                    raise self.error(f"{keyword} takes exactly one name")
                sections[section] = names[0]
        return CfgFile(
            specification=sections.get("specification"),
            constants=sections["constants"],
            invariants=tuple(sections["invariants"]),
            properties=tuple(sections["properties"]),
            symmetry=sections.get("symmetry"),
        )


def parse_cfg(text: str, where: str = "cfg") -> CfgFile:
    """Parse a TLC cfg of the subset the models use (``where`` prefixes error messages)."""
    return _CfgParser(text, where).parse()


# --- Models ------------------------------------------------------------------------------------


SPEC_DIR_VARIABLE = "KVM_MMIO_SPEC_DIR"
SPEC_PACKAGE = "kvm_mmio_spec"
_SPEC_FILES = ("KvmMmio.tla", "models/manifest.json")


def spec_dir() -> Path:
    """The folder of KvmMmio.tla and models/ (FileNotFoundError saying what is missing where).

    Why two sources: the spec ships inside the installed package ``kvm_mmio_spec`` (in an editable
    install, the checkout's spec/ folder), and $KVM_MMIO_SPEC_DIR points every tool at another
    copy, for someone editing the spec.
    """
    override = os.environ.get(SPEC_DIR_VARIABLE)
    if override:
        path, source = Path(override), f"${SPEC_DIR_VARIABLE}"
    else:
        path, source = _packaged_spec(), f"the package {SPEC_PACKAGE}"
    missing = [name for name in _SPEC_FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"no spec at {path} ({source}): {' and '.join(missing)} missing; "
            f"set {SPEC_DIR_VARIABLE} to a folder holding KvmMmio.tla and models/manifest.json"
        )
    return path


def _packaged_spec() -> Path:
    try:
        return Path(str(importlib.resources.files(SPEC_PACKAGE)))
    except ModuleNotFoundError:
        raise FileNotFoundError(
            f"the spec is not installed (no package {SPEC_PACKAGE}): reinstall kvm-mmio-spec "
            f"(in a checkout: bash tools/setup.sh), or set {SPEC_DIR_VARIABLE} to the folder of "
            "KvmMmio.tla"
        ) from None


@attrs.frozen
class Model:
    """A model: its constants and checks (from its cfg) and its manifest entry."""

    name: str
    constants: Constants
    invariants: tuple[str, ...]
    properties: tuple[str, ...]
    symmetry: str | None
    expect_holds: tuple[str, ...]
    expect_violated: tuple[str, ...]
    recorded_states: int | None
    recorded_depth: int | None
    default: bool
    kind: str
    summary: str
    cfg_path: Path


def _manifest(root: Path) -> list[dict]:
    return json.loads((root / "models" / "manifest.json").read_text())["models"]


def model_names(root: Path | None = None) -> tuple[str, ...]:
    """The models of the manifest, in its order."""
    return tuple(entry["name"] for entry in _manifest(root or spec_dir()))


def _model(entry: dict, root: Path) -> Model:
    cfg_path = root / "models" / entry["cfg"]
    cfg = parse_cfg(cfg_path.read_text(), where=str(cfg_path))
    try:
        constants = constants_from_tla(cfg.constants)
    except ValueError as error:
        raise ValueError(f"{cfg_path}: {error}") from None
    recorded = entry.get("recorded") or {}
    return Model(
        name=entry["name"],
        constants=constants,
        invariants=cfg.invariants,
        properties=cfg.properties,
        symmetry=cfg.symmetry,
        expect_holds=tuple(entry["expect"]["holds"]),
        expect_violated=tuple(entry["expect"]["violated"]),
        recorded_states=recorded.get("distinct_states"),
        recorded_depth=recorded.get("depth"),
        default=bool(entry.get("default", False)),
        kind=entry.get("kind", ""),
        summary=entry.get("summary", ""),
        cfg_path=cfg_path,
    )


def load_model(name: str, root: Path | None = None) -> Model:
    """The model called ``name`` (ValueError listing the known models if there is none)."""
    root = root or spec_dir()
    entries = _manifest(root)
    for entry in entries:
        if entry["name"] == name:
            return _model(entry, root)
    known = ", ".join(entry["name"] for entry in entries)
    raise ValueError(f"unknown model {name!r}; known models: {known}")


def load_models(root: Path | None = None) -> dict[str, Model]:
    """Every model of the manifest, by name, in manifest order."""
    root = root or spec_dir()
    return {entry["name"]: _model(entry, root) for entry in _manifest(root)}
