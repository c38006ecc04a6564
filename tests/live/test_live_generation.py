"""The generation-wrap count on this kernel (KVM_LIVE.md): generation 0 at VM creation, create
+1, move +2, failed updates +0, and kvm_mmu_zap_all_fast when it reaches 2**19. The full count
runs once here (several seconds)."""

import errno

import pytest

from kvm_mmio_conformance.live.generation import measure_generation_wrap

pytestmark = pytest.mark.live

PAGE = 4096


def _create_move_and_fail(vm) -> int:
    """Generation 1 + 1 + 2 + 0 + 0 = 4; returns the slot to toggle."""
    vm.create_memslot(3, 0x600000, vm.allocate(PAGE))
    vm.create_memslot(4, 0x610000, vm.allocate(PAGE))
    vm.move_memslot(4, 0x620000)
    with pytest.raises(FileExistsError):
        vm.create_memslot(5, 0x600000, vm.allocate(PAGE))
    with pytest.raises(OSError) as missing:
        vm.delete_memslot(6)
    assert missing.value.errno == errno.EINVAL
    return 3


@pytest.mark.slow
def test_the_wrap_zap_comes_after_two_to_the_19_minus_the_prefix_updates(
    kvm_available, tracefs_available
):
    reported = []
    measured = measure_generation_wrap(
        _create_move_and_fail, progress=reported.append, progress_every=1 << 17
    )
    assert measured.prefix_zaps == 1  # the move zapped everything
    assert measured.updates_until_wrap == 2**19 - 4
    assert reported == [1 << 17, 2 << 17, 3 << 17]


def test_the_count_stops_at_the_cap(kvm_available, tracefs_available):
    def create(vm) -> int:
        vm.create_memslot(3, 0x600000, vm.allocate(PAGE))
        return 3

    measured = measure_generation_wrap(create, cap=1000)
    assert (measured.prefix_zaps, measured.updates_until_wrap) == (0, None)
