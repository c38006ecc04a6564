"""Batched trace validation by TLC against one TLC process per trace.

Why: validating Hypothesis traces with TLC is only practical in batches (DESIGN.md's target:
>= 1000 traces of >= 20 steps per batch in <= 30 s, >= 20x one TLC process per trace). The batch
is measured whole; one process per trace is measured on a small sample of the same traces and
extrapolated per trace (running a thousand JVMs would take a quarter of an hour and show nothing
more), and the report says that it is an extrapolation. Drawing the traces is timed apart: it is
Hypothesis's cost, not TLC's.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import attrs

from kvm_mmio_tools.crosscheck import draw_traces
from kvm_mmio_tools.models import select_models
from kvm_mmio_tools.tracevalidate import validate_traces

__all__ = ["MIN_STEPS", "TRACE_MODEL", "TraceBench", "bench_traces"]

TRACE_MODEL = "safe"
MIN_STEPS = 20


@attrs.frozen
class TraceBench:
    """The batch (``batch_seconds`` for ``traces`` traces, ``accepted`` of them accepted) and the
    per-trace sample (``sample_seconds``: one TLC process each), extrapolated to ``traces``."""

    model: str
    traces: int
    min_steps: int
    seed: int
    draw_seconds: float
    batch_seconds: float
    accepted: int
    sample_seconds: tuple[float, ...]
    sample_accepted: int

    @property
    def per_trace_seconds(self) -> float:
        return statistics.mean(self.sample_seconds)

    @property
    def extrapolated_seconds(self) -> float:
        return self.per_trace_seconds * self.traces

    @property
    def ratio(self) -> float:
        """One process per trace (extrapolated) over the batch: how much the batch saves."""
        return self.extrapolated_seconds / self.batch_seconds if self.batch_seconds > 0 else 0.0

    @property
    def problems(self) -> tuple[str, ...]:
        found = []
        if self.accepted != self.traces:
            found.append(f"traces: TLC accepted {self.accepted} of {self.traces} valid traces")
        if self.sample_accepted != len(self.sample_seconds):
            found.append(
                f"traces: TLC alone accepted {self.sample_accepted} of "
                f"{len(self.sample_seconds)} valid traces"
            )
        return tuple(found)

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "traces": self.traces,
            "min_steps": self.min_steps,
            "seed": self.seed,
            "draw_seconds": round(self.draw_seconds, 3),
            "batch_seconds": round(self.batch_seconds, 3),
            "batch_traces_per_second": round(self.traces / self.batch_seconds, 2),
            "accepted": self.accepted,
            "sample": len(self.sample_seconds),
            "sample_seconds": [round(s, 3) for s in self.sample_seconds],
            "sample_accepted": self.sample_accepted,
            "per_trace_seconds": round(self.per_trace_seconds, 3),
            "extrapolated": True,
            "extrapolated_seconds": round(self.extrapolated_seconds, 3),
            "ratio": round(self.ratio, 1),
        }


def bench_traces(
    count: int,
    sample: int,
    *,
    seed: int = 0,
    model_name: str = TRACE_MODEL,
    on_stage: Callable[[str], None] | None = None,
) -> TraceBench:
    """Draw ``count`` traces of ``model_name`` (>= MIN_STEPS steps each), validate them in one
    TLC run, then the first ``sample`` of them in one TLC run each."""
    stage = on_stage or (lambda _text: None)
    (model,) = select_models([model_name])
    stage(f"drawing {count:,} traces of {model_name} with Hypothesis")
    start = time.monotonic()
    traces = draw_traces(model_name, count, seed_value=seed, min_steps=MIN_STEPS)
    draw_seconds = time.monotonic() - start
    stage(f"TLC: one batch of {len(traces):,} traces")
    start = time.monotonic()
    verdicts = validate_traces(model, traces)
    batch_seconds = time.monotonic() - start
    sample_seconds, sample_accepted = [], 0
    for index, trace in enumerate(traces[:sample]):
        stage(f"TLC: one process per trace, {index + 1} of {min(sample, len(traces))}")
        start = time.monotonic()
        (alone,) = validate_traces(model, [trace])
        sample_seconds.append(time.monotonic() - start)
        sample_accepted += alone.accepted
    return TraceBench(
        model=model_name,
        traces=len(traces),
        min_steps=min(len(trace["states"]) for trace in traces) - 1,
        seed=seed,
        draw_seconds=draw_seconds,
        batch_seconds=batch_seconds,
        accepted=sum(verdict.accepted for verdict in verdicts),
        sample_seconds=tuple(sample_seconds),
        sample_accepted=sample_accepted,
    )
