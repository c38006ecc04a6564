"""The live checks of the host model: their predictions and window arithmetic (pure, no /dev/kvm),
then each check once on this machine's KVM with small sizes (marked live; skipped with the
harness's one-line reason when /dev/kvm or tracefs is unusable)."""

import os
import threading

import pytest

from kvm_mmio.generation import wraps
from kvm_mmio.vm import Vm as ReferenceVm
from kvm_mmio_conformance.live import checks
from kvm_mmio_conformance.live.cachecheck import CACHE_CASES, reference_probe, run_cache_check
from kvm_mmio_conformance.live.checks import run_checks
from kvm_mmio_conformance.live.gencheck import (
    DEFAULT_PREFIXES,
    FULL_PREFIXES,
    GenerationCheck,
    predicted_updates_until_wrap,
    reference_prefix,
    run_generation_check,
)
from kvm_mmio_conformance.live.operations import MemslotOp, apply_to_reference, gfns_of
from kvm_mmio_conformance.live.racecheck import reference_rules, run_race_check, tally
from kvm_mmio_conformance.live.report import render_json, render_text
from kvm_mmio_conformance.live.tracefs import find_tracefs
from kvm_mmio_conformance.live.windows import Ioctl, Read, Timeline, Window, judge

live = pytest.mark.live
RAM, MMIO = frozenset({"ram"}), frozenset({"mmio"})
BOTH = RAM | MMIO

# --- predictions (no /dev/kvm) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("era", "nr_as", "generation", "updates"),
    [
        ("B", 1, 0, 2**19),
        ("B", 1, 1, 2**19 - 1),
        ("B", 1, 4, 2**19 - 4),
        ("B", 1, 2**19 - 1, 1),
        ("B", 1, 2**19, 2**19),
        ("B", 1, 3 * 2**19 + 5, 2**19 - 5),
        ("B", 2, 1, 2**18),  # AS 1 of two: odd generations, step 2
        ("A", 2, 2**64 - 150, 150 // 4 + 1),  # v5.0's start, step 4, 20 bits, mark in bit 0
    ],
)
def test_the_predicted_count_is_the_first_install_that_wraps(era, nr_as, generation, updates):
    assert predicted_updates_until_wrap(era, nr_as, generation) == updates
    step = 2 * nr_as if era == "A" else nr_as
    first = next(n for n in range(1, 2**20) if wraps(era, (generation + n * step) % 2**64, nr_as))
    assert first == updates


def test_the_reference_counts_each_prefix_as_the_host_was_measured():
    """KVM_LIVE.md: create +1, flags-only +1, delete and move +2, re-set and refusals +0; every
    delete and move zaps everything."""
    predicted = {prefix.name: reference_prefix(prefix) for prefix in FULL_PREFIXES}
    assert [(p.generation, p.zaps) for p in predicted.values()] == [
        (1, 0),
        (4, 1),
        (3, 0),
        (8, 3),
        (6, 1),
    ]
    assert [p.updates_until_wrap for p in predicted.values()] == [
        2**19 - p.generation for p in predicted.values()
    ]
    refused = {name: p.accepted.count(False) for name, p in predicted.items()}
    assert list(refused.values()) == [0, 2, 0, 1, 1]
    assert FULL_PREFIXES[: len(DEFAULT_PREFIXES)] == DEFAULT_PREFIXES


def test_the_reference_predicts_a_hit_only_when_no_memslot_update_succeeded():
    predicted = {case.name: reference_probe(case) for case in CACHE_CASES}
    table = {name: (obs.path, obs.outcome) for name, (_, obs) in predicted.items()}
    assert table == {
        "none": ("cache", "mmio"),
        "identical re-set": ("cache", "mmio"),
        "create unrelated": ("emulator", "mmio"),
        "create over the cached gfn": ("emulator", "ram"),
        "delete": ("emulator", "mmio"),
        "move": ("emulator", "mmio"),
        "move onto the cached gfn": ("emulator", "ram"),
        "flags-only": ("emulator", "mmio"),
        "failed create (overlap)": ("cache", "mmio"),
        "failed delete (no slot)": ("cache", "mmio"),
    }
    assert predicted["failed create (overlap)"][0] == (False,)
    assert predicted["failed delete (no slot)"][0] == (False,)


