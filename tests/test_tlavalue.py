"""The TLA+ value parser and printer: TLC's printed forms, errors with positions, round trips."""

import pickle
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvm_mmio_tools.tlavalue import (
    Function,
    ModelValue,
    Record,
    format_value,
    parse_state,
    parse_value,
)

P1, P2 = ModelValue("p1"), ModelValue("p2")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("-1", -1),
        ('"a\\"b\\\\c"', 'a"b\\c'),
        ('"q\\nr\\ts"', "q\nr\ts"),
        ("TRUE", True),
        ("FALSE", False),
        ("p1", P1),
        ("{}", frozenset()),
        ("{1, 2}", frozenset({1, 2})),
        ("1..3", frozenset({1, 2, 3})),
        ("<<>>", ()),
        ("<< >>", ()),  # TLC's empty function
        ("<<p1, p1>>", (P1, P1)),
        ("[a |-> 1, b |-> <<>>]", Record({"a": 1, "b": ()})),
        ("(p1 :> 1 @@ p2 :> 2)", Function({P1: 1, P2: 2})),
        ('("c" :> 1 @@ "a b" :> 1)', Function({"c": 1, "a b": 1})),
        (
            "(<<1, 2>> :> {} @@ <<3, 4>> :> {})",
            Function({(1, 2): frozenset(), (3, 4): frozenset()}),
        ),
        ("{<<0, p1>>, <<1, p1>>}", frozenset({(0, P1), (1, P1)})),
    ],
)
def test_parses_what_tlc_prints(text, expected):
    value = parse_value(text)
    assert value == expected
    assert type(value) is type(expected)


def test_parses_tlc_pretty_printed_multiline_values():
    text = """<< [ a |-> 1,
     b |-> {"x", "y"},
     d |-> [k1 |-> "k1", k2 |-> "k2"] ],
   [ a |-> 2,
     b |-> {"x", "y"},
     d |-> [k1 |-> "k1", k2 |-> "k2"] ] >>"""
    inner = Record({"k1": "k1", "k2": "k2"})
    assert parse_value(text) == (
        Record({"a": 1, "b": frozenset({"x", "y"}), "d": inner}),
        Record({"a": 2, "b": frozenset({"x", "y"}), "d": inner}),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{1, 2", "expected '}' at position 5"),
        ("<<1 2>>", "expected '>>' at position 4"),
        ("[a |-> 1, a |-> 2]", "duplicate record field 'a' at position 10"),
        ("(1 :> 2 @@ 1 :> 3)", "duplicate function key at position 11"),
        ('"a\\qb"', "unknown escape \\q in a string at position 2"),
        ("", "expected a value at position 0"),
        ("1 ..", "expected an integer after '..' at position 4"),
        ("1 2", "expected the end of the value at position 2"),
        ("{1} #", "unexpected character at position 4"),
        ("[TRUE |-> 1]", "expected a record field name at position 1"),
    ],
)
def test_malformed_input_names_the_position(text, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        parse_value(text)


def test_record_and_function_are_distinct_hashable_mappings():
    record, function = Record({"a": 1}), Function({"a": 1})
    assert record != function and record != {"a": 1}
    assert record == Record([("a", 1)]) and hash(record) == hash(Record([("a", 1)]))
    assert Function({P1: 1, P2: 2}) == Function({P2: 2, P1: 1})
    assert len({record, function, Record({"a": 1})}) == 2
    assert record["a"] == 1 and dict(function) == {"a": 1}
    assert pickle.loads(pickle.dumps(function)) == function


def test_invalid_names_are_rejected():
    with pytest.raises(ValueError, match="record field"):
        Record({"a b": 1})
    with pytest.raises(ValueError, match="model value"):
        ModelValue("TRUE")


def test_format_writes_tla_source():
    value = Record({"s": frozenset({3, 1, 2}), "f": Function({P2: "x", P1: 'a"b'}), "t": (-1,)})
    assert (
        format_value(value) == '[s |-> {1, 2, 3}, f |-> (p1 :> "a\\"b" @@ p2 :> "x"), t |-> <<-1>>]'
    )
    assert format_value(Function({})) == "<<>>"
    with pytest.raises(ValueError, match="at least one field"):
        format_value(Record({}))
    with pytest.raises(TypeError, match="cannot format"):
        format_value(1.5)


def test_parse_state_reads_trace_and_label_states():
    assert parse_state("x = 0\n") == {"x": 0}
    assert parse_state("") == {}
    text = (
        '/\\ owner = (p1 :> "none" @@ p2 :> "none")\n/\\ big = << [ a |-> 1,\n     b |-> 2 ] >>\n'
    )
    assert parse_state(text) == {
        "owner": Function({P1: "none", P2: "none"}),
        "big": (Record({"a": 1, "b": 2}),),
    }
    with pytest.raises(ValueError, match=r"variable 'x' .*expected a value"):
        parse_state("/\\ x = \n/\\ y = 1")
    with pytest.raises(ValueError, match="appears twice"):
        parse_state("/\\ x = 1\n/\\ x = 2")
    with pytest.raises(ValueError, match="expected 'name = value' at position 3"):
        parse_state("/\\ nonsense")


# --- the law: format then parse is the identity ------------------------------------------------

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True).filter(
    lambda name: name not in ("TRUE", "FALSE")
)
leaves = st.one_of(
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
    st.text(max_size=8),
    st.booleans(),
    identifiers.map(ModelValue),
)


def _compound(children):
    # Lists, not frozensets/dictionaries of children: unique draws make Hypothesis repr the
    # (deeply nested) child strategy, which is slow and warns.
    return st.one_of(
        st.lists(children, max_size=4).map(tuple),
        st.lists(children, max_size=4).map(frozenset),
        st.dictionaries(identifiers, children, min_size=1, max_size=4).map(Record),
        st.lists(st.tuples(children, children), min_size=1, max_size=4).map(Function),
    )


values = st.recursive(leaves, _compound, max_leaves=20)


def _typed(value):
    """The value with every node tagged by its type, so that 1 and True differ."""
    if isinstance(value, tuple):
        return ("tuple", tuple(_typed(item) for item in value))
    if isinstance(value, frozenset):
        return ("set", frozenset(_typed(item) for item in value))
    if isinstance(value, Record | Function):
        pairs = frozenset((_typed(k), _typed(v)) for k, v in value.items())
        return (type(value).__name__, pairs)
    return (type(value).__name__, value)


@given(values)
def test_format_then_parse_is_the_identity(value):
    assert _typed(parse_value(format_value(value))) == _typed(value)


states = st.lists(st.tuples(identifiers, values), min_size=1, max_size=4).map(dict)


@given(states)
def test_parse_state_reads_formatted_states(state):
    text = "\n".join(f"/\\ {name} = {format_value(value)}" for name, value in state.items())
    assert parse_state(text) == state
