"""Cross-checks between TLC and the Python reference, in both directions.

1. State graphs: TLC's complete graph (its own ``-dump dot``) equals the reference's: the same
   states, initial states and (state, action, next state) edges.
2. Counterexamples: every trace TLC reports for a violated check replays in the reference (each
   step enabled, each state exact) and its last state violates the check TLC named.
3. Traces: behaviours drawn from kvm_mmio.strategies (Hypothesis, seeded) are all accepted by TLC
   (spec/KvmMmioTrace.tla, one run per batch), and every mutant of them (a variable changed at one
   step, two steps swapped, an action relabelled) is rejected by TLC and by the reference alike,
   so that neither checker can pass by accepting everything.
"""

from __future__ import annotations

import copy
import json
import operator
import random
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.configuration import set_hypothesis_home_dir

from kvm_mmio import strategies
from kvm_mmio.actions import UPDATER_STEPS, VCPU_STEPS, successors
from kvm_mmio.config import Constants, load_model
from kvm_mmio.invariants import INVARIANTS
from kvm_mmio.state import (
    VARIABLE_FIELDS,
    VARIABLES,
    initial_state,
    state_from_itf,
    state_to_itf,
)
from kvm_mmio.trace import replay
from kvm_mmio_conformance.atomicfile import write_text
from kvm_mmio_tools.check import counterexamples
from kvm_mmio_tools.itf import tlc_trace_to_itf
from kvm_mmio_tools.models import Model, spec_variables
from kvm_mmio_tools.progress import ProgressLine, StageLine
from kvm_mmio_tools.stategraph import (
    GraphBuilder,
    GraphDiff,
    KeyedGraph,
    ValueKeys,
    compare_graphs,
    tlc_graph,
)
from kvm_mmio_tools.tracevalidate import validate_traces

__all__ = [
    "GRAPH_LIMIT",
    "CounterexampleReplay",
    "ModelCrossCheck",
    "TraceCheck",
    "compare_model_graphs",
    "crosscheck_model",
    "draw_traces",
    "mutants",
    "reference_graph",
]

# Graphs are compared up to this many states by default: at about 12,000 states/s on 2 cores
# (scale_2as, 1,028,364 states and 2,775,248 edges: 83 s, 2.4 GB), every model but the largest
# scale ones.
GRAPH_LIMIT = 1_100_000
_VCPU_STEPS = tuple(VCPU_STEPS)
_UPDATER_STEPS = tuple(UPDATER_STEPS)


def reference_graph(
    consts: Constants, *, progress: Callable[[int], None] | None = None
) -> KeyedGraph:
    """The reference's complete reachable graph, by breadth-first search over kvm_mmio.actions
    (the readable transcription, not the explorer's packed one: an independent witness);
    ``progress(states)`` is called every 20,000 new states."""
    keys = ValueKeys(
        VARIABLES,
        operator.attrgetter(*VARIABLE_FIELDS.values()),
        lambda state: state_to_itf(consts, state),
    )
    builder = GraphBuilder(VARIABLES)
    start = initial_state(consts)
    number = {start: builder.state(keys.key(start), initial=True)}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        source = number[state]
        for action, _, after in successors(consts, state):
            target = number.get(after)
            if target is None:
                target = number[after] = builder.state(keys.key(after))
                queue.append(after)
                if progress is not None and target % 20_000 == 0:
                    progress(target)
            builder.edge(source, action, target)
    return builder.build()


@attrs.frozen
class CounterexampleReplay:
    """One TLC counterexample replayed in the reference."""

    check: str
    length: int
    replayed: bool
    violates: bool
    problem: str | None


@attrs.frozen
class TraceCheck:
    """The batch of random traces and their mutants, as judged by TLC and by the reference."""

    traces: int
    min_length: int
    accepted_by_tlc: int
    mutants: int
    rejected_by_tlc: int
    rejected_by_reference: int
    seconds_tlc: float
    disagreements: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return (
            self.accepted_by_tlc == self.traces
            and self.rejected_by_tlc == self.mutants
            and self.rejected_by_reference == self.mutants
            and not self.disagreements
        )


