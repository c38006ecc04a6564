"""Check 3: a vCPU reading a gfn while another thread deletes, re-creates and moves its slot.

Why: this is the user contract of tools/testing/selftests/kvm/set_memory_region_test.c, which the
spec states as Allowed (ObservationsAllowed): a read during an update may show the layout before
or after it, a read outside one shows the current layout, and a page replaced by a new one is
never seen again. The vCPU (this thread) spins on a loop of "read X, report it"; the updater
thread repeats the cycle delete X, create X (with the other of two backing pages), move X away,
move it back, and after each ioctl waits until the vCPU has completed a read begun after the
ioctl returned, so that every window is observed. Each read is classified by window (windows.py)
and judged against the reference's Allowed sets for that window, computed by running the same
cycle on ``kvm_mmio.vm`` ("live-host"): during an update, the union of Allowed over every state
of the operation; after it, Allowed once it ended.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from kvm_mmio import actions
from kvm_mmio.vm import Vm as ReferenceVm

from .eventlog import NO_RECORDER, Recorder
from .guest import REPORT_GPA, Guest, assemble, read
from .operations import KernelMemslots, MemslotOp, apply_to_reference
from .run import MmioExit, VcpuRunner
from .vm import PAGE_SIZE, GuestMemory, KvmSystem
from .windows import Ioctl, Read, Timeline, Verdict, WindowRule, judge

__all__ = [
    "CYCLE",
    "DEFAULT_ITERATIONS",
    "RaceCheck",
    "reference_rules",
    "run_race_check",
    "tally",
]

log = structlog.get_logger()

PROFILE = "live-host"
X, AWAY = 0x300, 0x400
PAGE_MARKERS = (0xA1, 0xB2)  # the two backing pages; creates alternate between them
MMIO_ANSWER = 0xEE  # what an MMIO read of X returns to the guest
DEFAULT_ITERATIONS = 3000
CYCLE = (
    ("delete", MemslotOp("delete", X)),
    ("create", MemslotOp("create", X)),
    ("move away", MemslotOp("move", X, AWAY)),
    ("move back", MemslotOp("move", AWAY, X)),
)
PROGRESS_TIMEOUT = 5.0  # seconds the updater waits for the vCPU to read once more
MAX_EXAMPLES = 10


def reference_rules() -> tuple[frozenset[str], dict[str, WindowRule]]:
    """The reference's Allowed for X before any update, and during / after each update of the
    cycle, from one run of the cycle on the live-host VM (the cycle ends where it began)."""
    vm = ReferenceVm.from_kernel(PROFILE, gfns=(X, AWAY), init_ram=(X,))
    consts = vm.constants

    def allowed_now() -> frozenset[str]:
        return actions.allowed(consts, vm.state, 0, X)

    initial, start = allowed_now(), vm.state.slots
    rules = {}
    for label, op in CYCLE:
        first = len(vm.history)
        if not apply_to_reference(vm, op):
            raise RuntimeError(f"the reference does not enable {op} in the cycle")
        during = frozenset().union(
            *(
                actions.allowed(consts, step.state, 0, X)
                for step in vm.history[first:]
                if step.state.upd.phase != "idle"
            )
        )
        rules[label] = WindowRule(during, allowed_now())
    if vm.state.slots != start:
        raise RuntimeError("the cycle does not bring the reference's layout back")
    return initial, rules


@dataclass(frozen=True, slots=True)
class RaceCheck:
    """Counts of reads by window and outcome shown, the reference's Allowed per window, and the
    reads the reference does not allow (`violations`, with up to MAX_EXAMPLES described)."""

    iterations: int
    requested: int
    seconds: float
    ioctls: int
    counts: Mapping[str, Mapping[str, int]]
    allowed: Mapping[str, frozenset[str]]
    violations: int
    examples: tuple[str, ...]

    @property
    def reads(self) -> int:
        return sum(sum(shown.values()) for shown in self.counts.values())

    @property
    def ok(self) -> bool:
        return self.violations == 0 and self.iterations > 0


def tally(
    reads: list[Read], ioctls: list[Ioctl], *, initial_page: int
) -> tuple[dict[str, Counter[str]], dict[str, frozenset[str]], list[Verdict]]:
    """Judge every read: counts by window name and shown outcome, the allowed outcomes of each
    window seen, and the verdicts that are not allowed."""
    initial, rules = reference_rules()
    timeline = Timeline(ioctls)
    counts: dict[str, Counter[str]] = {}
    allowed: dict[str, frozenset[str]] = {"before any update": initial}
    for label, rule in rules.items():
        allowed[f"during {label}"], allowed[f"after {label}"] = rule.during, rule.after
    bad = []
    for observed in reads:
        window = timeline.classify(observed)
        verdict = judge(
            observed, window, timeline, rules, initial=initial, initial_page=initial_page
        )
        counts.setdefault(window.name, Counter())[verdict.shown] += 1
        if not verdict.allowed:
            bad.append(verdict)
    return counts, allowed, bad


def run_race_check(
    iterations: int = DEFAULT_ITERATIONS,
    *,
    time_limit: float = 30.0,
    progress: Callable[[int, int], None] | None = None,
    recorder: Recorder = NO_RECORDER,
) -> RaceCheck:
    """Run up to `iterations` cycles (fewer if `time_limit` seconds pass) and judge every read.
    `progress(cycles, iterations)` is called from the updater thread every 100 cycles;
    `recorder` is told of every ioctl and access (eventlog.py), from the thread that makes it."""
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    started = time.monotonic()
    with KvmSystem() as kvm, kvm.create_vm() as vm:
        guest = Guest(vm)
        pages = [vm.allocate(PAGE_SIZE) for _ in PAGE_MARKERS]
        for page, marker in zip(pages, PAGE_MARKERS, strict=True):
            page.write_int(0, 1, marker)
        memslots = KernelMemslots(vm, first_slot=2)  # the Guest holds slots 0 and 1
        recorder.ioctl_begin("create", X)
        created = memslots.apply(MemslotOp("create", X), pages[0]).accepted
        recorder.ioctl_end(created)
        if not created:
            raise RuntimeError(f"creating the slot at gfn {X:#x} failed")
        updater = _Updater(memslots, pages, iterations, started + time_limit, progress, recorder)
        with VcpuRunner(vm.create_vcpu(0)) as runner:
            program = assemble([read(X)], loop=True)
            runner.enter(guest, program)
            thread = threading.Thread(target=updater.run, name="kvm-memslot-updater")
            thread.start()
            try:
                reads = _spin(runner, updater, recorder)
            finally:
                updater.stop()
                thread.join()
    if updater.error is not None:
        raise updater.error
    log.info("race run", cycles=updater.cycles, ioctls=len(updater.ioctls), reads=len(reads))
    counts, allowed, bad = tally(reads, updater.ioctls, initial_page=PAGE_MARKERS[0])
    examples = tuple(_describe(verdict, updater.ioctls) for verdict in bad[:MAX_EXAMPLES])
    return RaceCheck(
        iterations=updater.cycles,
        requested=iterations,
        seconds=time.monotonic() - started,
        ioctls=len(updater.ioctls),
        counts=counts,
        allowed=allowed,
        violations=len(bad),
        examples=examples,
    )


def _describe(verdict: Verdict, ioctls: list[Ioctl]) -> str:
    labels = ", ".join(f"#{i} {ioctls[i].label}" for i in verdict.window.ioctls)
    return f"{verdict.window.name} ({labels or 'no ioctl'}): showed {verdict.shown}"


def _spin(runner: VcpuRunner, updater: "_Updater", recorder: Recorder) -> list[Read]:
    """Collect the vCPU's reads until the updater is done; each one is reported to it."""
    reads = []
    while not updater.done.is_set():
        recorder.access(X, "native")
        observed = _next_read(runner)
        recorder.result(X, observed.outcome)
        reads.append(observed)
        updater.observed(observed.start_ns)
    return reads


