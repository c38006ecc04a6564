"""Breadth-first exhaustive exploration of a model: the reference's own model checker.

Why: the reference claims to be the same machine as the spec; exploring every reachable state and
comparing the distinct-state count, the depth and every verdict with what TLC recorded
(spec/models/manifest.json) is the strongest evidence of that claim, model by model.

What it checks, as TLC does:

- distinct states and depth in TLC's convention (the initial states are at depth 1);
- with SYMMETRY in the cfg, states are counted up to permutations of the vCPUs (a state's class
  is found by kvm_mmio.packed.canonical), as TLC counts them; the states explored are the ones
  actually reached, as in TLC;
- every invariant the cfg lists, each violated one with a SHORTEST counterexample (breadth-first
  order guarantees it), as ITF;
- every property the cfg lists (the ``P ~> Q`` of kvm_mmio.invariants.PROPERTIES) under the
  spec's weak fairness, on the explicit state graph (kvm_mmio.liveness); a violation comes as a
  lasso in ITF (``#meta.loop``).  With SYMMETRY liveness is NOT checked: the quotient graph does
  not preserve fairness (TLC's liveness checking under symmetry is unsound too); the result says so
  in ``unchecked``.

Exploration runs on packed states (kvm_mmio.packed); counterexamples are rebuilt with the
readable actions (kvm_mmio.actions), so every step of a reported behaviour is one of theirs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from kvm_mmio.actions import successors
from kvm_mmio.config import Constants, Model, load_model
from kvm_mmio.invariants import INVARIANTS, PROPERTIES
from kvm_mmio.liveness import find_fair_lasso
from kvm_mmio.packed import UNFAIR, Kernel, canonical
from kvm_mmio.state import State, initial_state
from kvm_mmio.trace import Step, write_itf

__all__ = ["Exploration", "ExploreResult", "Progress", "explore", "explore_model"]

Progress = Callable[[int, int, float], None]
PROGRESS_INTERVAL = 1.0


@attrs.frozen
class Exploration:
    """What a complete exploration found: counts, the violated invariants and properties with
    their counterexamples (ITF), and the properties it could not check."""

    distinct_states: int
    depth: int
    counterexamples: dict[str, dict]
    checked: tuple[str, ...]
    unchecked: tuple[str, ...]
    seconds: float

    @property
    def violated(self) -> tuple[str, ...]:
        return tuple(name for name in self.checked if name in self.counterexamples)

    @property
    def holds(self) -> tuple[str, ...]:
        return tuple(name for name in self.checked if name not in self.counterexamples)


class _Graph:
    """The states found so far (by key, with a number each), the BFS tree, and optionally every
    edge with its fairness label (for liveness)."""

    def __init__(self, keep_edges: bool):
        self.number: dict[tuple, int] = {}
        self.keys: list[tuple] = []
        self.parent: list[int] = []
        self.edges: list[tuple[int, int, int]] | None = [] if keep_edges else None

    def path_to(self, state: int) -> list[int]:
        """The states from the initial state to ``state`` along the BFS tree (a shortest path)."""
        chain = [state]
        while self.parent[chain[-1]] >= 0:
            chain.append(self.parent[chain[-1]])
        return chain[::-1]


def _rebuild(
    consts: Constants, kernel: Kernel, keys: Sequence[tuple], symmetric: bool
) -> list[Step]:
    """The behaviour through ``keys`` (packed states, canonical with symmetry) as readable steps:
    each step is the first readable action instance whose next state has the next key."""
    key_of = canonical if symmetric else (lambda packed: packed)
    state = initial_state(consts)
    steps = [Step(state)]
    for key in keys[1:]:
        for action, params, after in successors(consts, state):
            if key_of(kernel.pack(after)) == key:
                steps.append(Step(after, action, params))
                state = after
                break
        else:
            raise AssertionError(f"kvm_mmio.packed and kvm_mmio.actions disagree after {state}")
    return steps


def explore(
    consts: Constants,
    invariants: Sequence[str] = (),
    properties: Sequence[str] = (),
    *,
    symmetry: bool = False,
    model: str = "model",
    progress: Progress | None = None,
) -> Exploration:
    """Explore every reachable state of ``consts`` breadth first, checking ``invariants`` and
    ``properties`` (TLA+ names); ``progress(states, queue, elapsed)`` is called about once a
    second."""
    for name in invariants:
        if name not in INVARIANTS:
            raise ValueError(f"invariant {name!r}: unknown; known: {', '.join(INVARIANTS)}")
    for name in properties:
        if name not in PROPERTIES:
            raise ValueError(f"property {name!r}: unknown; known: {', '.join(PROPERTIES)}")
    begin = time.monotonic()
    kernel = Kernel(consts)
    live = bool(properties) and not symmetry
    graph = _Graph(keep_edges=live)
    first_violation, depth = _search(
        kernel, graph, frozenset(invariants), symmetry, progress, begin
    )
    counterexamples = {}
    for name in invariants:
        if name in first_violation:
            path = [graph.keys[i] for i in graph.path_to(first_violation[name])]
            steps = _rebuild(consts, kernel, path, symmetry)
            description = (
                f"shortest counterexample for {name} in {model}: {len(steps)} states "
                f"(the last one violates {name})"
            )
            counterexamples[name] = write_itf(
                consts, steps, model=model, description=description, meta={"invariant": name}
            )
    if live:
        states = [kernel.unpack(key) for key in graph.keys]
        for name in properties:
            lasso = _check_property(consts, kernel, graph, states, name, model)
            if lasso is not None:
                counterexamples[name] = lasso
    return Exploration(
        distinct_states=len(graph.keys),
        depth=depth,
        counterexamples=counterexamples,
        checked=(*invariants, *(properties if live else ())),
        unchecked=tuple(properties) if not live else (),
        seconds=time.monotonic() - begin,
    )


def _search(
    kernel: Kernel,
    graph: _Graph,
    wanted: frozenset[str],
    symmetry: bool,
    progress: Progress | None,
    begin: float,
) -> tuple[dict[str, int], int]:
    """The breadth-first search itself (the hot loop): fills ``graph`` and returns the number of
    the first state violating each invariant of ``wanted`` (by name), and the depth.

    Invariants are evaluated per component (kvm_mmio.packed: shared part, one vCPU) and
    memoized, since few distinct components make up the many states."""
    successors_of = kernel.successors
    key_of = canonical if symmetry else None
    number, keys, parent, edges = graph.number, graph.keys, graph.parent, graph.edges
    shared_memo: dict[tuple, frozenset[str]] = {}
    vcpu_memo: dict[tuple, frozenset[str]] = {}
    found: dict[str, int] = {}

    def check(packed: tuple, state: int) -> None:
        shared = packed[0]
        bad = shared_memo.get(shared)
        if bad is None:
            bad = shared_memo[shared] = kernel.shared_invariants(shared) & wanted
        for vcpu in packed[1:]:
            mine = vcpu_memo.get(vcpu)
            if mine is None:
                mine = vcpu_memo[vcpu] = kernel.vcpu_invariants(vcpu) & wanted
            if mine:
                bad = bad | mine
        for name in bad:
            found.setdefault(name, state)

    initial = kernel.pack(initial_state(kernel.consts))
    initial_key = key_of(initial) if key_of else initial
    number[initial_key] = 0
    keys.append(initial_key)
    parent.append(-1)
    check(initial, 0)
    frontier = [(initial, 0)]
    depth = 1
    next_report = time.monotonic() + PROGRESS_INTERVAL
    while frontier:
        following = []
        for count, (packed, here) in enumerate(frontier):
            if progress is not None and not count & 1023 and time.monotonic() >= next_report:
                progress(
                    len(keys), len(frontier) - count + len(following), time.monotonic() - begin
                )
                next_report = time.monotonic() + PROGRESS_INTERVAL
            for label, after in successors_of(packed):
                key = key_of(after) if key_of else after
                there = number.get(key)
                if there is None:
                    there = number[key] = len(keys)
                    keys.append(key)
                    parent.append(here)
                    following.append((after, there))
                    check(after, there)
                if edges is not None:
                    edges.append((here, there, label))
        if following:
            depth += 1
        frontier = following
    if progress is not None:
        progress(len(keys), 0, time.monotonic() - begin)
    return found, depth


def _check_property(
    consts: Constants,
    kernel: Kernel,
    graph: _Graph,
    states: Sequence[State],
    name: str,
    model: str,
) -> dict | None:
    """Check the property ``name`` on the whole graph (``states``: its states, unpacked); its
    counterexample as ITF, or None."""
    assert graph.edges is not None
    labelled = [
        (source, target, None if label == UNFAIR else label)
        for source, target, label in graph.edges
    ]
    conditions = range(kernel.n + 1)
    for conjunct in PROPERTIES[name](consts):
        not_q = [not conjunct.q(state) for state in states]
        sources = (i for i, state in enumerate(states) if conjunct.p(state) and not_q[i])
        lasso = find_fair_lasso(len(states), labelled, not_q, sources, conditions)
        if lasso is None:
            continue
        prefix = graph.path_to(lasso.source)
        numbers = [*prefix, *lasso.stem, *lasso.cycle]
        loop = len(numbers) - len(lasso.cycle) - 1
        steps = _rebuild(consts, kernel, [graph.keys[i] for i in numbers], symmetric=False)
        if lasso.cycle:
            steps = steps[:-1]
            shape = f"then cycles back to state {loop + 1} for ever"
        else:
            shape = f"then stutters in state {loop + 1} for ever"
        description = (
            f"counterexample for {name} ({conjunct.label}) in {model}: a fair behaviour that "
            f"reaches P /\\ ~Q in state {len(prefix)}, {shape}, with Q false throughout"
        )
        return write_itf(
            consts,
            steps,
            model=model,
            description=description,
            loop=loop,
            meta={"property": name, "conjunct": conjunct.label},
        )
    return None


@attrs.frozen
class ExploreResult:
    """The explorer's verdict on a model, compared with the manifest: the fields of
    ``kvm-mmio check --json`` (``counterexample`` is the ITF of the first violated check in the
    manifest's order, ``counterexamples`` every one by name), plus ``unchecked``."""

    name: str
    expected_holds: tuple[str, ...]
    expected_violated: tuple[str, ...]
    holds: tuple[str, ...]
    violated: tuple[str, ...]
    unchecked: tuple[str, ...]
    distinct_states: int
    depth: int
    seconds: float
    counterexamples: dict[str, dict]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def counterexample(self) -> tuple[str, dict] | None:
        for name in (*self.expected_violated, *self.violated):
            if name in self.counterexamples:
                return name, self.counterexamples[name]
        return None

    def as_json(self) -> dict[str, Any]:
        first = self.counterexample
        return {
            "name": self.name,
            "ok": self.ok,
            "expected": {
                "holds": list(self.expected_holds),
                "violated": list(self.expected_violated),
            },
            "holds": list(self.holds),
            "violated": list(self.violated),
            "unchecked": list(self.unchecked),
            "distinct_states": self.distinct_states,
            "depth": self.depth,
            "seconds": round(self.seconds, 3),
            "counterexample": first[1] if first else None,
            "counterexamples": self.counterexamples,
            "problems": list(self.problems),
        }


def explore_model(model: Model | str, *, progress: Progress | None = None) -> ExploreResult:
    """Explore a model of spec/models (by name or as loaded) and compare with its manifest entry:
    the verdict of every check it lists and TLC's recorded distinct states and depth."""
    if isinstance(model, str):
        model = load_model(model)
    found = explore(
        model.constants,
        model.invariants,
        model.properties,
        symmetry=model.symmetry is not None,
        model=model.name,
        progress=progress,
    )
    problems = []
    for name in model.expect_violated:
        if name in found.holds:
            problems.append(f"{name} was expected to be violated but holds")
    for name in model.expect_holds:
        if name in found.violated:
            problems.append(f"{name} was expected to hold but is violated")
    if model.recorded_states is not None and found.distinct_states != model.recorded_states:
        problems.append(
            f"{found.distinct_states:,} distinct states; TLC recorded {model.recorded_states:,}"
        )
    if model.recorded_depth is not None and found.depth != model.recorded_depth:
        problems.append(f"depth {found.depth}; TLC recorded {model.recorded_depth}")
    return ExploreResult(
        name=model.name,
        expected_holds=model.expect_holds,
        expected_violated=model.expect_violated,
        holds=found.holds,
        violated=found.violated,
        unchecked=found.unchecked,
        distinct_states=found.distinct_states,
        depth=found.depth,
        seconds=found.seconds,
        counterexamples=found.counterexamples,
        problems=tuple(problems),
    )