def test_the_reference_allows_before_or_after_during_an_update_and_the_result_after_it():
    initial, rules = reference_rules()
    assert initial == RAM
    assert {label: (rule.during, rule.after) for label, rule in rules.items()} == {
        "delete": (BOTH, MMIO),
        "create": (BOTH, RAM),
        "move away": (BOTH, MMIO),
        "move back": (BOTH, RAM),
    }


def test_operations_map_to_the_reference_and_refusals_change_nothing():
    ops = (MemslotOp("create", 3), MemslotOp("move", 3, 5))
    assert gfns_of(ops) == (3, 5)
    vm = ReferenceVm.from_kernel("live-host", gfns=(3, 5), init_ram=())
    assert [apply_to_reference(vm, op) for op in ops] == [True, True]
    generation = vm.generation()
    assert not apply_to_reference(vm, MemslotOp("create", 5))
    assert not apply_to_reference(vm, MemslotOp("delete", 3))
    assert apply_to_reference(vm, MemslotOp("reset", 5))
    assert vm.generation() == generation == 3
    with pytest.raises(LookupError, match="gfn 0x3"):
        apply_to_reference(vm, MemslotOp("reset", 3))
    for bad in (("move", 3, 0), ("create", 3, 4), ("move", 3, 3), ("create", 0), ("map", 3)):
        with pytest.raises(ValueError):
            MemslotOp(*bad)


# --- windows (no /dev/kvm) -----------------------------------------------------------------------

IOCTLS = [Ioctl("delete", 100, 200, 0xA1), Ioctl("create", 300, 400, 0xB2)]
RULES = reference_rules()[1]


@pytest.mark.parametrize(
    ("start", "end", "window"),
    [
        (10, 99, Window("before")),
        (10, 100, Window("during", "delete", (0,))),
        (150, 160, Window("during", "delete", (0,))),
        (200, 250, Window("during", "delete", (0,))),
        (201, 299, Window("after", "delete", (0,))),
        (250, 350, Window("during", "create", (1,))),
        (150, 350, Window("spanning", "", (0, 1))),
        (401, 500, Window("after", "create", (1,))),
    ],
)
def test_a_read_is_classified_by_the_ioctls_its_interval_overlaps(start, end, window):
    assert Timeline(IOCTLS).classify(Read(start, end, "mmio", 0xEE)) == window


def test_overlapping_ioctls_cannot_come_from_one_updater():
    with pytest.raises(ValueError, match="overlap"):
        Timeline([Ioctl("delete", 100, 200, 1), Ioctl("create", 150, 250, 1)])


@pytest.mark.parametrize(
    ("read", "shown", "allowed"),
    [
        (Read(10, 20, "ram", 0xA1), "ram", True),
        (Read(10, 20, "mmio", 0xEE), "mmio", False),  # before any update: RAM only
        (Read(150, 160, "ram", 0xA1), "ram", True),  # during delete: the old page
        (Read(150, 160, "mmio", 0xEE), "mmio", True),
        (Read(250, 260, "ram", 0xA1), "ram", False),  # after delete: no slot
        (Read(350, 360, "ram", 0xA1), "ram (other page)", False),  # during create: stale page
        (Read(350, 360, "ram", 0xB2), "ram", True),
        (Read(450, 460, "mmio", 0xEE), "mmio", False),  # after create: RAM only
        (Read(150, 350, "ram", 0xA1), "ram", True),  # spanning both: either page
    ],
)
def test_a_read_is_judged_by_its_window_and_the_page_it_shows(read, shown, allowed):
    timeline = Timeline(IOCTLS)
    verdict = judge(read, timeline.classify(read), timeline, RULES, initial=RAM, initial_page=0xA1)
    assert (verdict.shown, verdict.allowed) == (shown, allowed)


def test_the_tally_counts_reads_by_window_and_keeps_the_bad_ones():
    reads = [
        Read(10, 20, "ram", 0xA1),
        Read(150, 160, "mmio", 0xEE),
        Read(250, 260, "mmio", 0xEE),
        Read(450, 460, "ram", 0xA1),
    ]
    counts, allowed, bad = tally(reads, IOCTLS, initial_page=0xA1)
    assert {window: dict(shown) for window, shown in counts.items()} == {
        "before any update": {"ram": 1},
        "during delete": {"mmio": 1},
        "after delete": {"mmio": 1},
        "after create": {"ram (other page)": 1},
    }
    assert allowed["after create"] == RAM and allowed["during move back"] == BOTH
    assert [verdict.window.name for verdict in bad] == ["after create"]


