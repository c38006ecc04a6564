"""State graphs keyed by state value, so that TLC's graph and the reference's can be compared.

TLC names states by fingerprints that change from run to run, and prints values its own way; the
reference has its own representation.  Both are brought to ITF (kvm_mmio_tools.itf), put in a
canonical form (set elements and map entries sorted by their canonical JSON), and written as
canonical JSON text: a state's key is the tuple of its variables' texts, in the spec's variable
order, and two states are the same iff their keys are equal.

Why per variable: a million-state graph has only a few thousand distinct values of each variable,
so each side converts a variable's value once (TLC: its printed text; the reference: its Python
value) and looks every later occurrence up; the strings of a key are shared between states.  The
edges are kept as compact arrays of state numbers and compared as sets of integers.
"""

from __future__ import annotations

import heapq
import json
import shutil
import tempfile
import threading
from array import array
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from kvm_mmio_tools.check import JAVA_OPTS
from kvm_mmio_tools.errors import ToolError
from kvm_mmio_tools.itf import tla_to_itf
from kvm_mmio_tools.models import Model, copy_modules, spec_variables, with_checks
from kvm_mmio_tools.tlavalue import parse_state
from kvm_mmio_tools.tlc import Outcome, Progress, run_tlc
from kvm_mmio_tools.tlcgraph import DotEdge, check_declared, iter_dot, unescape_label

__all__ = [
    "GraphBuilder",
    "GraphDiff",
    "KeyedGraph",
    "TlcLabels",
    "ValueKeys",
    "canonical",
    "compare_graphs",
    "keyed_graph",
    "read_keyed_graph",
    "tlc_graph",
]

StateKey = tuple[str, ...]


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


def value_text(itf_value: Any) -> str:
    """The canonical JSON text of one variable's ITF value (the unit a state key is made of)."""
    return _text(canonical(itf_value))


@attrs.frozen
class KeyedGraph:
    """States by number (each a key: the canonical text of each variable), the initial state
    numbers, and the labelled edges as three parallel arrays (source, action number, target)."""

    variables: tuple[str, ...]
    keys: list[StateKey]
    initial: frozenset[int]
    actions: tuple[str, ...]
    sources: array
    labels: array
    targets: array

    def text(self, number: int) -> str:
        """State ``number`` as one line of canonical ITF JSON."""
        return state_text(self.variables, self.keys[number])

    def edges(self) -> Iterable[tuple[int, str, int]]:
        """(source, action name, target) triples, in the order they were added."""
        names = self.actions
        return zip(self.sources, map(names.__getitem__, self.labels), self.targets, strict=True)


def state_text(variables: Sequence[str], key: StateKey) -> str:
    """A state as one line of JSON: its variables in order, each with its canonical text."""
    pairs = zip(variables, key, strict=True)
    return "{" + ",".join(f"{json.dumps(name)}:{text}" for name, text in pairs) + "}"


class GraphBuilder:
    """Collects states (deduplicated by key) and edges, then freezes them as a KeyedGraph."""

    def __init__(self, variables: Sequence[str]):
        self.variables = tuple(variables)
        self.keys: list[StateKey] = []
        self.numbers: dict[StateKey, int] = {}
        self.initial: set[int] = set()
        self.actions: dict[str, int] = {}
        self.sources, self.labels, self.targets = array("q"), array("H"), array("q")

    def state(self, key: StateKey, *, initial: bool = False) -> int:
        """The number of the state with ``key`` (a new one if it is new)."""
        number = self.numbers.get(key)
        if number is None:
            number = self.numbers[key] = len(self.keys)
            self.keys.append(key)
        if initial:
            self.initial.add(number)
        return number

    def edge(self, source: int, action: str, target: int) -> None:
        label = self.actions.get(action)
        if label is None:
            label = self.actions[action] = len(self.actions)
        self.sources.append(source)
        self.labels.append(label)
        self.targets.append(target)

    def build(self) -> KeyedGraph:
        return KeyedGraph(
            variables=self.variables,
            keys=self.keys,
            initial=frozenset(self.initial),
            actions=tuple(self.actions),
            sources=self.sources,
            labels=self.labels,
            targets=self.targets,
        )


class ValueKeys:
    """State keys from any representation, converting each distinct variable value only once.

    ``parts(state)`` gives the state's values in variable order (hashable); ``to_itf(state)``
    gives the whole state as ITF, called only when one of its values was never seen."""

    def __init__(
        self,
        variables: Sequence[str],
        parts: Callable[[Any], tuple[Hashable, ...]],
        to_itf: Callable[[Any], dict[str, Any]],
    ):
        self.variables = tuple(variables)
        self.parts = parts
        self.to_itf = to_itf
        self.seen: list[dict[Hashable, str]] = [{} for _ in self.variables]

    def key(self, state: Any) -> StateKey:
        parts = self.parts(state)
        key = tuple(map(dict.get, self.seen, parts))
        if None not in key:
            return key  # type: ignore[return-value]
        itf = self.to_itf(state)
        for seen, part, name in zip(self.seen, parts, self.variables, strict=True):
            if part not in seen:
                seen[part] = value_text(itf[name])
        return tuple(seen[part] for seen, part in zip(self.seen, parts, strict=True))


