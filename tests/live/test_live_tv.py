"""`kvm-mmio live --check tv` for real: race and cache-check logs recorded on /dev/kvm, written as
ndjson, all accepted by TLC, and no trace instance of this process left behind (skipped with the
harness's one-line reason where /dev/kvm or tracefs is missing)."""

import json
import os

import pytest

from kvm_mmio_conformance.live.kerneltrace import loads
from kvm_mmio_conformance.live.tracefs import INSTANCE_PREFIX, TraceSession, find_tracefs
from kvm_mmio_tools.cli import main

pytestmark = [pytest.mark.live, pytest.mark.tlc, pytest.mark.slow]


def test_recorded_logs_are_written_and_every_one_is_accepted(
    kvm_available, tracefs_available, tmp_path, capsys
):
    status = main(["live", "--check", "tv", "--json", "--tv-logs", "2", "--tv-dir", str(tmp_path)])
    report = json.loads(capsys.readouterr().out)
    tv = report["trace_validation"]
    assert status == 0, tv
    assert report["ok"] is True and tv["status"] == "ok"
    assert tv["traces"] == 2 + 10  # the race logs and one per cache case
    assert tv["accepted"] == tv["traces"] and tv["rejected"] == 0
    assert tv["first_rejected"] is None
    files = sorted(tmp_path.glob("*.ndjson"))
    assert len(files) == tv["traces"]
    logs = [loads(path.read_text()) for path in files]
    assert sum(map(len, logs)) == tv["events"]
    kernel = sum(e["ev"] in ("hit", "mmio", "zap") for log in logs for e in log)
    assert kernel == tv["kernel_events"] > 0
    assert any(e["ev"] == "zap" for e in logs[0]) and any(e["ev"] == "hit" for e in logs[2])
    mine = f"{INSTANCE_PREFIX}{os.getpid()}-"
    root = find_tracefs()
    if root is not None:  # mounted by someone else: our instances must be gone
        assert not [n for n in os.listdir(os.path.join(root, "instances")) if n.startswith(mine)]


def test_a_full_ring_buffer_is_counted_as_lost_records(tracefs_available):
    with TraceSession((), buffer_kb_per_cpu=4) as session:
        assert session.overruns() == 0
        for n in range(5000):  # ~0.4 MB of markers into a 4 KiB buffer, nobody reading
            session.marker(f"filler {n:05d} " + "x" * 64)
        assert session.overruns() > 0