# --- orchestration (no /dev/kvm) -----------------------------------------------------------------


def test_checks_are_skipped_with_the_reason_when_kvm_is_unusable(monkeypatch):
    monkeypatch.setattr(checks, "kvm_unavailable_reason", lambda: "/dev/kvm not present")
    run = run_checks()
    assert [(c.name, c.status, c.skipped) for c in run.checks] == [
        (name, "skipped", "/dev/kvm not present") for name in ("gen", "cache", "race")
    ]
    assert not run.ok  # nothing ran
    assert render_json(run)["checks"]["concurrency"] == {
        "status": "skipped",
        "reason": "/dev/kvm not present",
    }
    assert "0 of 0 check(s) that ran (3 skipped)" in render_text(run)


def test_a_failed_run_is_an_error_of_its_check_and_the_others_still_run(monkeypatch):
    def broken():
        raise RuntimeError("the guest left its read loop: ShutdownExit(rip=4096)")

    monkeypatch.setattr(checks, "check_unavailable_reason", lambda name: None)
    monkeypatch.setattr(checks, "run_cache_check", broken)
    monkeypatch.setattr(
        checks, "run_generation_check", lambda prefixes, progress: GenerationCheck(())
    )
    run = run_checks(["cache", "gen"])
    assert [(c.name, c.status) for c in run.checks] == [("gen", "ok"), ("cache", "error")]
    assert run.checks[1].error == (
        "RuntimeError: the guest left its read loop: ShutdownExit(rip=4096)"
    )
    assert not run.ok
    with pytest.raises(ValueError, match="unknown check"):
        run_checks(["wrap"])


# --- on this machine's KVM -----------------------------------------------------------------------


def _resources() -> tuple[int, int, list[str]]:
    """Open fds, threads, and this project's trace instances."""
    mount = find_tracefs()
    instances = os.listdir(os.path.join(mount, "instances")) if mount else []
    ours = sorted(name for name in instances if name.startswith("kvm-mmio-"))
    return len(os.listdir("/proc/self/fd")), threading.active_count(), ours


@live
@pytest.mark.slow
def test_the_kernel_wraps_when_the_reference_predicts(kvm_available, tracefs_available):
    """One prefix with creates, a move and two refused operations (~15 s)."""
    result = run_generation_check(DEFAULT_PREFIXES[1:])
    (row,) = result.rows
    assert [a.error for a in row.kernel] == [None, None, None, "EEXIST", "EINVAL"]
    assert (row.kernel_zaps, row.kernel_updates_until_wrap) == (1, 2**19 - 4)
    assert result.ok, render_text(checks.LiveRun((checks.CheckRun("gen", result=result),)))


@live
def test_the_cache_hits_and_misses_as_the_reference_predicts(kvm_available, tracefs_available):
    result = run_cache_check()
    rows = {row.case.name: row for row in result.rows}
    report = render_text(checks.LiveRun((checks.CheckRun("cache", result=result),)))
    assert result.ok, report
    assert rows["none"].kernel.hit and rows["failed delete (no slot)"].kernel.hit
    assert not rows["create unrelated"].kernel.hit
    over = rows["create over the cached gfn"].kernel
    assert (over.outcome, over.value) == ("ram", over.expected_value)
    assert rows["delete"].kernel.applied[0].accepted
    assert rows["failed create (overlap)"].kernel.applied[0].error == "EEXIST"


@live
def test_racing_reads_are_all_allowed_and_both_outcomes_occur_during_updates(kvm_available):
    before = _resources()
    result = run_race_check(300)
    assert _resources() == before
    assert result.ok, result.examples
    assert (result.iterations, result.ioctls) == (300, 1200)
    assert result.reads >= result.ioctls  # every after-window has a read
    for label in ("delete", "create", "move away", "move back"):
        assert sum(result.counts[f"after {label}"].values()) >= 300
    for label in ("delete", "move away"):
        assert set(result.counts[f"during {label}"]) == {"ram", "mmio"}
    assert set(result.counts["after delete"]) == {"mmio"}
    assert set(result.counts["after create"]) == {"ram"}


@live
def test_a_run_of_every_check_leaves_no_fd_thread_or_trace_instance(
    kvm_available, tracefs_available
):
    before = _resources()
    run = run_checks(["cache", "race"], iterations=50)
    assert _resources() == before
    assert [c.status for c in run.checks] == ["ok", "ok"]
