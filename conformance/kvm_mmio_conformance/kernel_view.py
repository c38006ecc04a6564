"""Any in-process adapter seen as a kernel sees it: kernel configurations, outcome and path.

Why: a real kernel cannot be reset to arbitrary model constants, cannot take the spec's steps and
does not show its memslot generation; it runs the operations cases of the kernel profiles
(`config kernel:<profile>`) and observes what a guest and the trace events show. A suite whose
rejections of wrong implementations all came from the other cases would let a wrong kernel-like
implementation through, so the mutant catalog is hunted through this view too
(mutants/killing.py): every spte and operations mutant must still fail a must-tier case here.

The view keeps the inner adapter's spte layer as it is (a kernel's encoding is bit-exact there
too), narrows its operations layer to the kernel profiles' configs and to `observes` (default:
outcome and path; a kernel that can read its generation, e.g. from tracepoints, would add it),
and drops the steps layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kvm_mmio.vm import KERNEL_PROFILES

__all__ = ["KERNEL_CONFIGS", "KERNEL_OBSERVES", "KernelView"]

KERNEL_CONFIGS = tuple(f"kernel:{profile}" for profile in KERNEL_PROFILES)
KERNEL_OBSERVES = ("outcome", "path")


class KernelView:
    """`inner`'s answers, under capabilities narrowed to what a kernel declares."""

    def __init__(self, inner: Any, observes: Sequence[str] = KERNEL_OBSERVES):
        self.inner = inner
        self.observes = tuple(observes)

    def hello(self) -> dict[str, Any]:
        answer = self.inner.hello()
        declared = answer["capabilities"]
        layers = [layer for layer in declared["layers"] if layer in ("spte", "operations")]
        capabilities: dict[str, Any] = {"layers": layers}
        if "spte" in layers:
            capabilities["spte"] = declared["spte"]
        if "operations" in layers:
            section = dict(declared["operations"])
            section["observes"] = [o for o in section["observes"] if o in self.observes]
            section["configs"] = list(KERNEL_CONFIGS)
            capabilities["operations"] = section
        return {**answer, "name": f"{answer['name']} (kernel view)", "capabilities": capabilities}

    def spte(self, request: Any) -> dict[str, Any]:
        return self.inner.spte(request)

    def reset(self, config: Any) -> dict[str, Any]:
        return self.inner.reset(config)

    def operation(self, operation: Any) -> dict[str, Any]:
        return self.inner.operation(operation)
