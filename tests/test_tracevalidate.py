"""Batched trace validation: states are packed into words that TLC unpacks (KvmMmioTrace's Unpack
is the inverse of tracevalidate.pack, whatever the layout), and bad values are refused by name."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvm_mmio.config import load_model
from kvm_mmio.trace import replay
from kvm_mmio_tools import tracevalidate
from kvm_mmio_tools.crosscheck import draw_traces, mutants
from kvm_mmio_tools.errors import ToolError
from kvm_mmio_tools.models import load_models
from kvm_mmio_tools.tracevalidate import batch_module, pack, packing, validate_traces


def _unpack(words: tuple[int, ...], digit: int, per_word: int) -> list[int]:
    """KvmMmioTrace.tla's Unpack, written again in Python (lowest digit first)."""
    return [
        (words[i // per_word] >> (digit * (i % per_word))) % 2**digit
        for i in range(len(words) * per_word)
    ]


@given(st.lists(st.lists(st.integers(0, 2**12), min_size=1, max_size=60), min_size=1, max_size=5))
def test_pack_round_trips_and_every_word_fits_tlc(states):
    flats = [tuple(state) for state in states]
    digit, per_word = packing(flats)
    assert digit * per_word <= 30
    for flat in flats:
        words = pack(flat, digit, per_word)
        assert all(0 <= word < 2**30 for word in words)
        unpacked = _unpack(words, digit, per_word)
        assert unpacked[: len(flat)] == list(flat)
        assert not any(unpacked[len(flat) :])  # the padding of the last word


def test_the_digit_is_as_wide_as_the_largest_value():
    assert packing([(0, 1, 0)]) == (1, 30)
    assert packing([(5, 0), (63,)]) == (6, 5)
    assert packing([(2**30 - 1,)]) == (30, 1)


@pytest.mark.parametrize(
    ("flat", "words"),
    [((-1, 2), "negative"), ((2**30,), "beyond the 30 bits")],
)
def test_values_a_word_cannot_hold_are_refused(flat, words):
    with pytest.raises(ToolError, match=words):
        packing([flat])


def test_the_module_declares_its_packing():
    text, vcpus = batch_module(draw_traces("host", 2, seed_value=1))
    assert vcpus == ("v1",)
    assert "Digit == " in text and "PerWord == " in text and "States == <<" in text


@pytest.mark.tlc
@pytest.mark.parametrize("layout", [None, (30, 1), (7, 4)])
def test_tlc_unpacks_every_layout(monkeypatch, layout):
    """The same traces and value mutants under the chosen layout and under forced wider ones:
    TLC accepts exactly the valid traces, so its Unpack reads what pack wrote."""
    if layout is not None:
        monkeypatch.setattr(tracevalidate, "packing", lambda flats: layout)
    name = "bug_no_flush"
    consts = load_model(name).constants
    traces = draw_traces(name, 4, seed_value=2)
    rng = random.Random(2)
    changed = [mutants(trace, rng)[0][1] for trace in traces]  # a value changed at one step
    assert all(replay(consts, mutant) is not None for mutant in changed)
    verdicts = validate_traces(load_models()[name], [*traces, *changed])
    assert [v.accepted for v in verdicts] == [True] * 4 + [False] * 4
    assert all(0 < v.prefix < v.length for v in verdicts[4:])
