"""The operations and steps levels, before their vectors exist: documents in the drafted schemas
load into cases, the runner resets and sequences them, and the judging rules hold (sets of allowed
observations projected on what the implementation observes, enabled actions as sets, ITF states
with sets and maps in any order). The toy adapters here are fixtures, not models of KVM."""

import pytest

from kvm_mmio_conformance.capabilities import parse_hello
from kvm_mmio_conformance.compare import canonical, mismatch, same_value
from kvm_mmio_conformance.inprocess import InProcessChannel
from kvm_mmio_conformance.protocol import BaseAdapter
from kvm_mmio_conformance.runner import run
from kvm_mmio_conformance.vectors import cases_from_document

CONFIG = {"constants": {"Vcpus": ["v1"], "Gfns": [1, 2], "NrAs": 1}, "kernel": "v6"}


def access(gfn):
    return {"kind": "access", "vcpu": "v1", "gfn": gfn, "mode": "native"}


def header(layer, cases):
    return {
        "schema": f"kvm-mmio-{layer}-vectors",
        "version": 2 if layer == "operations" else 1,
        "generator": {"name": "tests", "version": 1},
        "count": len(cases),
        "notes": {},
        "cases": cases,
    }


OPERATIONS = header(
    "operations",
    [
        {
            "id": "create-over-mmio",
            "tier": "must",
            "comment": "an MMIO gfn is cached, then a slot is created over it",
            "source": "selftest:create",
            "requires": {"era": "B", "observes": ["outcome", "path"], "config": "kernel:v6"},
            "config": CONFIG,
            "steps": [
                {
                    "operation": access(2),
                    "expected": {"allowed": [{"outcome": "mmio", "path": "slow"}]},
                },
                {
                    "operation": access(2),
                    "expected": {
                        "allowed": [
                            {"outcome": "mmio", "path": "spte"},
                            {"outcome": "mmio", "path": "cache"},
                        ]
                    },
                },
                {
                    "operation": {"kind": "create", "as": 0, "gfn": 2},
                    "expected": {"allowed": [{"generation": "0x1"}]},
                },
                {
                    "operation": access(2),
                    "expected": {"allowed": [{"outcome": "ram", "path": "slow"}]},
                },
            ],
        },
        {
            "id": "smm-only",
            "tier": "should",
            "comment": "needs two address spaces",
            "source": "edge-cover:smm",
            "requires": {"address_spaces": 2},
            "config": CONFIG,
            "steps": [{"operation": access(1), "expected": {"allowed": [{"outcome": "ram"}]}}],
        },
    ],
)


class ToyVm(BaseAdapter):
    """Gfn 1 is RAM; others are MMIO, cached after the first access; create bumps the
    generation (by `step`) and drops the cache."""

    def __init__(self, *, caches=True, step=1, observes=("outcome", "path", "generation")):
        self.caches, self.gen_step, self.observes = caches, step, list(observes)
        self.reset({})

    def hello(self):
        level = {
            "eras": ["B"],
            "address_spaces": 1,
            "mmio_sptes": [True],
            "modes": ["native"],
            "observes": self.observes,
            "configs": ["kernel:v6"],
        }
        return {"name": "toy", "capabilities": {"layers": ["operations"], "operations": level}}

    def reset(self, config):
        self.ram, self.cached, self.gen = {1}, set(), 0
        return {"ok": True}

    def operation(self, op):
        if op["kind"] == "create":
            self.ram.add(op["gfn"])
            self.cached.clear()
            self.gen += self.gen_step
            return {"generation": hex(self.gen)}
        g = op["gfn"]
        if g in self.ram:
            return {"outcome": "ram", "path": "slow"}
        path = "cache" if g in self.cached else "slow"
        if self.caches:
            self.cached.add(g)
        return {"outcome": "mmio", "path": path}


@pytest.fixture(scope="module")
def operation_cases():
    return cases_from_document(OPERATIONS)


def test_operations_cases_load_with_a_reset_first(operation_cases):
    case = operation_cases[0]
    assert (case.layer, case.source, len(case.exchanges)) == ("operations", "selftest:create", 5)
    assert case.exchanges[0].message == {"op": "reset", "config": CONFIG}
    assert case.exchanges[1].message == {"op": "operation", "operation": access(2)}


def test_a_correct_toy_passes_and_the_two_address_space_case_is_skipped(operation_cases):
    report = run(InProcessChannel(ToyVm()), operation_cases)
    assert [r.status for r in report.results] == ["passed", "skipped"]
    assert report.results[1].reason == "needs 2 address spaces; the implementation has 1"


def test_never_caching_fails_at_the_second_access(operation_cases):
    report = run(InProcessChannel(ToyVm(caches=False)), operation_cases)
    failed = report.results[0]
    assert (failed.status, failed.step) == ("failed", 2)
    assert failed.reason == (
        'observed {"outcome": "mmio", "path": "slow"}, allowed: '
        '{"outcome": "mmio", "path": "spte"} or {"outcome": "mmio", "path": "cache"}'
    )


def test_generation_is_judged_only_where_observed(operation_cases):
    wrong = run(InProcessChannel(ToyVm(step=2)), operation_cases)
    assert wrong.results[0].status == "failed"
    assert "generation" in wrong.results[0].reason
    blind = run(InProcessChannel(ToyVm(step=2, observes=("outcome", "path"))), operation_cases)
    assert blind.results[0].status == "passed"


