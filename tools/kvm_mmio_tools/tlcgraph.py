"""Read the state graph TLC writes with ``-dump dot,actionlabels FILE``.

Why: the cross-check proves that TLC's reachable graph equals the reference's; TLC's own dump is the
only complete record of its edges (``-dump FILE`` without ``dot`` has states only).

The file, as TLC 2.15 writes it (one item per line)::

    -4553356122611326139 [label="/\\\\ x = 0\\n/\\\\ y = \\"a\\"",style = filled]
    -4553356122611326139 -> 568834581141209576 [label="Step",color="black",fontcolor="black"];

Nodes are fingerprints (signed 64-bit); a label is the state as TLC prints it, with ``\\`` and
``"`` backslash-escaped and line breaks written ``\\n``; initial states carry ``style = filled``;
an edge is labelled with the action's operator name only (no parameters; an unnamed disjunct of
Next is labelled ``Next``), self-loops included.  Fingerprints change from run to run (TLC picks a
random polynomial), so compare graphs by state values.  With SYMMETRY, edges point to
representatives; the file is complete only when the run completed.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from kvm_mmio_tools.tlavalue import Value, parse_state

__all__ = ["StateGraph", "read_state_graph", "unescape_label"]

_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_NODE = re.compile(rf"(-?\d+) \[label={_QUOTED}(,style = filled)?\];?")
_EDGE = re.compile(rf"(-?\d+) -> (-?\d+) \[label={_QUOTED}(?:,[^\]]*)?\];")
_STRUCTURE = re.compile(r'strict digraph |nodesep=|subgraph |color="white";|\{rank = same;|\}$')
_ESCAPE = re.compile(r"\\(.)")


@attrs.frozen
class StateGraph:
    """States by fingerprint, the initial fingerprints, and (source, action name, target) edges."""

    states: dict[int, dict[str, Value]]
    initial: set[int]
    edges: set[tuple[int, str, int]]


def unescape_label(text: str) -> str:
    """The text of a quoted dot label: ``\\n`` is a line break, ``\\x`` is ``x``."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda match: "\n" if match[1] == "n" else match[1], text)


def read_state_graph(path: str | Path) -> StateGraph:
    """Parse a ``-dump dot,actionlabels`` file; ValueError naming the line if anything is odd."""
    states: dict[int, dict[str, Value]] = {}
    initial: set[int] = set()
    edges: set[tuple[int, str, int]] = set()
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            line = line.rstrip("\n")
            try:
                if edge := _EDGE.fullmatch(line):
                    edges.add((int(edge[1]), unescape_label(edge[3]), int(edge[2])))
                elif node := _NODE.fullmatch(line):
                    fingerprint = int(node[1])
                    states[fingerprint] = parse_state(unescape_label(node[2]))
                    if node[3]:
                        initial.add(fingerprint)
                elif line and not _STRUCTURE.match(line):
                    raise ValueError("not a node, an edge or graph structure")
            except ValueError as error:
                raise ValueError(f"{path}:{number}: {error}: {line[:80]!r}") from None
    dangling = {fp for source, _, target in edges for fp in (source, target)} - states.keys()
    if dangling:
        raise ValueError(f"{path}: edges reach {len(dangling)} undeclared states (truncated file?)")
    return StateGraph(states=states, initial=initial, edges=edges)
