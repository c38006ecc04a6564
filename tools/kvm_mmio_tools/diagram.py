"""A trace as a sequence diagram: one lane for the updater and one per vCPU, one row per step.

Why: a counterexample of this spec is an interleaving, and the thing to see is who moved when —
the updater's Publish / SyncSrcu / RunHook / StoreGen between a vCPU's cache check and its fill.
A table of steps (kvm-mmio check) says it all but hides the interleaving; here each step is a box
in its actor's lane, with the variables it changed beside it (down to the changed function entry
or record field), and the violated invariant under the last state. The page is one self-contained
HTML file with an inline SVG: no script, no external resource, readable in any browser or mail.

Input is ITF (what the reference writes, what TLC traces become in kvm_mmio_tools.itf). The actor
of a step comes from its parameters (``v``) where the trace has them; a TLC trace has none, so the
vCPU whose per-vCPU variables changed is taken instead.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from kvm_mmio.actions import UPDATER_STEPS
from kvm_mmio.trace import itf_changes, itf_text

__all__ = ["PER_VCPU", "UPDATER", "actor", "sequence_diagram"]

UPDATER = "updater"
# Variables indexed by vCPU (kvm_mmio.state): a vCPU step changes some of them, and only its own.
PER_VCPU = ("cache", "dec", "pc", "acc", "mode", "inCS", "saw", "out", "path")

_ROW, _LANE, _LEFT, _TOP, _BOX_HEIGHT = 16, 150, 44, 56, 20
_CHAR_WIDTH = 7.3  # of a 12 px monospace character
_FONT = "font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px"


def _function(value: Any) -> dict[str, Any]:
    """An ITF function by the text of its keys (empty for anything else)."""
    if isinstance(value, dict) and "#map" in value:
        return {str(key): item for key, item in value["#map"]}
    return {}


def _changed_vcpus(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The vCPUs whose entry of some per-vCPU variable differs between the two states."""
    changed: set[str] = set()
    for name in PER_VCPU:
        old, new = _function(before.get(name)), _function(after.get(name))
        changed |= {vcpu for vcpu, item in new.items() if vcpu in old and old[vcpu] != item}
    return sorted(changed)


def actor(meta: Mapping[str, Any], before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """Who took a step: the updater, or the vCPU named by its parameters or seen changing."""
    action = meta.get("action")
    params = meta.get("params") or {}
    if action in UPDATER_STEPS:
        return UPDATER
    if "v" in params:
        return str(params["v"])
    changed = _changed_vcpus(before, after)
    return changed[0] if changed else UPDATER


def _parameters(meta: Mapping[str, Any], names: frozenset[str]) -> str | None:
    """A step's parameters but the vCPU (its lane says it): ``(g = 2, m = "native")``."""
    params = meta.get("params") or {}
    given = [f"{name} = {itf_text(value, names)}" for name, value in params.items() if name != "v"]
    return f"({', '.join(given)})" if given else None


def _lanes(document: Mapping[str, Any]) -> list[str]:
    """The updater, then the vCPUs: the domain of ``pc`` in the first state."""
    pc = document["states"][0].get("pc")
    if not isinstance(pc, dict) or "#map" not in pc:
        raise ValueError("its first state has no function pc, whose domain gives the vCPU lanes")
    return [UPDATER, *(str(key) for key, _ in pc["#map"])]


def _values(state: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in state.items() if name != "#meta"}


def sequence_diagram(document: Mapping[str, Any]) -> str:
    """The HTML page of an ITF trace's sequence diagram (``#meta.invariant``, when present, is
    shown as violated by the last state)."""
    states = document.get("states") or []
    if not states:
        raise ValueError("the trace has no states")
    variables = list(document.get("vars") or _values(states[0]))
    lanes = _lanes(document)
    names = frozenset(lanes[1:])
    meta = document.get("#meta", {})
    title = meta.get("description") or meta.get("model") or "trace"
    x_of = {lane: _LEFT + _LANE * index + _LANE // 2 for index, lane in enumerate(lanes)}
    text_x = _LEFT + _LANE * len(lanes) + 8
    parts: list[str] = []
    y = _TOP
    previous: Mapping[str, Any] = {}
    longest = 40  # characters of the longest line of changes
    for index, state in enumerate(states):
        values = _values(state)
        step = state.get("#meta", {})
        who = actor(step, previous, values) if index else UPDATER
        given = _parameters(step, names) if index else None
        changes = [
            f"{place} = {value}" for place, value in itf_changes(previous, values, variables, names)
        ]
        label = (step.get("action") or "?") if index else "Init"
        parts.append(_step(index, label, x_of[who], y, given, changes, text_x))
        rows = len(changes) + (given is not None)
        y += max(_BOX_HEIGHT + 8, _ROW * rows + 8)
        previous = values
        longest = max(longest, *map(len, changes), len(given or ""))
    invariant = meta.get("invariant")
    if invariant:
        parts.append(
            f'<text x="{text_x}" y="{y + 14}" fill="#b00020" style="{_FONT};font-weight:bold">'
            f"the last state violates {html.escape(invariant)}</text>"
        )
        y += 24
    width = text_x + int(_CHAR_WIDTH * longest) + 16
    heads = [
        f'<line x1="{x}" y1="{_TOP - 8}" x2="{x}" y2="{y}" stroke="#bbb" stroke-dasharray="4 3"/>'
        f'<text x="{x}" y="{_TOP - 16}" text-anchor="middle" style="{_FONT};font-weight:bold">'
        f"{html.escape(lane)}</text>"
        for lane, x in x_of.items()
    ]
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 16}" '
        f'viewBox="0 0 {width} {y + 16}" role="img" aria-label="{html.escape(title)}">'
        + "".join(heads)
        + "".join(parts)
        + "</svg>"
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        f'<body style="margin:16px"><h1 style="font:16px sans-serif">{html.escape(title)}</h1>\n'
        f"{svg}\n</body></html>\n"
    )


def _step(
    index: int,
    label: str,
    x: int,
    y: int,
    given: str | None,
    changes: Sequence[str],
    text_x: int,
) -> str:
    """One row: the step number, the action's box in its lane, to the right its parameters
    (grey) and then the changes."""
    box_width = max(60, 8 * len(label) + 12)
    lines = [
        f'<text x="8" y="{y + 14}" fill="#666" style="{_FONT}">{index}</text>',
        f'<rect x="{x - box_width // 2}" y="{y}" width="{box_width}" height="{_BOX_HEIGHT}" '
        f'rx="4" fill="#e8f0fe" stroke="#3367d6"/>',
        f'<text x="{x}" y="{y + 14}" text-anchor="middle" style="{_FONT}">'
        f"{html.escape(label)}</text>",
    ]
    shown = [(given, ' fill="#666"')] if given is not None else []
    shown += [(text, "") for text in changes]
    for k, (text, colour) in enumerate(shown):
        lines.append(
            f'<text x="{text_x}" y="{y + 14 + _ROW * k}"{colour} style="{_FONT}">'
            f"{html.escape(text)}</text>"
        )
    return "".join(lines)