def test_a_case_needing_path_is_skipped_when_path_is_not_observed(operation_cases):
    report = run(InProcessChannel(ToyVm(observes=("outcome",))), operation_cases)
    assert report.results[0].reason == (
        "needs to observe [path]; the implementation declares [outcome]"
    )


def act(name, **params):
    return {"name": name, "params": params}


STEPS = header(
    "steps",
    [
        {
            "id": "begin-then-publish",
            "tier": "should",
            "comment": "two steps of a tiny model",
            "source": "edge-cover:safe",
            "requires": {"observes": ["enabled"], "config": "constants"},
            "config": CONFIG,
            "initial": {"enabled": [act("BeginAccess", v="v1", g=1, m="native"), act("SyncSrcu")]},
            "steps": [
                {
                    "action": act("BeginAccess", v="v1", g=1, m="native"),
                    "expected": {
                        "enabled": [act("HwAccess", v="v1"), act("SyncSrcu")],
                        "state": {"saw": {"#map": [["v1", {"#set": ["ram", "mmio"]}]]}, "pc": "x"},
                    },
                },
                {"action": act("StoreGen"), "expected": {"error": "not enabled"}},
            ],
        }
    ],
)


class ToyModel(BaseAdapter):
    """Canned answers, in another order than the vectors list them."""

    def __init__(self, state_pc="x"):
        self.state_pc = state_pc

    def hello(self):
        level = {
            "eras": ["A", "B"],
            "address_spaces": 2,
            "mmio_sptes": [True, False],
            "modes": ["native", "emulated"],
            "observes": ["enabled", "state"],
            "switches": [],
            "configs": ["constants"],
        }
        return {"name": "toy model", "capabilities": {"layers": ["steps"], "steps": level}}

    def reset(self, config):
        return {
            "ok": True,
            "enabled": [act("SyncSrcu"), act("BeginAccess", m="native", g=1, v="v1")],
        }

    def step(self, action):
        if action["name"] != "BeginAccess":
            return {"error": f"{action['name']} is not enabled"}
        return {"enabled": [act("SyncSrcu"), act("HwAccess", v="v1")]}

    def state(self):
        return {
            "state": {"pc": self.state_pc, "saw": {"#map": [["v1", {"#set": ["mmio", "ram"]}]]}}
        }


def test_steps_compare_enabled_sets_and_states_in_any_order():
    cases = cases_from_document(STEPS)
    assert cases[0].exchanges[0].expected["enabled"][1] == act("SyncSrcu")
    assert run(InProcessChannel(ToyModel()), cases).results[0].status == "passed"
    failed = run(InProcessChannel(ToyModel(state_pc="y")), cases).results[0]
    assert (failed.status, failed.step, failed.message) == ("failed", 1, {"op": "state"})
    assert failed.reason == 'pc: expected "x", got "y"'


def test_the_hello_of_a_model_level_implementation_validates():
    assert parse_hello(ToyModel().hello()).capabilities["steps"]["configs"] == ["constants"]
    assert parse_hello(ToyVm().hello()).name == "toy"


def test_a_document_outside_its_schema_is_refused_with_the_place():
    broken = {**OPERATIONS, "cases": [{**OPERATIONS["cases"][0], "tier": "sometimes"}]}
    with pytest.raises(ValueError, match=r"\$\.cases\[0\]\.tier"):
        cases_from_document(broken, "ops.json")
    with pytest.raises(ValueError, match="count 3 != 2 cases"):
        cases_from_document({**OPERATIONS, "count": 3})
    with pytest.raises(ValueError, match="schema must be one of"):
        cases_from_document({"schema": "other"})


@pytest.mark.parametrize(
    ("expected", "observed", "same"),
    [
        ("0xff", "0x00FF", True),
        ("0xff", "255", False),
        (True, 1, False),
        (6, 6, True),
        ({"a": "0x1"}, {"a": "0x01"}, True),
        ([1, 2], [2, 1], False),
    ],
)
def test_same_value_compares_hex_as_numbers_and_the_rest_as_json(expected, observed, same):
    assert same_value(expected, observed) is same


def test_canonical_itf_ignores_set_and_map_order():
    a = {"x": {"#set": [2, 1]}, "m": {"#map": [[2, "b"], [1, "a"]]}}
    b = {"m": {"#map": [[1, "a"], [2, "b"]]}, "x": {"#set": [1, 2]}}
    assert canonical(a) == canonical(b)


def test_spte_answers_need_exactly_the_expected_keys_and_errors_match_any_error():
    assert mismatch("spte", {"hit": True}, {"hit": True, "extra": 1}).startswith("expected keys")
    assert mismatch("spte", {"error": "x"}, {"error": "other words"}) is None
    assert (
        mismatch("spte", {"error": "x"}, {"hit": False}) == 'expected an error, got {"hit": false}'
    )
    assert mismatch("spte", {"hit": True}, {"error": "nope"}) == "refused the request: nope"
    assert mismatch("spte", {"hit": True}, [True]) == "expected a JSON object, got [true]"
