"""kvm_mmio.config: the cfg files are read as TLC reads them, the constants are validated as the
spec's ASSUME says (a ValueError names the constant and what it may be), and the derived constants
are the spec's."""

import importlib.resources
import re
from pathlib import Path

import pytest

from kvm_mmio import config
from kvm_mmio.config import (
    CONSTANT_NAMES,
    Change,
    Constants,
    ModelValue,
    constants_from_tla,
    load_model,
    load_models,
    model_names,
    parse_cfg,
    spec_dir,
)

SAFE = load_model("safe").constants


def constants(**changes) -> Constants:
    """safe's constants (as TLA+ values) with some replaced."""
    values = {tla: getattr(SAFE, field) for tla, field in CONSTANT_NAMES.items()}
    values.update(changes)
    return constants_from_tla(values)


def test_every_model_of_the_manifest_loads_with_its_checks():
    models = load_models()
    assert tuple(models) == model_names()
    # 19 models of the protocol and its bugs, and the scale family (never default).
    assert sum(model.kind != "scale" for model in models.values()) == 23
    scale = [model for model in models.values() if model.kind == "scale"]
    assert len(scale) >= 5 and not any(model.default for model in scale)
    for model in models.values():
        assert model.invariants, model.name
        assert set(model.invariants) | set(model.properties) == set(model.expect_holds) | set(
            model.expect_violated
        )
        assert model.recorded_states and model.recorded_depth
    assert models["safe"].symmetry == "Symmetry"
    assert models["safe_full"].symmetry is None
    assert models["host"].properties == ("OperationsFinish", "AccessesFinish")


def test_constants_read_from_the_cfg():
    smm = load_model("smm").constants
    assert smm.vcpus == ("v1",) and smm.smm_vcpus == frozenset({"v1"})
    assert (smm.nr_as, smm.gfns, smm.init_ram, smm.era) == (2, (1, 2), frozenset({1}), "A")
    assert smm.modes == ("native",) and not smm.fix_cache_own_as
    host = load_model("host").constants
    assert host.modes == ("emulated", "native") and host.gen_bits == 19 and host.era == "B"
    assert host.invalid_retries and not host.mmio_sptes and host.flush_zaps_all


def test_derived_constants_are_the_specs():
    smm = load_model("smm").constants
    assert smm.ases == (0, 1) and smm.gen_step == 4 and smm.gen_mod == 8
    assert [smm.init_gen_of(a) for a in smm.ases] == [0, 2]
    assert smm.vcpu_as("v1") == 1 and smm.cache_as("v1") == 0
    assert load_model("smm_fixed").constants.cache_as("v1") == 1
    b = load_model("safe_wrap_b").constants
    assert (b.gen_step, b.init_gen_of(0), b.max_gen) == (1, 3, 3 + 4 * 1)
    assert SAFE.max_gen == 0 + 2 * 2
    # AllChanges: create/delete/flags of each gfn, and every move between two different gfns.
    assert len(SAFE.all_changes) == 3 * 2 + 2
    assert Change("move", 1, 2) in SAFE.all_changes and Change("move", 1, 1) not in SAFE.all_changes


@pytest.mark.parametrize(
    ("changes", "field", "allowed"),
    [
        ({"Vcpus": frozenset()}, "Vcpus", "non-empty"),
        ({"Gfns": frozenset({0, 1})}, "Gfns", ">= 1"),
        ({"Gfns": frozenset()}, "Gfns", "non-empty"),
        ({"GenBits": 0}, "GenBits", ">= 1"),
        ({"NrAs": 3}, "NrAs", "1 or 2"),
        ({"NrAs": 0}, "NrAs", "1 or 2"),
        ({"SmmVcpus": frozenset({ModelValue("v9")})}, "SmmVcpus", "subset of Vcpus"),
        ({"SmmVcpus": frozenset({ModelValue("v1")})}, "SmmVcpus", "empty when NrAs = 1"),
        ({"Era": "C"}, "Era", '"A" or "B"'),
        ({"Modes": frozenset({"native", "teleport"})}, "Modes", "subset"),
        ({"MaxUpdates": -1}, "MaxUpdates", ">= 0"),
        ({"InitGen": "0"}, "InitGen", ">= 0"),
        ({"InitGen": 3, "Era": "A"}, "InitGen", "even in era A"),
        ({"InitRam": frozenset({3})}, "InitRam", "subset of Gfns"),
        ({"FixCacheGen": 1}, "FixCacheGen", "TRUE or FALSE"),
    ],
)
def test_bad_constants_name_the_field_and_what_it_may_be(changes, field, allowed):
    with pytest.raises(ValueError, match=rf"^{field}: .*{re.escape(allowed)}"):
        constants(**changes)


