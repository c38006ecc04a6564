"""The catalog of wrong implementations: the unmutated arithmetic passes, and the suite rejects
every mutant, each also by the case its class names as witness, and each at the level its class
says: the spte and operations mutants by a must-tier case, the races (FixInProgress, FixHookFirst,
FixNoCacheInFlux off) by the steps level alone, no operations case telling them apart. The table
of which cases kill which mutant is printed (pytest -s shows it; `kvm-mmio conformance
--mutants` prints it)."""

import importlib
import shlex
import sys
from pathlib import Path

import pytest

from kvm_mmio_conformance.inprocess import InProcessChannel
from kvm_mmio_conformance.mutants import MODEL_MUTANTS, MUTANTS
from kvm_mmio_conformance.mutants.base import SpteArithmetic
from kvm_mmio_conformance.mutants.killing import Kill, hunt, render_kills
from kvm_mmio_conformance.mutants.model_base import SwitchedOff
from kvm_mmio_conformance.process import SubprocessChannel
from kvm_mmio_conformance.runner import run
from kvm_mmio_conformance.vectors import load_vectors, select

SWITCHES = {
    "FixCacheGen",
    "FixInProgress",
    "FixHookFirst",
    "FixWrapAnyAs",
    "FixNoCacheInFlux",
    "ZapOnWrap",
    "FlushOnDelete",
}


@pytest.fixture(scope="module")
def cases():
    return select(load_vectors(), tier="should")


@pytest.fixture(scope="module")
def kills(cases):
    return {kill.name: kill for kill in hunt(cases)}


def test_the_unmutated_arithmetic_passes_every_case(cases):
    assert run(InProcessChannel(SpteArithmetic()), cases).ok


def test_every_mutant_is_rejected(kills):
    table = render_kills(list(kills.values()))
    print("\n" + table)
    assert [kill.name for kill in kills.values() if not kill.rejected] == [], table
    assert len(kills) == len(MUTANTS) >= 40


def test_each_mutant_is_killed_by_its_witness(kills):
    missed = [(k.name, k.witness) for k in kills.values() if k.witness not in k.killed_by]
    assert missed == []


def test_there_is_one_model_mutant_per_fix_switch_and_one_that_never_caches():
    switched = [m for m in MODEL_MUTANTS.values() if issubclass(m, SwitchedOff)]
    switches = {mutant.switch for mutant in switched}
    assert switches == SWITCHES | {"MmioSptes", "FlushZapsAll"}
    assert len(switched) == len(SWITCHES) + 2


def test_each_mutant_is_killed_at_its_tier_in_both_views(kills, cases):
    """An spte or operations mutant fails a must-tier case in the full view and in the kernel
    view (kernel configs, outcome and path: what a real kernel can run and show); a race fails a
    steps case (should tier), which no kernel can run."""
    tier_of = {case.id: case.tier for case in cases}
    for name, kill in kills.items():
        if kill.killed_at == "steps":
            assert kill.kernel_killed_by is None and kill.killed_by, name
            assert {tier_of[case_id] for case_id in kill.killed_by} == {"should"}, name
            continue
        assert kill.must_killed_by, (name, "full view")
        assert kill.kernel_killed_by, (name, "kernel view")
        assert {tier_of[case_id] for case_id in kill.kernel_killed_by} == {"must"}


def test_the_wrap_mutants_die_only_at_the_wrap_in_the_kernel_view(kills):
    """A wrong generation width shows only across a wrap: no other case reaches one."""
    for name in ("gen-width-18", "gen-width-20"):
        assert kills[name].kernel_killed_by
        assert all(case.startswith("wrap-") for case in kills[name].kernel_killed_by), name
    for name in ("no-wrap-zap", "wrap-one-as", "wrap-zaps-one-as"):
        assert any(case.startswith("wrap-") for case in kills[name].kernel_killed_by), name


