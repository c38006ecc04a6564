"""Kernel event logs against spec/KvmMmioKernelTrace.tla: real logs recorded on the live host
(tests/fixtures/kerneltrace) are accepted; the same logs mutated, or checked against a spec with a
fix the host relies on switched off or with the wrong host profile, are rejected at the event
where the story stops being explainable. Also the conversion of trace records into events and the
errors of a malformed log."""

from pathlib import Path

import pytest
from kerneltrace_mutations import (
    drop_hit,
    drop_zap,
    hit_after_update,
    mmio_after_create,
    read_before_create,
)

from kvm_mmio_conformance.live.eventlog import MARK
from kvm_mmio_conformance.live.kerneltrace import convert, dumps, loads
from kvm_mmio_conformance.live.tracefs import TraceRecord
from kvm_mmio_tools.errors import ToolError
from kvm_mmio_tools.kernelvalidate import batch_module, state_before, validate_logs

FIXTURES = Path(__file__).parent / "fixtures" / "kerneltrace"
LOGS = ("race", "cache_none", "cache_flags", "cache_create_over")


def _fixture(name: str) -> list[dict]:
    return list(loads((FIXTURES / f"{name}.ndjson").read_text()))


@pytest.fixture(scope="module")
def real() -> dict[str, list[dict]]:
    return {name: _fixture(name) for name in LOGS}


@pytest.fixture(scope="module")
def mutated(real):
    """Each mutation: (log, index of the event the spec must stop at)."""
    return {
        "memory read turned into an MMIO exit after a create": mmio_after_create(real["race"]),
        "cache hit moved after a memslot update": hit_after_update(real["cache_none"]),
        "create and the read after it swapped across the ioctl": read_before_create(real["race"]),
        "cache hit dropped (race)": drop_hit(real["race"]),
        "cache hit dropped (cache check)": drop_hit(real["cache_none"]),
    }


@pytest.fixture(scope="module")
def verdicts(real, mutated):
    """One TLC run over the real logs, every mutation and the dropped zap."""
    logs = [*real.values(), *(log for log, _ in mutated.values()), drop_zap(real["race"])[0]]
    return validate_logs(logs).verdicts


tlc = pytest.mark.tlc


@tlc
def test_every_real_log_is_accepted(real, verdicts):
    for name, verdict in zip(real, verdicts, strict=False):
        assert verdict.accepted, (name, verdict)
        assert verdict.length == len(real[name]) > 0


@tlc
def test_every_mutation_is_rejected_at_the_event_it_falsifies(real, mutated, verdicts):
    found = verdicts[len(real) : len(real) + len(mutated)]
    for (name, (log, index)), verdict in zip(mutated.items(), found, strict=True):
        assert verdict.first_rejected == index, (name, verdict, log[index])


@tlc
def test_a_dropped_zap_is_rejected_no_later_than_its_ioctl_returning(real, verdicts):
    zap = next(i for i, e in enumerate(real["race"]) if e["ev"] == "zap")
    _log, end = drop_zap(real["race"])
    assert zap <= verdicts[-1].first_rejected <= end


@tlc
@pytest.mark.parametrize(
    ("overrides", "rejected"),
    [
        # The seed: filled while busy, the cache must hit a read during the delete's second
        # install, which the kernel traced no hit for.
        ({"FixNoCacheInFlux": "FALSE"}, {"race"}),
        # No in-progress mark: the same reads would have hit.
        ({"FixInProgress": "FALSE"}, {"race"}),
        # DELETE keeps the spte: the read after it would be memory, the kernel exited as MMIO.
        ({"FlushOnDelete": "FALSE"}, {"race"}),
        # The cache ignoring generations: the probe after an update would hit.
        ({"FixCacheGen": "FALSE"}, {"race", "cache_flags", "cache_create_over"}),
        # Wrong profile, kvm.mmio_caching on: the second read would take the MMIO spte and
        # decide without the emulator's traced hit.
        ({"MmioSptes": "TRUE"}, {"race"}),
    ],
)
def test_a_spec_without_a_fix_the_host_relies_on_or_with_the_wrong_profile_rejects(
    real, overrides, rejected
):
    verdicts = validate_logs(list(real.values()), overrides=overrides).verdicts
    assert {name for name, v in zip(real, verdicts, strict=True) if not v.accepted} == rejected