def test_missing_and_unknown_constants_are_named():
    values = {tla: getattr(SAFE, field) for tla, field in CONSTANT_NAMES.items()}
    del values["Era"]
    with pytest.raises(ValueError, match="missing Era"):
        constants_from_tla(values)
    with pytest.raises(ValueError, match="unknown Bogus"):
        constants_from_tla({**values, "Era": "A", "Bogus": 1})


def test_smm_vcpus_need_two_address_spaces_but_not_the_reverse():
    assert constants(NrAs=2, SmmVcpus=frozenset({ModelValue("v2")})).vcpu_as("v2") == 1
    assert constants(NrAs=2).ases == (0, 1)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(
        ValueError, match=r"unknown model 'nope'; known models: safe, .*bug_no_flush"
    ):
        load_model("nope")


def test_cfg_subset_parser():
    cfg = parse_cfg(
        "\\* a comment\nSPECIFICATION Spec\nCONSTANTS\n    A = {v1, v2}  \\* trailing\n"
        '    B = "x"\n    C = TRUE\n    D = {}\n    E = -3\n    F = {"a", 1}\n'
        "INVARIANT I1\nINVARIANTS I2 I3\nPROPERTY P1\nPROPERTIES P2\nSYMMETRY Sym\n"
    )
    assert cfg.specification == "Spec" and cfg.symmetry == "Sym"
    assert cfg.constants == {
        "A": frozenset({ModelValue("v1"), ModelValue("v2")}),
        "B": "x",
        "C": True,
        "D": frozenset(),
        "E": -3,
        "F": frozenset({"a", 1}),
    }
    assert cfg.invariants == ("I1", "I2", "I3") and cfg.properties == ("P1", "P2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CONSTANTS\n  A = <<1>>\n", r"x\.cfg:2: cannot read '<<1>>'"),
        ("CONSTANTS\n  A 1\n", r"x\.cfg:2: expected 'Name = value'"),
        ("CONSTANTS\n  A = 1\n  A = 2\n", "assigned twice"),
        ("INIT Init\n", "expected a cfg keyword"),
        ("CONSTANTS\n  A = {1, {2}}\n", "nested sets"),
        ("CONSTANTS\n  A = {1 2}\n", "expected ',' or '}'"),
        ("SYMMETRY\n", "exactly one name"),
        ("CONSTANTS\n  A = {1,\n", "unexpected end of file"),
    ],
)
def test_cfg_syntax_errors_name_the_line(text, message):
    with pytest.raises(ValueError, match=message):
        parse_cfg(text, where="x.cfg")


def test_the_spec_is_the_installed_package_which_is_this_checkouts_spec_folder(monkeypatch):
    monkeypatch.delenv("KVM_MMIO_SPEC_DIR", raising=False)
    assert spec_dir() == Path(str(importlib.resources.files("kvm_mmio_spec")))
    assert spec_dir() == Path(__file__).resolve().parent.parent / "spec"  # an editable install


def test_a_missing_spec_package_says_how_to_get_one(monkeypatch):
    monkeypatch.delenv("KVM_MMIO_SPEC_DIR", raising=False)
    monkeypatch.setattr(config, "SPEC_PACKAGE", "kvm_mmio_spec_not_installed")
    with pytest.raises(FileNotFoundError, match=r"no package kvm_mmio_spec_not_installed.*reinst"):
        spec_dir()


def test_spec_dir_from_the_environment(tmp_path, monkeypatch):
    real = load_model("host")
    monkeypatch.setenv("KVM_MMIO_SPEC_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"\$KVM_MMIO_SPEC_DIR.*KvmMmio\.tla and models/"):
        spec_dir()
    (tmp_path / "KvmMmio.tla").write_text((real.cfg_path.parents[1] / "KvmMmio.tla").read_text())
    models = tmp_path / "models"
    models.mkdir()
    (models / "host.cfg").write_text(real.cfg_path.read_text())
    manifest = real.cfg_path.parent / "manifest.json"
    (models / "manifest.json").write_text(manifest.read_text())
    assert spec_dir() == tmp_path
    assert load_model("host").constants == real.constants
    with pytest.raises(FileNotFoundError):
        load_model("safe")  # in the manifest, but its cfg is not in this folder


def test_a_cfg_with_bad_constants_names_the_file(tmp_path, monkeypatch):
    real = load_model("host")
    models = tmp_path / "models"
    models.mkdir()
    (models / "host.cfg").write_text(real.cfg_path.read_text().replace("NrAs = 1", "NrAs = 5"))
    (models / "manifest.json").write_text((real.cfg_path.parent / "manifest.json").read_text())
    (tmp_path / "KvmMmio.tla").write_text((real.cfg_path.parents[1] / "KvmMmio.tla").read_text())
    monkeypatch.setenv("KVM_MMIO_SPEC_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=r"host\.cfg: NrAs: must be 1 or 2, got 5"):
        load_model("host")
