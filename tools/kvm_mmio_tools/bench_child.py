"""One measured run in a process of its own: ``python -m kvm_mmio_tools.bench_child KIND MODEL``.

Why a separate process: peak memory is only honest when the kernel measures it for a process that
did nothing else. KIND ``explorer`` runs the reference explorer and reports this process's VmHWM
(/proc/self/status: the peak RSS of this process image, interpreter included; NOT ru_maxrss,
which Linux carries over from the process that spawned us, here the bench with everything it
imported). KIND ``tlc`` runs TLC once; the JVM is this process's only child, so
``RUSAGE_CHILDREN.ru_maxrss`` is max(the JVM's peak RSS, our own RSS when we spawned it); when
it exceeds our own VmHWM it is exactly the JVM's peak (always, in practice: a JVM starts above
100 MiB), otherwise it is only an upper bound and the result says so (``peak_rss_exact``).
Both check what ``kvm-mmio check`` checks in its complete run: every invariant and property of
the cfg except those the manifest expects to be violated, so that both explore every state.
KIND ``graph`` compares TLC's state graph with the reference's (kvm_mmio_tools.crosscheck) and
reports both peaks: this process's VmHWM (the reference's graph and TLC's, read and compared)
and the JVM's, as for ``tlc``.

The answer is JSON lines on stdout: ``{"progress": {"states", "queue", "elapsed"}}`` while it
runs, then one ``{"result": {...}}`` or ``{"error": "..."}``. SIGTERM stops it like Ctrl-C
(run_tlc then kills the JVM before this process exits).
"""

from __future__ import annotations

import json
import resource
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kvm_mmio_tools import logs

__all__ = ["KINDS", "main", "measure_explorer", "measure_graph", "measure_tlc"]

KINDS = ("tlc", "explorer", "graph")
_BANNER = 2262  # TLC's version banner (-tool message code)


def _emit(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


def _progress(states: int, queue: int, elapsed: float) -> None:
    _emit({"progress": {"states": states, "queue": queue, "elapsed": round(elapsed, 3)}})


def _kib_to_mib(kib: int) -> float:
    return round(kib / 1024, 1)  # ru_maxrss and VmHWM are in KiB on Linux


def _own_peak_kib() -> int:
    """This process image's peak RSS (VmHWM); ru_maxrss where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_tlc(name: str) -> dict[str, Any]:
    """TLC (one worker, the options of `kvm-mmio check`) on model ``name``'s complete run."""
    from kvm_mmio_tools.check import JAVA_OPTS
    from kvm_mmio_tools.models import copy_modules, select_models, with_checks
    from kvm_mmio_tools.tlc import run_tlc

    (model,) = select_models([name])
    invariants = tuple(n for n in model.invariants if n not in model.expect_violated)
    properties = tuple(n for n in model.properties if n not in model.expect_violated)
    folder = Path(tempfile.mkdtemp(prefix=f"kvm-mmio-bench-{name}-"))
    try:
        copy_modules(folder)
        cfg = folder / "bench.cfg"
        cfg.write_text(with_checks(model.cfg_text, invariants, properties))
        result = run_tlc(
            folder / "KvmMmio.tla",
            cfg,
            workers=1,
            java_opts=JAVA_OPTS,
            on_progress=lambda p: _progress(p.distinct, p.queue, p.elapsed),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    banner = next((m.body.strip() for m in result.messages if m.code == _BANNER), None)
    jvm_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "outcome": result.outcome.value,
        "explanation": result.explanation,
        "distinct_states": result.distinct_states,
        "depth": result.depth,
        "seconds": round(result.seconds, 3),
        "peak_rss_mib": _kib_to_mib(jvm_peak),
        "peak_rss_exact": jvm_peak > _own_peak_kib(),
        "tlc_version": banner,
    }


def measure_explorer(name: str) -> dict[str, Any]:
    """The reference explorer (kvm_mmio.explore) on model ``name``'s complete run."""
    from kvm_mmio.config import load_model
    from kvm_mmio.explore import explore

    model = load_model(name)
    found = explore(
        model.constants,
        tuple(n for n in model.invariants if n not in model.expect_violated),
        tuple(n for n in model.properties if n not in model.expect_violated),
        symmetry=model.symmetry is not None,
        model=name,
        progress=_progress,
    )
    return {
        "outcome": "success" if not found.violated else "violated: " + " ".join(found.violated),
        "explanation": "",
        "distinct_states": found.distinct_states,
        "depth": found.depth,
        "seconds": round(found.seconds, 3),
        "peak_rss_mib": _kib_to_mib(_own_peak_kib()),
        "peak_rss_exact": True,
        "unchecked": list(found.unchecked),
    }


def measure_graph(name: str) -> dict[str, Any]:
    """TLC's state graph of model ``name`` against the reference's, timed from start to verdict."""
    from kvm_mmio_tools.crosscheck import compare_model_graphs
    from kvm_mmio_tools.models import select_models

    (model,) = select_models([name])
    start = time.monotonic()

    def progress(who: str, states: int) -> None:
        if who == "reference":
            _progress(states, 0, time.monotonic() - start)

    diff = compare_model_graphs(model, progress=progress)
    seconds = time.monotonic() - start
    jvm_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "equal": diff.equal,
        "difference": None if diff.equal else diff.describe(),
        "states": diff.counts["states"],
        "edges": diff.counts["edges"],
        "initial": diff.counts["initial"],
        "seconds": round(seconds, 3),
        "peak_rss_mib": _kib_to_mib(_own_peak_kib()),
        "jvm_peak_rss_mib": _kib_to_mib(jvm_peak),
    }


_MEASURES = {"tlc": measure_tlc, "explorer": measure_explorer, "graph": measure_graph}


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in KINDS:
        usage = f"usage: python -m kvm_mmio_tools.bench_child {'|'.join(KINDS)} MODEL"
        print(usage, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    logs.configure(json_output=False, verbosity=0)  # events to stderr: stdout is the answer
    kind, name = args
    try:
        result = _MEASURES[kind](name)
    except Exception as error:  # reported to the parent, which says which run failed
        _emit({"error": f"{type(error).__name__}: {error}"})
        return 3
    _emit({"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
