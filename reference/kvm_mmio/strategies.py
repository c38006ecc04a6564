"""Hypothesis strategies for the model: constants, models, single steps and whole traces.

Other projects test their own implementation against the reference with these: draw a trace of
enabled steps (``traces``), replay it on their implementation, compare what they observe with each
step's state.  Every trace is a behaviour of the spec (each step enabled in the state before it);
shrinking makes it shorter and its choices earlier in Next's order.

    from hypothesis import given
    from kvm_mmio import strategies
    from kvm_mmio.config import load_model

    @given(strategies.traces(load_model("safe_liveness").constants, max_steps=40))
    def test_mine(trace): ...
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from kvm_mmio.actions import successors
from kvm_mmio.config import Constants, load_model, model_names
from kvm_mmio.state import State, initial_state
from kvm_mmio.trace import Step, write_itf

__all__ = ["constants", "itf_traces", "models", "steps", "traces"]

_FIXES = (
    "fix_cache_gen",
    "fix_in_progress",
    "fix_hook_first",
    "fix_wrap_any_as",
    "fix_no_cache_in_flux",
    "zap_on_wrap",
    "flush_on_delete",
    "fix_no_spte_in_flux",
    "fix_cache_own_as",
    "fix_gen_before_walk",
)


@st.composite
def constants(
    draw: st.DrawFn,
    *,
    max_vcpus: int = 2,
    max_gfns: int = 3,
    max_updates: int = 3,
    kernel_fixes_only: bool = False,
) -> Constants:
    """Valid constants of the spec: 1..max_vcpus vCPUs, gfns 1..n, one or two address spaces,
    small generation widths (so that wraps happen), either era, any fix switched on or off (with
    ``kernel_fixes_only``: every kernel fix on, the candidate fixes off)."""
    vcpus = tuple(f"v{i}" for i in range(1, draw(st.integers(1, max_vcpus)) + 1))
    gfns = tuple(range(1, draw(st.integers(1, max_gfns)) + 1))
    nr_as = draw(st.integers(1, 2))
    era = draw(st.sampled_from(("A", "B")))
    if kernel_fixes_only:
        fixes = {
            name: not name.startswith(("fix_no_spte", "fix_cache_own", "fix_gen_before"))
            for name in _FIXES
        }
    else:
        fixes = {name: draw(st.booleans()) for name in _FIXES}
    return Constants(
        vcpus=vcpus,
        modes=tuple(draw(st.sets(st.sampled_from(("native", "emulated")), min_size=1))),
        gfns=gfns,
        nr_as=nr_as,
        smm_vcpus=frozenset(draw(st.sets(st.sampled_from(vcpus)))) if nr_as == 2 else frozenset(),
        max_updates=draw(st.integers(0, max_updates)),
        gen_bits=draw(st.integers(1, 4)),
        # Era A's bit 0 is the in-progress mark: its generations are even (the spec's ASSUME).
        init_gen=draw(st.integers(0, 8)) * (2 if era == "A" else 1),
        init_ram=frozenset(draw(st.sets(st.sampled_from(gfns)))),
        era=era,
        invalid_retries=draw(st.booleans()),
        mmio_sptes=draw(st.booleans()),
        flush_zaps_all=draw(st.booleans()),
        **fixes,
    )


def models(names: Sequence[str] | None = None) -> st.SearchStrategy:
    """Models of spec/models (all of them, or those named)."""
    return st.sampled_from(tuple(names) if names is not None else model_names()).map(load_model)


def steps(consts: Constants, state: State) -> st.SearchStrategy:
    """One enabled step from ``state``: (action, params, next state); nothing if none is."""
    enabled = list(successors(consts, state))
    return st.sampled_from(enabled) if enabled else st.nothing()


@st.composite
def traces(
    draw: st.DrawFn, consts: Constants, *, min_steps: int = 0, max_steps: int = 30
) -> list[Step]:
    """A behaviour of the spec from its initial state: min_steps..max_steps enabled steps (fewer
    only if a state has no successor, which the spec never reaches: an idle vCPU can always start
    an access)."""
    length = draw(st.integers(min_steps, max_steps))
    state = initial_state(consts)
    trace = [Step(state)]
    for _ in range(length):
        enabled = list(successors(consts, state))
        if not enabled:
            break
        action, params, state = draw(st.sampled_from(enabled))
        trace.append(Step(state, action, params))
    return trace


def itf_traces(
    model: str, *, min_steps: int = 0, max_steps: int = 30, source: str = "kvm_mmio.strategies"
) -> st.SearchStrategy:
    """Traces of a model of spec/models as ITF documents (what TLC's trace validation reads)."""
    consts = load_model(model).constants
    return traces(consts, min_steps=min_steps, max_steps=max_steps).map(
        lambda trace: write_itf(
            consts, trace, model=model, description="random behaviour", source=source
        )
    )
