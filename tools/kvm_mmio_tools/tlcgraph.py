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

import functools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs

from kvm_mmio_tools.tlavalue import Value, parse_state

__all__ = [
    "DotEdge",
    "DotNode",
    "StateGraph",
    "check_declared",
    "iter_dot",
    "read_state_graph",
    "unescape_label",
]

_STRUCTURE = re.compile(r'strict digraph |nodesep=|subgraph |color="white";|\{rank = same;|\}$')
_ESCAPE = re.compile(r"\\(.)")
_LABEL = ' [label="'
_NODE_ENDS = (('",style = filled]', True), ('"];', False), ('"]', False))


@attrs.frozen(slots=True)
class DotNode:
    """A state: its fingerprint, its label as escaped in the file, and whether it is initial."""

    fingerprint: int
    label: str
    initial: bool


@attrs.frozen(slots=True)
class DotEdge:
    """A transition: (source fingerprint, action name, target fingerprint)."""

    source: int
    action: str
    target: int


@attrs.frozen
class StateGraph:
    """States by fingerprint, the initial fingerprints, and (source, action name, target) edges."""

    states: dict[int, dict[str, Value]]
    initial: set[int]
    edges: set[tuple[int, str, int]]


def unescape_label(text: str) -> str:
    """The text of a quoted dot label: ``\\n`` is a line break, ``\\x`` is ``x``; ValueError on
    an unescaped quote (a label that the fast line reader did not check)."""
    if '"' in _ESCAPE.sub("", text):
        raise ValueError("an unescaped quote in a label")
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda match: "\n" if match[1] == "n" else match[1], text)


def _fingerprint(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a fingerprint") from None


@functools.lru_cache(maxsize=256)
def _action(label: str) -> str:
    return unescape_label(label)


def _parse_line(line: str) -> DotNode | DotEdge | None:
    """One line of the dump, by string operations rather than one big regex: a label is a whole
    state (a kilobyte and more), and a regex over it character by character is what made reading
    a million-state dump slow.  The label is checked when it is unescaped (unescape_label)."""
    head, found, rest = line.partition(_LABEL)
    if not found:
        if line and not _STRUCTURE.match(line):
            raise ValueError("not a node, an edge or graph structure")
        return None
    source, arrow, target = head.partition(" -> ")
    if arrow:
        label, _, tail = rest.partition('"')
        if tail not in ("]", "];") and not (tail[:1] == "," and tail.endswith(("]", "];"))):
            raise ValueError("an edge must end with its attributes and ']'")
        return DotEdge(_fingerprint(source), _action(label), _fingerprint(target))
    for end, initial in _NODE_ENDS:
        if rest.endswith(end):
            return DotNode(_fingerprint(head), rest[: -len(end)], initial)
    raise ValueError("a node must end with '\"]', '\"];' or ',style = filled]'")


def iter_dot(path: str | Path) -> Iterator[DotNode | DotEdge]:
    """The nodes and edges of a ``-dump dot,actionlabels`` file in file order, labels unparsed;
    ValueError naming the line if anything is odd."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                item = _parse_line(line.rstrip("\n"))
            except ValueError as error:
                raise ValueError(f"{path}:{number}: {error}: {line[:80]!r}") from None
            if item is not None:
                yield item


def read_state_graph(path: str | Path) -> StateGraph:
    """Parse a ``-dump dot,actionlabels`` file with every label read as TLA+ values; ValueError
    naming the line if anything is odd.  (A million-state graph is keyed without this, see
    kvm_mmio_tools.stategraph.)"""
    states: dict[int, dict[str, Value]] = {}
    initial: set[int] = set()
    edges: set[tuple[int, str, int]] = set()
    for item in iter_dot(path):
        if isinstance(item, DotEdge):
            edges.add((item.source, item.action, item.target))
            continue
        try:
            states[item.fingerprint] = parse_state(unescape_label(item.label))
        except ValueError as error:
            raise ValueError(f"{path}: state {item.fingerprint}: {error}") from None
        if item.initial:
            initial.add(item.fingerprint)
    check_declared(path, states.keys(), ((s, t) for s, _, t in edges))
    return StateGraph(states=states, initial=initial, edges=edges)


def check_declared(
    path: str | Path, declared: Iterable[int], pairs: Iterable[tuple[int, int]]
) -> None:
    """Every edge ends at declared states, else the file was cut short."""
    dangling = {fp for pair in pairs for fp in pair} - set(declared)
    if dangling:
        raise ValueError(f"{path}: edges reach {len(dangling)} undeclared states (truncated file?)")
