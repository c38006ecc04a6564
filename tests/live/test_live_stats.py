"""KVM binary stats of this machine's VMs and vCPUs: the counters the suite reads exist, and
their deltas tell how many exits and faults an access took."""

import pytest

from kvm_mmio_conformance.live.guest import assemble, read
from kvm_mmio_conformance.live.stats import delta

pytestmark = pytest.mark.live

X = 0x300


def test_vcpu_and_vm_stats_describe_the_counters_the_suite_reads(vm, vcpu):
    vcpu_names = {d.name for d in vcpu.stats.descriptors}
    assert {"pf_taken", "pf_fixed", "pf_emulate", "mmio_exits", "insn_emulation"} <= vcpu_names
    assert "pf_mmio_spte_created" in vcpu_names
    assert {"mmu_shadow_zapped", "remote_tlb_flush"} <= set(vm.stats.snapshot())
    assert vcpu.stats.id.startswith("kvm-") and vm.stats.id.startswith("kvm-")


def test_an_mmio_read_costs_two_mmio_exits_and_a_memory_read_one(vm, guest, vcpu, runner):
    program = assemble([read(X)])
    before = vcpu.stats.snapshot()
    runner.run_program(guest, program)
    mmio = delta(before, vcpu.stats.snapshot())
    assert mmio["mmio_exits"] == 2  # the access and its report
    assert mmio["pf_emulate"] == 2

    vm.create_memslot(2, X * 4096, vm.allocate(4096))
    before = vcpu.stats.snapshot()
    runner.run_program(guest, program)
    memory = delta(before, vcpu.stats.snapshot())
    assert memory["mmio_exits"] == 1  # the report only
    assert memory["pf_fixed"] >= 1  # the new page was mapped


def test_a_delete_zaps_shadow_pages_and_no_mmio_spte_is_ever_created(vm, guest, vcpu, runner):
    runner.run_program(guest, assemble([read(X), read(X)]))  # builds shadow pages
    vm.create_memslot(2, 0x600000, vm.allocate(4096))
    before = vm.stats.snapshot()
    vm.delete_memslot(2)
    assert delta(before, vm.stats.snapshot())["mmu_shadow_zapped"] > 0
    assert vcpu.stats.snapshot()["pf_mmio_spte_created"] == 0  # kvm.mmio_caching=N here