@tlc
@pytest.mark.parametrize(("max_hidden", "accepted"), [(4, False), (12, True)])
def test_the_argued_bound_on_unobserved_steps_is_enough_and_a_smaller_one_is_not(
    real, max_hidden, accepted
):
    """12: one whole DELETE/MOVE seen only by its zap plus the rest of one access (the module's
    docstring); 4 cannot fit an install's SyncSrcu, RunHook, StoreGen beside the access's steps."""
    (verdict,) = validate_logs([real["race"]], max_hidden=max_hidden).verdicts
    assert verdict.accepted is accepted


@tlc
def test_the_state_before_a_rejected_event_is_the_spec_s(mutated):
    log, index = mutated["memory read turned into an MMIO exit after a create"]
    (verdict,) = validate_logs([log]).verdicts
    assert verdict.first_rejected == index
    states = state_before(log, verdict)
    # The create returned: its gfn is RAM, and the read's access decided memory (or ended so).
    assert states and all('slots |-> (0 :> <<"ram">>)' in state for state in states)
    assert all('phase |-> "idle"' in state for state in states)


@tlc
def test_an_unknown_overridden_constant_is_named():
    with pytest.raises(ToolError, match="NoSuchFix"):
        validate_logs([_fixture("cache_none")], overrides={"NoSuchFix": "TRUE"})


def test_an_event_of_unknown_kind_is_named():
    with pytest.raises(ToolError, match="'teleport'"):
        batch_module([[{"ev": "teleport"}]])


def _record(event: str, body: str, pid: int = 7, t: float = 1.0) -> TraceRecord:
    return TraceRecord(task="python", pid=pid, cpu=0, timestamp=t, event=event, body=body)


def test_conversion_keeps_what_was_observed_and_counts_the_unmodelled_report_page():
    records = [
        _record("tracing_mark_write", MARK + '{"m":"access","gfn":768,"mode":"native"}'),
        _record("vcpu_match_mmio", "gva 0x300000 gpa 0x300000 Read GVA"),
        _record("kvm_mmio", "mmio unsatisfied-read len 1 gpa 0x300000 val 0x0"),
        _record("kvm_mmio", "mmio write len 8 gpa 0x1ff000 val 0xee"),
        _record("tracing_mark_write", MARK + '{"m":"result","gfn":768,"out":"mmio"}'),
        _record("kvm_mmu_zap_all_fast", "kvm-mmu-valid-gen 0 used_pages 5", pid=8),
    ]
    converted = convert(records, {768})
    assert [e["ev"] for e in converted.events] == ["access", "hit", "mmio", "result", "zap"]
    assert converted.events[2] == {
        "t": 1.0,
        "tid": 7,
        "ev": "mmio",
        "gfn": 768,
        "op": "unsatisfied-read",
    }
    assert converted.events[4]["tid"] == 8
    assert converted.unmodelled == 1
    assert converted.kernel_events == 3
    assert loads(dumps(converted.events)) == converted.events


@pytest.mark.parametrize(
    ("event", "body", "match"),
    [
        ("tracing_mark_write", "someone else's marker", "not written by eventlog.py"),
        ("tracing_mark_write", MARK + '{"m":"teleport"}', "unknown marker 'teleport'"),
        ("kvm_mmio", "mmio sideways", "unexpected kvm_mmio format"),
        ("kvm_exit", "reason EPT_VIOLATION", "does not enable"),
    ],
)
def test_a_record_the_log_cannot_hold_is_an_error(event, body, match):
    with pytest.raises(ValueError, match=match):
        convert([_record(event, body)], {768})
