"""Counterexamples as people read them: each step, its action, and only the variables (down to
the changed entry of a function or field of a record) that the step changed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from kvm_mmio_tools.models import spec_variables
from kvm_mmio_tools.tlavalue import Function, Record, Value, format_value
from kvm_mmio_tools.tlc import StepKind, TraceState

__all__ = ["changes", "counterexample_json", "render_counterexample"]


def _entries(value: Value) -> Mapping | None:
    """The entries of a function-like value (record, function, tuple read as 1..n), else None."""
    if isinstance(value, Record | Function):
        return value
    if isinstance(value, tuple):
        return {index: item for index, item in enumerate(value, start=1)}
    return None


def _key_text(owner: Value, key: Value) -> str:
    return f".{key}" if isinstance(owner, Record) else f"[{format_value(key)}]"


def _diff(path: str, old: Value, new: Value) -> Iterator[tuple[str, Value, Value]]:
    if old == new:
        return
    old_entries, new_entries = _entries(old), _entries(new)
    if (
        old_entries is not None
        and new_entries is not None
        and type(old) is type(new)
        and old_entries.keys() == new_entries.keys()
    ):
        for key in old_entries:
            yield from _diff(path + _key_text(old, key), old_entries[key], new_entries[key])
    else:
        yield path, old, new


def changes(
    before: Mapping[str, Value], after: Mapping[str, Value], order: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """(place, new value as TLA+ text) for every leaf that differs, variables in ``order`` first."""
    found = []
    rank = {name: index for index, name in enumerate(order)}
    for name in sorted(after, key=lambda n: rank.get(n, len(rank))):
        value = after[name]
        if name in before:
            diff = _diff(name, before[name], value)
            found += [(place, format_value(new)) for place, _, new in diff]
        else:
            found.append((name, format_value(value)))
    return found


def _steps(trace: Sequence[TraceState]) -> Iterator[tuple[TraceState, list[tuple[str, str]]]]:
    order = spec_variables()
    previous: Mapping[str, Value] = {}
    for state in trace:
        if state.kind is StepKind.STATE:
            yield state, changes(previous, state.variables, order)
            previous = state.variables
        else:
            yield state, []


def render_counterexample(invariant: str, trace: Sequence[TraceState]) -> str:
    """A plain-text table: step, action, then one line per changed place."""
    lines = [f"counterexample for {invariant} ({len(trace)} states):"]
    width = max((len(place) for _, found in _steps(trace) for place, _ in found), default=0)
    for state, found in _steps(trace):
        if state.kind is StepKind.STUTTERING:
            lines.append(f"  {state.index:>3}  (stutters for ever)")
            continue
        if state.kind is StepKind.BACK_TO_STATE:
            lines.append(f"  {state.index:>3}  (back to state {state.back_to}: a cycle)")
            continue
        lines.append(f"  {state.index:>3}  {state.action or 'Init'}")
        lines += [f"         {place:<{width}}  {text}" for place, text in found]
    return "\n".join(lines)


def counterexample_json(trace: Sequence[TraceState]) -> list[dict]:
    """The trace for --json: each step's action, changed places and full state as TLA+ text."""
    return [
        {
            "step": state.index,
            "kind": state.kind.value,
            "action": state.action,
            "changes": dict(found),
            "state": {name: format_value(value) for name, value in state.variables.items()},
        }
        for state, found in _steps(trace)
    ]
