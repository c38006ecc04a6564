"""`kvm-mmio explore`: verdicts against the manifest, JSON with `kvm-mmio check`'s keys, ITF files
that replay, and exit statuses (0 as expected, 1 a disagreement, 2 bad input)."""

import json
import shutil

from kvm_mmio.config import load_model, spec_dir
from kvm_mmio.trace import replay
from kvm_mmio_tools.cli import main


def test_plain_output_is_the_verdict_table_in_manifest_order(capsys):
    # Named models come in manifest order, with their first counterexample.
    assert main(["explore", "bug_no_flush", "host"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "exploring 2 model(s): host bug_no_flush"
    assert out[1].split() == [
        "model", "expected", "explorer", "found", "agree", "states", "depth", "time"
    ]  # fmt: skip
    host, flush = out[2], next(line for line in out if line.startswith("bug_no_flush"))
    counts = {
        name: [f"{load_model(name).recorded_states:,}", str(load_model(name).recorded_depth)]
        for name in ("host", "bug_no_flush")
    }
    assert host.split()[:6] == ["host", "holds", "holds", "yes", *counts["host"]]
    assert flush.split()[:8] == [
        "bug_no_flush", "violates", "ObservationsAllowed", "violates", "ObservationsAllowed",
        "yes", *counts["bug_no_flush"],
    ]  # fmt: skip
    assert any("counterexample for ObservationsAllowed (17 states):" in line for line in out)
    assert out[-2].startswith("agree: ")
    assert out[-1].startswith("2 of 2 model(s) as the manifest expects")


def _edited_spec(tmp_path, monkeypatch, edit) -> None:
    """A copy of the spec whose manifest ``edit(entry)`` changed, which the tools then read."""
    shutil.copytree(spec_dir(), tmp_path, dirs_exist_ok=True)
    path = tmp_path / "models" / "manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["models"]:
        edit(entry)
    path.write_text(json.dumps(manifest))
    monkeypatch.setenv("KVM_MMIO_SPEC_DIR", str(tmp_path))


def test_a_whole_run_prints_only_the_counterexamples_the_manifest_does_not_expect(
    tmp_path, monkeypatch, capsys
):
    def edit(entry):
        entry["default"] = entry["name"] in ("bug_stale_cache", "bug_no_flush")
        if entry["name"] == "bug_stale_cache":  # now expected to hold ObservationsAllowed
            entry["expect"]["violated"].remove("ObservationsAllowed")
            entry["expect"]["holds"].append("ObservationsAllowed")

    _edited_spec(tmp_path, monkeypatch, edit)
    assert main(["explore"]) == 1
    out = capsys.readouterr().out
    stale = next(line for line in out.splitlines() if line.startswith("bug_stale_cache"))
    assert stale.split()[1:7] == [
        "violates", "CachedMmioIsCurrent", "violates", "ObservationsAllowed",
        "CachedMmioIsCurrent", "NO",
    ]  # fmt: skip
    assert "counterexample for ObservationsAllowed" in out
    assert "counterexample for CachedMmioIsCurrent" not in out  # expected: not printed
    assert out.count("counterexample for") == 1  # bug_no_flush's is expected too
    assert out.splitlines()[-1].endswith("counterexamples: --traces, or name the models")
    assert main(["explore", "--no-traces"]) == 1
    assert "counterexample for" not in capsys.readouterr().out
    assert main(["explore", "--traces"]) == 1
    # The first of each model, and bug_stale_cache's unexpected one as well.
    assert capsys.readouterr().out.count("counterexample for") == 3


def test_json_has_the_check_commands_keys(capsys):
    assert main(["explore", "bug_cache_in_flux", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is True
    (model,) = document["models"]
    assert {"name", "ok", "expected", "holds", "violated", "distinct_states", "depth"} <= set(model)
    assert {"seconds", "counterexample", "counterexamples", "problems"} <= set(model)
    assert model["expected"] == {
        "holds": ["TypeOK", "ObservationsAllowed"],
        "violated": ["CachedMmioIsCurrent", "NoCacheWhileBusy"],
    }
    recorded = load_model("bug_cache_in_flux")
    assert (model["distinct_states"], model["depth"]) == (
        recorded.recorded_states,
        recorded.recorded_depth,
    )
    assert model["counterexample"]["#meta"]["invariant"] == "CachedMmioIsCurrent"


def test_itf_dir_gets_one_replayable_file_per_counterexample(tmp_path, capsys):
    folder = tmp_path / "traces"
    assert main(["explore", "smm", "--json", "--itf-dir", str(folder)]) == 0
    capsys.readouterr()
    files = sorted(path.name for path in folder.iterdir())
    assert files == ["smm.CachedMmioIsCurrent.itf.json", "smm.ObservationsAllowed.itf.json"]
    consts = load_model("smm").constants
    for name in files:
        assert replay(consts, json.loads((folder / name).read_text())) is None


def test_unknown_model_is_a_one_line_error(capsys):
    assert main(["explore", "host", "nope"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("kvm-mmio: error: unknown model nope; known models: safe,")


def test_a_count_that_differs_from_the_manifest_fails(tmp_path, monkeypatch, capsys):
    states = load_model("host").recorded_states

    def edit(entry):
        if entry["name"] == "host":
            entry["recorded"]["distinct_states"] += 1
            entry["expect"]["holds"].remove("NoCacheWhileBusy")
            entry["expect"]["violated"].append("NoCacheWhileBusy")

    _edited_spec(tmp_path, monkeypatch, edit)
    assert main(["explore", "host"]) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("host"))
    assert row.split()[1:6] == ["violates", "NoCacheWhileBusy", "holds", "NO", f"{states:,}"]
    assert "! NoCacheWhileBusy was expected to be violated but holds" in out
    assert f"! {states:,} distinct states; TLC recorded {states + 1:,}" in out


def test_a_spec_folder_without_the_spec_is_bad_input(tmp_path, monkeypatch, capsys):
    shutil.copytree(spec_dir() / "models", tmp_path / "models")  # no KvmMmio.tla
    monkeypatch.setenv("KVM_MMIO_SPEC_DIR", str(tmp_path))
    assert main(["explore", "host"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert f"no spec at {tmp_path} ($KVM_MMIO_SPEC_DIR): KvmMmio.tla missing" in line
