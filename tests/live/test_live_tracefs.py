"""The private trace session: it sees this process's KVM events and leaves tracing as it found
it (instance removed, tracefs unmounted if it mounted it), even when the body raises."""

import os

import pytest

from kvm_mmio_conformance.live.guest import assemble, read
from kvm_mmio_conformance.live.tracefs import TraceSession, find_tracefs

pytestmark = pytest.mark.live


def test_the_instance_is_removed_and_the_mount_restored(tracefs_available):
    mounted_before = find_tracefs()
    with TraceSession(["kvm/kvm_mmio", "kvm/no_such_event"]) as session:
        instance = session.instance
        assert instance is not None and os.path.isdir(instance)
        assert (session.enabled, session.missing) == (("kvm/kvm_mmio",), ("kvm/no_such_event",))
        assert find_tracefs() is not None
    assert not os.path.exists(instance)
    assert find_tracefs() == mounted_before
    session.close()  # a second close does nothing


def test_an_exception_in_the_body_still_removes_the_instance(tracefs_available):
    mounted_before = find_tracefs()
    with pytest.raises(RuntimeError, match="boom"), TraceSession() as session:
        instance = session.instance
        raise RuntimeError("boom")
    assert instance is not None and not os.path.exists(instance)
    assert find_tracefs() == mounted_before


def test_a_session_inside_another_shares_its_mount_and_leaves_it(tracefs_available):
    mounted_before = find_tracefs()
    with TraceSession() as outer:
        mount_point = find_tracefs()
        with TraceSession() as inner:
            assert inner.instance != outer.instance
            assert find_tracefs() == mount_point
        assert find_tracefs() == mount_point
        assert outer.instance is not None and os.path.isdir(outer.instance)
    assert find_tracefs() == mounted_before


def test_markers_and_kvm_events_are_read_in_order_and_consumed(trace, guest, runner):
    assert not trace.pending()
    trace.marker("before")
    runner.run_program(guest, assemble([read(0x300)]))
    trace.marker("after")
    assert trace.pending()
    records = trace.read()
    events = [r.event for r in records]
    assert events[0] == "tracing_mark_write" and records[0].body == "before"
    assert events[-1] == "tracing_mark_write" and records[-1].body == "after"
    assert "kvm_mmio" in events and "vcpu_match_mmio" in events
    assert {r.pid for r in records if r.event != "tracing_mark_write"} == {os.getpid()}
    assert trace.read() == []
