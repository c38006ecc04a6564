"""Run the suite against every mutant and tabulate which cases kill each one.

Why: "the suite rejects every mutant" is the suite's own acceptance test, and the table (mutant,
the cases that killed it, how many) shows how sharp each case is; a mutant killed by a single
case is a hint that the vectors are thin there.

What "rejected" means depends on the level a mutant is expected to die at (its `killed_at`): an
spte or operations mutant must fail a must-tier case, since those are the cases every
implementation of the level runs; a steps mutant (a race that no sequence of whole operations
shows) must fail a case of the steps level, whose tier is should. The hunt therefore runs the
must and should tiers by default.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from kvm_mmio_conformance.inprocess import InProcessChannel
from kvm_mmio_conformance.mutants import MUTANTS
from kvm_mmio_conformance.runner import run
from kvm_mmio_conformance.vectors import Case, load_vectors, select

__all__ = ["HUNT_TIER", "Kill", "hunt", "render_kills"]

HUNT_TIER = "should"


@attrs.frozen
class Kill:
    """One mutant against the suite: the cases that failed on it (`killed_by`, any tier run),
    and those of them in the must tier (`must_killed_by`)."""

    name: str
    mistake: str
    imitates: str
    witness: str
    killed_by: tuple[str, ...]
    killed_at: str = "spte"
    must_killed_by: tuple[str, ...] = ()

    @property
    def rejected(self) -> bool:
        """Killed where it is expected to be: by a must-tier case, or (steps) by any case."""
        if self.killed_at == "steps":
            return bool(self.killed_by)
        return bool(self.must_killed_by)


def hunt(cases: Sequence[Case] | None = None) -> list[Kill]:
    """Every mutant of the catalog against `cases` (default: the must and should tiers)."""
    if cases is None:
        cases = select(load_vectors(), tier=HUNT_TIER)
    kills = []
    for name, mutant in MUTANTS.items():
        report = run(InProcessChannel(mutant()), cases)
        failed = [r.case for r in report.results if r.status == "failed"]
        kills.append(
            Kill(
                name,
                mutant.mistake,
                mutant.imitates,
                mutant.witness,
                tuple(case.id for case in failed),
                mutant.killed_at,
                tuple(case.id for case in failed if case.tier == "must"),
            )
        )
    return kills


def render_kills(kills: Sequence[Kill], *, shown: int = 4) -> str:
    """The table: mutant, the level expected to kill it, count of killing cases, the first
    `shown` of them, and the mistake."""
    width = max(len(kill.name) for kill in kills)
    head = f"{'mutant':<{width}}  {'level':<10}  {'kills':>5}"
    lines = [f"{head}  killed by (first {shown}) / mistake"]
    for kill in kills:
        first = ", ".join(kill.killed_by[:shown]) or "NOT KILLED"
        if kill.killed_by and not kill.rejected:
            first = f"NOT KILLED by a must-tier case ({first})"
        more = f" (+{len(kill.killed_by) - shown})" if len(kill.killed_by) > shown else ""
        lines.append(
            f"{kill.name:<{width}}  {kill.killed_at:<10}  {len(kill.killed_by):>5}  {first}{more}"
        )
        lines.append(f"{'':<{width}}  {'':<10}  {'':>5}  {kill.mistake}")
    survivors = [kill.name for kill in kills if not kill.rejected]
    lines.append(
        f"{len(kills) - len(survivors)} of {len(kills)} mutants rejected"
        + (f"; survivors: {', '.join(survivors)}" if survivors else "")
    )
    return "\n".join(lines)
