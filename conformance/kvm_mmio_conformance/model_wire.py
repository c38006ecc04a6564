"""The model levels' messages on a kvm_mmio.vm.Vm: operations, observations, actions, enabled sets.

Why one module: the reference adapter answers these messages and the generators compute the
answers they expect with the very same functions, so that "the reference passes its own vectors"
tests the wire format and not two copies of it. The formats are conformance/README.md's:

- an operation is {"kind": "create"|"delete"|"flags", "as": a, "gfn": g}, a move adds "to",
  a flags change may add "repeat": n (n flags-only changes in a row, repeat.py), and an access
  is {"kind": "access", "vcpu": v, "gfn": g, "mode": m};
- an access is observed as {"outcome", "path"}, a memslot operation as {"generation"}: the
  kernel's 64-bit value of its address space afterwards, a hex string;
- an action is {"name": TLA+ name, "params": {...}} with the parameters of ITF's #meta.params.
"""

from __future__ import annotations

from typing import Any

from kvm_mmio.config import KINDS
from kvm_mmio.vm import Vm
from kvm_mmio_conformance.repeat import repeat_flags

__all__ = [
    "access_operation",
    "action",
    "enabled_actions",
    "memslot_operation",
    "perform",
    "take_step",
]

_MEMSLOT_KEYS = {"kind", "as", "gfn"}
_ACCESS_KEYS = {"kind", "vcpu", "gfn", "mode"}


def access_operation(v: str, g: int, m: str) -> dict[str, Any]:
    """The wire form of one whole access by vCPU v to gfn g in mode m."""
    return {"kind": "access", "vcpu": v, "gfn": g, "mode": m}


def memslot_operation(kind: str, a: int, g: int, to: int = 0) -> dict[str, Any]:
    """The wire form of one whole memslot operation ("to" only for a move)."""
    op: dict[str, Any] = {"kind": kind, "as": a, "gfn": g}
    if kind == "move":
        op["to"] = to
    return op


def action(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The wire form of one action instance (params as kvm_mmio.actions.successors gives them)."""
    return {"name": name, "params": dict(params)}


def enabled_actions(vm: Vm) -> list[dict[str, Any]]:
    """Every action instance enabled in the VM's state, in Next's order."""
    return [action(name, params) for name, params in vm.enabled()]


def _integer(field: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{field}: expected an integer, got {value!r}")
    return value


def perform(vm: Vm, operation: Any) -> dict[str, Any]:
    """Run one whole operation on the VM and return its observation. A malformed operation, or
    one the spec does not enable now (a create over a slot, an operation past MaxUpdates), is a
    ValueError; the VM is then unchanged."""
    state, steps = vm.state, len(vm.history)
    try:
        return _perform(vm, operation)
    except ValueError:
        vm.state = state
        del vm.history[steps:]
        raise


def _perform(vm: Vm, operation: Any) -> dict[str, Any]:
    if not isinstance(operation, dict):
        raise ValueError(f"operation: expected an object, got {operation!r}")
    kind = operation.get("kind")
    if kind == "access":
        if set(operation) != _ACCESS_KEYS:
            raise ValueError(f"access: expected exactly the keys {sorted(_ACCESS_KEYS)}")
        observation = vm.access(
            operation["vcpu"], _integer("gfn", operation["gfn"]), operation["mode"]
        )
        return {"outcome": observation.outcome, "path": observation.path}
    if kind not in KINDS:
        raise ValueError(f"kind: expected access or one of {', '.join(KINDS)}, got {kind!r}")
    expected = _MEMSLOT_KEYS | ({"to"} if kind == "move" else set())
    if kind == "flags" and "repeat" in operation:
        expected = expected | {"repeat"}
    if set(operation) != expected:
        raise ValueError(f"{kind}: expected exactly the keys {sorted(expected)}")
    a = _integer("as", operation["as"])
    if a not in vm.constants.ases:
        raise ValueError(f"as: must be one of {list(vm.constants.ases)}, got {a}")
    g = _integer("gfn", operation["gfn"])
    if "repeat" in operation:
        return {"generation": hex(repeat_flags(vm, a, g, operation["repeat"]).generation_after)}
    to = _integer("to", operation["to"]) if kind == "move" else 0
    return {"generation": hex(vm.memslot(kind, g, to, a).generation_after)}


def take_step(vm: Vm, wire_action: Any) -> None:
    """Take one step of the spec (ValueError, nothing changed, if malformed or not enabled)."""
    if not isinstance(wire_action, dict) or set(wire_action) != {"name", "params"}:
        raise ValueError(f'action: expected {{"name", "params"}}, got {wire_action!r}')
    params = wire_action["params"]
    if not isinstance(params, dict):
        raise ValueError(f"params: expected an object, got {params!r}")
    vm.step(wire_action["name"], **params)
