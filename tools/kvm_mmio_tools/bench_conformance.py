"""The conformance suite's must tier against the reference, in process and out of process.

Why: DESIGN.md's target is the whole must tier against the reference in <= 60 s; the two channels
show what the JSON-lines wire costs over a method call. Each layer's vectors file is loaded on
its own, so that a layer whose file is missing (or being written and not readable yet) is
reported by name and the layers that exist are still measured.
"""

from __future__ import annotations

import shlex
import sys
import time
from typing import Any

import attrs

from kvm_mmio_conformance.inprocess import InProcessChannel
from kvm_mmio_conformance.process import SubprocessChannel
from kvm_mmio_conformance.protocol import LAYERS
from kvm_mmio_conformance.reference_adapter import ReferenceAdapter
from kvm_mmio_conformance.runner import Report, run
from kvm_mmio_conformance.vectors import VECTORS_DIR, Case, load_file, select

__all__ = ["ChannelBench", "ConformanceBench", "bench_conformance", "load_layers"]

TIER = "must"


@attrs.frozen
class ChannelBench:
    """One run of the selected cases through one channel (seconds include starting it)."""

    channel: str
    cases: int
    passed: int
    failed: int
    skipped: int
    seconds: float

    @property
    def cases_per_second(self) -> float:
        return self.cases / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "cases": self.cases,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 4),
            "cases_per_second": round(self.cases_per_second, 1),
        }


@attrs.frozen
class ConformanceBench:
    """The tier measured, the cases of each layer present, why each other layer is missing."""

    tier: str
    layers: dict[str, int]
    missing: dict[str, str]
    in_process: ChannelBench
    out_of_process: ChannelBench

    @property
    def ratio(self) -> float:
        """Out of process over in process: the cost of the wire."""
        fast = self.in_process.seconds
        return self.out_of_process.seconds / fast if fast > 0 else 0.0

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(
            f"conformance ({channel.channel}): {channel.failed} {self.tier}-tier case(s) failed"
            for channel in (self.in_process, self.out_of_process)
            if channel.failed
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "layers": self.layers,
            "missing": self.missing,
            "in_process": self.in_process.as_json(),
            "out_of_process": self.out_of_process.as_json(),
            "ratio": round(self.ratio, 1),
        }


def load_layers() -> tuple[list[Case], dict[str, str]]:
    """Every case of the layers whose vectors file exists and reads; the others, with why."""
    cases: list[Case] = []
    missing: dict[str, str] = {}
    for layer in LAYERS:
        path = VECTORS_DIR / f"{layer}.json"
        if not path.exists():
            missing[layer] = f"no vectors/{path.name}"
            continue
        try:
            cases += load_file(path)
        except (ValueError, OSError) as error:
            missing[layer] = f"vectors/{path.name} unreadable: {error}"
    return cases, missing


def _measure(channel_name: str, channel: Any, cases: list[Case]) -> ChannelBench:
    start = time.perf_counter()
    try:
        report: Report = run(channel, cases)
    finally:
        channel.close()
    seconds = time.perf_counter() - start
    return ChannelBench(
        channel=channel_name,
        cases=len(cases),
        passed=report.count("passed"),
        failed=report.count("failed"),
        skipped=report.count("skipped"),
        seconds=seconds,
    )


def bench_conformance() -> ConformanceBench:
    """The must tier through the reference in this process, then through
    ``python -m kvm_mmio_conformance.serve_reference`` (JSON lines)."""
    loaded, missing = load_layers()
    cases = select(loaded, tier=TIER)
    present = [layer for layer in LAYERS if layer not in missing]
    layers = {layer: sum(case.layer == layer for case in cases) for layer in present}
    command = f"{shlex.quote(sys.executable)} -m kvm_mmio_conformance.serve_reference"
    return ConformanceBench(
        tier=TIER,
        layers=layers,
        missing=missing,
        in_process=_measure("in process", InProcessChannel(ReferenceAdapter()), cases),
        out_of_process=_measure("out of process", SubprocessChannel(command), cases),
    )
