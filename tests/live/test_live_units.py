"""Pure checks of the live harness (no /dev/kvm needed): uapi layouts, the x86 encoder, the
trace-line parser and stats arithmetic."""

import ctypes

import pytest

from kvm_mmio_conformance.live import ioctls
from kvm_mmio_conformance.live.guest import (
    CODE_GPA,
    MAPPED_BYTES,
    REPORT_GPA,
    Access,
    assemble,
    read,
    write,
)
from kvm_mmio_conformance.live.stats import delta
from kvm_mmio_conformance.live.tracefs import MmioCacheHit, parse_cache_hit, parse_line
from kvm_mmio_conformance.live.vm import kvm_unavailable_reason

# The values the C preprocessor gives for the uapi headers (x86-64).
HEADER_IOCTLS = {
    "KVM_GET_API_VERSION": 0xAE00,
    "KVM_CREATE_VM": 0xAE01,
    "KVM_CHECK_EXTENSION": 0xAE03,
    "KVM_GET_VCPU_MMAP_SIZE": 0xAE04,
    "KVM_CREATE_VCPU": 0xAE41,
    "KVM_SET_USER_MEMORY_REGION": 0x4020AE46,
    "KVM_RUN": 0xAE80,
    "KVM_GET_REGS": 0x8090AE81,
    "KVM_SET_REGS": 0x4090AE82,
    "KVM_GET_SREGS": 0x8138AE83,
    "KVM_SET_SREGS": 0x4138AE84,
    "KVM_GET_STATS_FD": 0xAECE,
}


@pytest.mark.parametrize(("name", "number"), HEADER_IOCTLS.items())
def test_ioctl_numbers_match_the_uapi_headers(name, number):
    assert getattr(ioctls, name) == number


def test_kvm_run_layout_matches_the_uapi_header():
    assert ioctls.RUN_IMMEDIATE_EXIT_OFFSET == 1
    assert ioctls.RunHeader.exit_reason.offset == 8
    assert ioctls.RUN_EXIT_INFO_OFFSET == 32
    assert (ioctls.RunMmio.data.offset, ioctls.RunMmio.len.offset) == (8, 16)
    assert ioctls.RunMmio.is_write.offset == 20
    assert ioctls.RunInternal.data.offset == 8
    assert ctypes.sizeof(ioctls.Segment) == 24
    assert (ioctls.Sregs.cr0.offset, ioctls.Sregs.efer.offset) == (224, 264)
    assert (ctypes.sizeof(ioctls.StatsHeader), ctypes.sizeof(ioctls.StatsDesc)) == (24, 16)


def test_a_read_is_encoded_as_a_load_then_a_report():
    report = "48890425" + REPORT_GPA.to_bytes(4, "little").hex()  # mov [REPORT_GPA], rax
    program = assemble([read(0x300), read(0x301, width=8, offset=8)])
    assert program.code.hex() == (
        "0fb6042500003000"  # movzx eax, byte [0x300000]
        + report
        + "488b042508103000"  # mov rax, [0x301008]
        + report
        + "ebfe"  # jmp $
    )


def test_a_write_is_encoded_as_an_immediate_a_store_then_a_report():
    byte = assemble([write(0x300, 0xAB)]).code
    assert byte[:10] == bytes.fromhex("48b8ab00000000000000")  # movabs rax, 0xab
    assert byte[10:17] == bytes.fromhex("88042500003000")  # mov [0x300000], al
    qword = assemble([write(0x300, 2**64 - 1, width=8)]).code
    assert qword[10:18] == bytes.fromhex("4889042500003000")  # mov [0x300000], rax


def test_a_loop_program_jumps_back_to_its_first_instruction():
    code = assemble([read(0x300), write(0x301, 1)], loop=True).code
    assert code[-5] == 0xE9
    assert int.from_bytes(code[-4:], "little", signed=True) == -len(code)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("read", 0x300000, 2), "width"),
        (("load", 0x300000, 1), "kind"),
        (("read", MAPPED_BYTES, 1), "outside"),
        (("read", REPORT_GPA + 8, 8), "report page"),
        (("write", 0x300000, 1, 0x100), "does not fit"),
    ],
)
def test_an_access_outside_what_the_guest_can_do_is_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        Access(*arguments)


def test_a_program_larger_than_the_code_area_is_refused():
    with pytest.raises(ValueError, match="too many"):
        assemble([read(0x300)] * (0x10000 - CODE_GPA))


def test_trace_lines_parse_into_records():
    line = (
        "  kvm-vcpu-0-worker-4242    [001] d..1.  1509.741215: vcpu_match_mmio: "
        "gva 0x300000 gpa 0x300000 Read GVA"
    )
    record = parse_line(line)
    assert record is not None
    assert (record.task, record.pid, record.cpu) == ("kvm-vcpu-0-worker", 4242, 1)
    assert (record.timestamp, record.event) == (1509.741215, "vcpu_match_mmio")
    assert parse_cache_hit(record) == MmioCacheHit(0x300000, 0x300000, False, False)
    alias = parse_line(
        "python-7 [000] 2.000001: vcpu_match_mmio: gva 0x700000 gpa 0x300000 Write GPA"
    )
    assert alias is not None
    assert parse_cache_hit(alias) == MmioCacheHit(0x700000, 0x300000, True, True)
    assert parse_line("# tracer: nop") is None
    marker = parse_line("python-7 [000] ..... 3.5: tracing_mark_write: op begins")
    assert marker is not None
    assert (marker.event, marker.body) == ("tracing_mark_write", "op begins")
    assert parse_cache_hit(marker) is None


def test_stats_delta_covers_every_scalar_and_no_histogram():
    before = {"mmio_exits": 3, "pf_taken": 5, "halt_poll_hist": (1, 2)}
    after = {"mmio_exits": 5, "pf_taken": 5, "halt_poll_hist": (1, 3)}
    assert delta(before, after) == {"mmio_exits": 2, "pf_taken": 0}


def test_kvm_unavailable_reason_names_the_cause(tmp_path):
    missing = tmp_path / "kvm"
    assert kvm_unavailable_reason(str(missing)) == f"{missing} not present"
    assert kvm_unavailable_reason(str(tmp_path)) == f"{tmp_path} not openable: Is a directory"
