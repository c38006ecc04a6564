"""Shared test fixtures."""

import signal
import tempfile

import pytest
import structlog


@pytest.fixture(autouse=True)
def _fresh_structlog():
    """`kvm-mmio` commands configure structlog (WARNING by default); reset it after each test so
    that a later test capturing INFO events (structlog.testing.capture_logs) still sees them."""
    yield
    structlog.reset_defaults()


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A folder of this test's own for every scratch folder that the code under test makes, in
    this process (tempfile's default) and in its children (TMPDIR), so that "nothing was left
    behind" is checked on what this test made, never on a /tmp shared with other runs."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def sigint_raises():
    """SIGINT raises KeyboardInterrupt during the test, as Python's default does, even when this
    test run was started with SIGINT ignored (a background job), which Python then keeps."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