@attrs.frozen
class ModelCrossCheck:
    """Everything cross-checked on one model."""

    name: str
    graph: GraphDiff | None
    graph_skipped: str | None
    replays: tuple[CounterexampleReplay, ...]
    traces: TraceCheck | None
    saved: tuple[str, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return (
            (self.graph is None or self.graph.equal)
            and all(r.replayed and r.violates for r in self.replays)
            and (self.traces is None or self.traces.ok)
        )


def _replay_counterexamples(
    model: Model, consts: Constants, workers: int
) -> list[CounterexampleReplay]:
    """Find each counterexample the manifest expects with TLC (stop at the first violation, one
    check per run) and replay it in the reference; a check TLC finds no counterexample for is a
    failed replay too."""
    traces, problems = counterexamples(model, workers=workers)
    replays = []
    for check in model.expect_violated:
        if check not in traces:
            why = "; ".join(problems) or "TLC found no counterexample"
            replays.append(CounterexampleReplay(check, 0, False, False, why))
            continue
        document = tlc_trace_to_itf(
            traces[check], model=model.name, description=f"TLC: {check}", variables=spec_variables()
        )
        mismatch = replay(consts, document)
        last = document["states"][-1]
        final = state_from_itf(consts, {k: v for k, v in last.items() if k != "#meta"})
        violates = check in INVARIANTS and not INVARIANTS[check](consts, final)
        replays.append(
            CounterexampleReplay(
                check,
                len(document["states"]),
                mismatch is None,
                violates,
                None if mismatch is None else str(mismatch),
            )
        )
    return replays


def draw_traces(
    model: str, count: int, *, seed_value: int, min_steps: int = 20, max_steps: int = 30
) -> list[dict]:
    """``count`` ITF behaviours of ``model`` drawn by Hypothesis from kvm_mmio.strategies with
    seed ``seed_value`` (the same seed gives the same traces)."""
    drawn: list[dict] = []

    @seed(seed_value)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategies.itf_traces(model, min_steps=min_steps, max_steps=max_steps))
    def collect(document: dict) -> None:
        drawn.append(document)

    # Hypothesis caches what it learns in ./.hypothesis of the current folder, whatever the
    # database setting; a command must not write into the folder it is run from.
    with tempfile.TemporaryDirectory(prefix="kvm-mmio-hypothesis-") as home:
        set_hypothesis_home_dir(home)
        try:
            collect()
        finally:
            set_hypothesis_home_dir(None)  # back to Hypothesis's own default
    return drawn[:count]


def _mutate_value(state: dict, rng: random.Random) -> str:
    """Change one variable of an ITF state to another value of its type; say which."""
    vcpu_maps = [name for name in ("pc", "out", "path", "inCS") if "#map" in state[name]]
    name = rng.choice(["gen", "busy", *vcpu_maps])
    entries = state[name]["#map"]
    key_index = rng.randrange(len(entries))
    old = entries[key_index][1]
    if isinstance(old, bool):
        new: object = not old
    elif isinstance(old, int):
        new = old + 1
    else:
        choices = {
            "pc": ("Idle", "HwAccess", "Lookup", "Emulate", "EndAccess"),
            "out": ("none", "ram", "mmio"),
            "path": ("none", "hw", "cache", "spte", "slow", "emulator"),
        }[name]
        new = rng.choice([c for c in choices if c != old])
    entries[key_index][1] = new
    return f"{name}[{entries[key_index][0]}] {old!r} -> {new!r}"


def mutants(document: dict, rng: random.Random) -> list[tuple[str, dict]]:
    """Three wrong versions of a behaviour: a variable changed at one step, two adjacent steps
    swapped, one step's action relabelled (to an action with the same parameters, so that the
    batch stays well-formed for TLC)."""
    states = document["states"]
    found = []
    changed = copy.deepcopy(document)
    k = rng.randrange(1, len(states))
    what = _mutate_value(changed["states"][k], rng)
    found.append((f"step {k}: {what}", changed))
    swapped = copy.deepcopy(document)
    k = rng.randrange(1, len(states) - 1)
    moved = swapped["states"]
    moved[k], moved[k + 1] = moved[k + 1], moved[k]
    moved[k]["#meta"]["index"], moved[k + 1]["#meta"]["index"] = k, k + 1
    found.append((f"steps {k} and {k + 1} swapped", swapped))
    relabelled = copy.deepcopy(document)
    candidates = [
        i
        for i, s in enumerate(states[1:], 1)
        if s["#meta"]["action"] in _VCPU_STEPS + _UPDATER_STEPS
    ]
    if candidates:
        k = rng.choice(candidates)
        meta = relabelled["states"][k]["#meta"]
        group = _VCPU_STEPS if meta["action"] in _VCPU_STEPS else _UPDATER_STEPS
        new = rng.choice([a for a in group if a != meta["action"]])
        found.append((f"step {k}: {meta['action']} relabelled {new}", relabelled))
        meta["action"] = new
    return found


