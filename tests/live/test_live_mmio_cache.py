"""The per-vCPU MMIO cache seen through kvm/vcpu_match_mmio (../shared/KVM_LIVE.md): a native
(CPL3) access to a gfn without a memslot fills it; an emulated (CPL0) access to the same gfn then
hits it, unless a memslot update succeeded in between. The guest's reports go to a read-only
memslot and never touch the cache: the "nothing" case would miss otherwise."""

import pytest

from kvm_mmio_conformance.live import ioctls
from kvm_mmio_conformance.live.guest import assemble, read
from kvm_mmio_conformance.live.tracefs import parse_cache_hit

pytestmark = pytest.mark.live

X = 0x300
PAGE = 4096
OTHER = 5  # an unrelated slot, installed at 0x500000 before the CPL3 access


def _fill_then_probe(vm, guest, runner, trace, operation):
    """CPL3 read of X (fills the cache), `operation`, then CPL0 read of X; the probe's outcome
    and the gvas of the cache hits it produced."""
    runner.run_program(guest, assemble([read(X)]), cpl=3)
    operation(vm)
    trace.read()
    (probe,) = runner.run_program(guest, assemble([read(X)]), cpl=0)
    hits = [parse_cache_hit(r) for r in trace.read() if r.event == "vcpu_match_mmio"]
    return probe.path, [hit.gva for hit in hits]


def _failed(update):
    def operation(vm):
        with pytest.raises(OSError):
            update(vm)

    return operation


OPERATIONS = {
    "nothing": (lambda vm: None, "hit"),
    "identical re-set": (
        lambda vm: vm.create_memslot(OTHER, 0x500000, vm.memslots[OTHER].memory),
        "hit",
    ),
    "failed overlapping create": (
        _failed(lambda vm: vm.create_memslot(6, 0x500000, vm.allocate(PAGE))),
        "hit",
    ),
    "failed delete": (_failed(lambda vm: vm.delete_memslot(9)), "hit"),
    "unrelated create": (lambda vm: vm.create_memslot(6, 0x600000, vm.allocate(PAGE)), "miss"),
    "unrelated delete": (lambda vm: vm.delete_memslot(OTHER), "miss"),
    "unrelated move": (lambda vm: vm.move_memslot(OTHER, 0x700000), "miss"),
    "unrelated flags-only": (
        lambda vm: vm.set_memslot_flags(OTHER, ioctls.KVM_MEM_LOG_DIRTY_PAGES),
        "miss",
    ),
}


@pytest.mark.parametrize("name", OPERATIONS)
def test_the_next_emulated_access_hits_unless_a_memslot_update_succeeded(
    vm, guest, runner, trace, name
):
    operation, expected = OPERATIONS[name]
    vm.create_memslot(OTHER, 0x500000, vm.allocate(PAGE))
    path, hit_gvas = _fill_then_probe(vm, guest, runner, trace, operation)
    assert path == "mmio"
    assert hit_gvas == ([X * PAGE] if expected == "hit" else [])


def test_a_slot_created_over_the_cached_gfn_turns_the_access_into_memory(vm, guest, runner, trace):
    backing = vm.allocate(PAGE)
    backing.write(0, b"\x5a")
    path, hit_gvas = _fill_then_probe(
        vm, guest, runner, trace, lambda vm: vm.create_memslot(2, X * PAGE, backing)
    )
    assert (path, hit_gvas) == ("memory", [])


def test_emulated_accesses_keep_hitting_and_native_ones_hit_their_own_fill(guest, runner, trace):
    runner.run_program(guest, assemble([read(X)]), cpl=3)
    native = [parse_cache_hit(r) for r in trace.read() if r.event == "vcpu_match_mmio"]
    runner.run_program(guest, assemble([read(X), read(X, offset=8)]), cpl=0)
    emulated = [parse_cache_hit(r) for r in trace.read() if r.event == "vcpu_match_mmio"]
    assert [h.gva for h in native] == [X * PAGE]  # the fault fills, the emulator then hits
    assert [h.gva for h in emulated] == [X * PAGE, X * PAGE + 8]
    assert not any(h.is_write or h.by_gpa for h in native + emulated)
