"""Leads-to under weak fairness, decided on an explicit state graph.

Why: TLC checks OperationsFinish and AccessesFinish (``P ~> Q``) under the spec's ``Fairness``
(weak fairness of each VcpuStep(v) and of UpdaterStep).  On a finite graph, ``P ~> Q`` fails iff
some reachable state satisfies P /\\ ~Q and from it a fair behaviour stays in ~Q for ever, i.e.
it reaches, through ~Q states, either

- a strongly connected component of the ~Q subgraph with an internal edge that admits a fair
  cycle: for every fairness condition, some state of the component where it is disabled, or an
  internal edge that is one of its steps (a cycle through all of them is then fair); or
- a ~Q state where every fairness condition is disabled: the behaviour may stutter there for
  ever (the spec's steps all change the state, so a self-loop is always stuttering).

States are integers 0..n-1; an edge is (source, target, label), the label naming the fairness
condition the step belongs to, or None; a condition is enabled in a state iff some edge from it
carries its label (every step of the spec changes the state, so ENABLED <A>_vars is ENABLED A).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence

import attrs

__all__ = ["FairLasso", "find_fair_lasso", "strongly_connected_components"]

Edge = tuple[int, int, Hashable]


@attrs.frozen
class FairLasso:
    """A fair behaviour that violates ``P ~> Q``: from ``source`` (P /\\ ~Q) along ``stem`` (the
    states after source, all ~Q) to its end (``stem[-1]``, or ``source`` for an empty stem), then
    round ``cycle`` for ever (the states after the end, the last one being the end again); an
    empty cycle means stuttering at the end for ever."""

    source: int
    stem: tuple[int, ...]
    cycle: tuple[int, ...]


def strongly_connected_components(
    n: int, successors: Sequence[Sequence[int]], members: Sequence[bool]
) -> list[list[int]]:
    """Tarjan's algorithm (iterative) on the subgraph induced by the states with ``members``."""
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(n):
        if not members[root] or index[root] >= 0:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            node, position = work[-1]
            targets = successors[node]
            while position < len(targets) and (
                not members[targets[position]] or index[targets[position]] >= 0
            ):
                target = targets[position]
                if members[target] and on_stack[target]:
                    low[node] = min(low[node], index[target])
                position += 1
            if position < len(targets):
                target = targets[position]
                work[-1] = (node, position + 1)
                index[target] = low[target] = counter
                counter += 1
                stack.append(target)
                on_stack[target] = True
                work.append((target, 0))
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _path(
    start: int,
    goals: set[int],
    successors: Sequence[Sequence[int]],
    allowed: Callable[[int], bool],
) -> list[int]:
    """The states after ``start`` on a shortest path to one of ``goals`` (through ``allowed``)."""
    if start in goals:
        return []
    parent = {start: start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in successors[node]:
            if allowed(target) and target not in parent:
                parent[target] = node
                if target in goals:
                    path = [target]
                    while parent[path[-1]] != start:
                        path.append(parent[path[-1]])
                    return path[::-1]
                queue.append(target)
    raise ValueError(f"no path from {start} to {sorted(goals)[:5]}")


def _reaching(
    goals: set[int], successors: Sequence[Sequence[int]], not_q: Sequence[bool]
) -> set[int]:
    """The ~Q states from which a path through ~Q states reaches ``goals``."""
    predecessors: list[list[int]] = [[] for _ in successors]
    for source, targets in enumerate(successors):
        if not_q[source]:
            for target in targets:
                predecessors[target].append(source)
    found = set(goals)
    queue = deque(goals)
    while queue:
        for source in predecessors[queue.popleft()]:
            if source not in found:
                found.add(source)
                queue.append(source)
    return found


def _fair_cycle(
    entry: int,
    witnesses: list[tuple[int, int | None]],
    successors: Sequence[Sequence[int]],
    inside: Callable[[int], bool],
) -> tuple[int, ...]:
    """A cycle from ``entry`` through every witness (a state, or an edge as (source, target)) and
    back, inside one component: the states after ``entry``, the last one being ``entry``."""
    cycle: list[int] = []
    here = entry
    for source, target in witnesses:
        cycle += _path(here, {source}, successors, inside)
        here = source
        if target is not None:
            cycle.append(target)
            here = target
    if not cycle:
        here = next(t for t in successors[entry] if inside(t))
        cycle.append(here)
    cycle += _path(here, {entry}, successors, inside)
    return tuple(cycle)


def find_fair_lasso(
    n: int,
    edges: Iterable[Edge],
    not_q: Sequence[bool],
    sources: Iterable[int],
    conditions: Iterable[Hashable],
) -> FairLasso | None:
    """A fair behaviour from one of ``sources`` (the reachable P /\\ ~Q states) that stays in the
    ~Q states for ever, or None if there is none (then ``P ~> Q`` holds)."""
    conditions = frozenset(conditions)
    successors: list[list[int]] = [[] for _ in range(n)]
    outgoing: list[list[tuple[int, Hashable]]] = [[] for _ in range(n)]
    enabled: list[set[Hashable]] = [set() for _ in range(n)]
    for source, target, label in edges:
        successors[source].append(target)
        outgoing[source].append((target, label))
        if label is not None:
            enabled[source].add(label)
    stutters = {s for s in range(n) if not_q[s] and not enabled[s] & conditions}
    component_of = [-1] * n
    components = strongly_connected_components(n, successors, not_q)
    for number, component in enumerate(components):
        for member in component:
            component_of[member] = number
    fair: dict[int, list[tuple[int, int | None]]] = {}
    for number, component in enumerate(components):
        internal = [
            (s, t, label)
            for s in component
            for t, label in outgoing[s]
            if component_of[t] == number
        ]
        if not internal:
            continue
        witnesses: list[tuple[int, int | None]] = []
        for condition in sorted(conditions, key=str):
            disabled = next((s for s in component if condition not in enabled[s]), None)
            taken = next(((s, t) for s, t, label in internal if label == condition), None)
            if disabled is None and taken is None:
                break
            witnesses.append((disabled, None) if disabled is not None else taken)
        else:
            for member in component:
                fair[member] = witnesses
    goals = stutters | set(fair)
    doomed = _reaching(goals, successors, not_q)
    for source in sources:
        if source not in doomed:
            continue
        stem = _path(source, goals, successors, not_q.__getitem__)
        end = stem[-1] if stem else source
        if end in stutters:
            return FairLasso(source, tuple(stem), ())
        inside = [number == component_of[end] for number in component_of]
        cycle = _fair_cycle(end, fair[end], successors, inside.__getitem__)
        return FairLasso(source, tuple(stem), cycle)
    return None
