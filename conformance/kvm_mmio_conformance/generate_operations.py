"""Generate vectors/operations.json, the conformance vectors of the operations level.

Each case resets to a configuration and runs whole operations (memslot operations with every vCPU
idle, accesses with no memslot operation in flight); the expected observations are the
reference's (kvm_mmio.vm.Vm, through model_wire, as the reference adapter answers). Four sources:

- edge-cover: walks through each setting's whole-operation graph (opgraph) that together take
  every class of operation (its kind, address space, slot layout and the cache and spte state
  it meets) reachable in it, each followed by a read of every gfn by every vCPU; the settings
  are small models of spec/models and the kernel profiles of kvm_mmio.vm, the live host among
  them (those cases need only `kernel:live-host`);
- counterexample: for each bug model of spec/models, the shortest sequence of whole operations
  on which it answers differently from its fixed twin (distinguish.py), run on the twin; the bug
  models that no such sequence tells apart are races, covered by the steps level;
- selftest: set_memory_region_test's delete and move scenarios (selftests.py);
- hypothesis: seeded draws of constants (kvm_mmio.strategies, kernel fixes only) and of the live
  host's profile, with random sequences of enabled operations (random_sequences.py);
- wrap: each kernel profile run through the MMIO generation wrap of each of its address spaces,
  frames read on both sides of the wrapping install, with and without a slot created in between
  (wrapcases.py); the hundreds of thousands of installs are flags changes with "repeat".

Where the spec allows several observations, the step lists them all: at this level that happens
only where a finding's candidate fix (FixCacheOwnAs for a vCPU in SMM) would answer otherwise
than the kernel does; both answers are allowed. There is no randomness outside the recorded
seeds, so regenerating reproduces the committed file byte for byte (a test checks it).

    python -m kvm_mmio_conformance.generate_operations [--output PATH]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from kvm_mmio import strategies
from kvm_mmio.config import CONSTANT_NAMES, load_model
from kvm_mmio.state import initial_state
from kvm_mmio.vm import Vm, kernel_constants
from kvm_mmio_conformance.atomicfile import write_text
from kvm_mmio_conformance.casekit import (
    Setting,
    operations_constants,
    requirements,
    reset_config,
)
from kvm_mmio_conformance.counterexamples import bug_models
from kvm_mmio_conformance.coverwalk import cover_walks
from kvm_mmio_conformance.distinguish import distinguishing_sequence
from kvm_mmio_conformance.model_config import CANDIDATE_FIXES
from kvm_mmio_conformance.model_wire import access_operation, perform
from kvm_mmio_conformance.opgraph import abstract, coverage_key, operation_graph
from kvm_mmio_conformance.random_sequences import draw
from kvm_mmio_conformance.random_sequences import operations as operation_sequences
from kvm_mmio_conformance.selftests import SCENARIOS
from kvm_mmio_conformance.selftests import operations as selftest_operations
from kvm_mmio_conformance.vectorfile import render
from kvm_mmio_conformance.wrapcases import VARIANTS, wrap_operations, wrap_settings

__all__ = [
    "GENERATOR_VERSION",
    "SCHEMA",
    "VECTORS_PATH",
    "VERSION",
    "build_cases",
    "main",
    "operations_case",
    "settings",
]

SCHEMA = "kvm-mmio-operations-vectors"
VERSION = 2
GENERATOR_VERSION = 2
VECTORS_PATH = Path(__file__).parent / "vectors" / "operations.json"
WALK_LENGTH = 12
RANDOM_SEEDS = range(30)
LIVE_HOST_SEEDS = range(100, 120)

NOTES = {
    "tier": "must: every operations case; an implementation of the level must pass each one it "
    "is able to run (see requires)",
    "config": "the reset's config: the spec's CONSTANTS by TLA+ name (sets as sorted lists, "
    "InitGen and integers of 2^53 and more as hex strings); 'model' names the spec/models cfg "
    "and 'kernel' the kernel profile (kvm_mmio.vm.KERNEL_PROFILES) they come from. At this "
    "level MaxUpdates is unbounded (0x4000000000000000) and every switch is at the kernel's "
    "value (the fixes of MODEL.md on, the candidate fixes off), whatever the model's cfg says",
    "operations": "a memslot operation runs from its first install to its end with every vCPU "
    "idle; an access runs with no memslot operation in flight; memslots are one page each, "
    "named by their gfn; an access to a gfn with no slot is an MMIO exit",
    "allowed": "each step lists the allowed observations: an answer must equal one of them on "
    "every key the implementation observes. Several are listed only where a finding's candidate "
    "fix (FixCacheOwnAs) would answer otherwise than the kernel",
    "generation": "a memslot operation is observed as the kernel's 64-bit generation of its "
    "address space afterwards (era A: even; era B: below 2^63), wrapped at 2^64",
    "path": "hw: the hardware mapped it; cache: the per-vCPU MMIO cache hit (also in the "
    "emulator, right after the slow path filled it); spte: an MMIO spte hit; slow: a page fault "
    "installed the mapping; emulator: the emulator read the memslots",
    "source": "edge-cover:<setting> walks covering every class of whole operation reachable in "
    "the setting; counterexample:<bug model> the shortest sequence on which that bug model "
    "answers differently, run with its fix on; selftest:set_memory_region_test-<delete|move>; "
    "hypothesis:<what was drawn> with its seed; wrap:<kernel profile> through the MMIO "
    "generation wrap",
    "repeat": 'a flags operation with "repeat": n is n flags-only changes in a row, observed as '
    'the generation after the last; an implementation that does not declare "repeat" gets n '
    "single ones from the runner",
    "exact_generation": "a case that requires exact_generation counts installs up to the MMIO "
    "generation wrap: it applies to implementations whose generation starts at InitGen",
}


def settings() -> list[Setting]:
    """The configurations the edge cover walks, in order."""

    def model(name: str, about: str) -> Setting:
        consts = operations_constants(load_model(name).constants)
        return Setting(name.replace("_", "-"), consts, model=name, about=about)

    def kernel(label: str, profile: str, about: str, **layout: Any) -> Setting:
        return Setting(label, kernel_constants(profile, **layout), kernel=profile, about=about)

    return [
        model("safe", "era A, two vCPUs"),
        model("host", "the live host's model: era B, no MMIO sptes, zap-all"),
        model("safe_wrap", "era A with a 2-bit MMIO generation: wraps every 2 installs"),
        model("safe_wrap_b", "era B with a 2-bit MMIO generation, zap-all, retries"),
        model("bug_wrap_one_as", "era A, two address spaces, wraps, with FixWrapAnyAs on"),
        model("smm", "era A, a vCPU in SMM (address space 1)"),
        kernel(
            "live-host-1v",
            "live-host",
            "the live host: one vCPU, gfns 1-3",
            vcpus=("v1",),
            gfns=(1, 2, 3),
        ),
        kernel(
            "live-host-2v",
            "live-host",
            "the live host: two vCPUs, gfns 1-3",
            vcpus=("v1", "v2"),
            gfns=(1, 2, 3),
        ),
        kernel("v6-1v", "v6", "v6 with MMIO caching: one vCPU, gfns 1-3", gfns=(1, 2, 3)),
        kernel("v6-smm", "v6", "v6 with MMIO caching: one vCPU in SMM", smm_vcpus=("v1",)),
        kernel("v5.0-seed", "v5.0-seed", "the seed's tree: InitGen 2^64 - 150, near the wrap"),
    ]


def _variants(setting: Setting) -> list:
    """The kernel's constants, then each candidate fix turned on (other allowed answers)."""
    consts = setting.constants
    variants = [consts]
    for name in CANDIDATE_FIXES:
        field = CONSTANT_NAMES[name]
        if not getattr(consts, field):
            variants.append(attrs.evolve(consts, **{field: True}))
    return variants