def _check_traces(
    model: Model,
    consts: Constants,
    count: int,
    seed_value: int,
    workers: int,
    save_dir: Path | None,
) -> tuple[TraceCheck, list[str]]:
    traces = draw_traces(model.name, count, seed_value=seed_value)
    rng = random.Random(seed_value)
    wrong = [(i, why, m) for i, t in enumerate(traces) for why, m in mutants(t, rng)]
    start = time.monotonic()
    verdicts = validate_traces(model, [*traces, *(m for _, _, m in wrong)], workers=workers)
    seconds = time.monotonic() - start
    good, bad = verdicts[: len(traces)], verdicts[len(traces) :]
    disagreements: list[str] = []
    saved: list[str] = []
    for verdict, trace in zip(good, traces, strict=True):
        if not verdict.accepted or replay(consts, trace) is not None:
            disagreements.append(
                f"trace {verdict.index}: TLC accepted {verdict.prefix} of {verdict.length} states"
            )
            saved.append(_save(save_dir, model.name, seed_value, verdict.index, trace))
    rejected_by_reference = 0
    for verdict, (origin, why, mutant) in zip(bad, wrong, strict=True):
        reference_rejects = replay(consts, mutant) is not None
        rejected_by_reference += reference_rejects
        if verdict.accepted == reference_rejects:
            disagreements.append(
                f"mutant of trace {origin} ({why}): TLC "
                f"{'accepts' if verdict.accepted else 'rejects'}, the reference "
                f"{'rejects' if reference_rejects else 'accepts'}"
            )
            saved.append(_save(save_dir, model.name, seed_value, origin, mutant))
    check = TraceCheck(
        traces=len(traces),
        min_length=min(len(t["states"]) for t in traces),
        accepted_by_tlc=sum(v.accepted for v in good),
        mutants=len(wrong),
        rejected_by_tlc=sum(not v.accepted for v in bad),
        rejected_by_reference=rejected_by_reference,
        seconds_tlc=round(seconds, 2),
        disagreements=tuple(disagreements),
    )
    return check, saved


def _save(folder: Path | None, model: str, seed_value: int, index: int, document: dict) -> str:
    """Write a failing trace as ITF (temp file + rename) with the seed that reproduces it."""
    folder = folder or Path(tempfile.gettempdir())
    document = copy.deepcopy(document)
    document["#meta"]["seed"] = seed_value
    path = folder / f"crosscheck-{model}-seed{seed_value}-trace{index}.itf.json"
    return str(write_text(path, json.dumps(document, indent=1) + "\n"))


def compare_model_graphs(
    model: Model,
    consts: Constants | None = None,
    *,
    workers: int = 1,
    progress: Callable[[str, int], None] | None = None,
) -> GraphDiff:
    """TLC's graph of ``model`` against the reference's. TLC dumps its graph (in a JVM of its
    own, waited for by a thread) while the reference searches, so that the two take the time of
    the longer rather than of both; ``progress(who, states)`` hears "TLC" and "reference"."""
    consts = consts or load_model(model.name).constants
    report = progress or (lambda who, states: None)
    cancel = threading.Event()
    with ThreadPoolExecutor(1, thread_name_prefix="tlc-graph") as pool:
        theirs = pool.submit(
            tlc_graph,
            model,
            workers=workers,
            cancel=cancel,
            on_progress=lambda found: report("TLC", found.distinct),
        )
        try:
            ours = reference_graph(consts, progress=lambda states: report("reference", states))
            report("reference done, waiting for TLC's graph:", len(ours.keys))
            return compare_graphs(theirs.result(), ours)
        except BaseException:
            cancel.set()
            raise


def crosscheck_model(
    model: Model,
    *,
    traces: int = 100,
    seed_value: int = 0,
    workers: int = 1,
    graph_limit: int = GRAPH_LIMIT,
    save_dir: Path | None = None,
    status: StageLine | None = None,
) -> ModelCrossCheck:
    """Run the three cross-checks on one model (the graph only without SYMMETRY and when the
    manifest records at most ``graph_limit`` states); ``status`` shows what runs."""
    start = time.monotonic()
    status = status or StageLine(ProgressLine(enabled=False))
    consts = load_model(model.name).constants
    graph, skipped = None, None
    if model.symmetric:
        skipped = "SYMMETRY: TLC's edges point to representatives (use its twin without symmetry)"
    elif (model.recorded_states or 0) > graph_limit:
        skipped = f"more than {graph_limit:,} states"
    else:
        status.stage(f"{model.name}: state graphs")
        graph = compare_model_graphs(
            model,
            consts,
            workers=workers,
            progress=lambda who, states: status.detail(f"{who} {states:,} states"),
        )
    status.stage(f"{model.name}: counterexamples")
    replays = _replay_counterexamples(model, consts, workers)
    trace_check, saved = (None, [])
    if traces:
        status.stage(f"{model.name}: {traces} traces and their mutants")
        trace_check, saved = _check_traces(model, consts, traces, seed_value, workers, save_dir)
    return ModelCrossCheck(
        model.name,
        graph,
        skipped,
        tuple(replays),
        trace_check,
        tuple(saved),
        round(time.monotonic() - start, 2),
    )
