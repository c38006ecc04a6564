"""The test items of the pytest plugin: one per vector case, against one implementation.

Why separate from pytest_plugin: the plugin module is loaded by every pytest run in an
environment where this package is installed, so it stays tiny; this module does the work, only
when --kvm-mmio-impl or --kvm-mmio-cmd asks for it. The implementation is greeted once, at
collection, to learn its capabilities; a case they rule out is a skipped item with the reason; a
failed case shows the same block as `kvm-mmio conformance`, rerun command included; `-k` matches
case ids, layers and tiers. If hello fails, one item, "hello", fails with the reason.
"""

from __future__ import annotations

import shlex
from typing import Any

import attrs
import pytest

from kvm_mmio_conformance.capabilities import Implementation
from kvm_mmio_conformance.inprocess import InProcessChannel, load_factory
from kvm_mmio_conformance.process import DEFAULT_TIMEOUT, SubprocessChannel
from kvm_mmio_conformance.protocol import LAYERS, AdapterFailure
from kvm_mmio_conformance.report import describe_failure
from kvm_mmio_conformance.runner import (
    CaseResult,
    Channel,
    MessageIds,
    connect,
    rerun_command,
    run_case,
)
from kvm_mmio_conformance.vectors import Case, load_vectors, select

__all__ = [
    "ConformanceFailure",
    "ConformanceItem",
    "HelloItem",
    "close_channel",
    "conformance_items",
]

SUITE_NAME = "kvm-mmio-conformance"
_CHANNEL = pytest.StashKey[Channel]()
_IDS = pytest.StashKey[MessageIds]()


class ConformanceFailure(Exception):
    """A case that failed; carries the runner's result for the failure text."""

    def __init__(self, result: CaseResult):
        super().__init__(result.reason)
        self.result = result


class ConformanceItem(pytest.Item):
    """One vector case against the session's implementation."""

    def __init__(self, *, case: Case, implementation: Implementation, target: str, **kwargs):
        super().__init__(**kwargs)
        self.case = case
        self.implementation = implementation
        self.target = target
        self.extra_keyword_matches.update({case.layer, case.tier})

    def runtest(self) -> None:
        channel = self.config.stash[_CHANNEL]
        result = run_case(channel, self.implementation, self.case, ids=self.config.stash[_IDS])
        extras = getattr(channel, "take_extra_answers", list)()
        if extras and result.status == "passed":
            extra = extras[0]
            result = attrs.evolve(
                result,
                status="failed",
                reason=f"output line {extra.line} answers the message with id {extra.answered} "
                f"a second time: {extra.text}; each message must be answered exactly once",
            )
        if result.status == "skipped":
            pytest.skip(result.reason)
        if result.status == "failed":
            raise ConformanceFailure(
                attrs.evolve(result, rerun=rerun_command(self.target, self.case))
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> Any:
        if isinstance(excinfo.value, ConformanceFailure):
            return describe_failure(excinfo.value.result)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{SUITE_NAME} {self.case.layer} {self.case.id}"


class HelloItem(pytest.Item):
    """Stands for every case when the implementation cannot say hello: one clear failure."""

    def __init__(self, *, problem: str, **kwargs):
        super().__init__(**kwargs)
        self.problem = problem

    def runtest(self) -> None:
        raise AdapterFailure(self.problem)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> Any:
        return f"the implementation cannot be used: {self.problem}"

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{SUITE_NAME} hello"


class _Suite(pytest.Collector):
    """The parent node of the conformance items, so that their ids read kvm-mmio-conformance::."""

    def collect(self) -> list[pytest.Item]:
        return []


def _channel(config: pytest.Config) -> tuple[Channel, str]:
    """The channel the options ask for, and the --impl/--cmd part of a rerun command."""
    impl = config.getoption("kvm_mmio_impl")
    cmd = config.getoption("kvm_mmio_cmd")
    if impl and cmd:
        raise pytest.UsageError("--kvm-mmio-impl and --kvm-mmio-cmd: give one, not both")
    try:
        if impl:
            return InProcessChannel(load_factory(impl)), f"--impl {shlex.quote(impl)}"
        timeout = config.getoption("kvm_mmio_timeout") or DEFAULT_TIMEOUT
        extra = "" if timeout == DEFAULT_TIMEOUT else f" --timeout {timeout:g}"
        channel = SubprocessChannel(cmd, timeout=timeout)
        return channel, f"--cmd {shlex.quote(cmd)}{extra}"
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None


def conformance_items(session: pytest.Session) -> list[pytest.Item]:
    """The items of the selected cases (or the failing hello item)."""
    config = session.config
    channel, target = _channel(config)
    config.stash[_CHANNEL] = channel
    config.stash[_IDS] = MessageIds()
    suite = _Suite.from_parent(session, name=SUITE_NAME)
    try:
        implementation = connect(channel)
    except (AdapterFailure, ValueError) as error:
        return [HelloItem.from_parent(suite, name="hello", problem=str(error))]
    cases = select(
        load_vectors(),
        tier=config.getoption("kvm_mmio_tier"),
        layers=config.getoption("kvm_mmio_layer") or LAYERS,
    )
    return [
        ConformanceItem.from_parent(
            suite,
            name=f"{case.layer}-{case.id}",
            case=case,
            implementation=implementation,
            target=target,
        )
        for case in cases
    ]


def close_channel(config: pytest.Config) -> None:
    channel = config.stash.get(_CHANNEL, None)
    if channel is not None:
        channel.close()
