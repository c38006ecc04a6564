"""Check models with TLC against the manifest's expected verdicts and recorded counts.

TLC stops at the first violation it finds, and in ``-continue`` mode prints a trace for every
violating state (thousands for some models), so each model is checked by:

- one complete run with the checks expected to hold (its counts are the model's state space);
  an unexpected violation is reported, removed, and the run repeated, so that every check gets a
  verdict;
- one run per check expected to fail, alone, which stops at its first (with one worker: shortest)
  counterexample.

Models run on a small pool of JVMs (largest first); a cancel event stops every JVM at once.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs

from kvm_mmio_tools.models import Model, copy_modules, with_checks
from kvm_mmio_tools.tlc import Outcome, Progress, TlcResult, TraceState, run_tlc

__all__ = ["JAVA_OPTS", "ModelReport", "check_model", "check_models", "counterexamples"]

# C1 only: TLC runs here are short, and C2's compile threads cost more than they win
# (a 10,000-state model: 1.5 s instead of 4.1 s; the 318,326-state `safe` is not slower).
JAVA_OPTS = ("-XX:+UseParallelGC", "-XX:TieredStopAtLevel=1")

ProgressCallback = Callable[[str, Progress], None]


@attrs.frozen
class ModelReport:
    """The verdict of one model: what held, what failed, and how that compares with the manifest."""

    name: str
    expected_holds: tuple[str, ...]
    expected_violated: tuple[str, ...]
    holds: tuple[str, ...]
    violated: tuple[str, ...]
    distinct_states: int | None
    depth: int | None
    seconds: float
    counterexamples: dict[str, tuple[TraceState, ...]]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def first_counterexample(self) -> tuple[str, tuple[TraceState, ...]] | None:
        """The counterexample of the first violated check, in the manifest's order."""
        for name in (*self.expected_violated, *self.violated):
            if name in self.counterexamples:
                return name, self.counterexamples[name]
        return None