def keyed_graph(
    states: Iterable[dict], initial: Iterable[int], edges: Iterable[tuple[int, str, int]]
) -> KeyedGraph:
    """A graph given as ITF states (by position) and (source, action, target) position triples."""
    states = list(states)
    variables = [name for name in states[0] if name != "#meta"] if states else []
    builder = GraphBuilder(variables)
    numbers = [
        builder.state(tuple(value_text(state[name]) for name in variables)) for state in states
    ]
    for position in initial:
        builder.initial.add(numbers[position])
    for source, action, target in edges:
        builder.edge(numbers[source], action, numbers[target])
    return builder.build()


class TlcLabels:
    """State keys from TLC's escaped dot labels (``/\\\\ x = ...\\n/\\\\ y = ...``), split into
    one text per variable without unescaping; each distinct text is parsed once.  TLC prints the
    variables in an order of its own (the same in every state), which is put in the spec's."""

    _SEPARATOR = "\\n/\\\\ "  # a line break, then the next conjunct "/\\ ", as the dot file has it

    def __init__(self, variables: Sequence[str]):
        self.variables = tuple(variables)
        self.seen: dict[str, tuple[str, str]] = {}
        self.orders: dict[tuple[str, ...], tuple[int, ...]] = {}

    def key(self, label: str) -> StateKey:
        if not label.startswith("/\\\\ "):
            return self._slow(label)
        chunks = label[4:].split(self._SEPARATOR)
        seen = self.seen
        found = [seen.get(chunk) for chunk in chunks]
        if None in found:
            for chunk, known in zip(chunks, found, strict=True):
                if known is None:
                    seen[chunk] = self._parse(chunk)
            found = [seen[chunk] for chunk in chunks]
        names = tuple(name for name, _ in found)  # type: ignore[misc]
        order = self.orders.get(names)
        if order is None:
            if sorted(names) != sorted(self.variables):
                return self._slow(label)
            order = self.orders[names] = tuple(names.index(name) for name in self.variables)
        return tuple(found[position][1] for position in order)  # type: ignore[index]

    @staticmethod
    def _parse(chunk: str) -> tuple[str, str]:
        """``name = value`` (escaped) -> (name, canonical text of the value)."""
        ((name, value),) = parse_state(unescape_label(chunk)).items()
        return name, value_text(tla_to_itf(value))

    def _slow(self, label: str) -> StateKey:
        """A label the fast split does not fit (a single variable, a name missing or repeated):
        parsed as a whole, which names what is wrong."""
        values = parse_state(unescape_label(label))
        if set(values) != set(self.variables):
            raise ValueError(f"expected the variables {', '.join(self.variables)}")
        return tuple(value_text(tla_to_itf(values[name])) for name in self.variables)


def read_keyed_graph(path: str | Path, variables: Sequence[str]) -> KeyedGraph:
    """A ``-dump dot,actionlabels`` file as a KeyedGraph; ValueError naming the state or line."""
    labels = TlcLabels(variables)
    builder = GraphBuilder(variables)
    numbers: dict[int, int] = {}
    edge_ends = array("q")
    edge_actions: list[str] = []
    for item in iter_dot(path):
        if isinstance(item, DotEdge):
            edge_ends.append(item.source)
            edge_ends.append(item.target)
            edge_actions.append(item.action)
            continue
        try:
            key = labels.key(item.label)
        except ValueError as error:
            raise ValueError(f"{path}: state {item.fingerprint}: {error}") from None
        numbers[item.fingerprint] = builder.state(key, initial=item.initial)
    check_declared(path, numbers, zip(edge_ends[::2], edge_ends[1::2], strict=True))
    number = numbers.__getitem__
    for index, action in enumerate(edge_actions):
        builder.edge(number(edge_ends[2 * index]), action, number(edge_ends[2 * index + 1]))
    return builder.build()


