"""The spte request protocol (kvm_mmio.spte_requests): answers, and errors that name the field."""

import json

import pytest

from kvm_mmio.spte_requests import answer, answer_line, parse_u64

PROFILE = {"era": "v6", "paging": "shadow", "phys_bits": 46, "cache_bits": 46, "l1tf": True}


def test_encode_decode_check_of_the_full_example():
    encode = {"op": "encode", "profile": PROFILE, "gfn": "0xFEE00", "access": 6, "gen": "0x12346"}
    assert answer(encode) == {"spte": "0x12383e00fee00237"}
    decode = {"op": "decode", "profile": PROFILE, "spte": "0x12383e00fee00237"}
    assert answer(decode) == {"is_mmio": True, "gfn": "0xfee00", "access": 6, "gen": "0x12346"}
    check = {"op": "check", "profile": PROFILE, "spte": "0x12383e00fee00237"}
    assert answer({**check, "current_gen": "0x12346"}) == {"hit": True}
    assert answer({**check, "current_gen": "0x8000000000012346"}) == {"hit": False}


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"gfn": "0x400000000"}, ["gfn", "0x0..0x3ffffffff"]),
        ({"access": 8}, ["access", "0x0..0x7"]),
        ({"access": True}, ["access", "0..7"]),
        ({"gen": "0x80000"}, ["gen", "0x0..0x7ffff"]),
        ({"gen": "-0x1"}, ["gen", "hex"]),
        ({"gen": "12"}, ["gen", "hex"]),
        ({"op": "flush"}, ["op", "encode, decode, check"]),
        ({"profile": {**PROFILE, "era": "v7"}}, ["era", "v5.0, v5.1, v6"]),
        ({"profile": {**PROFILE, "paging": "npt"}}, ["paging", "shadow, ept"]),
        ({"profile": {**PROFILE, "phys_bits": 35}}, ["phys_bits", "36..52"]),
        ({"profile": {**PROFILE, "cache_bits": 53}}, ["cache_bits", "46..52"]),
        ({"profile": {**PROFILE, "l1tf": 1}}, ["l1tf", "boolean"]),
        ({"profile": {**PROFILE, "extra": 1}}, ["profile", "extra"]),
        ({"profile": "v6"}, ["profile", "era, paging"]),
        ({"spte": "0x0"}, ["unknown spte"]),
    ],
)
def test_bad_requests_name_the_field_and_range(change, names):
    request = {
        "op": "encode",
        "profile": PROFILE,
        "gfn": "0x1",
        "access": 6,
        "gen": "0x2",
        **change,
    }
    response = answer(request)
    assert list(response) == ["error"]
    for name in names:
        assert name in response["error"]


def test_missing_field_is_named():
    response = answer({"op": "check", "profile": PROFILE, "spte": "0x1"})
    assert response == {
        "error": "check request: missing current_gen (needs op, profile, spte, current_gen)"
    }


def test_answer_line_handles_text_that_is_not_json():
    assert json.loads(answer_line("{not json")) == {
        "error": "request: not valid JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1))"
    }
    assert json.loads(answer_line("[]")) == {"error": "request: expected a JSON object"}


def test_parse_u64_accepts_hex_only():
    assert parse_u64("spte", "0XfF") == 0xFF
    for text in ("ff", "0x", "", " 0x1", "0x1 ", 255, None):
        with pytest.raises(ValueError, match="spte"):
            parse_u64("spte", text)