class _Runner:
    """Runs TLC on variants of one model's cfg in a scratch copy of spec/ (TLC resolves the cfg
    against the spec's folder, and nothing is ever written into the checkout)."""

    def __init__(
        self,
        model: Model,
        workers: int,
        timeout: float | None,
        on_progress: ProgressCallback | None,
        cancel: threading.Event | None,
    ):
        self.model = model
        self.workers = workers
        self.timeout = timeout
        self.on_progress = on_progress
        self.cancel = cancel
        self.runs = 0

    def __enter__(self) -> _Runner:
        self.folder = Path(tempfile.mkdtemp(prefix=f"kvm-mmio-check-{self.model.name}-"))
        copy_modules(self.folder)
        return self

    def __exit__(self, *exc_info: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def run(self, invariants: tuple[str, ...], properties: tuple[str, ...]) -> TlcResult:
        self.runs += 1
        cfg = self.folder / f"run{self.runs}.cfg"
        cfg.write_text(with_checks(self.model.cfg_text, invariants, properties))
        progress = None
        if self.on_progress is not None:
            callback, name = self.on_progress, self.model.name

            def progress(report: Progress) -> None:
                callback(name, report)

        return run_tlc(
            self.folder / "KvmMmio.tla",
            cfg,
            workers=self.workers,
            timeout=self.timeout,
            on_progress=progress,
            java_opts=JAVA_OPTS,
            cancel=self.cancel,
        )


def _failure(result: TlcResult) -> str:
    text = f"TLC {result.outcome.value}: {result.explanation}"
    if result.parse_error:
        text += "\n" + result.parse_error.strip()
    return text


def _complete_run(runner: _Runner, checks: list[str], report: dict) -> None:
    """Run the checks expected to hold until one run completes; record what failed on the way."""
    model = runner.model
    invariants = [name for name in checks if name in model.invariants]
    properties = [name for name in checks if name in model.properties]
    while True:
        result = runner.run(tuple(invariants), tuple(properties))
        report["seconds"] += result.seconds
        if result.outcome is Outcome.SUCCESS:
            report["holds"].extend(invariants + properties)
            report["distinct_states"], report["depth"] = result.distinct_states, result.depth
            return
        if result.outcome is Outcome.INVARIANT_VIOLATED and result.violated:
            name = result.violated[0]
            invariants.remove(name)
        elif result.outcome is Outcome.PROPERTY_VIOLATED and len(properties) == 1:
            name = properties.pop()
        elif result.outcome is Outcome.PROPERTY_VIOLATED:
            # TLC 2.15 does not name the temporal property it found violated: ask one at a time.
            for single in list(properties):
                alone = runner.run((), (single,))
                report["seconds"] += alone.seconds
                if alone.outcome is Outcome.PROPERTY_VIOLATED:
                    report["violated"].append(single)
                    report["counterexamples"][single] = alone.trace
                    properties.remove(single)
            continue
        elif result.outcome is Outcome.DEADLOCK:
            report["violated"].append("Deadlock")
            report["counterexamples"]["Deadlock"] = result.trace
            report["problems"].append("TLC found a deadlock")
            return
        else:
            report["problems"].append(_failure(result))
            return
        report["violated"].append(name)
        report["counterexamples"][name] = result.trace


def _violation_run(runner: _Runner, name: str, report: dict) -> None:
    """Run one check expected to fail, alone; its first violation is the counterexample."""
    model = runner.model
    is_invariant = name in model.invariants
    result = runner.run((name,) if is_invariant else (), () if is_invariant else (name,))
    report["seconds"] += result.seconds
    if result.outcome in (Outcome.INVARIANT_VIOLATED, Outcome.PROPERTY_VIOLATED):
        report["violated"].append(name)
        report["counterexamples"][name] = result.trace
    elif result.outcome is Outcome.SUCCESS:
        report["holds"].append(name)
    else:
        report["problems"].append(_failure(result))


def _new_report() -> dict:
    """What the runs of one model add up (filled by _complete_run and _violation_run)."""
    return {
        "holds": [],
        "violated": [],
        "counterexamples": {},
        "problems": [],
        "distinct_states": None,
        "depth": None,
        "seconds": 0.0,
    }


def _verdict_problems(model: Model, report: dict) -> list[str]:
    """Each check whose verdict is not the one the manifest expects."""
    wrong = [
        f"{name} is violated, but the manifest expects it to hold"
        for name in model.expect_holds
        if name in report["violated"]
    ]
    return wrong + [
        f"{name} holds, but the manifest expects it to be violated"
        for name in model.expect_violated
        if name in report["holds"]
    ]


def check_model(
    model: Model,
    *,
    workers: int = 1,
    timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> ModelReport:
    """Check one model and compare the verdict and counts with its manifest entry."""
    report = _new_report()
    listed = (*model.invariants, *model.properties)
    with _Runner(model, workers, timeout, on_progress, cancel) as runner:
        _complete_run(runner, [n for n in listed if n not in model.expect_violated], report)
        for name in model.expect_violated:
            if cancel is not None and cancel.is_set():
                break
            _violation_run(runner, name, report)
    problems = report["problems"]
    problems += _verdict_problems(model, report)
    counted = report["distinct_states"] is not None
    if (
        counted
        and model.recorded_states is not None
        and (
            (report["distinct_states"], report["depth"])
            != (model.recorded_states, model.recorded_depth)
        )
    ):
        problems.append(
            f"{report['distinct_states']} distinct states at depth {report['depth']}, but the "
            f"manifest records {model.recorded_states} at depth {model.recorded_depth} "
            "(if the spec changed on purpose: kvm-mmio check --record)"
        )
    order = {name: index for index, name in enumerate(listed)}
    return ModelReport(
        name=model.name,
        expected_holds=model.expect_holds,
        expected_violated=model.expect_violated,
        holds=tuple(sorted(report["holds"], key=order.get)),
        violated=tuple(sorted(report["violated"], key=lambda n: order.get(n, len(order)))),
        distinct_states=report["distinct_states"],
        depth=report["depth"],
        seconds=round(report["seconds"], 2),
        counterexamples=report["counterexamples"],
        problems=tuple(problems),
    )


def counterexamples(
    model: Model, *, workers: int = 1, timeout: float | None = None
) -> tuple[dict[str, tuple[TraceState, ...]], tuple[str, ...]]:
    """Only the stop-at-first runs of the checks the manifest expects to be violated: each one's
    counterexample, and the problems of the runs that gave none (for replay elsewhere, without
    the complete run that check_model also makes)."""
    report = _new_report()
    with _Runner(model, workers, timeout, None, None) as runner:
        for name in model.expect_violated:
            _violation_run(runner, name, report)
    return report["counterexamples"], (*report["problems"], *_verdict_problems(model, report))


def check_models(
    models: list[Model],
    *,
    jobs: int = 2,
    workers: int = 1,
    timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
    on_start: Callable[[Model], None] | None = None,
    on_done: Callable[[ModelReport], None] | None = None,
) -> list[ModelReport]:
    """Check models on ``jobs`` JVMs at once, largest first; reports come back in input order.

    Ctrl-C (KeyboardInterrupt in the calling thread) stops every JVM before it propagates.
    """
    cancel = threading.Event()
    largest_first = sorted(models, key=lambda m: -(m.recorded_states or 0))

    def task(model: Model) -> ModelReport:
        if on_start is not None:
            on_start(model)
        report = check_model(
            model, workers=workers, timeout=timeout, on_progress=on_progress, cancel=cancel
        )
        if on_done is not None:
            on_done(report)
        return report

    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="tlc")
    try:
        futures = {model.name: pool.submit(task, model) for model in largest_first}
        while not all(future.done() for future in futures.values()):
            time.sleep(0.05)
        return [futures[model.name].result() for model in models]
    except BaseException:
        cancel.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
