"""`kvm-mmio spte encode | decode | batch`: output, and bad input as exit 2 with one stderr line."""

import io
import json
import select
import subprocess
import sys

import pytest

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
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    status, out, err = run(capsys, ["spte", "batch"])
    assert (status, err) == (0, "")
    answers = [json.loads(line) for line in out.splitlines()]
    assert len(answers) == 4  # the blank line is not a request
    assert answers[0] == answers[3] == {"spte": "0x12303e00fee00236"}
    assert list(answers[1]) == list(answers[2]) == ["error"]
    assert "gen" in answers[2]["error"]


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
