"""State graphs keyed by state value, so that TLC's graph and the reference's can be compared.

TLC names states by fingerprints that change from run to run, and prints values its own way; the
reference has its own representation.  Both are brought to ITF (kvm_mmio_tools.itf), put in a
canonical form (set elements and map entries sorted by their canonical JSON), and hashed: two states
are the same iff their canonical ITF texts are equal.  The canonical text of each state is kept, so
that a difference can be shown readably.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from kvm_mmio_tools.check import JAVA_OPTS
from kvm_mmio_tools.errors import ToolError
from kvm_mmio_tools.itf import tla_to_itf
from kvm_mmio_tools.models import Model, spec_dir, with_checks
from kvm_mmio_tools.tlc import Outcome, run_tlc
from kvm_mmio_tools.tlcgraph import read_state_graph

__all__ = ["GraphDiff", "KeyedGraph", "canonical", "compare_graphs", "keyed_graph", "tlc_graph"]

Edge = tuple[bytes, str, bytes]


def canonical(value: Any) -> Any:
    """An ITF value with every set and map in a canonical order (records keep their fields)."""
    if isinstance(value, dict):
        if "#set" in value:
            items = [canonical(item) for item in value["#set"]]
            return {"#set": sorted(items, key=_text)}
        if "#map" in value:
            pairs = [[canonical(k), canonical(v)] for k, v in value["#map"]]
            return {"#map": sorted(pairs, key=lambda pair: _text(pair[0]))}
        return {key: canonical(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@attrs.frozen
class KeyedGraph:
    """States by key (with their canonical ITF text), the initial keys, and labelled edges."""

    states: dict[bytes, str]
    initial: frozenset[bytes]
    edges: frozenset[Edge]


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def keyed_graph(
    states: Iterable[dict], initial: Iterable[int], edges: Iterable[tuple[int, str, int]]
) -> KeyedGraph:
    """A graph given as ITF states (by position) and (source, action, target) position triples."""
    texts = [_text(canonical(state)) for state in states]
    keys = [_key(text) for text in texts]
    return KeyedGraph(
        states=dict(zip(keys, texts, strict=True)),
        initial=frozenset(keys[i] for i in initial),
        edges=frozenset((keys[s], action, keys[t]) for s, action, t in edges),
    )


def tlc_graph(
    model: Model,
    *,
    workers: int = 2,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> KeyedGraph:
    """TLC's complete reachable graph of ``model`` (no invariant checked, so nothing stops it)."""
    if model.symmetric:
        raise ToolError(f"{model.name} uses SYMMETRY: TLC's edges then point to representatives")
    folder = Path(tempfile.mkdtemp(prefix="kvm-mmio-graph-"))
    try:
        shutil.copy(spec_dir() / "KvmMmio.tla", folder)
        (folder / "graph.cfg").write_text(with_checks(model.cfg_text, (), ()))
        result = run_tlc(
            folder / "KvmMmio.tla",
            folder / "graph.cfg",
            workers=workers,
            timeout=timeout,
            dump_dot=folder / "graph.dot",
            cancel=cancel,
            # C1 only pays off on small graphs (check.JAVA_OPTS); C2 wins on large ones.
            java_opts=JAVA_OPTS if (model.recorded_states or 0) < 200_000 else JAVA_OPTS[:1],
        )
        if result.outcome is not Outcome.SUCCESS:
            raise ToolError(f"TLC could not dump {model.name}: {result.explanation}")
        graph = read_state_graph(folder / "graph.dot")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    order = {fingerprint: index for index, fingerprint in enumerate(graph.states)}
    itf_states = (
        {name: tla_to_itf(value) for name, value in variables.items()}
        for variables in graph.states.values()
    )
    return keyed_graph(
        itf_states,
        (order[fp] for fp in graph.initial),
        ((order[s], action, order[t]) for s, action, t in graph.edges),
    )


@attrs.frozen
class GraphDiff:
    """What differs between two graphs, with a few examples of each difference as ITF text."""

    equal: bool
    counts: dict[str, int]
    only_in_first: list[str]
    only_in_second: list[str]
    initial_only_in_first: list[str]
    initial_only_in_second: list[str]
    edges_only_in_first: list[tuple[str, str, str]]
    edges_only_in_second: list[tuple[str, str, str]]

    def describe(self, first: str = "TLC", second: str = "reference") -> str:
        if self.equal:
            return (
                f"identical: {self.counts['states']:,} states, {self.counts['edges']:,} edges, "
                f"{self.counts['initial']} initial"
            )
        lines = [f"graphs differ ({', '.join(f'{k} {v:,}' for k, v in self.counts.items())})"]
        for title, items in (
            (f"states only in {first}", self.only_in_first),
            (f"states only in {second}", self.only_in_second),
            (f"initial states only in {first}", self.initial_only_in_first),
            (f"initial states only in {second}", self.initial_only_in_second),
        ):
            lines += [f"  {title}:", *(f"    {text}" for text in items)] if items else []
        for title, edges in (
            (f"edges only in {first}", self.edges_only_in_first),
            (f"edges only in {second}", self.edges_only_in_second),
        ):
            if edges:
                lines.append(f"  {title}:")
                for source, action, target in edges:
                    lines += [
                        f"    {action}:",
                        f"      from {source}",
                        f"      to   {_changes(source, target)}",
                    ]
        return "\n".join(lines)


def _changes(source: str, target: str) -> str:
    """The variables an edge changes, as canonical ITF text (the whole state is one line above)."""
    try:
        before, after = json.loads(source), json.loads(target)
    except ValueError:  # a state only one graph has ("?")
        return target
    changed = {name: value for name, value in after.items() if before.get(name) != value}
    return f"(only what changed) {_text(changed)}" if changed else "(the same state)"


def compare_graphs(first: KeyedGraph, second: KeyedGraph, *, limit: int = 3) -> GraphDiff:
    """Compare two keyed graphs: the same states, initial states and labelled edges."""

    def text(graph: KeyedGraph, key: bytes) -> str:
        return graph.states.get(key, "?")

    def sample(keys: set[bytes], graph: KeyedGraph) -> list[str]:
        return [text(graph, key) for key in sorted(keys)[:limit]]

    def edge_sample(edges: set[Edge], graph: KeyedGraph) -> list[tuple[str, str, str]]:
        # Edges leaving a state both graphs have first: that is where the two diverge.
        shared = first.states.keys() & second.states.keys()
        ordered = sorted(edges, key=lambda edge: (edge[0] not in shared, edge))
        return [(text(graph, s), a, text(graph, t)) for s, a, t in ordered[:limit]]

    states_a, states_b = set(first.states), set(second.states)
    edges_a, edges_b = set(first.edges), set(second.edges)
    counts = {
        "states": len(states_a),
        "states_second": len(states_b),
        "edges": len(edges_a),
        "edges_second": len(edges_b),
        "initial": len(first.initial),
        "initial_second": len(second.initial),
    }
    return GraphDiff(
        equal=states_a == states_b and first.initial == second.initial and edges_a == edges_b,
        counts=counts,
        only_in_first=sample(states_a - states_b, first),
        only_in_second=sample(states_b - states_a, second),
        initial_only_in_first=sample(set(first.initial - second.initial), first),
        initial_only_in_second=sample(set(second.initial - first.initial), second),
        edges_only_in_first=edge_sample(edges_a - edges_b, first),
        edges_only_in_second=edge_sample(edges_b - edges_a, second),
    )