def test_each_model_mutant_dies_at_the_level_it_claims(kills, cases):
    layer_of = {case.id: case.layer for case in cases}
    for name, mutant in MODEL_MUTANTS.items():
        layers = {layer_of[case_id] for case_id in kills[name].killed_by}
        must = {layer_of[case_id] for case_id in kills[name].must_killed_by}
        if mutant.killed_at == "operations":
            assert "operations" in must, name
        else:
            # a race: no sequence of whole operations shows it, only the steps level does
            assert layers == {"steps"}, (name, layers)
            assert must == set(), name


@pytest.mark.parametrize("name", list(MUTANTS))
def test_each_mutant_documents_its_mistake(name):
    mutant = MUTANTS[name]
    module = importlib.import_module(mutant.__module__)
    assert module.__doc__.startswith("Mutant: ")
    assert "The mistake" in module.__doc__
    assert mutant.mistake and mutant.imitates and mutant.witness
    assert module.__all__ == [mutant.__name__]
    if mutant.killed_at == "steps":
        assert "only the steps level rejects it" in module.__doc__


def test_a_mutant_is_rejected_out_of_process_too(cases):
    command = (
        f"{shlex.quote(sys.executable)} -m kvm_mmio_conformance.stdio_server "
        "kvm_mmio_conformance.mutants.in_progress_unchecked:InProgressUnchecked"
    )
    spte = [case for case in cases if case.layer == "spte"]
    with SubprocessChannel(command) as channel:
        report = run(channel, spte)
    failed = [r.case.id for r in report.results if r.status == "failed"]
    assert "v6-ept-p46c46-l1tf-check-in-progress" in failed
    assert not report.ok


def test_a_model_mutant_is_rejected_out_of_process_by_its_witness(cases):
    command = (
        f"{shlex.quote(sys.executable)} -m kvm_mmio_conformance.stdio_server "
        "kvm_mmio_conformance.mutants.hook_late:HookLate"
    )
    witness = [case for case in cases if case.id == MUTANTS["hook-late"].witness]
    with SubprocessChannel(command) as channel:
        report = run(channel, witness)
    result = report.results[0]
    assert result.status == "failed"
    # after SyncSrcu the fixed model runs the hook first: the mutant offers StoreGen instead
    assert result.message == {"op": "step", "action": {"name": "SyncSrcu", "params": {}}}
    assert result.reason == (
        'enabled actions differ: missing {"name":"RunHook","params":{}}; '
        'not enabled in the spec {"name":"StoreGen","params":{}}'
    )


def test_render_kills_flags_survivors():
    table = render_kills([Kill("lucky", "a slip", "nothing", "some-case", (), "spte", (), ())])
    assert "NOT KILLED" in table
    assert table.endswith("0 of 1 mutants rejected; survivors: lucky")
    should_only = Kill("late", "a slip", "x", "case", ("a-steps-case",), "operations", (), ())
    assert not should_only.rejected
    assert "NOT KILLED by a must-tier case" in render_kills([should_only])
    full_only = Kill("sly", "a slip", "x", "case", ("c",), "operations", ("c",), ())
    assert not full_only.rejected
    assert "kernel view: NOT KILLED in the kernel view" in render_kills([full_only])


def test_the_readme_catalog_lists_every_mutant_with_its_tier_in_both_views():
    """conformance/README.md's table: one row per mutant, its level and tier, a kill count in
    the full view and in the kernel view (a dash for a race), and its witness."""
    readme = (Path(__file__).parents[1] / "conformance" / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        if len(cells) == 5 and cells[0].split(" (")[0] in MUTANTS:
            rows[cells[0].split(" (")[0]] = cells
    assert set(rows) == set(MUTANTS)
    for name, (_, level, full, kernel, witnesses) in rows.items():
        mutant = MUTANTS[name]
        tier = "should" if mutant.killed_at == "steps" else "must"
        assert level == f"{mutant.killed_at} ({tier})", name
        assert int(full.split(" ")[0].replace(",", "")) > 0, name
        if mutant.killed_at == "steps":
            assert kernel.startswith("—"), name
        else:
            assert int(kernel.replace(",", "")) > 0, name
        assert witnesses.split(";")[0] == mutant.witness, name
