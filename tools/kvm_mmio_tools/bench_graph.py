"""State-graph equality of TLC and the reference, timed on one model of the ladder's size.

Why: DESIGN.md (and issue 5) set the goal that a graph of >= 1,000,000 distinct states be compared
in <= 5 minutes. The comparison that `kvm-mmio crosscheck` makes (TLC's ``-dump dot`` read into a
keyed graph while the reference searches its own, then both compared as sets of states, initial
states and labelled edges) is measured whole, in a process of its own (bench_child ``graph``): wall
time from starting that process to the verdict, the peak RSS of the process and of its JVM.
"""

from __future__ import annotations

from typing import Any

import attrs

from kvm_mmio_tools.bench_process import ChildProgress, run_child

__all__ = ["GRAPH_MODELS", "TARGET_SECONDS", "TARGET_STATES", "GraphBench", "bench_graph"]

# The largest model without SYMMETRY in each ladder (TLC's edges under symmetry point to
# representatives, so those graphs are not compared).
GRAPH_MODELS = {"small": "bug_no_flush", "medium": "safe_full", "large": "scale_2as"}
TARGET_STATES, TARGET_SECONDS = 1_000_000, 300.0


@attrs.frozen
class GraphBench:
    """One model's graphs compared: their size, whether they are equal, and what it cost."""

    model: str
    states: int
    edges: int
    initial: int
    equal: bool
    difference: str | None
    wall: float
    peak_rss_mib: float
    jvm_peak_rss_mib: float

    @property
    def states_per_second(self) -> float:
        return self.states / self.wall if self.wall > 0 else 0.0

    @property
    def target_met(self) -> bool | None:
        """None when the model is too small for the target to say anything."""
        if self.states < TARGET_STATES:
            return None
        return self.equal and self.wall <= TARGET_SECONDS

    @property
    def problems(self) -> tuple[str, ...]:
        if self.equal:
            return ()
        return (f"graph of {self.model}: TLC and the reference differ: {self.difference}",)

    def as_json(self) -> dict[str, Any]:
        return {
            **attrs.asdict(self),
            "states_per_second": round(self.states_per_second, 1),
            "target_met": self.target_met,
        }


def bench_graph(size: str, on_progress: ChildProgress | None = None) -> GraphBench:
    """Compare the graphs of ``size``'s graph model; ``on_progress`` hears the reference's
    search (states found, elapsed seconds)."""
    model = GRAPH_MODELS[size]
    found = run_child("graph", model, on_progress)
    measured = (field.name for field in attrs.fields(GraphBench) if field.name != "model")
    return GraphBench(model=model, **{name: found[name] for name in measured})
