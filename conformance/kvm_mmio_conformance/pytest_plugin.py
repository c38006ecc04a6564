"""The pytest plugin: every applicable vector becomes a test item of the implementer's own run.

Why: implementers already have a test suite and CI around it; with this plugin (installed with the
package, entry point pytest11) the conformance cases run inside it:

    pytest --kvm-mmio-cmd "./my-impl --conformance"            # out of process
    pytest --kvm-mmio-impl mypkg.adapter:make_adapter -k v6    # in process, a subset

Without --kvm-mmio-impl or --kvm-mmio-cmd the plugin adds nothing and changes nothing, so it is
harmless in any other test run (this repository's included); it imports nothing beyond pytest
until asked, so a half-edited module elsewhere cannot break an unrelated pytest start. The items
themselves are built by pytest_items.py.
"""

from __future__ import annotations

import pytest

__all__ = ["pytest_addoption", "pytest_collection_modifyitems", "pytest_sessionfinish"]

LAYER_CHOICES = ("spte", "operations", "steps")  # protocol.LAYERS, without importing it here
TIER_CHOICES = ("must", "should", "may")  # vectors.TIERS


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kvm-mmio-conformance", "KVM MMIO conformance suite")
    group.addoption("--kvm-mmio-impl", metavar="MODULE:FACTORY", help="an in-process adapter")
    group.addoption("--kvm-mmio-cmd", metavar="COMMAND", help="an out-of-process adapter")
    group.addoption(
        "--kvm-mmio-tier", choices=TIER_CHOICES, default="must", help="tiers up to this one"
    )
    group.addoption(
        "--kvm-mmio-layer",
        action="append",
        choices=LAYER_CHOICES,
        help="only this layer (repeatable)",
    )
    group.addoption(
        "--kvm-mmio-timeout", type=float, help="seconds per answer out of process (default 10)"
    )


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect items
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if config.getoption("kvm_mmio_impl") or config.getoption("kvm_mmio_cmd"):
        from kvm_mmio_conformance.pytest_items import conformance_items

        items.extend(conformance_items(session))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if session.config.getoption("kvm_mmio_impl") or session.config.getoption("kvm_mmio_cmd"):
        from kvm_mmio_conformance.pytest_items import close_channel

        close_channel(session.config)
