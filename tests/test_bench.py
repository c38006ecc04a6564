"""`kvm-mmio bench`: one run on the smallest ladder with a handful of traces produces every section
with sane figures (as a table, as JSON, and as a PNG), and bad options exit 2 naming the option
and what is allowed. No assertion is about time: only about counts, agreement and shape."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path

import pytest

from kvm_mmio_conformance.protocol import LAYERS
from kvm_mmio_conformance.vectors import VECTORS_DIR
from kvm_mmio_tools.bench_graph import GRAPH_MODELS
from kvm_mmio_tools.bench_ladder import SIZES
from kvm_mmio_tools.bench_plot import PNG_SIGNATURE
from kvm_mmio_tools.cli import main
from kvm_mmio_tools.models import load_models

SMALL = ["--size", "small", "--traces", "3", "--trace-sample", "1"]


def _run(argv: list[str]) -> tuple[int, str, str]:
    """main(argv) with stdout and stderr captured (neither is a terminal)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def json_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, str, Path]:
    folder = tmp_path_factory.mktemp("plot")
    plot = folder / "bench.png"
    status, out, err = _run(["bench", *SMALL, "--json", "--plot", str(plot)])
    return status, json.loads(out), err, plot


@pytest.fixture(scope="module")
def text_run() -> tuple[int, str, str]:
    return _run(["bench", *SMALL])


@pytest.mark.tlc
@pytest.mark.slow
def test_json_has_every_section_and_tlc_and_the_explorer_agree(json_run):
    status, document, _, _ = json_run
    assert status == 0 and document["ok"] and document["problems"] == []
    machine = document["machine"]
    assert machine["cores"] >= 1 and machine["ram_gib"] > 0 and machine["cpu"]
    assert "2.15" in machine["tlc_version"] and "version" in machine["java"]
    assert machine["python"].count(".") == 2
    recorded = {name: model.recorded_states for name, model in load_models().items()}
    assert sorted(row["name"] for row in document["models"]) == sorted(SIZES["small"])
    for row in document["models"]:
        tlc, explorer = row["tlc"], row["explorer"]
        assert tlc["outcome"] == explorer["outcome"] == "success"
        assert tlc["distinct_states"] == explorer["distinct_states"] == recorded[row["name"]]
        assert tlc["depth"] == explorer["depth"]
        assert row["states_equal"] is True
        for run in (tlc, explorer):
            assert run["wall"] > 0 and run["states_per_second"] > 0 and run["peak_rss_mib"] > 0
        assert row["speed_ratio"] > 0 and row["memory_ratio"] > 0
        assert tlc["peak_rss_exact"] is True
    sizes = [row["recorded_states"] for row in document["models"]]
    assert sizes == sorted(sizes)


@pytest.mark.tlc
@pytest.mark.slow
def test_json_graph_section_compares_the_small_ladders_graph_model(json_run):
    _, document, _, _ = json_run
    graph = document["graph"]
    assert graph["model"] == GRAPH_MODELS["small"]
    assert graph["states"] == load_models()[graph["model"]].recorded_states
    assert graph["equal"] is True and graph["difference"] is None
    assert graph["edges"] > graph["states"] and graph["initial"] >= 1
    assert graph["wall"] > 0 and graph["states_per_second"] > 0
    assert graph["peak_rss_mib"] > 0 and graph["jvm_peak_rss_mib"] > 0
    assert graph["target_met"] is None  # a small graph says nothing of the 1,000,000-state goal


@pytest.mark.tlc
@pytest.mark.slow
def test_json_traces_spte_and_conformance_sections(json_run):
    _, document, _, _ = json_run
    traces = document["traces"]
    assert traces["traces"] == 3 and traces["accepted"] == 3 and traces["min_steps"] >= 20
    assert traces["sample"] == 1 and traces["sample_accepted"] == 1
    assert traces["extrapolated"] is True and traces["ratio"] > 0
    per_trace = traces["per_trace_seconds"]
    assert traces["extrapolated_seconds"] == pytest.approx(per_trace * 3, abs=0.01)
    spte = document["spte"]
    assert spte["missing"] is None and [era["era"] for era in spte["eras"]] == [
        "v5.0",
        "v5.1",
        "v6",
    ]
    for era in spte["eras"]:
        assert era["pairs"] == era["generations"] * 64 and era["generations"] >= 2**18
        assert era["failures"] == 0 and era["disagreements"] == 0
        assert era["numpy_pairs_per_second"] > 0 and era["scalar_pairs_per_second"] > 0
    conformance = document["conformance"]
    absent = {layer for layer in LAYERS if not (VECTORS_DIR / f"{layer}.json").exists()}
    assert set(conformance["missing"]) == absent
    assert set(conformance["layers"]) == set(LAYERS) - absent
    for channel in ("in_process", "out_of_process"):
        figures = conformance[channel]
        assert figures["cases"] == sum(conformance["layers"].values()) > 0
        assert figures["failed"] == 0 and figures["passed"] + figures["skipped"] == figures["cases"]
        assert figures["cases_per_second"] > 0


@pytest.mark.tlc
@pytest.mark.slow
def test_plot_is_a_png_written_without_leftovers(json_run):
    _, document, _, plot = json_run
    assert document["plot"] == str(plot)
    assert plot.read_bytes()[:8] == PNG_SIGNATURE and plot.stat().st_size > 10_000
    umask = os.umask(0o022)
    os.umask(umask)
    assert plot.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600
    assert [path.name for path in plot.parent.iterdir()] == ["bench.png"]


@pytest.mark.tlc
@pytest.mark.slow
def test_progress_is_quiet_when_stderr_is_not_a_terminal(json_run, text_run):
    for err in (json_run[2], text_run[2]):
        assert "\r" not in err and "states, queue" not in err


@pytest.mark.tlc
@pytest.mark.slow
def test_table_has_the_machine_and_every_section(text_run):
    status, out, _ = text_run
    assert status == 0
    for heading in (
        "machine: ",
        "software: Python ",
        "load average",
        "TLC (1 worker, JVM) vs the reference explorer",
        "state graphs, TLC's dump vs the reference's search (model bug_no_flush)",
        "identical",
        "trace validation by TLC: 3 Hypothesis traces",
        "spte encoding:",
        "conformance, must tier, against the reference",
        "no disagreement",
    ):
        assert heading in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()}
    for name in SIZES["small"]:
        assert rows[name].endswith("yes")  # TLC and the explorer found the same states
    assert "extrapolated" in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--traces", "0"], ["--traces", "between 1 and 100000", "got 0"]),
        (["--traces", "100001"], ["--traces", "between 1 and 100000"]),
        (["--traces", "4", "--trace-sample", "5"], ["--trace-sample", "between 1 and 4"]),
        (["--trace-sample", "0"], ["--trace-sample", "between 1 and 100"]),
        (["--plot", "bench.svg"], ["--plot", ".png"]),
    ],
)
def test_bad_numbers_exit_2_naming_the_option_and_the_range(argv, words):
    status, out, err = _run(["bench", *argv])
    assert status == 2 and out == ""
    for word in words:
        assert word in err


def test_an_unknown_size_exits_2_listing_the_sizes(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--size", "huge"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--size" in err and all(size in err for size in SIZES)


def test_plot_without_matplotlib_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    status, out, err = _run(["bench", "--plot", str(tmp_path / "b.png")])
    assert status == 2 and out == ""
    assert "matplotlib" in err and "[plot]" in err
    assert not (tmp_path / "b.png").exists()
