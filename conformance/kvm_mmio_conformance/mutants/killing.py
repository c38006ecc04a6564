"""Run the suite against every mutant, in the full view and in the kernel view, and tabulate
which cases kill each one.

Why: "the suite rejects every mutant" is the suite's own acceptance test, and the table (mutant,
the cases that killed it, how many) shows how sharp each case is; a mutant killed by a single
case is a hint that the vectors are thin there. The kernel view (kernel_view.py: kernel configs,
outcome and path only) asks the same of the cases a real kernel can run.

What "rejected" means depends on the level a mutant is expected to die at (its `killed_at`): an
spte or operations mutant must fail a must-tier case, in both views, since those are the cases
every implementation of the level runs; a steps mutant (a race that no sequence of whole
operations shows) must fail a case of the steps level, whose tier is should, and no kernel can
run those (its kernel view is not asked). The hunt therefore runs the must and should tiers by
default.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from kvm_mmio_conformance.inprocess import InProcessChannel
from kvm_mmio_conformance.kernel_view import KernelView
from kvm_mmio_conformance.mutants import MUTANTS
from kvm_mmio_conformance.runner import run
from kvm_mmio_conformance.vectors import Case, load_vectors, select

__all__ = ["HUNT_TIER", "Kill", "hunt", "render_kills"]

HUNT_TIER = "should"


@attrs.frozen
class Kill:
    """One mutant against the suite: the cases that failed on it (`killed_by`, any tier run),
    those of them in the must tier (`must_killed_by`), and the same in the kernel view (None
    for a steps mutant, which no kernel can be asked about)."""

    name: str
    mistake: str
    imitates: str
    witness: str
    killed_by: tuple[str, ...]
    killed_at: str = "spte"
    must_killed_by: tuple[str, ...] = ()
    kernel_killed_by: tuple[str, ...] | None = None

    @property
    def in_kernel_view(self) -> bool:
        return self.killed_at != "steps"

    @property
    def rejected(self) -> bool:
        """Killed where it is expected to be: by a must-tier case in both views, or (steps) by
        any case of the full view."""
        if self.killed_at == "steps":
            return bool(self.killed_by)
        return bool(self.must_killed_by) and bool(self.kernel_killed_by)


def _failed_must(cases: Sequence[Case], adapter: object) -> tuple[list[str], list[str]]:
    report = run(InProcessChannel(adapter), cases)
    failed = [r.case for r in report.results if r.status == "failed"]
    return [case.id for case in failed], [case.id for case in failed if case.tier == "must"]


def hunt(cases: Sequence[Case] | None = None) -> list[Kill]:
    """Every mutant of the catalog against `cases` (default: the must and should tiers), in the
    full view and, unless it is a race, in the kernel view (must-tier cases only)."""
    if cases is None:
        cases = select(load_vectors(), tier=HUNT_TIER)
    must_cases = [case for case in cases if case.tier == "must"]
    kills = []
    for name, mutant in MUTANTS.items():
        killed, must_killed = _failed_must(cases, mutant())
        kernel = None
        if mutant.killed_at != "steps":
            kernel = tuple(_failed_must(must_cases, KernelView(mutant()))[1])
        kills.append(
            Kill(
                name,
                mutant.mistake,
                mutant.imitates,
                mutant.witness,
                tuple(killed),
                mutant.killed_at,
                tuple(must_killed),
                kernel,
            )
        )
    return kills


def render_kills(kills: Sequence[Kill], *, shown: int = 3) -> str:
    """The table: mutant, the level expected to kill it, the number of killing cases in the
    full view and in the kernel view, the first `shown` of each, and the mistake."""
    width = max(len(kill.name) for kill in kills)
    head = f"{'mutant':<{width}}  {'level':<10}  {'full':>5}  {'kernel':>6}"
    lines = [f"{head}  killed by (first {shown}; kernel view below) / mistake"]
    for kill in kills:
        first = ", ".join(kill.killed_by[:shown]) or "NOT KILLED"
        if kill.killed_by and not kill.must_killed_by and kill.killed_at != "steps":
            first = f"NOT KILLED by a must-tier case ({first})"
        more = f" (+{len(kill.killed_by) - shown})" if len(kill.killed_by) > shown else ""
        kernel = "-" if kill.kernel_killed_by is None else str(len(kill.kernel_killed_by))
        lines.append(
            f"{kill.name:<{width}}  {kill.killed_at:<10}  {len(kill.killed_by):>5}  "
            f"{kernel:>6}  {first}{more}"
        )
        pad = f"{'':<{width}}  {'':<10}  {'':>5}  {'':>6}"
        if kill.kernel_killed_by is not None:
            listed = ", ".join(kill.kernel_killed_by[:shown]) or "NOT KILLED in the kernel view"
            extra = len(kill.kernel_killed_by) - shown
            lines.append(f"{pad}  kernel view: {listed}" + (f" (+{extra})" if extra > 0 else ""))
        lines.append(f"{pad}  {kill.mistake}")
    survivors = [kill.name for kill in kills if not kill.rejected]
    lines.append(
        f"{len(kills) - len(survivors)} of {len(kills)} mutants rejected"
        + (f"; survivors: {', '.join(survivors)}" if survivors else "")
    )
    return "\n".join(lines)
