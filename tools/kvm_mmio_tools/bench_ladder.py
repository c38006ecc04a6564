"""TLC against the reference explorer on a ladder of growing models.

Why: the reference explorer claims to be a second model checker for the same spec (DESIGN.md's
target: identical distinct-state counts and explorer wall <= TLC wall on `safe`); how both grow
with the model is what tells a user which one to reach for. Each model is run once by each, one
after the other, each in a process of its own (kvm_mmio_tools.bench_child) so that its peak RSS
is the kernel's figure for that run alone. TLC runs with one worker, like the explorer's one
thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from kvm_mmio_tools.bench_process import ChildProgress, run_child
from kvm_mmio_tools.errors import UsageError
from kvm_mmio_tools.models import Model, load_models

__all__ = ["SIZES", "ModelBench", "Run", "bench_ladder", "ladder"]

_SMALL = ("host", "bug_stale_cache", "safe_liveness")
_MEDIUM = (*_SMALL, "safe_wrap", "bug_no_wrap_zap", "safe", "safe_full")
_LARGE = (*_MEDIUM, "scale_2as", "scale_updates")
SIZES: dict[str, tuple[str, ...]] = {"small": _SMALL, "medium": _MEDIUM, "large": _LARGE}


@attrs.frozen
class Run:
    """One tool's run on one model. ``wall``: from starting its process to its answer (process
    and JVM or interpreter start-up included); ``seconds``: what the tool itself timed;
    ``peak_rss_mib``: the kernel's peak RSS of that process, an upper bound only when
    ``peak_rss_exact`` is false (see kvm_mmio_tools.bench_child)."""

    outcome: str
    distinct_states: int | None
    depth: int | None
    wall: float
    seconds: float
    peak_rss_mib: float
    peak_rss_exact: bool = True

    @property
    def states_per_second(self) -> float:
        return (self.distinct_states or 0) / self.wall if self.wall > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "distinct_states": self.distinct_states,
            "depth": self.depth,
            "wall": self.wall,
            "seconds": self.seconds,
            "states_per_second": round(self.states_per_second, 1),
            "peak_rss_mib": self.peak_rss_mib,
            "peak_rss_exact": self.peak_rss_exact,
        }


@attrs.frozen
class ModelBench:
    """Both runs on one model, with the manifest's recorded count."""

    name: str
    kind: str
    recorded_states: int | None
    symmetric: bool
    tlc: Run
    explorer: Run

    @property
    def states_equal(self) -> bool:
        return (
            self.tlc.outcome == "success"
            and self.explorer.outcome == "success"
            and self.tlc.distinct_states == self.explorer.distinct_states
        )

    @property
    def speed_ratio(self) -> float:
        """TLC's wall over the explorer's: above 1 the explorer is faster."""
        return self.tlc.wall / self.explorer.wall if self.explorer.wall > 0 else 0.0

    @property
    def memory_ratio(self) -> float:
        """The JVM's peak RSS over the explorer's."""
        peak = self.explorer.peak_rss_mib
        return self.tlc.peak_rss_mib / peak if peak > 0 else 0.0

    @property
    def problems(self) -> tuple[str, ...]:
        found = []
        for tool, run in (("TLC", self.tlc), ("explorer", self.explorer)):
            if run.outcome != "success":
                found.append(f"{self.name}: {tool} {run.outcome}")
        if self.tlc.distinct_states != self.explorer.distinct_states:
            found.append(
                f"{self.name}: TLC found {self.tlc.distinct_states} distinct states, the "
                f"explorer {self.explorer.distinct_states}"
            )
        if self.recorded_states is not None and self.tlc.distinct_states != self.recorded_states:
            found.append(
                f"{self.name}: TLC found {self.tlc.distinct_states} distinct states, the "
                f"manifest records {self.recorded_states}"
            )
        return tuple(found)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "recorded_states": self.recorded_states,
            "symmetric": self.symmetric,
            "tlc": self.tlc.as_json(),
            "explorer": self.explorer.as_json(),
            "states_equal": self.states_equal,
            "speed_ratio": round(self.speed_ratio, 2),
            "memory_ratio": round(self.memory_ratio, 2),
        }


def ladder(size: str) -> list[Model]:
    """The models of ``size``, smallest first (by the manifest's recorded counts)."""
    if size not in SIZES:
        raise UsageError(f"--size must be one of {', '.join(SIZES)}, got {size!r}")
    models = load_models()
    missing = [name for name in SIZES[size] if name not in models]
    if missing:
        raise UsageError(f"--size {size}: the manifest has no model {', '.join(missing)}")
    chosen = [models[name] for name in SIZES[size]]
    return sorted(chosen, key=lambda model: model.recorded_states or 0)


def _run(document: dict[str, Any]) -> Run:
    return Run(
        outcome=document["outcome"],
        distinct_states=document["distinct_states"],
        depth=document["depth"],
        wall=document["wall"],
        seconds=document["seconds"],
        peak_rss_mib=document["peak_rss_mib"],
        peak_rss_exact=document["peak_rss_exact"],
    )


def bench_model(
    model: Model, on_progress: Callable[[str], ChildProgress] | None = None
) -> tuple[ModelBench, str | None]:
    """TLC, then the explorer, on ``model``; with TLC's version banner. ``on_progress(tool)``
    gives the progress callback of each run."""
    tlc = run_child("tlc", model.name, on_progress("TLC") if on_progress else None)
    explorer = run_child("explorer", model.name, on_progress("explorer") if on_progress else None)
    bench = ModelBench(
        name=model.name,
        kind=model.kind,
        recorded_states=model.recorded_states,
        symmetric=model.symmetric,
        tlc=_run(tlc),
        explorer=_run(explorer),
    )
    return bench, tlc.get("tlc_version")


def bench_ladder(
    models: list[Model],
    *,
    on_model: Callable[[int, Model], None] | None = None,
    on_progress: Callable[[str], ChildProgress] | None = None,
) -> tuple[list[ModelBench], str | None]:
    """``bench_model`` on each model in order; ``on_model(index, model)`` before each."""
    rows, version = [], None
    for index, model in enumerate(models):
        if on_model is not None:
            on_model(index, model)
        row, banner = bench_model(model, on_progress)
        rows.append(row)
        version = version or banner
    return rows, version
