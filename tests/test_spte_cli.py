"""`kvm-mmio spte encode | decode | batch`: output, and bad input as exit 2 with one stderr line."""

import contextlib
import io
import json
import select
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvm_mmio_tools.cli import main

SHADOW = ["--era", "v6", "--paging", "shadow", "--phys-bits", "46", "--cache-bits", "46", "--l1tf"]


def run(capsys, argv):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_encode_prints_the_spte(capsys):
    argv = ["spte", "encode", "--gfn", "0xfee00", "--access", "6", "--gen", "0x12346", *SHADOW]
    assert run(capsys, argv) == (0, "0x12383e00fee00237\n", "")


def test_encode_defaults_are_v6_ept_46_46_l1tf(capsys):
    argv = ["spte", "encode", "--gfn", "1043968", "--access", "6", "--gen", "74566"]
    assert run(capsys, argv) == (0, "0x12303e00fee00236\n", "")


def test_decode_prints_every_field_and_the_bit_map(capsys):
    status, out, err = run(capsys, ["spte", "decode", "0x12383e00fee00237", *SHADOW])
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[:5] == [
        "spte     0x12383e00fee00237",
        "profile  era v6, shadow paging, phys_bits 46, cache_bits 46, l1tf yes",
        "is_mmio  yes",
        "gfn      0xfee00",
        "access   0x6",
    ]
    assert lines[5].startswith("gen      0x12346")
    table = "\n".join(lines[6:])
    for bits, value in [("3-10", "0x230"), ("52-62", "0x1230000000000000"), ("41-45", "0x3e0")]:
        assert any(line.startswith(bits) and value in line for line in lines[6:]), table


def test_decode_names_the_v5_1_bug(capsys):
    status, out, _ = run(capsys, ["spte", "decode", "0x0", "--era", "v5.1", "--no-l1tf"])
    assert status == 0
    assert "l1tf no" in out
    assert "bug      v5.1-v5.4" in out
    assert "generation bits 0-9" in out