def operations_case(
    setting: Setting,
    ops: Sequence[dict[str, Any]],
    *,
    case_id: str,
    source: str,
    comment: str,
    seed: int | None = None,
    exact_generation: bool = False,
) -> dict[str, Any]:
    """A case running `ops` in `setting`, each step with the observations allowed."""
    vms = [Vm(consts) for consts in _variants(setting)]
    steps = []
    for operation in ops:
        allowed: list[dict[str, Any]] = []
        for vm in vms:
            observation = perform(vm, operation)
            if observation not in allowed:
                allowed.append(observation)
        steps.append({"operation": dict(operation), "expected": {"allowed": allowed}})
    accesses = [op for op in ops if op["kind"] == "access"]
    observes = ["outcome", "path"] if accesses else ["generation"]
    case: dict[str, Any] = {
        "id": case_id,
        "tier": "must",
        "comment": comment,
        "source": source,
    }
    if seed is not None:
        case["seed"] = seed
    case["requires"] = requirements(
        setting, modes=(op["mode"] for op in accesses), observes=observes
    )
    if exact_generation:
        case["requires"]["exact_generation"] = True
    case["config"] = reset_config(setting)
    case["steps"] = steps
    return case


def _describe(ops: Sequence[dict[str, Any]]) -> str:
    kinds = [op["kind"] for op in ops]
    memslot = sorted({k for k in kinds if k != "access"})
    return f"{len(ops)} operations: {kinds.count('access')} accesses" + (
        f", {', '.join(memslot)}" if memslot else ""
    )


