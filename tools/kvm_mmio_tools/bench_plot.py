"""The ladder as a PNG: distinct states, wall time and peak memory of TLC and of the explorer,
model by model, smallest first.

Why optional: matplotlib is large and only this needs it (the extra "plot"); ``require()`` is
called before any measuring starts, so that a missing extra fails at once, not after minutes.
The figure is drawn without pyplot (no global state, no display needed) and written to a
temporary file in the target folder, then renamed, so that a reader never sees half a PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kvm_mmio_conformance.atomicfile import write_atomic
from kvm_mmio_tools.bench_ladder import ModelBench
from kvm_mmio_tools.errors import UsageError

__all__ = ["PNG_SIGNATURE", "require", "write_plot"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXTRA_HINT = "pip install 'kvm-mmio-spec[plot]'"


def require() -> None:
    """UsageError (naming the extra) when matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(
            f"--plot needs matplotlib, the optional extra 'plot': {EXTRA_HINT}"
        ) from None


def _figure(rows: Sequence[ModelBench], title: str):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 4.6), layout="constrained")
    axes = figure.subplots(1, 3)
    positions = range(len(rows))
    labels = [f"{row.name}\n{row.tlc.distinct_states or 0:,}" for row in rows]
    panels = (
        ("distinct states", lambda run: run.distinct_states or 0),
        ("wall time (s)", lambda run: run.wall),
        ("peak RSS (MiB)", lambda run: run.peak_rss_mib),
    )
    for ax, (name, value) in zip(axes, panels, strict=True):
        ax.plot(positions, [value(r.tlc) for r in rows], "o-", label="TLC (1 worker)")
        ax.plot(positions, [value(r.explorer) for r in rows], "s--", label="explorer (Python)")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xticks(list(positions), labels, rotation=45, ha="right", fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    figure.supxlabel("model (distinct states), smallest first")
    figure.suptitle(title)
    return figure


def write_plot(rows: Sequence[ModelBench], path: Path, *, title: str) -> Path:
    """Draw the ladder into ``path`` (PNG), atomically."""
    require()
    if not rows:
        raise UsageError("--plot: no model was measured")
    figure = _figure(rows, title)
    return write_atomic(path, lambda stream: figure.savefig(stream, format="png", dpi=110))
