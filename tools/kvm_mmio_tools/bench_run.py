"""One benchmark run: every section measured in turn, returned as data (no printing here).

Why a module of its own: `kvm-mmio bench` only parses, shows progress and prints; the sections
(bench_ladder, bench_graph, bench_traces, bench_spte, bench_conformance) know nothing of each
other; this is where they are run in order, one at a time (a measurement never shares the machine
with another of ours), and where the machine is described before and after.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import attrs

from kvm_mmio_tools import bench_machine
from kvm_mmio_tools.bench_conformance import ConformanceBench, bench_conformance
from kvm_mmio_tools.bench_graph import GRAPH_MODELS, GraphBench, bench_graph
from kvm_mmio_tools.bench_ladder import ModelBench, bench_ladder, ladder
from kvm_mmio_tools.bench_process import ChildProgress
from kvm_mmio_tools.bench_spte import EraBench, bench_spte, numpy_missing
from kvm_mmio_tools.bench_traces import TraceBench, bench_traces
from kvm_mmio_tools.progress import states_text

__all__ = ["BenchOptions", "BenchResult", "Status", "run_bench"]


class Status(Protocol):
    """Where a run says what it is doing: a new stage, or news within the stage."""

    def stage(self, text: str) -> None: ...

    def detail(self, text: str) -> None: ...


class _Quiet:
    def stage(self, text: str) -> None:
        pass

    def detail(self, text: str) -> None:
        pass


@attrs.frozen
class BenchOptions:
    """What to run: the ladder's size, the traces of the batch and of the per-trace sample."""

    size: str = "medium"
    traces: int = 1000
    trace_sample: int = 5
    seed: int = 0


@attrs.frozen
class BenchResult:
    """Every section's figures, the machine, and the options they were measured with."""

    options: BenchOptions
    machine: dict[str, Any]
    models: tuple[ModelBench, ...]
    graph: GraphBench
    traces: TraceBench
    spte: tuple[EraBench, ...]
    spte_missing: str | None
    conformance: ConformanceBench
    seconds: float

    @property
    def problems(self) -> tuple[str, ...]:
        """Disagreements found while measuring (not missed targets: those depend on the
        machine): different state counts, rejected valid traces, failed round trips."""
        found = [problem for row in self.models for problem in row.problems]
        found += self.graph.problems
        found += self.traces.problems
        for era in self.spte:
            if era.failures or era.disagreements:
                found.append(
                    f"spte {era.era}: {era.failures} pairs did not round-trip, "
                    f"{era.disagreements} scalar/NumPy disagreements"
                )
        found += self.conformance.problems
        return tuple(found)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "options": attrs.asdict(self.options),
            "machine": self.machine,
            "models": [row.as_json() for row in self.models],
            "graph": self.graph.as_json(),
            "traces": self.traces.as_json(),
            "spte": {
                "missing": self.spte_missing,
                "eras": [era.as_json() for era in self.spte],
            },
            "conformance": self.conformance.as_json(),
            "problems": list(self.problems),
            "seconds": round(self.seconds, 1),
        }


def run_bench(options: BenchOptions, status: Status | None = None) -> BenchResult:
    """Measure every section in turn; ``status`` hears about each stage and its progress."""
    status = status or _Quiet()
    begin = time.monotonic()
    models = ladder(options.size)
    machine = bench_machine.describe()

    def on_model(index: int, model: Any) -> None:
        status.stage(f"models {index + 1}/{len(models)}: {model.name}")

    def on_progress(tool: str) -> ChildProgress:
        def report(states: int, queue: int, elapsed: float) -> None:
            status.detail(states_text(tool, states, queue, elapsed))

        status.detail(f"{tool} starting")
        return report

    rows, version = bench_ladder(models, on_model=on_model, on_progress=on_progress)
    machine["tlc_version"] = version
    status.stage(f"state graphs of {GRAPH_MODELS[options.size]}")
    graph = bench_graph(options.size, on_progress("graphs: reference"))
    status.stage("trace validation")
    traces = bench_traces(
        options.traces, options.trace_sample, seed=options.seed, on_stage=status.detail
    )
    status.stage("spte encoding")
    spte_missing = numpy_missing()
    spte = () if spte_missing else tuple(bench_spte())
    status.stage("conformance must tier")
    conformance = bench_conformance()
    machine["load_after"] = bench_machine.load_average()
    return BenchResult(
        options=options,
        machine=machine,
        models=tuple(rows),
        graph=graph,
        traces=traces,
        spte=spte,
        spte_missing=spte_missing,
        conformance=conformance,
        seconds=time.monotonic() - begin,
    )
