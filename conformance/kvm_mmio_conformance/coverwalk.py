"""Walks through a state graph that, together, take at least one edge of every class.

Why: the vectors of the model levels come from "paths covering every edge" of the reference's
state graph: at the steps level every edge of a small model, at the operations level every class
of whole operation (opgraph.coverage_key). A case is one such walk from the initial state, so a
good cover has few, long walks. The graph is explored breadth first from the initial node (node
0); each walk repeatedly goes, by a shortest path, to the nearest edge of a class not yet taken,
until it has `length` edges or no class left is reachable from where it stands; the next walk
starts again at node 0. Everything is in insertion order, so the same graph gives the same walks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import attrs

__all__ = ["Graph", "cover_walks", "explore_graph"]

Edge = tuple[int, int]  # (source node, index of the edge among the source's edges)


@attrs.define
class Graph:
    """Nodes (by number, each with the value it stands for) and, for each node, its labelled
    edges in a fixed order: (label, target node)."""

    values: list[Any]
    edges: list[list[tuple[Any, int]]]

    def target(self, edge: Edge) -> int:
        return self.edges[edge[0]][edge[1]][1]

    def label(self, edge: Edge) -> Any:
        return self.edges[edge[0]][edge[1]][0]

    @property
    def edge_count(self) -> int:
        return sum(len(out) for out in self.edges)


def explore_graph(
    initial: Any,
    successors: Callable[[Any], Iterable[tuple[Any, Any]]],
    key: Callable[[Any], Hashable] = lambda value: value,
    *,
    limit: int = 200_000,
) -> Graph:
    """Every node reachable from `initial`: `successors(value)` gives (label, next value) pairs,
    `key(value)` identifies a node (values with the same key are the same node: the first one
    found stands for it). RuntimeError past `limit` nodes (a graph that is not finite)."""
    number = {key(initial): 0}
    graph = Graph([initial], [])
    while len(graph.edges) < len(graph.values):
        out = []
        for label, after in successors(graph.values[len(graph.edges)]):
            k = key(after)
            if k not in number:
                if len(graph.values) >= limit:
                    raise RuntimeError(f"more than {limit} nodes: is the graph finite?")
                number[k] = len(graph.values)
                graph.values.append(after)
            out.append((label, number[k]))
        graph.edges.append(out)
    return graph


def _nearest(graph: Graph, start: int, wanted: Callable[[Edge], bool]) -> list[Edge] | None:
    """A shortest path from `start` whose last edge is wanted (None if none is reachable)."""
    previous: dict[int, Edge | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for index, (_, target) in enumerate(graph.edges[node]):
            edge = (node, index)
            if wanted(edge):
                path = [edge]
                while (back := previous[path[-1][0]]) is not None:
                    path.append(back)
                return path[::-1]
            if target not in previous:
                previous[target] = edge
                queue.append(target)
    return None


def cover_walks(
    graph: Graph, edge_class: Callable[[Edge], Hashable | None], *, length: int
) -> list[list[Edge]]:
    """Walks from node 0 that together take an edge of every class (`edge_class` None: an edge
    that needs no covering); a walk stops once it has `length` edges or nothing it still needs
    is reachable from where it stands."""
    classes = {
        (node, index): edge_class((node, index))
        for node, out in enumerate(graph.edges)
        for index in range(len(out))
    }
    uncovered = dict.fromkeys(c for c in classes.values() if c is not None)
    walks: list[list[Edge]] = []
    while uncovered:
        here, walk = 0, []
        while len(walk) < length:
            path = _nearest(graph, here, lambda edge: classes[edge] in uncovered)
            if path is None:
                break
            for edge in path:
                uncovered.pop(classes[edge], None)
            walk += path
            here = graph.target(path[-1])
        if not walk:
            raise AssertionError(f"{len(uncovered)} edge classes are unreachable from node 0")
        walks.append(walk)
    return walks