def _cover_cases(setting: Setting) -> list[dict[str, Any]]:
    consts = setting.constants
    graph = operation_graph(consts, initial_state(consts))
    walks = cover_walks(
        graph,
        lambda edge: coverage_key(consts, graph.values[edge[0]], graph.label(edge)[0]),
        length=WALK_LENGTH,
    )
    cases = []
    for number, walk in enumerate(walks, start=1):
        _check_walk(setting, graph, walk)
        ops = [graph.label(edge)[0] for edge in walk] + _probe(consts)
        cases.append(
            operations_case(
                setting,
                ops,
                case_id=f"cover-{setting.label}-{number:03d}",
                source=f"edge-cover:{setting.label}",
                comment=f"{setting.about}: walk {number} of {len(walks)} covering every class "
                f"of whole operation, then every vCPU reads every gfn; {_describe(ops)}",
            )
        )
    return cases


def _probe(consts: Any) -> list[dict[str, Any]]:
    """An access by every vCPU to every gfn: what the walk left behind, observed (a walk of
    memslot operations alone would otherwise show only generations)."""
    mode = "native" if "native" in consts.modes else consts.modes[0]
    return [access_operation(v, g, mode) for v in consts.vcpus for g in consts.gfns]


def _check_walk(setting: Setting, graph: Any, walk: Sequence[tuple[int, int]]) -> None:
    """Replay the walk from the initial state and check that every state it reaches is the
    one the graph predicted (opgraph.abstract is exact for whole operations)."""
    consts = setting.constants
    vm = Vm(consts)
    for edge in walk:
        expected_node = graph.target(edge)
        perform(vm, graph.label(edge)[0])
        if abstract(consts, vm.state) != abstract(consts, graph.values[expected_node]):
            raise AssertionError(f"{setting.label}: the walk left the graph at {edge}")


def _counterexample_cases() -> list[dict[str, Any]]:
    cases = []
    for name, switch in bug_models().items():
        fixed = operations_constants(load_model(name).constants)
        broken = attrs.evolve(fixed, **{CONSTANT_NAMES[switch]: False})
        ops = distinguishing_sequence(fixed, broken)
        if ops is None:
            continue
        setting = Setting(name.replace("_", "-"), fixed, model=name)
        wrong = Vm(broken)
        for operation in ops:
            observed = perform(wrong, operation)
        cases.append(
            operations_case(
                setting,
                ops,
                case_id=f"counterexample-{name.replace('_', '-')}",
                source=f"counterexample:{name}",
                comment=f"{name} ({switch} off) and its fixed twin disagree first at the last of "
                f"these {len(ops)} operations, where {name} observes {_show(observed)}; the "
                f"constants are {name}'s with {switch} on",
            )
        )
    return cases


def _show(observation: dict[str, Any]) -> str:
    return " ".join(f"{key} {value}" for key, value in observation.items())