def _next_read(runner: VcpuRunner) -> Read:
    """One pass of the loop: the read of X (an MMIO exit, answered, or nothing) and its report."""
    start = time.monotonic_ns()
    exit_ = runner.run()
    end = time.monotonic_ns()
    outcome = "ram"
    if (
        isinstance(exit_, MmioExit)
        and exit_.gpa == X * PAGE_SIZE
        and not exit_.is_write
        and len(exit_.data) == 1
    ):
        outcome = "mmio"
        runner.answer_mmio_read(MMIO_ANSWER)
        exit_ = runner.run()
    if not (
        isinstance(exit_, MmioExit)
        and exit_.gpa == REPORT_GPA
        and exit_.is_write
        and len(exit_.data) == 8
    ):
        raise RuntimeError(f"the guest left its read loop: {exit_}")
    return Read(start, end, outcome, exit_.value)


class _Updater:
    """The thread that updates the memslot; it records each ioctl and paces itself on the vCPU."""

    def __init__(
        self,
        memslots: KernelMemslots,
        pages: list[GuestMemory],
        iterations: int,
        deadline: float,
        progress: Callable[[int, int], None] | None,
        recorder: Recorder,
    ) -> None:
        self.memslots = memslots
        self.recorder = recorder
        self.pages = pages
        self.iterations = iterations
        self.deadline = deadline
        self.progress = progress
        self.ioctls: list[Ioctl] = []
        self.cycles = 0
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._condition = threading.Condition()
        self._last_read_start = 0
        self._stopping = False

    def observed(self, read_start_ns: int) -> None:
        with self._condition:
            self._last_read_start = read_start_ns
            self._condition.notify()

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify()

    def run(self) -> None:
        try:
            if not self._read_after(time.monotonic_ns()):
                return
            page = 0
            while self.cycles < self.iterations and time.monotonic() < self.deadline:
                for label, op in CYCLE:
                    if op.kind == "create":
                        page = 1 - page
                    if not self._update(label, op, page):
                        return
                self.cycles += 1
                if self.progress is not None and self.cycles % 100 == 0:
                    self.progress(self.cycles, self.iterations)
        except BaseException as error:
            self.error = error
        finally:
            self.done.set()

    def _update(self, label: str, op: MemslotOp, page: int) -> bool:
        memory = self.pages[page] if op.kind == "create" else None
        self.recorder.ioctl_begin(op.kind, op.gfn, op.to)
        start = time.monotonic_ns()
        applied = self.memslots.apply(op, memory)
        end = time.monotonic_ns()
        self.recorder.ioctl_end(applied.accepted)
        if not applied.accepted:
            raise RuntimeError(f"the kernel refused {op} ({applied.error}) in the race cycle")
        self.ioctls.append(Ioctl(label, start, end, PAGE_MARKERS[page]))
        return self._read_after(end)

    def _read_after(self, when_ns: int) -> bool:
        """Wait until the vCPU completed a read begun after `when_ns`; False when stopping."""
        with self._condition:
            if not self._condition.wait_for(
                lambda: self._last_read_start > when_ns or self._stopping, PROGRESS_TIMEOUT
            ):
                raise RuntimeError(f"the vCPU made no read for {PROGRESS_TIMEOUT} s")
            return not self._stopping
