"""VMs, vCPUs and memslots on the machine's /dev/kvm: resources are released, memslot updates
succeed or fail as the kernel says, and the VM's record follows only successful updates."""

import errno
import os
import threading

import pytest

from kvm_mmio_conformance.live import ioctls
from kvm_mmio_conformance.live.guest import Guest, assemble, read
from kvm_mmio_conformance.live.run import VcpuRunner
from kvm_mmio_conformance.live.vm import GuestMemory, KvmSystem

pytestmark = pytest.mark.live

PAGE = 4096


def _resources() -> tuple[int, int, int]:
    """Open fds, kvm mappings (kvm_run pages) and threads of this process."""
    with open("/proc/self/maps") as maps:
        kvm_maps = sum("kvm" in line for line in maps)
    return len(os.listdir("/proc/self/fd")), kvm_maps, threading.active_count()


def _use_everything(kvm: KvmSystem) -> None:
    vm = kvm.create_vm()
    guest = Guest(vm)
    vcpu = vm.create_vcpu(0)
    vm.stats.snapshot()
    vcpu.stats.snapshot()
    with VcpuRunner(vcpu) as runner:
        assert runner.run_program(guest, assemble([read(0x300)]))[0].path == "mmio"


def test_closing_the_system_releases_every_fd_mapping_and_thread(kvm_available):
    before = _resources()
    with KvmSystem() as kvm:
        _use_everything(kvm)
        _use_everything(kvm)
        assert _resources()[0] > before[0]
    assert _resources() == before


def test_an_exception_inside_the_with_blocks_still_releases_everything(kvm_available):
    before = _resources()
    with pytest.raises(RuntimeError, match="boom"), KvmSystem() as kvm, kvm.create_vm() as vm:
        vcpu = vm.create_vcpu(0)
        vcpu.stats.snapshot()
        raise RuntimeError("boom")
    assert _resources() == before


def test_closing_twice_is_harmless(kvm):
    vm = kvm.create_vm()
    vcpu = vm.create_vcpu(0)
    vcpu.close()
    vcpu.close()
    vm.close()
    vm.close()
    assert vm.closed and vcpu.closed


def test_create_delete_move_and_flags_update_the_memslot_record(vm):
    memory = vm.allocate(2 * PAGE)
    created = vm.create_memslot(3, 0x300000, memory)
    assert (created.guest_phys_addr, created.size, created.flags) == (0x300000, 2 * PAGE, 0)
    assert created.contains(0x301FFF) and not created.contains(0x302000)
    moved = vm.move_memslot(3, 0x500000)
    assert (moved.guest_phys_addr, moved.memory) == (0x500000, memory)
    logged = vm.set_memslot_flags(3, ioctls.KVM_MEM_LOG_DIRTY_PAGES)
    assert (logged.guest_phys_addr, logged.flags) == (0x500000, ioctls.KVM_MEM_LOG_DIRTY_PAGES)
    vm.delete_memslot(3)
    assert dict(vm.memslots) == {}


def test_failed_updates_raise_the_kernel_errno_and_change_no_record(vm):
    first, second = vm.allocate(PAGE), vm.allocate(PAGE)
    vm.create_memslot(3, 0x300000, first)
    record = dict(vm.memslots)
    with pytest.raises(FileExistsError) as overlap:
        vm.create_memslot(4, 0x300000, second)
    assert overlap.value.errno == errno.EEXIST
    assert "slot=4" in str(overlap.value)
    with pytest.raises(OSError) as missing:
        vm.delete_memslot(9)
    assert missing.value.errno == errno.EINVAL
    with pytest.raises(OSError) as unaligned:
        vm.set_user_memory_region(5, 0, 0x400800, PAGE, second.hva)
    assert unaligned.value.errno == errno.EINVAL
    assert dict(vm.memslots) == record


def test_moving_or_flagging_a_slot_that_is_not_installed_is_a_lookup_error(vm):
    with pytest.raises(LookupError, match="memslot 7"):
        vm.move_memslot(7, 0x300000)
    with pytest.raises(LookupError, match="memslot 7"):
        vm.set_memslot_flags(7, 0)


def test_guest_memory_reads_back_what_the_host_wrote_and_checks_bounds():
    with GuestMemory(PAGE) as memory:
        memory.write_int(8, 8, 0x1122334455667788)
        assert memory.read(8, 2) == b"\x88\x77"
        assert memory.read_int(8, 8) == 0x1122334455667788
        with pytest.raises(IndexError):
            memory.read(PAGE - 1, 2)
    assert memory.closed
    with pytest.raises(ValueError, match="multiple of 4 KiB"):
        GuestMemory(100)


def test_the_system_reports_api_version_and_capabilities(kvm):
    assert kvm.api_version == 12
    assert kvm.check_extension(ioctls.KVM_CAP_READONLY_MEM) > 0
    assert kvm.vcpu_mmap_size >= PAGE
