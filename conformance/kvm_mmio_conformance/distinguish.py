"""The shortest sequence of whole operations on which two configurations answer differently.

Why: a bug model of spec/models differs from the kernel in one fix switch. When some sequence of
whole operations (no interleaving) already shows the difference, that sequence is the bug's
counterexample at the operations level, a scenario that a correct implementation passes and the
bug fails; when none does, the bug is a race, and only the steps level can show it. Both answers
come from one breadth-first search of the product of the two whole-operation graphs (opgraph),
which is finite, so "None" means no such sequence exists at all.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from kvm_mmio.config import Constants
from kvm_mmio.state import initial_state
from kvm_mmio_conformance.opgraph import abstract, enabled_operations, run

__all__ = ["distinguishing_sequence"]


def distinguishing_sequence(
    good: Constants, bad: Constants, *, limit: int = 500_000
) -> list[dict[str, Any]] | None:
    """The operations, from the initial states, after whose last one `good` and `bad` observe
    different things (None if no sequence of whole operations tells them apart)."""
    start = (initial_state(good), initial_state(bad))
    seen = {(abstract(good, start[0]), abstract(bad, start[1])): None}
    parents: dict[tuple, tuple[tuple, dict]] = {}
    queue = deque([start])
    while queue:
        here_good, here_bad = queue.popleft()
        here_key = (abstract(good, here_good), abstract(bad, here_bad))
        bad_ops = enabled_operations(bad, here_bad)
        for operation in enabled_operations(good, here_good):
            if operation not in bad_ops:
                continue
            after_good, seen_good = run(good, here_good, operation)
            after_bad, seen_bad = run(bad, here_bad, operation)
            if seen_good != seen_bad:
                path = [operation]
                key = here_key
                while key in parents:
                    key, op = parents[key]
                    path.append(op)
                return path[::-1]
            key = (abstract(good, after_good), abstract(bad, after_bad))
            if key not in seen:
                if len(seen) >= limit:
                    raise RuntimeError(f"more than {limit} state pairs: is the product finite?")
                seen[key] = None
                parents[key] = (here_key, operation)
                queue.append((after_good, after_bad))
    return None
