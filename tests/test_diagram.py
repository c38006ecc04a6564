"""Sequence diagrams of traces: each step drawn in its actor's lane (from its parameters, or for a
TLC trace from what it changed), only what changed beside it, valid SVG, and the commands."""

import json
import xml.etree.ElementTree as ET

import pytest

from kvm_mmio.trace import itf_changes, itf_text
from kvm_mmio_tools.cli import main
from kvm_mmio_tools.commands.diagram import default_output
from kvm_mmio_tools.crosscheck import draw_traces
from kvm_mmio_tools.diagram import UPDATER, actor, sequence_diagram

SVG = "{http://www.w3.org/2000/svg}"


def _svg(page: str) -> ET.Element:
    return ET.fromstring(page[page.index("<svg") : page.index("</svg>") + len("</svg>")])


def _texts(svg: ET.Element) -> list[ET.Element]:
    return list(svg.iter(f"{SVG}text"))


def test_itf_values_read_as_tla():
    value = {"#map": [["v1", {"gfn": 2, "busy": True, "saw": {"#set": ["mmio", "ram"]}}]]}
    assert itf_text(value, frozenset({"v1"})) == (
        '(v1 :> [gfn |-> 2, busy |-> TRUE, saw |-> {"mmio", "ram"}])'
    )
    assert itf_text({"#map": []}) == "<<>>" and itf_text({"#bigint": "-5"}) == "-5"


def test_changes_go_down_to_the_changed_entry_and_field():
    before = {"cache": {"#map": [["v1", {"gfn": 0, "gen": 0}], ["v2", {"gfn": 0, "gen": 0}]]}}
    after = {"cache": {"#map": [["v1", {"gfn": 0, "gen": 0}], ["v2", {"gfn": 2, "gen": 0}]]}}
    names = frozenset({"v1", "v2"})
    assert itf_changes(before, after, ["cache"], names) == [("cache[v2].gfn", "2")]
    assert itf_changes(before, before, ["cache"], names) == []


def _pcs(**pcs: str) -> dict:
    return {"pc": {"#map": [[v, pc] for v, pc in pcs.items()]}}


def test_the_actor_comes_from_the_parameters_or_from_what_changed():
    before, after = _pcs(v1="Idle", v2="Idle"), _pcs(v1="Idle", v2="HwAccess")
    assert actor({"action": "StoreGen", "params": None}, before, before) == UPDATER
    assert actor({"action": "BeginAccess", "params": {"v": "v1"}}, before, after) == "v1"
    assert actor({"action": "BeginAccess", "params": None}, before, after) == "v2"  # TLC's


@pytest.fixture(scope="module")
def two_vcpu_trace() -> dict:
    (document,) = draw_traces("safe_full", 1, seed_value=3)
    document["#meta"]["invariant"] = "Imaginary<&>Check"
    return document


def test_every_step_is_a_box_in_its_actors_lane(two_vcpu_trace):
    svg = _svg(sequence_diagram(two_vcpu_trace))
    texts = _texts(svg)
    lanes = {t.text: float(t.get("x")) for t in texts if "bold" in (t.get("style") or "")}
    assert list(lanes)[:3] == [UPDATER, "v1", "v2"]
    boxes = [t for t in texts if t.get("text-anchor") == "middle" and t.text not in lanes]
    states = two_vcpu_trace["states"]
    assert [t.text for t in boxes] == ["Init", *(s["#meta"]["action"] for s in states[1:])]
    for box, state in zip(boxes[1:], states[1:], strict=True):
        params = state["#meta"]["params"] or {}
        assert float(box.get("x")) == lanes[params.get("v", UPDATER)], state["#meta"]
    assert any(t.text == "the last state violates Imaginary<&>Check" for t in texts)


def test_a_tlc_trace_without_parameters_is_drawn_in_the_same_lanes(two_vcpu_trace):
    stripped = json.loads(json.dumps(two_vcpu_trace))
    for state in stripped["states"][1:]:
        state["#meta"]["params"] = None
    ours = [(t.text, t.get("x")) for t in _texts(_svg(sequence_diagram(two_vcpu_trace)))]
    theirs = [(t.text, t.get("x")) for t in _texts(_svg(sequence_diagram(stripped)))]
    boxes = [pair for pair in ours if not pair[0].startswith("(")]  # the parameters' lines go
    assert [pair for pair in theirs] == boxes


def test_the_command_writes_the_page_beside_the_trace(tmp_path, two_vcpu_trace, capsys):
    trace = tmp_path / "t.itf.json"
    trace.write_text(json.dumps(two_vcpu_trace))
    assert main(["diagram", str(trace)]) == 0
    page = default_output(trace)
    assert page == tmp_path / "t.html" and page.read_text().startswith("<!DOCTYPE html>")
    assert f"wrote {page}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "extra", "words"),
    [
        (None, [], "cannot read"),
        ("{", [], "not ITF JSON"),
        ('{"states": []}', [], "'states' must be a non-empty list"),
        ('{"states": [{"#meta": {}}]}', [], "not of this spec's variables"),
        ('{"states": [{}]}', ["-o", "x.svg"], "--output must name an .html file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, content, extra, words):
    trace = tmp_path / "t.itf.json"
    if content is not None:
        trace.write_text(content)
    extra = [str(tmp_path / word) if word.startswith("x.") else word for word in extra]
    assert main(["diagram", str(trace), *extra]) == 2
    out, err = capsys.readouterr()
    assert out == "" and words in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if content is None else ["t.itf.json"])


@pytest.mark.tlc
def test_check_draws_each_counterexample(tmp_path, capsys):
    folder = tmp_path / "diagrams"
    assert main(["check", "bug_stale_cache", "--no-traces", "--diagram-dir", str(folder)]) == 0
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "bug_stale_cache.CachedMmioIsCurrent.html",
        "bug_stale_cache.ObservationsAllowed.html",
    ]
    svg = _svg((folder / names[1]).read_text())
    assert any(t.text == "the last state violates ObservationsAllowed" for t in _texts(svg))
    assert f"diagram: {folder / names[1]}" in capsys.readouterr().out
