"""Reading TLC's ``-dump dot,actionlabels`` state graph (a recorded dump of the toy spec)."""

from pathlib import Path

import pytest

from kvm_mmio_tools.tlavalue import Function, ModelValue, Record
from kvm_mmio_tools.tlcgraph import read_state_graph, unescape_label

TOY_DOT = Path(__file__).parent / "fixtures" / "tlc" / "toy.dot"
P1, P2 = ModelValue("p1"), ModelValue("p2")


def test_reads_the_toy_graph():
    graph = read_state_graph(TOY_DOT)
    # TLC reported 40 distinct states and 65 generated: 1 initial state + 64 transitions.
    assert len(graph.states) == 40
    assert len(graph.edges) == 64
    assert {action for _, action, _ in graph.edges} == {"Step", "Reset"}
    (initial,) = graph.initial
    assert graph.states[initial] == {
        "owner": Function({P1: "none", P2: "none"}),
        "rec": Record({"n": -1, "s": frozenset(), "f": Function({0: True, 1: True})}),
        "x": 0,
        "log": (),
    }


def test_edges_follow_the_toy_actions():
    graph = read_state_graph(TOY_DOT)
    for source, action, target in graph.edges:
        before, after = graph.states[source], graph.states[target]
        if action == "Step":
            assert after["x"] == before["x"] + 1
            (process,) = set(after["log"][len(before["log"]) :])
            assert after["owner"][process] == 'a"b\\c'  # escaped twice in the file
        else:
            assert (before["x"], after["x"], after["log"]) == (2, 0, ())


def test_unescape_label():
    assert unescape_label('/\\\\ x = \\"a\\\\\\"b\\"\\n/\\\\ y = 1') == '/\\ x = "a\\"b"\n/\\ y = 1'


def _dot(tmp_path, *lines):
    path = tmp_path / "g.dot"
    path.write_text("\n".join(["strict digraph DiskGraph {", *lines, "}"]) + "\n")
    return path


def test_self_loops_and_several_initial_states(tmp_path):
    path = _dot(
        tmp_path,
        '1 [label="x = 0",style = filled]',
        '-2 [label="x = 1",style = filled]',
        '1 -> 1 [label="Next",color="black",fontcolor="black"];',
        '1 -> -2 [label="A",color="black",fontcolor="black"];',
    )
    graph = read_state_graph(path)
    assert graph.initial == {1, -2}
    assert graph.edges == {(1, "Next", 1), (1, "A", -2)}
    assert graph.states == {1: {"x": 0}, -2: {"x": 1}}


def test_rejects_unknown_lines_and_bad_labels(tmp_path):
    with pytest.raises(ValueError, match=r"g\.dot:2: not a node"):
        read_state_graph(_dot(tmp_path, "what is this"))
    with pytest.raises(ValueError, match=r"g\.dot: state 1: variable 'x'"):
        read_state_graph(_dot(tmp_path, '1 [label="x = {1"]'))
    with pytest.raises(ValueError, match=r"g\.dot: state 1: an unescaped quote"):
        read_state_graph(_dot(tmp_path, '1 [label="x = "a""]'))
    with pytest.raises(ValueError, match=r"g\.dot:2: '1x' is not a fingerprint"):
        read_state_graph(_dot(tmp_path, '1x [label="x = 1"]'))
    with pytest.raises(ValueError, match=r"g\.dot:2: a node must end"):
        read_state_graph(_dot(tmp_path, '1 [label="x = 1" ]'))


def test_rejects_edges_to_undeclared_states(tmp_path):
    path = _dot(tmp_path, '1 [label="x = 0"];', '1 -> 2 [label="A"];')
    with pytest.raises(ValueError, match="1 undeclared states"):
        read_state_graph(path)
