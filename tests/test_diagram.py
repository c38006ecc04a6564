"""Sequence diagrams of traces: each step drawn in its actor's lane (from its parameters, or for a
TLC trace from what it changed), only what changed beside it, valid SVG, and the commands."""

import contextlib
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
        ('{"states": []}', [], "states: expected a non-empty list"),
        ('{"states": [{"#meta": {}}]}', [], "states[0].pc: expected a function"),
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


def _diagram(tmp: Path, content: bytes, *extra: str) -> tuple[int, str, list[str]]:
    """`kvm-mmio diagram` in this process on a trace file holding `content`: (status, stderr,
    the files in the folder afterwards)."""
    for old in tmp.iterdir():
        old.unlink()
    trace = tmp / "t.itf.json"
    trace.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["diagram", str(trace), *extra])
    return status, err.getvalue(), sorted(p.name for p in tmp.iterdir())


def _assert_drawn_or_refused(status: int, err: str, files: list[str]) -> None:
    if status == 0:
        assert err == "" and files == ["t.html", "t.itf.json"]
    else:
        assert status == 2, err
        assert err.startswith("kvm-mmio: error: ") and err.count("\n") == 1, err
        assert files == ["t.itf.json"]


_BIG = "<a 5,000-digit integer>"
_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.just(_BIG)
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["#map", "#set", "#tup", "#bigint", "v1", "x"]), children)
        | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=10,
)


def _text(value: object) -> bytes:
    return json.dumps(value).replace(json.dumps(_BIG), "9" * 5000).encode()


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_damaged_trace_is_drawn_or_refused_in_one_line(tmp_path, two_vcpu_trace, data):
    """A valid trace with one place replaced by arbitrary JSON (a state, a variable, #meta, an
    entry of a function), or arbitrary bytes and JSON: drawn, or one error line and exit 2."""
    document = json.loads(json.dumps(two_vcpu_trace))
    states = document["states"][:4]
    document["states"] = states
    kind = data.draw(st.sampled_from(["state", "variable", "meta", "entry", "top", "bytes"]))
    index = data.draw(st.integers(0, len(states) - 1))
    junk = data.draw(_json)
    if kind == "state":
        states[index] = junk
    elif kind == "variable":
        states[index][data.draw(st.sampled_from(sorted(states[index])))] = junk
    elif kind == "meta":
        states[index]["#meta"][data.draw(st.sampled_from(["action", "params", "x"]))] = junk
    elif kind == "entry":
        states[index]["pc"]["#map"][0] = junk
    elif kind == "top":
        document[data.draw(st.sampled_from(["states", "vars", "#meta"]))] = junk
    content = (
        data.draw(st.binary(max_size=60))
        if kind == "bytes"
        else _text(junk if data.draw(st.booleans()) and kind == "top" else document)
    )
    folder = tmp_path / "fuzz"
    folder.mkdir(exist_ok=True)
    _assert_drawn_or_refused(*_diagram(folder, content))


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000,
        b'{"states": [' + b"9" * 5000 + b"]}",
        b'{"states": [{"pc": ' + b'{"x": ' * 40 + b"1" + b"}" * 40 + b"}]}",
        b'{"states": [{"pc": {"#map": [["v1", "Idle"]]}, "gen": 1.5}]}',
        b'{"states": [{"pc": {"#map": [["v1", "Idle"]]}}, {"x": 1}], "vars": ["pc"]}',
        b'{"states": [{"pc": {"#map": [["v1"]]}}]}',
        # a step of a vCPU the first state has no lane for (named, or seen changing)
        b'{"states": [{"pc": {"#map": [["v2", "Idle"]]}}, '
        b'{"#meta": {"action": "EndAccess", "params": {"v": "v1"}}, '
        b'"pc": {"#map": [["v2", "Idle"]]}}]}',
        b'{"states": [{"pc": {"#map": [["v2", "Idle"]]}, "out": {"#map": [["v1", "ram"]]}}, '
        b'{"pc": {"#map": [["v2", "Idle"]]}, "out": {"#map": [["v1", "mmio"]]}}]}',
        b"\xff\xfe",
    ],
)
def test_malformed_itf_is_one_line_and_exit_2(tmp_path, content):
    status, err, files = _diagram(tmp_path, content)
    assert status == 2
    _assert_drawn_or_refused(status, err, files)


def test_an_unwritable_output_is_one_line_and_exit_2(tmp_path, two_vcpu_trace):
    content = json.dumps(two_vcpu_trace).encode()
    trace = tmp_path / "t.itf.json"
    trace.write_bytes(content)
    (tmp_path / "folder.html").mkdir()
    # a folder where the page should go; a "folder" that is the trace file (root may write
    # anywhere, so permissions cannot make an unwritable place here)
    for target in (tmp_path / "folder.html", trace / "x.html"):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            assert main(["diagram", str(trace), "-o", str(target)]) == 2
        assert err.getvalue().startswith(f"kvm-mmio: error: cannot write {target}: ")
        assert err.getvalue().count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.html", "t.itf.json"]
    assert list((tmp_path / "folder.html").iterdir()) == []


def test_a_trace_longer_than_max_steps_is_refused_unless_asked_for(tmp_path, two_vcpu_trace):
    steps = len(two_vcpu_trace["states"])
    content = json.dumps(two_vcpu_trace).encode()
    status, err, files = _diagram(tmp_path, content, "--max-steps", str(steps - 1))
    assert (status, files) == (2, ["t.itf.json"])
    assert f"has {steps:,} states; a diagram draws at most {steps - 1:,}" in err
    assert "--max-steps N" in err
    assert _diagram(tmp_path, content, "--max-steps", str(steps))[0] == 0
