"""NAME_MAP: every name spec/KvmMmio.tla defines, and where the reference defines the same thing.

Why: the reference is the spec's twin only if a reader can go from any TLA+ name to its Python
counterpart (and back) without guessing; spec/README.md's tables show this map and a test checks
both that it covers every definition of the .tla file and that every Python path exists.

Values are paths relative to the package: ``"actions.begin_access"`` is
``kvm_mmio.actions.begin_access``, ``"state.State.in_cs"`` a field of ``kvm_mmio.state.State``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["NAME_MAP", "python_name", "resolve"]

NAME_MAP: dict[str, str] = {
    # CONSTANTS
    "Vcpus": "config.Constants.vcpus",
    "Modes": "config.Constants.modes",
    "Gfns": "config.Constants.gfns",
    "NrAs": "config.Constants.nr_as",
    "SmmVcpus": "config.Constants.smm_vcpus",
    "MaxUpdates": "config.Constants.max_updates",
    "GenBits": "config.Constants.gen_bits",
    "InitGen": "config.Constants.init_gen",
    "InitRam": "config.Constants.init_ram",
    "Era": "config.Constants.era",
    "InvalidRetries": "config.Constants.invalid_retries",
    "MmioSptes": "config.Constants.mmio_sptes",
    "FlushZapsAll": "config.Constants.flush_zaps_all",
    "FixCacheGen": "config.Constants.fix_cache_gen",
    "FixInProgress": "config.Constants.fix_in_progress",
    "FixHookFirst": "config.Constants.fix_hook_first",
    "FixWrapAnyAs": "config.Constants.fix_wrap_any_as",
    "FixNoCacheInFlux": "config.Constants.fix_no_cache_in_flux",
    "ZapOnWrap": "config.Constants.zap_on_wrap",
    "FlushOnDelete": "config.Constants.flush_on_delete",
    "FixNoSpteInFlux": "config.Constants.fix_no_spte_in_flux",
    "FixCacheOwnAs": "config.Constants.fix_cache_own_as",
    "FixGenBeforeWalk": "config.Constants.fix_gen_before_walk",
    # Derived constants
    "ASes": "config.Constants.ases",
    "GenStep": "config.Constants.gen_step",
    "GenMod": "config.Constants.gen_mod",
    "InitGenOf": "config.Constants.init_gen_of",
    "VcpuAs": "config.Constants.vcpu_as",
    "CacheAs": "config.Constants.cache_as",
    "Kinds": "config.KINDS",
    "NoChange": "config.NO_CHANGE",
    "Installs": "actions.installs",
    "Outcome": "actions.outcome",
    "SpteNone": "state.SPTE_NONE",
    "SpteRam": "state.SPTE_RAM",
    "SpteMmio": "state.spte_mmio",
    "NoCache": "state.NO_CACHE",
    "NoGen": "state.NO_GEN",
    "NoUpd": "state.no_upd",
    "MaxGen": "config.Constants.max_gen",
    "Pcs": "state.PCS",
    "Phases": "state.PHASES",
    # VARIABLES (and the record fields renamed in Python)
    "slots": "state.State.slots",
    "gen": "state.State.gen",
    "busy": "state.State.busy",
    "spte": "state.State.spte",
    "cache": "state.State.cache",
    "dec": "state.State.dec",
    "pc": "state.State.pc",
    "acc": "state.State.acc",
    "mode": "state.State.mode",
    "inCS": "state.State.in_cs",
    "saw": "state.State.saw",
    "out": "state.State.out",
    "path": "state.State.path",
    "upd": "state.State.upd",
    "spteLocal": "state.State.spte_local",
    "genLocal": "state.State.gen_local",
    "upd.as": "state.Upd.as_",
    "upd.waitFor": "state.Upd.wait_for",
    "vars": "state.VARIABLES",
    "vcpuVars": "state.VCPU_VARIABLES",
    # Operations and the user contract
    "AllChanges": "actions.all_changes",
    "Changes": "actions.changes",
    "StageLayout": "actions.stage_layout",
    "OpBefore": "actions.op_before",
    "OpAfter": "actions.op_after",
    "AllowedIn": "actions.allowed_in",
    "Allowed": "actions.allowed",
    "CollectAllowed": "actions.collect_allowed",
    "Wraps": "actions.wraps",
    "ZapAll": "actions.zap_all",
    "CacheHit": "actions.cache_hit",
    "FillCache": "actions.fill_cache",
    "Retry": "actions.retry",
    "Decide": "actions.decide",
    "RecordDecision": "actions.record_decision",
    "MmuLockFree": "actions.mmu_lock_free",
    "HookGen": "actions.hook_gen",
    "ZapWaiting": "actions.zap_waiting",
    "AfterInstall": "actions.after_install",
    # Actions
    "BeginAccess": "actions.begin_access",
    "HwAccess": "actions.hw_access",
    "CheckCache": "actions.check_cache",
    "ReadMmioGen": "actions.read_mmio_gen",
    "GetMmioSpte": "actions.get_mmio_spte",
    "CheckSpte": "actions.check_spte",
    "FillFromSpte": "actions.fill_from_spte",
    "Lookup": "actions.lookup",
    "InstallRam": "actions.install_ram",
    "FillNoSlot": "actions.fill_no_slot",
    "MakeMmioSpte": "actions.make_mmio_spte",
    "MarkMmioSpte": "actions.mark_mmio_spte",
    "Emulate": "actions.emulate",
    "ReadGuest": "actions.read_guest",
    "EndAccess": "actions.end_access",
    "Publish": "actions.publish",
    "SyncSrcu": "actions.sync_srcu",
    "RunHook": "actions.run_hook",
    "StoreGen": "actions.store_gen",
    "FlushSlot": "actions.flush_slot",
    # The specification
    "Init": "state.initial_state",
    "VcpuStep": "actions.vcpu_step",
    "UpdaterStep": "actions.updater_step",
    "Next": "actions.successors",
    "Fairness": "actions.fairness_conditions",
    "Spec": "explore.explore",
    "Symmetry": "packed.canonical",
    # Invariants, witnesses, properties
    "TypeOK": "invariants.type_ok",
    "ObservationsAllowed": "invariants.observations_allowed",
    "CachedMmioIsCurrent": "invariants.cached_mmio_is_current",
    "NoCacheWhileBusy": "invariants.no_cache_while_busy",
    "NeverCacheHit": "invariants.never_cache_hit",
    "NeverSpteHit": "invariants.never_spte_hit",
    "OperationsFinish": "invariants.operations_finish",
    "AccessesFinish": "invariants.accesses_finish",
}


def python_name(tla_name: str) -> str:
    """The Python name of a TLA+ name (the last part of its path), as spec/README.md shows it."""
    return NAME_MAP[tla_name].rsplit(".", 1)[-1]


def resolve(tla_name: str) -> Any:
    """The Python object (function, constant, class attribute) a TLA+ name maps to."""
    module, *attributes = NAME_MAP[tla_name].split(".")
    found: Any = importlib.import_module(f"kvm_mmio.{module}")
    for attribute in attributes:
        found = getattr(found, attribute)
    return found
