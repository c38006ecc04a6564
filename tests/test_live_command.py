"""`kvm-mmio live`: exit statuses and output without /dev/kvm (the checks replaced), then the cache
check and the operations vectors (a small file written here, its expectations computed by the
reference) for real through the command line (marked live; skipped with the harness's reason)."""

import json

import pytest

from kvm_mmio.vm import Observation
from kvm_mmio.vm import Vm as ReferenceVm
from kvm_mmio_conformance.live.cachecheck import CACHE_CASES, CacheCheck, CacheRow, KernelProbe
from kvm_mmio_conformance.live.checks import CheckRun, LiveRun, check_unavailable_reason
from kvm_mmio_tools.cli import main
from kvm_mmio_tools.commands import live


@pytest.fixture
def no_kvm(monkeypatch):
    monkeypatch.setattr(live, "kvm_unavailable_reason", lambda: "/dev/kvm not present")


def test_without_kvm_the_command_says_why_in_one_line_and_exits_3(no_kvm, capsys):
    assert main(["live"]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "kvm-mmio: live checks cannot run: /dev/kvm not present\n"


def test_without_kvm_the_json_marks_every_selected_check_skipped(no_kvm, capsys):
    assert main(["live", "--json", "--check", "race", "gen"]) == 3
    skipped = {"status": "skipped", "reason": "/dev/kvm not present"}
    assert json.loads(capsys.readouterr().out) == {
        "ok": False,
        "checks": {"generation": skipped, "concurrency": skipped},
    }


def test_a_disagreement_is_shown_in_the_table_and_exits_1(monkeypatch, capsys):
    case = CACHE_CASES[0]  # "none": the reference predicts a hit
    observation = Observation("v1", 0x300, "emulated", "mmio", "cache", frozenset({"mmio"}))
    row = CacheRow(case, KernelProbe((), False, "mmio", 0xEE, None), (), observation)
    result = LiveRun((CheckRun("cache", result=CacheCheck((row,)), seconds=0.1),))
    monkeypatch.setattr(live, "kvm_unavailable_reason", lambda: None)
    monkeypatch.setattr(live, "run_checks", lambda names, **options: result)
    assert main(["live", "--check", "cache"]) == 1
    out = capsys.readouterr().out
    assert "per-vCPU MMIO cache (emulated probe after each operation): disagree" in out
    assert "  none  " in out and out.count("miss mmio        hit  mmio        NO") == 1
    assert "kernel and reference DO NOT agree: 0 of 1 check(s) that ran (0 skipped)" in out


def test_bad_options_are_usage_errors(capsys):
    assert main(["live", "--iterations", "0"]) == 2
    assert "--iterations must be >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["live", "--check", "wrap"])


@pytest.mark.live
def test_the_cache_check_as_json(capsys):
    reason = check_unavailable_reason("cache")
    if reason is not None:
        pytest.skip(f"skipped: {reason}")
    assert main(["live", "--json", "--check", "cache"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and list(report["checks"]) == ["cache"]
    cache = report["checks"]["cache"]
    assert cache["status"] == "ok"
    rows = {row["operation"]: row for row in cache["operations"]}
    assert len(rows) == len(CACHE_CASES)
    assert all(row["agree"] for row in rows.values())
    for side in ("kernel", "reference"):
        assert {"hit": True, "outcome": "mmio"}.items() <= rows["none"][side].items()
    assert rows["create over the cached gfn"]["kernel"]["outcome"] == "ram"
    assert rows["failed create (overlap)"]["kernel"]["ops"] == ["EEXIST"]
    assert rows["failed create (overlap)"]["reference"]["ops"] == ["not enabled"]


# --- the operations vectors through the command ------------------------------------------------


def _vectors(tmp_path, *, wrong_path: str | None = None):
    """A vectors file of one case (create gfn 1, read it twice natively, read gfn 2), its
    expectations computed by the reference; `wrong_path` replaces the last read's path."""
    reference = ReferenceVm.from_kernel("live-host", vcpus=("v1",), gfns=(1, 2), init_ram=())
    operations = [
        {"kind": "create", "as": 0, "gfn": 1},
        *({"kind": "access", "vcpu": "v1", "gfn": g, "mode": "native"} for g in (1, 1, 2)),
    ]
    steps = []
    for op in operations:
        if op["kind"] == "create":
            expected = {"generation": f"{reference.create(1).generation_after:#x}"}
        else:
            seen = reference.access("v1", op["gfn"], "native")
            expected = {"outcome": seen.outcome, "path": seen.path}
        steps.append({"operation": op, "expected": {"allowed": [expected]}})
    if wrong_path is not None:
        steps[-1]["expected"]["allowed"][0]["path"] = wrong_path
    case = {
        "id": "create-read-read-mmio",
        "tier": "must",
        "comment": "one slot, two reads of it, one read without a slot",
        "source": "selftest:tests/test_live_command.py",
        "requires": {"modes": ["native"], "observes": ["outcome", "path"], "address_spaces": 1},
        "config": {"constants": reference.constants.as_tla(), "kernel": "live-host"},
        "steps": steps,
    }
    needs_generation = {**case, "id": "needs-generation", "requires": {"observes": ["generation"]}}
    path = tmp_path / "operations.json"
    path.write_text(
        json.dumps(
            {
                "schema": "kvm-mmio-operations-vectors",
                "version": 2,
                "generator": {"name": "tests/test_live_command.py", "version": 1},
                "count": 2,
                "notes": {},
                "cases": [case, needs_generation],
            }
        )
    )
    return path, [step["expected"]["allowed"][0] for step in steps]


def test_without_kvm_the_json_marks_the_operations_skipped_too(no_kvm, capsys):
    assert main(["live", "--json", "--check", "ops"]) == 3
    assert json.loads(capsys.readouterr().out) == {
        "ok": False,
        "checks": {},
        "operations": {"status": "skipped", "reason": "/dev/kvm not present"},
    }


@pytest.mark.parametrize("kvm", [None, "/dev/kvm not present"])
def test_a_missing_vectors_file_is_bad_input_before_anything_runs(
    kvm, monkeypatch, tmp_path, capsys
):
    monkeypatch.setattr(live, "kvm_unavailable_reason", lambda: kvm)
    missing = tmp_path / "operations.json"
    assert main(["live", "--check", "ops", "--vectors", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"kvm-mmio: error: --vectors {missing}: no such file\n"


@pytest.mark.live
def test_the_operations_vectors_agree_and_are_counted(tmp_path, capsys):
    reason = check_unavailable_reason("cache")  # /dev/kvm and tracefs, as the paths need
    if reason is not None:
        pytest.skip(f"skipped: {reason}")
    path, expected = _vectors(tmp_path)
    assert [e.get("path") for e in expected] == [None, "slow", "hw", "cache"]
    assert main(["live", "--json", "--check", "ops", "--vectors", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    operations = report["operations"]
    assert report["ok"] is True and report["checks"] == {}
    assert {key: operations[key] for key in ("status", "run", "passed", "failed", "skipped")} == {
        "status": "ok",
        "run": 1,
        "passed": 1,
        "failed": 0,
        "skipped": 1,
    }
    assert operations["by_tier"] == {"must": {"passed": 1, "failed": 0, "skipped": 1}}
    assert operations["skipped_by_reason"] == {
        "needs to observe [generation]; the implementation declares [outcome, path]": 1
    }
    assert operations["implementation"]["observes"] == ["outcome", "path"]
    assert operations["failures"] == []


@pytest.mark.live
def test_a_disagreeing_case_is_shown_and_exits_1(tmp_path, capsys):
    reason = check_unavailable_reason("cache")
    if reason is not None:
        pytest.skip(f"skipped: {reason}")
    path, _ = _vectors(tmp_path, wrong_path="emulator")
    assert main(["live", "--check", "ops", "--vectors", str(path)]) == 1
    out = capsys.readouterr().out
    assert "operations vectors (conformance runner, live adapter in process): disagree" in out
    assert "  FAILED create-read-read-mmio  [operations, must, message 4]" in out
    assert 'allowed: {"outcome": "mmio", "path": "emulator"}' in out
    assert out.rstrip().endswith(
        "kernel and reference DO NOT agree: 0 of 0 check(s) that ran (0 skipped); "
        "operations vectors: 1 case(s) run, 0 agree, 1 disagree, 1 skipped"
    )


def test_without_kvm_trace_validation_is_reported_skipped_in_the_json(no_kvm, capsys):
    assert main(["live", "--json", "--check", "tv"]) == 3
    skipped = {"status": "skipped", "reason": "/dev/kvm not present"}
    assert json.loads(capsys.readouterr().out) == {
        "ok": False,
        "checks": {},
        "trace_validation": skipped,
    }


@pytest.mark.parametrize("logs", ["0", "10001"])
def test_tv_logs_out_of_range_is_a_usage_error_naming_the_range(logs, capsys):
    assert main(["live", "--check", "tv", "--tv-logs", logs]) == 2
    assert f"--tv-logs must be in 1 .. 10000, got {logs}" in capsys.readouterr().err


def test_a_rejected_log_exits_1_and_names_its_first_unexplained_event(monkeypatch, capsys):
    from kvm_mmio_conformance.live.kerneltrace import Converted
    from kvm_mmio_conformance.live.tvrecord import RecordedLog
    from kvm_mmio_tools.kerneltv import TvRun
    from kvm_mmio_tools.kernelvalidate import LogVerdict

    events = ({"ev": "access", "gfn": 768, "mode": "native"}, {"ev": "zap"})
    logs = (RecordedLog("race 1", Converted(events, 0)),)
    run = TvRun(logs, (LogVerdict(0, 2, 1),), 1.5, 10, ('[pc |-> (v1 :> "HwAccess")]',))
    monkeypatch.setattr(live, "kvm_unavailable_reason", lambda: None)
    monkeypatch.setattr(live, "tracefs_unavailable_reason", lambda: None)
    monkeypatch.setattr(live, "run_trace_validation", lambda *a, **k: run)
    assert main(["live", "--json", "--check", "tv"]) == 1
    tv = json.loads(capsys.readouterr().out)["trace_validation"]
    assert (tv["status"], tv["traces"], tv["accepted"], tv["rejected"]) == ("disagree", 1, 0, 1)
    assert tv["kernel_events"] == 1
    assert tv["first_rejected"] == {
        "log": "race 1",
        "index": 1,
        "event": {"ev": "zap"},
        "states_before": ['[pc |-> (v1 :> "HwAccess")]'],
    }
    assert main(["live", "--check", "tv"]) == 1
    out = capsys.readouterr().out
    assert "1 logs, 2 events (1 kernel events), 0 accepted, 1 rejected" in out
    assert "first rejected: race 1, event 1: {'ev': 'zap'}" in out
