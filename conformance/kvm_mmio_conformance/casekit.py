"""What every case of the model levels carries besides its steps: its config and its requires.

Why shared: the operations and steps generators describe a configuration the same way (the
reset's "config", and the capabilities a case needs, capabilities.py), and the two must agree
with what the reference adapter reads back (model_config).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from kvm_mmio.config import Constants
from kvm_mmio.vm import UNBOUNDED_UPDATES
from kvm_mmio_conformance.model_config import (
    constants_to_wire,
    kernel_switches,
    switches_away_from_kernel,
)

__all__ = ["Setting", "operations_constants", "requirements", "reset_config"]


@attrs.frozen
class Setting:
    """A configuration the vectors use: a label for case ids, the constants, and where they
    come from (a model of spec/models, or a kernel profile of kvm_mmio.vm.KERNEL_PROFILES)."""

    label: str
    constants: Constants
    model: str | None = None
    kernel: str | None = None
    about: str = ""


def operations_constants(consts: Constants) -> Constants:
    """The constants as the operations level uses them: every switch at the kernel's value and
    MaxUpdates unbounded (it only keeps model checking finite)."""
    return attrs.evolve(kernel_switches(consts), max_updates=UNBOUNDED_UPDATES)


def reset_config(setting: Setting) -> dict[str, Any]:
    """The reset message's config of a setting."""
    config: dict[str, Any] = {"constants": constants_to_wire(setting.constants)}
    if setting.model:
        config["model"] = setting.model
    if setting.kernel:
        config["kernel"] = setting.kernel
    return config


def requirements(
    setting: Setting, *, modes: Iterable[str], observes: Iterable[str]
) -> dict[str, Any]:
    """What an implementation must declare for a case of this setting to apply."""
    consts = setting.constants
    requires: dict[str, Any] = {
        "era": consts.era,
        "address_spaces": consts.nr_as,
        "mmio_sptes": consts.mmio_sptes,
    }
    used = sorted(set(modes))
    if used:
        requires["modes"] = used
    requires["observes"] = list(observes)
    away = switches_away_from_kernel(consts)
    if away:
        requires["switches_off"] = away
    requires["config"] = f"kernel:{setting.kernel}" if setting.kernel else "constants"
    return requires
