"""Fixtures for the live-kernel tests: each skips with a one-line reason when this machine cannot
provide what it needs (/dev/kvm for a VM, root and tracefs for a trace session)."""

import pytest

from kvm_mmio_conformance.live.guest import Guest
from kvm_mmio_conformance.live.run import VcpuRunner
from kvm_mmio_conformance.live.tracefs import TraceSession, unavailable_reason
from kvm_mmio_conformance.live.vm import KvmSystem, kvm_unavailable_reason


@pytest.fixture
def kvm_available() -> None:
    """Skips the test unless /dev/kvm can be opened (for tests that open it themselves)."""
    reason = kvm_unavailable_reason()
    if reason is not None:
        pytest.skip(f"skipped: {reason}")


@pytest.fixture
def tracefs_available() -> None:
    """Skips the test unless a private trace instance can be created."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"skipped: {reason}")


@pytest.fixture
def kvm(kvm_available):
    with KvmSystem() as system:
        yield system


@pytest.fixture
def vm(kvm):
    with kvm.create_vm() as machine:
        yield machine


@pytest.fixture
def guest(vm):
    return Guest(vm)


@pytest.fixture
def vcpu(vm):
    return vm.create_vcpu(0)


@pytest.fixture
def runner(vcpu):
    with VcpuRunner(vcpu, timeout=2.0) as vcpu_runner:
        yield vcpu_runner


@pytest.fixture
def trace(tracefs_available):
    with TraceSession() as session:
        yield session