ENCODE = ["encode", "--gfn", "1", "--access", "6", "--gen", "0"]
PHYS_52_SHADOW = ["--paging", "shadow", "--phys-bits", "52", "--cache-bits", "52"]


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["encode", "--gfn", "0x400000000", "--access", "6", "--gen", "0"], "gfn"),
        (["encode", "--gfn", "-5", "--access", "6", "--gen", "0"], "gfn"),
        (["encode", "--gfn", "0xfeg", "--access", "6", "--gen", "0"], "gfn"),
        (["encode", "--gfn", "1", "--access", "8", "--gen", "0"], "access"),
        (["encode", "--gfn", "1", "--access", "6", "--gen", "0x80000"], "gen"),
        ([*ENCODE, "--era", "v7"], "era"),
        ([*ENCODE, "--paging", "npt"], "paging"),
        ([*ENCODE, "--phys-bits", "60"], "phys_bits"),
        ([*ENCODE, "--cache-bits", "40"], "cache_bits"),
        ([*ENCODE, *PHYS_52_SHADOW], "MMIO caching is disabled"),
        (["decode", "0x10000000000000000"], "spte"),
        (["decode", "12ab"], "spte"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_output(capsys, argv, field):
    status, out, err = run(capsys, ["spte", *argv])
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("kvm-mmio: error: ")
    assert field in err


def _stdin(data: bytes) -> io.TextIOWrapper:
    """A stdin whose .buffer holds `data`, as `spte batch` reads it."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def test_batch_answers_each_line_and_carries_on(capsys, monkeypatch):
    profile = {"era": "v6", "paging": "ept", "phys_bits": 46, "cache_bits": 46, "l1tf": True}
    good = {"op": "encode", "profile": profile, "gfn": "0xfee00", "access": 6, "gen": "0x12346"}
    lines = [
        json.dumps(good),
        "{broken",
        "",
        json.dumps({**good, "gen": "0x80000"}),
        json.dumps(good),
    ]
    monkeypatch.setattr(sys, "stdin", _stdin(("\n".join(lines) + "\n").encode()))
    status, out, err = run(capsys, ["spte", "batch"])
    assert (status, err) == (0, "")
    answers = [json.loads(line) for line in out.splitlines()]
    assert len(answers) == 5  # one per line, the blank one too
    assert answers[0] == answers[4] == {"spte": "0x12303e00fee00236"}
    assert [list(answer) for answer in answers[1:4]] == [["error"]] * 3
    assert "empty line" in answers[2]["error"]
    assert "gen" in answers[3]["error"]


GOOD = {
    "op": "decode",
    "profile": {"era": "v6", "paging": "shadow", "phys_bits": 46, "cache_bits": 46, "l1tf": True},
    "spte": "0x12383e00fee00237",
}
GOOD_ANSWER = {"is_mmio": True, "gfn": "0xfee00", "access": 6, "gen": "0x12346"}
NASTY_LINES = [
    b"",
    b"   ",
    b"[" * 100_000,
    b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
    b"9" * 5000,
    json.dumps({**GOOD, "spte": "0x" + "f" * 5000}).encode(),
    b'{"op": "encode", "profile": {"era": "v6", "paging": "ept", "phys_bits": '
    + b"7" * 5000
    + b', "cache_bits": 46, "l1tf": true}, "gfn": "0x1", "access": 6, "gen": "0x0"}',
    json.dumps({**GOOD, "op": ["decode"]}).encode(),
    json.dumps({**GOOD, "profile": {**GOOD["profile"], "l1tf": [[[]]]}}).encode(),
    b"\xff\xfe not utf-8",
    b'"\\ud800"',
    b"NaN",
    b"\r",
]


def test_batch_answers_every_nasty_line_in_a_real_process():
    """Deep nesting, 5,000-digit integers, bytes that are not UTF-8, blank lines: each gets one
    error line, and the good line after them is still answered."""
    data = b"\n".join([*NASTY_LINES, json.dumps(GOOD).encode()]) + b"\n"
    done = subprocess.run(
        [sys.executable, "-m", "kvm_mmio_tools.cli", "spte", "batch"],
        input=data,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    answers = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(answers) == len(NASTY_LINES) + 1
    assert all(list(answer) == ["error"] for answer in answers[:-1]), answers
    assert answers[-1] == GOOD_ANSWER
    assert "UTF-8" in answers[NASTY_LINES.index(b"\xff\xfe not utf-8")]["error"]
    assert "nested too deeply" in answers[2]["error"]


def _batch(data: bytes) -> list[str]:
    """`kvm-mmio spte batch` in this process on `data`: its exit status must be 0."""
    saved = sys.stdin
    sys.stdin = _stdin(data)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            assert main(["spte", "batch"]) == 0
    finally:
        sys.stdin = saved
    return out.getvalue().splitlines()


_BIG = "<a 5,000-digit integer>"  # put in the text after json.dumps, which cannot write it
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.just(_BIG)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["0x0", "0xfee00", "0x7ffff", "0x" + "f" * 17, "v6", "v5.0", "ept", "shadow"])
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_profiles = st.fixed_dictionaries(
    {
        "era": st.sampled_from(["v5.0", "v5.1", "v6"]) | _json,
        "paging": st.sampled_from(["shadow", "ept"]) | _json,
        "phys_bits": st.integers(30, 60) | _json,
        "cache_bits": st.integers(30, 60) | _json,
        "l1tf": st.booleans() | _json,
    }
)
_requests = st.fixed_dictionaries(
    {"op": st.sampled_from(["encode", "decode", "check"]) | _json, "profile": _profiles | _json},
    optional={
        "gfn": _json,
        "access": st.integers(-1, 9) | _json,
        "gen": _json,
        "spte": _json,
        "current_gen": _json,
    },
)


def _text(value: object) -> bytes:
    return json.dumps(value).replace(json.dumps(_BIG), "9" * 5000).encode()


_lines = st.one_of(
    st.binary(max_size=40).map(lambda raw: raw.replace(b"\n", b" ")),
    _json.map(_text),
    _requests.map(_text),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.sampled_from(["", " ", "\r", "NaN", '"\\udc80"']).map(str.encode),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_lines, max_size=6))
def test_batch_gives_one_answer_per_line_whatever_the_lines(lines):
    answers = _batch(b"\n".join([*lines, json.dumps(GOOD).encode()]) + b"\n")
    assert len(answers) == len(lines) + 1
    for answer in map(json.loads, answers):
        assert isinstance(answer, dict)
        assert list(answer) == ["error"] or set(answer) in ({"spte"}, {"hit"}, set(GOOD_ANSWER))
    assert json.loads(answers[-1]) == GOOD_ANSWER


def test_batch_process_answers_before_stdin_closes():
    """An adapter talks to `kvm-mmio spte batch` one line at a time: each answer must be flushed."""
    request = {
        "op": "check",
        "profile": {
            "era": "v5.0",
            "paging": "shadow",
            "phys_bits": 46,
            "cache_bits": 46,
            "l1tf": True,
        },
        "spte": "0x4000000000000000",
        "current_gen": "0x1",
    }
    with subprocess.Popen(
        [sys.executable, "-m", "kvm_mmio_tools.cli", "spte", "batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "no answer within 30 s while stdin is still open"
        assert json.loads(process.stdout.readline()) == {"hit": False}
        process.stdin.close()
        assert process.wait(timeout=30) == 0