def tlc_graph(
    model: Model,
    *,
    workers: int = 2,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> KeyedGraph:
    """TLC's complete reachable graph of ``model`` (no invariant checked, so nothing stops it)."""
    if model.symmetric:
        raise ToolError(f"{model.name} uses SYMMETRY: TLC's edges then point to representatives")
    folder = Path(tempfile.mkdtemp(prefix="kvm-mmio-graph-"))
    try:
        copy_modules(folder)
        (folder / "graph.cfg").write_text(with_checks(model.cfg_text, (), ()))
        result = run_tlc(
            folder / "KvmMmio.tla",
            folder / "graph.cfg",
            workers=workers,
            timeout=timeout,
            dump_dot=folder / "graph.dot",
            cancel=cancel,
            on_progress=on_progress,
            # C1 only pays off on small graphs (check.JAVA_OPTS); C2 wins on large ones.
            java_opts=JAVA_OPTS if (model.recorded_states or 0) < 200_000 else JAVA_OPTS[:1],
        )
        if result.outcome is not Outcome.SUCCESS:
            raise ToolError(f"TLC could not dump {model.name}: {result.explanation}")
        return read_keyed_graph(folder / "graph.dot", spec_variables())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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
    before, after = json.loads(source), json.loads(target)
    changed = {name: value for name, value in after.items() if before.get(name) != value}
    return f"(only what changed) {_text(changed)}" if changed else "(the same state)"


class _EdgeCodes:
    """Edges of both graphs as integers in one numbering: states by the first graph's numbers
    (states only the second has come after them), actions by name."""

    def __init__(self, first: KeyedGraph, second: KeyedGraph):
        extra: dict[StateKey, int] = {}
        numbers = {key: n for n, key in enumerate(first.keys)}
        self.second_to_first = array("q")
        for key in second.keys:
            number = numbers.get(key)
            if number is None:
                number = extra.setdefault(key, len(first.keys) + len(extra))
            self.second_to_first.append(number)
        self.only_in_second = [n for n, key in enumerate(second.keys) if key in extra]
        self.shared = set(self.second_to_first)
        self.names = sorted(set(first.actions) | set(second.actions))
        self.width = len(first.keys) + len(extra)

    def codes(self, graph: KeyedGraph, renumber: Sequence[int] | None) -> set[int]:
        label_of = [self.names.index(name) for name in graph.actions]
        width, actions = self.width, len(self.names)
        sources, targets = graph.sources, graph.targets
        if renumber is not None:
            sources = map(renumber.__getitem__, sources)  # type: ignore[assignment]
            targets = map(renumber.__getitem__, targets)  # type: ignore[assignment]
        return {
            (source * actions + label_of[label]) * width + target
            for source, label, target in zip(sources, graph.labels, targets, strict=True)
        }

    def decode(self, code: int) -> tuple[int, str, int]:
        rest, target = divmod(code, self.width)
        source, action = divmod(rest, len(self.names))
        return source, self.names[action], target


def compare_graphs(first: KeyedGraph, second: KeyedGraph, *, limit: int = 3) -> GraphDiff:
    """Compare two keyed graphs: the same states, initial states and labelled edges."""
    if first.variables != second.variables:
        raise ValueError(f"graphs of other variables: {first.variables} vs {second.variables}")
    numbering = _EdgeCodes(first, second)
    renumber = numbering.second_to_first
    only_in_first = sorted(set(range(len(first.keys))) - numbering.shared)
    initial_second = {renumber[n] for n in second.initial}
    edges_first = numbering.codes(first, None)
    edges_second = numbering.codes(second, renumber)
    # A state only the second graph has: its number there, for its text.
    back = {renumber[n]: n for n in numbering.only_in_second}

    def text(number: int) -> str:
        if number < len(first.keys):
            return first.text(number)
        return second.text(back[number])

    def sample(numbers: Iterable[int]) -> list[str]:
        return sorted(heapq.nsmallest(limit, map(text, numbers)))

    def edge_sample(codes: set[int]) -> list[tuple[str, str, str]]:
        # Edges leaving a state both graphs have first: that is where the two diverge.
        edges = map(numbering.decode, codes)
        shared = numbering.shared
        chosen = heapq.nsmallest(limit, edges, key=lambda e: (e[0] not in shared, e[1], e[0]))
        return [(text(s), action, text(t)) for s, action, t in chosen]

    counts = {
        "states": len(first.keys),
        "states_second": len(second.keys),
        "edges": len(edges_first),
        "edges_second": len(edges_second),
        "initial": len(first.initial),
        "initial_second": len(second.initial),
    }
    return GraphDiff(
        equal=not only_in_first
        and not numbering.only_in_second
        and first.initial == initial_second
        and edges_first == edges_second,
        counts=counts,
        only_in_first=sample(only_in_first),
        only_in_second=sample(renumber[n] for n in numbering.only_in_second),
        initial_only_in_first=sample(first.initial - initial_second),
        initial_only_in_second=sample(initial_second - first.initial),
        edges_only_in_first=edge_sample(edges_first - edges_second),
        edges_only_in_second=edge_sample(edges_second - edges_first),
    )
