"""Generate vectors/steps.json, the conformance vectors of the steps level.

For implementations that are models themselves: each case resets to a model's constants and
takes the spec's actions (MODEL.md) one at a time; after the reset and after each step the
enabled action instances must be the reference's, and where a step gives it (the last one of
each case, every one of the counterexample replays) so must the state. Sources:

- edge-cover: walks through the whole state graph of four tiny models that together take every
  edge: spec/models' safe_liveness, host, smm and safe_wrap with one gfn (the last two with
  fewer installs); each graph is checked to have the reference explorer's state count (which
  equals TLC's). The two-gfn models' graphs (8,865 states for safe_liveness)
  would need some 45,000 steps; what two gfns add (the move) is covered by the selftest cases
  here and by the operations level;
- counterexample: every bug model's shortest counterexample (counterexamples.py), replayed on the
  model with its fix on: the steps the fix forbids must be refused, and the state must follow the
  fixed model step by step; then (tier may) the same counterexample on the bug model itself, for
  implementations that can switch the fix off; and the findings' counterexamples (the finding
  models of the manifest: the kernel's own behaviour);
- selftest: set_memory_region_test's delete and move with a vCPU reading in a loop while the host
  operates, at every offset of its reads against the host's steps (selftests.spinning_reader);
- hypothesis: seeded traces of kvm_mmio.strategies.traces on drawn constants (kernel fixes only).

There is no randomness outside the recorded seeds, so regenerating reproduces the committed file
byte for byte (a test checks it).

    python -m kvm_mmio_conformance.generate_steps [--output PATH]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from kvm_mmio import strategies
from kvm_mmio.actions import successors
from kvm_mmio.config import load_model
from kvm_mmio.explore import explore
from kvm_mmio.state import initial_state, state_to_itf
from kvm_mmio.vm import Vm
from kvm_mmio_conformance.atomicfile import write_text
from kvm_mmio_conformance.casekit import Setting, requirements, reset_config
from kvm_mmio_conformance.counterexamples import (
    Move,
    bug_models,
    counterexample,
    finding_models,
    finish,
    replay,
)
from kvm_mmio_conformance.coverwalk import cover_walks, explore_graph
from kvm_mmio_conformance.model_config import kernel_switches
from kvm_mmio_conformance.model_wire import action, enabled_actions
from kvm_mmio_conformance.random_sequences import draw
from kvm_mmio_conformance.selftests import SCENARIOS, spinning_reader
from kvm_mmio_conformance.vectorfile import render

__all__ = [
    "GENERATOR_VERSION",
    "SCHEMA",
    "VECTORS_PATH",
    "VERSION",
    "build_cases",
    "main",
    "steps_case",
    "tiny_settings",
]

SCHEMA = "kvm-mmio-steps-vectors"
VERSION = 2
GENERATOR_VERSION = 2
VECTORS_PATH = Path(__file__).parent / "vectors" / "steps.json"
WALK_LENGTH = 60
READER_OFFSETS = range(6)
RANDOM_SEEDS = range(30)

NOTES = {
    "tier": "should: what a faithful model of the kernel does, step by step; may: the bug "
    "models' counterexamples with their fix off (for implementations that can switch it off), "
    "informative",
    "config": "the reset's config: the spec's CONSTANTS by TLA+ name (sets as sorted lists, "
    "InitGen as a hex string); 'model' names the spec/models cfg they are, when they are one "
    "unchanged",
    "enabled": "after the reset and after each step, the action instances enabled in the spec, "
    "compared as a set; params by the spec's names, as in ITF's #meta.params",
    "state": "where given, the state after the step as ITF values by TLA+ variable name (sets "
    "and maps in any order), compared when the implementation observes 'state'",
    "error": 'a step expected {"error": ...} is one the spec does not enable: it must be '
    "refused (any message) and change nothing",
    "switches_off": "the switches a case sets away from the kernel: a fix of MODEL.md off, or a "
    "candidate fix (FixNoSpteInFlux, FixCacheOwnAs) on",
    "source": "edge-cover:<tiny model> walks taking every edge of its state graph; "
    "counterexample:<model> the explorer's shortest counterexample; "
    "selftest:set_memory_region_test-<delete|move>; hypothesis:kvm_mmio.strategies.traces",
}


def _one_gfn(name: str, **changes: Any) -> Any:
    consts = kernel_switches(load_model(name).constants)
    return attrs.evolve(consts, gfns=(1,), init_ram=frozenset({1}), **changes)


def tiny_settings() -> list[Setting]:
    """The models whose every edge is covered: small variants of spec/models."""
    return [
        Setting("tiny-a", _one_gfn("safe_liveness"), about="safe_liveness with Gfns {1}"),
        Setting("tiny-b", _one_gfn("host"), about="host (the live host, era B) with Gfns {1}"),
        Setting(
            "tiny-smm",
            _one_gfn("smm", max_updates=1),
            about="smm (a vCPU in SMM) with Gfns {1} and MaxUpdates 1",
        ),
        Setting(
            "tiny-wrap",
            _one_gfn("safe_wrap", max_updates=2),
            about="safe_wrap (2-bit MMIO generation) with Gfns {1} and MaxUpdates 2",
        ),
    ]


def _after(vm: Vm, *, with_state: bool) -> dict[str, Any]:
    after: dict[str, Any] = {"enabled": enabled_actions(vm)}
    if with_state:
        after["state"] = state_to_itf(vm.constants, vm.state)
    return after


def steps_case(
    setting: Setting,
    moves: Sequence[Move],
    *,
    case_id: str,
    source: str,
    comment: str,
    tier: str = "should",
    every_state: bool = False,
    seed: int | None = None,
) -> dict[str, Any]:
    """A case taking `moves` from the initial state of `setting`: each taken move with the
    enabled actions after it (and the state: after every step with `every_state`, else after
    the last), each refused one expecting an error."""
    vm = Vm(setting.constants)
    initial = _after(vm, with_state=every_state)
    steps = []
    for index, move in enumerate(moves):
        wire = action(move.action, move.params)
        if not move.taken:
            steps.append({"action": wire, "expected": {"error": move.reason}})
            continue
        vm.step(move.action, **move.params)
        last = index == len(moves) - 1
        steps.append({"action": wire, "expected": _after(vm, with_state=every_state or last)})
    case: dict[str, Any] = {"id": case_id, "tier": tier, "comment": comment, "source": source}
    if seed is not None:
        case["seed"] = seed
    case["requires"] = requirements(setting, modes=setting.constants.modes, observes=["enabled"])
    case["config"] = reset_config(setting)
    case["initial"] = initial
    case["steps"] = steps
    return case


def _cover_cases(setting: Setting) -> list[dict[str, Any]]:
    consts = setting.constants
    graph = explore_graph(
        initial_state(consts),
        lambda state: (((name, p), after) for name, p, after in successors(consts, state)),
    )
    explorer = explore(consts).distinct_states
    if len(graph.values) != explorer:
        raise AssertionError(f"{setting.label}: {len(graph.values)} states, explorer {explorer}")
    walks = cover_walks(graph, lambda edge: edge, length=WALK_LENGTH)
    cases = []
    for number, walk in enumerate(walks, start=1):
        moves = [Move(*graph.label(edge), True) for edge in walk]
        cases.append(
            steps_case(
                setting,
                moves,
                case_id=f"cover-{setting.label}-{number:03d}",
                source=f"edge-cover:{setting.label}",
                comment=f"{setting.about} ({len(graph.values)} states, {graph.edge_count} "
                f"edges): walk {number} of {len(walks)} taking every edge, {len(moves)} steps",
            )
        )
    return cases


def _counterexample_cases() -> list[dict[str, Any]]:
    cases = []
    for name, switch in bug_models().items():
        found = counterexample(name)
        fixed = Setting(name, kernel_switches(found.model.constants))
        vm = Vm(fixed.constants)
        moves = replay(vm, found.actions)
        moves += finish(vm)
        refused = sum(not move.taken for move in moves)
        label = name.replace("_", "-")
        cases.append(
            steps_case(
                fixed,
                moves,
                case_id=f"counterexample-{label}",
                source=f"counterexample:{name}",
                comment=f"{name}'s shortest counterexample to {found.invariant} ({switch} off), "
                f"replayed with {switch} on: {refused} of its steps must be refused, the state "
                "must follow the fixed model at every step; then everything in flight finishes",
                every_state=True,
            )
        )
        buggy = Setting(name, found.model.constants, model=name)
        bug_vm = Vm(buggy.constants)
        as_is = replay(bug_vm, found.actions)
        cases.append(
            steps_case(
                buggy,
                as_is,
                case_id=f"counterexample-{label}-as-is",
                source=f"counterexample:{name}",
                comment=f"{name}'s shortest counterexample to {found.invariant} on {name} itself "
                f"({switch} off): the last state violates {found.invariant}",
                tier="may",
            )
        )
    for name in finding_models():
        found = counterexample(name)
        setting = Setting(name, found.model.constants, model=name)
        moves = replay(Vm(setting.constants), found.actions)
        cases.append(
            steps_case(
                setting,
                moves,
                case_id=f"counterexample-{name.replace('_', '-')}",
                source=f"counterexample:{name}",
                comment=f"the finding {name}: the kernel's own behaviour violates "
                f"{found.invariant}; its shortest counterexample, {len(moves)} steps",
            )
        )
    return cases


def _selftest_settings() -> list[Setting]:
    return [
        Setting(
            "host",
            attrs.evolve(load_model("host").constants, max_updates=4),
            about="host (the live host, era B) with MaxUpdates 4",
        ),
        Setting(
            "safe-liveness",
            attrs.evolve(load_model("safe_liveness").constants, max_updates=4),
            about="safe_liveness (era A) with MaxUpdates 4",
        ),
    ]


def _selftest_cases() -> list[dict[str, Any]]:
    cases = []
    for setting in _selftest_settings():
        consts = setting.constants
        for scenario in SCENARIOS:
            for mode in consts.modes:
                for offset in READER_OFFSETS:
                    actions = spinning_reader(consts, scenario, "v1", mode, offset)
                    moves = [Move(name, params, True) for name, params in actions]
                    cases.append(
                        steps_case(
                            setting,
                            moves,
                            case_id=f"selftest-{scenario}-{setting.label}-{mode}-{offset}",
                            source=f"selftest:set_memory_region_test-{scenario}",
                            comment=f"{setting.about}: set_memory_region_test's {scenario} "
                            f"while v1 reads gfn 1 ({mode}) in a loop, {offset} reader steps "
                            f"ahead; {len(moves)} steps",
                        )
                    )
    return cases


def _random_cases() -> list[dict[str, Any]]:
    cases = []
    for seed_value in RANDOM_SEEDS:
        consts = draw(
            strategies.constants(max_gfns=2, max_updates=3, kernel_fixes_only=True), seed_value
        )
        trace = draw(strategies.traces(consts, min_steps=12, max_steps=30), seed_value)
        moves = [Move(step.action or "", dict(step.params or {}), True) for step in trace[1:]]
        setting = Setting(f"random-{seed_value}", consts)
        cases.append(
            steps_case(
                setting,
                moves,
                case_id=f"hypothesis-{seed_value:03d}",
                source="hypothesis:kvm_mmio.strategies.traces",
                comment=f"constants drawn by kvm_mmio.strategies.constants (era {consts.era}, "
                f"{consts.nr_as} AS, {len(consts.vcpus)} vCPUs), then a trace of {len(moves)} "
                "steps drawn by kvm_mmio.strategies.traces",
                seed=seed_value,
            )
        )
    return cases


def build_cases() -> list[dict[str, Any]]:
    """Every case, in a fixed order: edge cover, counterexamples, selftests, random."""
    cases = []
    for setting in tiny_settings():
        cases += _cover_cases(setting)
    cases += _counterexample_cases()
    cases += _selftest_cases()
    cases += _random_cases()
    ids = [case["id"] for case in cases]
    if len(ids) != len(set(ids)):
        raise AssertionError("duplicate case ids")
    return cases


def render_cases(cases: list[dict[str, Any]]) -> str:
    return render(
        SCHEMA, VERSION, "kvm_mmio_conformance.generate_steps", GENERATOR_VERSION, NOTES, cases
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=VECTORS_PATH, help="default: %(default)s")
    args = parser.parse_args(argv)
    cases = build_cases()
    write_text(args.output, render_cases(cases))
    print(f"wrote {len(cases)} cases to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
