"""Shared test fixtures."""

import pytest
import structlog


@pytest.fixture(autouse=True)
def _fresh_structlog():
    """`kvm-mmio` commands configure structlog (WARNING by default); reset it after each test so
    that a later test capturing INFO events (structlog.testing.capture_logs) still sees them."""
    yield
    structlog.reset_defaults()
