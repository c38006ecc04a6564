"""`kvm-mmio explore`: verdicts against the manifest, JSON with `kvm-mmio check`'s keys, ITF files
that replay, and exit statuses (0 as expected, 1 a disagreement, 2 bad input)."""

import json
import shutil

from kvm_mmio.config import load_model, spec_dir
from kvm_mmio.trace import replay
from kvm_mmio_tools.cli import main


def test_plain_output_shows_verdicts_and_counterexamples(capsys):
    assert main(["explore", "bug_no_flush", "host"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "exploring 2 model(s): bug_no_flush host"
    verdict = next(line for line in out if line.startswith("ok   bug_no_flush"))
    assert verdict.split()[2:4] == ["9,791", "39"]
    assert verdict.endswith("violated: ObservationsAllowed")
    assert any("counterexample for ObservationsAllowed (17 states):" in line for line in out)
    assert any(line.startswith("ok   host") and line.endswith("violated: -") for line in out)
    assert out[-1].startswith("2 of 2 model(s) as the manifest expects")


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
    assert (model["distinct_states"], model["depth"]) == (7884, 36)
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
    assert line.startswith("kvm-mmio: error: unknown model 'nope'; known models: safe,")


def test_a_count_that_differs_from_the_manifest_fails(tmp_path, monkeypatch, capsys):
    models = tmp_path / "models"
    shutil.copytree(spec_dir() / "models", models)
    shutil.copy(spec_dir() / "KvmMmio.tla", tmp_path)  # a spec folder has the spec too
    manifest = json.loads((models / "manifest.json").read_text())
    for entry in manifest["models"]:
        if entry["name"] == "host":
            entry["recorded"]["distinct_states"] += 1
            entry["expect"]["holds"].remove("NoCacheWhileBusy")
            entry["expect"]["violated"].append("NoCacheWhileBusy")
    (models / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("KVM_MMIO_SPEC_DIR", str(tmp_path))
    assert main(["explore", "host"]) == 1
    out = capsys.readouterr().out
    assert "FAIL host" in out
    assert "! NoCacheWhileBusy was expected to be violated but holds" in out
    assert "! 4,246 distinct states; TLC recorded 4,247" in out