def _selftest_cases(settings_: Sequence[Setting]) -> list[dict[str, Any]]:
    cases = []
    for setting in settings_:
        consts = setting.constants
        if not {1, 2} <= set(consts.gfns) or consts.init_ram & {1, 2} != {1}:
            continue
        for scenario in SCENARIOS:
            for mode in consts.modes:
                ops = selftest_operations(scenario, consts.vcpus, mode)
                cases.append(
                    operations_case(
                        setting,
                        ops,
                        case_id=f"selftest-{scenario}-{setting.label}-{mode}",
                        source=f"selftest:set_memory_region_test-{scenario}",
                        comment=f"{setting.about}: set_memory_region_test's {scenario} "
                        f"({_SELFTEST[scenario]}), {mode} accesses by {', '.join(consts.vcpus)}",
                    )
                )
    return cases


_SELFTEST = {
    "delete": "after the delete the page reads as MMIO, after the re-create as memory",
    "move": "the slot at gfn 1 moves to gfn 2 and back; reads follow it",
}


def _random_cases() -> list[dict[str, Any]]:
    cases = []
    for seed_value in RANDOM_SEEDS:
        consts = operations_constants(
            draw(strategies.constants(kernel_fixes_only=True), seed_value)
        )
        ops = draw(operation_sequences(consts, min_ops=6, max_ops=20), seed_value)
        setting = Setting(f"random-{seed_value}", consts, about="random constants")
        cases.append(
            operations_case(
                setting,
                ops,
                case_id=f"hypothesis-constants-{seed_value:03d}",
                source="hypothesis:kvm_mmio.strategies.constants+operations",
                comment=f"constants drawn by kvm_mmio.strategies.constants(kernel_fixes_only="
                f"True) (era {consts.era}, {consts.nr_as} AS, GenBits {consts.gen_bits}), then "
                f"{_describe(ops)}",
                seed=seed_value,
            )
        )
    for seed_value in LIVE_HOST_SEEDS:
        vcpus = ("v1",) if seed_value % 2 else ("v1", "v2")
        consts = kernel_constants("live-host", vcpus=vcpus, gfns=(1, 2, 3))
        ops = draw(operation_sequences(consts, min_ops=8, max_ops=24), seed_value)
        setting = Setting(f"live-host-{len(vcpus)}v", consts, kernel="live-host")
        cases.append(
            operations_case(
                setting,
                ops,
                case_id=f"hypothesis-live-host-{seed_value:03d}",
                source="hypothesis:live-host operations",
                comment=f"the live host, {len(vcpus)} vCPU(s), gfns 1-3: {_describe(ops)} "
                "drawn at random",
                seed=seed_value,
            )
        )
    return cases


def _wrap_cases() -> list[dict[str, Any]]:
    cases = []
    for setting, ases in wrap_settings():
        for a in ases:
            for variant in VARIANTS:
                ops = wrap_operations(setting, a, variant)
                installs = sum(op.get("repeat", 1) for op in ops if op["kind"] == "flags")
                between = ", a slot created at gfn 2 first" if variant == "create" else ""
                cases.append(
                    operations_case(
                        setting,
                        ops,
                        case_id=f"wrap-{setting.kernel}-as{a}-{variant}",
                        source=f"wrap:{setting.kernel}",
                        comment=f"{setting.about}: {installs:,} flags changes of gfn 1 in "
                        f"address space {a} through its MMIO generation wrap{between}, every "
                        "vCPU reading before and after the wrapping install",
                        exact_generation=True,
                    )
                )
    return cases


def build_cases() -> list[dict[str, Any]]:
    """Every case, in a fixed order: edge cover, counterexamples, selftests, random, wrap."""
    all_settings = settings()
    cases = []
    for setting in all_settings:
        cases += _cover_cases(setting)
    cases += _counterexample_cases()
    cases += _selftest_cases(all_settings)
    cases += _random_cases()
    cases += _wrap_cases()
    ids = [case["id"] for case in cases]
    if len(ids) != len(set(ids)):
        raise AssertionError("duplicate case ids")
    return cases


def render_cases(cases: list[dict[str, Any]]) -> str:
    return render(
        SCHEMA,
        VERSION,
        "kvm_mmio_conformance.generate_operations",
        GENERATOR_VERSION,
        NOTES,
        cases,
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
