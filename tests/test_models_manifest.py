"""The manifest and the cfg files agree: every check a cfg lists has an expected verdict, every bug
model's twin differs from it in exactly its switch, and the default set is non-empty."""

import re

import pytest

from kvm_mmio.state import VARIABLES
from kvm_mmio_tools.models import load_models, spec_variables, with_checks

MODELS = load_models()
_CONSTANT = re.compile(r"^\s+(\w+) = (.+)$", re.MULTILINE)


def constants(name: str) -> dict[str, str]:
    return dict(_CONSTANT.findall(MODELS[name].cfg_text))


@pytest.mark.parametrize("name", list(MODELS))
def test_every_listed_check_has_an_expected_verdict(name):
    model = MODELS[name]
    listed = set(model.invariants) | set(model.properties)
    assert listed == set(model.expect_holds) | set(model.expect_violated)
    assert not set(model.expect_holds) & set(model.expect_violated)
    assert model.recorded_states and model.recorded_depth


@pytest.mark.parametrize("name", [n for n, m in MODELS.items() if m.twin and m.switch])
def test_twin_differs_in_exactly_its_switch(name):
    model = MODELS[name]
    mine, theirs = constants(name), constants(model.twin)
    differing = {key for key in mine.keys() | theirs.keys() if mine.get(key) != theirs.get(key)}
    assert differing == {model.switch}


def test_every_bug_model_breaks_a_property_its_twin_keeps():
    for model in MODELS.values():
        if model.kind != "bug":
            continue
        twin = MODELS[model.twin]
        assert set(model.expect_violated) - set(twin.expect_violated), model.name


def test_every_fix_switch_has_a_bug_or_finding_model():
    switches = {m.switch for m in MODELS.values() if m.kind in ("bug", "finding")}
    fixes = {key for key in constants("safe") if key.startswith("Fix")} | {
        "ZapOnWrap",
        "FlushOnDelete",
    }
    assert fixes <= switches


def test_default_set_is_not_empty_and_every_cfg_is_in_the_manifest():
    assert any(model.default for model in MODELS.values())
    cfgs = {path.stem for path in next(iter(MODELS.values())).cfg_path.parent.glob("*.cfg")}
    assert cfgs == set(MODELS)


def test_with_checks_replaces_only_the_check_lines():
    text = "SPECIFICATION Spec\nCONSTANTS\n    N = 1\nINVARIANTS A B\nPROPERTIES P\n"
    expected = "SPECIFICATION Spec\nCONSTANTS\n    N = 1\nINVARIANTS B\n"
    assert with_checks(text, ("B",), ()) == expected
    assert with_checks(text, (), ("P",)).endswith("N = 1\nPROPERTIES P\n")


def test_spec_variables_in_declaration_order():
    # The reference keeps the spec's variables in the same order (kvm_mmio.state.VARIABLES).
    assert spec_variables() == VARIABLES
    assert VARIABLES[0] == "slots" and "inCS" in VARIABLES and VARIABLES[-1] == "genLocal"


@pytest.mark.parametrize("name", [n for n, m in MODELS.items() if m.symmetric])
def test_symmetry_is_only_used_where_every_vcpu_plays_the_same_part(name):
    """Permutations(Vcpus) is a symmetry only when SmmVcpus is {} or Vcpus, and TLC's liveness
    checking is unsound under SYMMETRY, so such a model lists no PROPERTIES."""
    found = constants(name)
    assert found["SmmVcpus"] in ("{}", found["Vcpus"])
    assert MODELS[name].properties == ()
