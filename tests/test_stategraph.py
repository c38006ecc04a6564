"""Keyed state graphs: the fast reading of TLC's dump agrees with the full parse, each distinct
value is converted once, and compare_graphs finds and shows every kind of difference."""

from pathlib import Path

import pytest

from kvm_mmio_tools.itf import tla_to_itf
from kvm_mmio_tools.stategraph import (
    TlcLabels,
    ValueKeys,
    compare_graphs,
    keyed_graph,
    read_keyed_graph,
    value_text,
)
from kvm_mmio_tools.tlcgraph import read_state_graph

TOY_DOT = Path(__file__).parent / "fixtures" / "tlc" / "toy.dot"
TOY_VARIABLES = ("x", "log", "owner", "rec")  # not the order TLC prints them in


def test_fast_keys_equal_the_full_parse_of_every_state():
    parsed = read_state_graph(TOY_DOT)
    keyed = read_keyed_graph(TOY_DOT, TOY_VARIABLES)
    expected = {
        fp: tuple(value_text(tla_to_itf(state[name])) for name in TOY_VARIABLES)
        for fp, state in parsed.states.items()
    }
    assert sorted(keyed.keys) == sorted(expected.values())
    number = {key: n for n, key in enumerate(keyed.keys)}
    assert {number[expected[fp]] for fp in parsed.initial} == set(keyed.initial)
    assert set(keyed.edges()) == {
        (number[expected[s]], action, number[expected[t]]) for s, action, t in parsed.edges
    }


def test_labels_in_any_order_give_the_same_key():
    labels = TlcLabels(("x", "y"))
    assert labels.key("/\\\\ x = 1\\n/\\\\ y = {2, 1}") == ("1", '{"#set":[1,2]}')
    assert labels.key("/\\\\ y = {1, 2}\\n/\\\\ x = 1") == ("1", '{"#set":[1,2]}')


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("/\\\\ x = 1", "expected the variables x, y"),
        ("/\\\\ x = 1\\n/\\\\ x = 2", "variable 'x' appears twice"),
        ("/\\\\ x = 1\\n/\\\\ z = 2", "expected the variables x, y"),
        ("/\\\\ x = 1\\n/\\\\ y = {", "variable 'y'"),
    ],
)
def test_bad_labels_are_named(label, message):
    with pytest.raises(ValueError, match=message):
        TlcLabels(("x", "y")).key(label)


def test_each_distinct_value_is_converted_once():
    converted = []

    def to_itf(state):
        converted.append(state)
        return {"a": state[0], "b": {"#set": sorted(state[1])}}

    keys = ValueKeys(("a", "b"), lambda state: state, to_itf)
    states = [(a, frozenset(b)) for a in range(3) for b in ({1}, {1, 2})]
    found = [keys.key(state) for state in states * 2]
    assert found[:6] == found[6:] and len(set(found)) == 6
    assert len(converted) == 4  # (0,{1}) (0,{1,2}) (1,{1}) (2,{1}): then every value is known


def _graph(states, edges, initial=(0,)):
    return keyed_graph(({"x": x} for x in states), initial, edges)


def test_equal_graphs_in_another_numbering():
    first = _graph([0, 1, 2], [(0, "Inc", 1), (1, "Inc", 2), (2, "Reset", 0)])
    second = _graph([2, 0, 1], [(1, "Inc", 2), (2, "Inc", 0), (0, "Reset", 1)], initial=(1,))
    diff = compare_graphs(first, second)
    assert diff.equal, diff.describe()
    assert diff.describe() == "identical: 3 states, 3 edges, 1 initial"


def test_every_kind_of_difference_is_shown():
    first = _graph([0, 1, 2], [(0, "Inc", 1), (1, "Inc", 2), (2, "Reset", 0)])
    second = _graph([0, 1, 3], [(0, "Inc", 1), (1, "Dec", 0), (1, "Inc", 2)], initial=(1,))
    diff = compare_graphs(first, second)
    assert not diff.equal
    assert diff.only_in_first == ['{"x":2}'] and diff.only_in_second == ['{"x":3}']
    assert diff.initial_only_in_first == ['{"x":0}']
    assert diff.initial_only_in_second == ['{"x":1}']
    assert diff.edges_only_in_first == [
        ('{"x":1}', "Inc", '{"x":2}'),
        ('{"x":2}', "Reset", '{"x":0}'),
    ]
    assert diff.edges_only_in_second[0] == ('{"x":1}', "Dec", '{"x":0}')
    text = diff.describe("A", "B")
    assert 'states only in A:\n    {"x":2}' in text
    assert 'Dec:\n      from {"x":1}\n      to   (only what changed) {"x":0}' in text


def test_graphs_of_other_variables_are_refused():
    with pytest.raises(ValueError, match="graphs of other variables"):
        compare_graphs(_graph([0], []), keyed_graph([{"y": 0}], (0,), []))
