"""Which window of a memslot update an observed guest read happened in, and whether its outcome is
allowed there.

Why: a read racing with KVM_SET_USER_MEMORY_REGION has no single "moment" the host can see. What
the host can time is an interval that surely contains it: the KVM_RUN in which the vCPU decided
the access (taken on the vCPU's thread), and the interval that surely contains each ioctl (taken
on the updater's thread, around the call). A read whose interval overlaps an ioctl's happened
"during" it; one that lies between two ioctls happened "after" the first; one before every ioctl
is "before". Widening an interval can only move a read from after into during, whose allowed set
contains the after set, so the classification never blames the kernel for the clock's slack.

The allowed outcomes of each window are the reference's (the spec's Allowed: during an operation,
the layout before or after it; otherwise the current layout). A memory read must also return a
page that the slot held in that window: the page installed by the latest create, never an older
one (the value tells the pages apart).
"""

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Ioctl", "Read", "Timeline", "Verdict", "Window", "WindowRule", "judge"]


@dataclass(frozen=True, slots=True)
class Ioctl:
    """One memslot update: its label, the interval around the call (ns), and the marker of the
    page the slot holds once it returned."""

    label: str
    start_ns: int
    end_ns: int
    page: int


@dataclass(frozen=True, slots=True)
class Read:
    """One guest read of the gfn under test: the KVM_RUN that decided it (ns), "ram" or "mmio",
    and the value the guest got."""

    start_ns: int
    end_ns: int
    outcome: Literal["ram", "mmio"]
    value: int


@dataclass(frozen=True, slots=True)
class Window:
    """before: no ioctl yet; during: overlaps ioctl `ioctls[0]`; after: between ioctls[0] and the
    next; spanning: overlaps every ioctl in `ioctls` (only with ioctls closer than a KVM_RUN)."""

    phase: Literal["before", "during", "after", "spanning"]
    label: str = ""
    ioctls: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        if self.phase == "before":
            return "before any update"
        if self.phase == "spanning":
            return "spanning updates"
        return f"{self.phase} {self.label}"


@dataclass(frozen=True, slots=True)
class WindowRule:
    """The outcomes the reference allows while one kind of update runs and after it returned."""

    during: frozenset[str]
    after: frozenset[str]


class Timeline:
    """The ioctls of one run, in order (the updater makes one at a time, so they do not overlap)."""

    def __init__(self, ioctls: Sequence[Ioctl]) -> None:
        self.ioctls = tuple(ioctls)
        self._starts = [ioctl.start_ns for ioctl in self.ioctls]
        self._ends = [ioctl.end_ns for ioctl in self.ioctls]
        if any(b < a for a, b in zip(self._ends, self._starts[1:], strict=False)):
            raise ValueError("the ioctls overlap: they must come from one updater thread")

    def classify(self, read: Read) -> Window:
        first = bisect.bisect_left(self._ends, read.start_ns)  # the first not over before it
        stop = bisect.bisect_right(self._starts, read.end_ns)  # those begun by its end
        if stop - first == 1:
            return Window("during", self.ioctls[first].label, (first,))
        if stop - first > 1:
            return Window("spanning", "", tuple(range(first, stop)))
        if stop == 0:
            return Window("before")
        return Window("after", self.ioctls[stop - 1].label, (stop - 1,))


@dataclass(frozen=True, slots=True)
class Verdict:
    """A read judged: its window, what it showed ("mmio", "ram", or "ram (other page)" for a
    page the slot did not hold then), and whether the reference allows that there."""

    window: Window
    shown: str
    allowed: bool


def judge(
    read: Read,
    window: Window,
    timeline: Timeline,
    rules: Mapping[str, WindowRule],
    *,
    initial: frozenset[str],
    initial_page: int,
) -> Verdict:
    """Judge one read against the reference's `rules` (by ioctl label) and the page rule."""
    if window.phase == "before":
        outcomes, pages = initial, {initial_page}
    else:
        touched = [timeline.ioctls[index] for index in window.ioctls]
        pages = {ioctl.page for ioctl in touched}
        if window.phase == "after":
            outcomes = rules[window.label].after
        else:
            outcomes = frozenset().union(*(rules[ioctl.label].during for ioctl in touched))
    if read.outcome == "mmio":
        return Verdict(window, "mmio", "mmio" in outcomes)
    if read.value not in pages:
        return Verdict(window, "ram (other page)", False)
    return Verdict(window, "ram", "ram" in outcomes)
