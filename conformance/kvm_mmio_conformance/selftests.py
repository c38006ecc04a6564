"""The kernel's own selftest of memslot updates, as scenarios of both model levels.

Why: tools/testing/selftests/kvm/set_memory_region_test.c is how the kernel states the user
contract (shared/KERNEL_FACTS.md section 9), so its two scenarios belong in the vectors, in the
kernel's words: the guest reads a page whose memslot the host moves away and back (every read
returns memory, or exits as MMIO while the slot is away; after the move completes, reads return
memory again), and deletes and re-creates (after the delete the guest reads MMIO, after the
re-create memory). No code of the selftest is used: the scenarios are rebuilt from that
description on the spec's gfns (gfn 1 holds the slot, gfn 2 is where it moves).

- `operations(...)`: the scenarios as whole operations, each read taken twice so that the
  second one shows what the first left cached;
- `spinning_reader(...)`: the same host operations at the steps level, with a vCPU that reads
  in a loop while they run: reader and updater take turns, one step each, the reader starting
  `offset` steps ahead, so that successive offsets put its reads at successive points of the
  operation (a turn whose step is not enabled passes to the other side).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kvm_mmio.actions import updater_step, vcpu_step
from kvm_mmio.config import Constants
from kvm_mmio.vm import Vm
from kvm_mmio_conformance.model_wire import access_operation, memslot_operation

__all__ = ["SCENARIOS", "operations", "spinning_reader"]

SLOT, AWAY = 1, 2
# scenario -> the host's memslot operations (kind, gfn, to), in order
SCENARIOS: dict[str, tuple[tuple[str, int, int], ...]] = {
    "delete": (("delete", SLOT, 0), ("create", SLOT, 0)),
    "move": (("move", SLOT, AWAY), ("move", AWAY, SLOT)),
}
STEP_LIMIT = 400


def operations(
    scenario: str, vcpus: Sequence[str], mode: str, *, a: int = 0
) -> list[dict[str, Any]]:
    """The scenario as whole operations: every vCPU reads (twice) the gfns of the scenario
    before, between and after the host's operations, in AS `a`."""
    gfns = (SLOT,) if scenario == "delete" else (SLOT, AWAY)
    reads = [access_operation(v, g, mode) for g in gfns for v in vcpus for _ in range(2)]
    ops = list(reads)
    for kind, g, to in SCENARIOS[scenario]:
        ops.append(memslot_operation(kind, a, g, to))
        ops += reads
    return ops


def spinning_reader(
    consts: Constants, scenario: str, v: str, mode: str, offset: int
) -> list[tuple[str, dict[str, Any]]]:
    """The steps of the scenario with vCPU v reading gfn SLOT in a loop (mode `mode`) while the
    host runs its operations, reader and updater taking turns after the reader's `offset`
    first steps; the reader's last read ends after the host's last step."""
    vm = Vm(consts)
    host = list(SCENARIOS[scenario])
    steps: list[tuple[str, dict[str, Any]]] = []
    i = consts.vcpu_index(v)

    def take(name: str, params: dict[str, Any]) -> None:
        vm.step(name, **params)
        steps.append((name, params))

    def reader() -> bool:
        pc = vm.state.pc[i]
        if pc == "Idle":
            if not host and vm.state.upd.phase == "idle":
                return False
            take("BeginAccess", {"v": v, "g": SLOT, "m": mode})
            return True
        found = vcpu_step(consts, vm.state, v)
        if found is None:
            return False  # waiting, e.g. for mmu_lock while a zap waits for it (ZapWaiting)
        take(found[0], {"v": v})
        return True

    def updater() -> bool:
        if vm.state.upd.phase == "idle":
            if not host:
                return False
            kind, g, to = host.pop(0)
            take("Publish", {"a": 0, "c": {"kind": kind, "gfn": g, "to": to}})
            return True
        found = updater_step(consts, vm.state)
        if found is None:
            return False
        name = found[0]
        change = vm.state.upd.change
        params = (
            {"a": vm.state.upd.as_, "c": {"kind": change.kind, "gfn": change.gfn, "to": change.to}}
            if name == "Publish"
            else {}
        )
        take(name, params)
        return True

    for _ in range(offset):
        reader()
    turn = 0
    while len(steps) < STEP_LIMIT:
        first, second = (updater, reader) if turn % 2 == 0 else (reader, updater)
        if not first() and not second():
            break
        turn += 1
    if vm.state.pc[i] != "Idle" or host or vm.state.upd.phase != "idle":
        raise AssertionError(f"{scenario} with offset {offset} did not finish")
    return steps
