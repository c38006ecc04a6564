"""Decide whether a distributed TLC run can be believed, and say why not.

Why so strict: in TLC 2.15's distributed mode a run that finds an invariant violated prints no
violation message, a two-state "error trace" starting from a state that is not initial, no success
message, and exits 0 (shared/TLC_FACTS.md, trap 4); it also ignores temporal properties.  So a
distributed run is believed only when it says exactly what a correct successful run says: exit 0,
the success message and no other verdict, no trace and no error message, a final count with an
empty queue, and no worker lost on the way.  Everything else is a doubt, and a doubted model is
re-checked locally (distributed_check.py).
"""

from __future__ import annotations

from kvm_mmio_tools.tlc import Outcome, TlcResult

__all__ = ["doubts", "summary"]

_SUCCESS = 2193
_TRACE_START = frozenset({2121, 2264})
_TRACE_STATE = 2217
_VIOLATIONS = frozenset({2104, 2107, 2108, 2110, 2112, 2114, 2116})
_WORKER_LOST = frozenset({7002, 7006})  # deregistered, lost


def doubts(result: TlcResult) -> list[str]:
    """Every sign in the server's output that its verdict is not a correct success."""
    codes = [message.code for message in result.messages]
    found = []
    states = codes.count(_TRACE_STATE)
    if states or _TRACE_START & set(codes):
        found.append(f"printed a {states}-state error trace")
    if _SUCCESS not in codes:
        found.append("printed no success message")
    if result.exit_code != 0:
        found.append(f"exited with status {result.exit_code}")
    if violations := sorted(_VIOLATIONS & set(codes)):
        found.append(f"printed violation message(s) {', '.join(map(str, violations))}")
    for error in result.errors:
        first = " ".join(error.body.split())[:120]
        found.append(f"printed error {error.code} ({first})")
    if result.outcome is not Outcome.SUCCESS and not found:
        found.append(f"ended as {result.outcome.value} ({result.explanation})")
    if result.distinct_states is None:
        found.append("printed no final state count")
    elif result.states_left:
        found.append(f"left {result.states_left:,} states on the queue")
    if lost := sum(code in _WORKER_LOST for code in codes):
        found.append(f"lost {lost} worker(s)")
    if result.problems:
        found.append(f"printed what this tool cannot read: {result.problems[0]}")
    return found


def summary(result: TlcResult, reasons: list[str]) -> str:
    """One sentence for the report: what the distributed run claimed, and why that is doubted."""
    claim = (
        f"reported a violation of {', '.join(result.violated)}"
        if result.violated
        else "reported no violation"
    )
    listed = reasons[0] if len(reasons) == 1 else ", ".join(reasons[:-1]) + " and " + reasons[-1]
    return f"distributed run {claim} but {listed}"
