"""The kernel view (kernel configs, outcome and path) and repeated operations: the reference
passes every case a kernel can run, and an implementation that does not take a repeat whole
gets the single changes one by one and is judged the same."""

import pytest

from kvm_mmio_conformance.inprocess import InProcessChannel
from kvm_mmio_conformance.kernel_view import KERNEL_CONFIGS, KernelView
from kvm_mmio_conformance.reference_adapter import ReferenceAdapter
from kvm_mmio_conformance.runner import run
from kvm_mmio_conformance.vectors import load_vectors, select


@pytest.fixture(scope="module")
def operations():
    return select(load_vectors(), layers=["operations"])


def test_the_view_narrows_the_capabilities_to_what_a_kernel_declares():
    hello = KernelView(ReferenceAdapter()).hello()
    capabilities = hello["capabilities"]
    assert capabilities["layers"] == ["spte", "operations"]
    assert capabilities["operations"]["configs"] == list(KERNEL_CONFIGS)
    assert capabilities["operations"]["observes"] == ["outcome", "path"]
    assert hello["name"].endswith("(kernel view)")


def test_the_reference_in_the_kernel_view_passes_every_kernel_case(operations):
    report = run(InProcessChannel(KernelView(ReferenceAdapter())), operations)
    assert report.ok and report.count("failed") == 0
    ran = {r.case.id for r in report.results if r.status == "passed"}
    kernel_cases = {c.id for c in operations if c.requires["config"] in KERNEL_CONFIGS}
    with_access = {c.id for c in operations if "outcome" in c.requires["observes"]}
    assert ran == kernel_cases & with_access
    assert {case for case in ran if case.startswith("wrap-")} == {
        c.id for c in operations if c.source.startswith("wrap:")
    }
    reasons = {r.reason for r in report.results if r.status == "skipped"}
    assert any(reason.startswith("needs config constants") for reason in reasons)


class CountingReference(ReferenceAdapter):
    """The reference without the "repeat" capability, counting the flags changes it is sent."""

    def __init__(self):
        super().__init__()
        self.flags = 0

    def hello(self):
        answer = super().hello()
        del answer["capabilities"]["operations"]["repeat"]
        return answer

    def operation(self, operation):
        assert "repeat" not in operation, "a repeat sent to an implementation that refuses it"
        self.flags += operation.get("kind") == "flags"
        return super().operation(operation)


def test_a_repeat_is_sent_as_single_changes_to_who_does_not_declare_it(operations):
    # the seed's tree wraps after 37 or 38 installs (its "create" cases go on 2^18 more)
    seed = [c for c in operations if c.id.startswith("wrap-v5.0-seed-") and "across" in c.id]
    repeats = sum(
        exchange.message["operation"].get("repeat", 1)
        for case in seed
        for exchange in case.exchanges
        if exchange.message["op"] == "operation"
        and exchange.message["operation"]["kind"] == "flags"
    )
    adapter = CountingReference()
    report = run(InProcessChannel(adapter), seed)
    assert report.ok and report.count("passed") == len(seed) == 2
    assert adapter.flags == repeats >= 2 * 37
