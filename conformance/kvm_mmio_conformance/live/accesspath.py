"""How KVM decided one guest access, read from the trace events of that access alone.

Why: the spec names the path of each access ("hw", "cache", "spte", "slow", "emulator") and the
conformance suite compares it, but the kernel only shows it through tracepoints. This module is
the single statement of what each traced fact means on this host (kvm.mmio_caching=N, shadow MMU,
../shared/KVM_LIVE.md) and of which paths can be told apart; it is pure, so the mapping is tested
without /dev/kvm. The events, filtered to the accessed page:

- kvmmmu/kvm_mmu_pagetable_walk (addr in the page): KVM walked the guest's page tables for that
  address, FNAME(walk_addr_generic) in arch/x86/kvm/mmu/paging_tmpl.h. A native (CPL3) load
  reaches KVM only through a page fault, so for a native access this means "KVM's page-fault
  handler ran for this page"; the emulator walks too (its gva->gpa translation, unless the MMIO
  cache answers first), which is why the walk is read only for native memory accesses;
- kvmmmu/kvm_mmu_set_spte (gfn of the page): a RAM spte installed for it (recorded as evidence);
- kvm/vcpu_match_mmio (gva or gpa in the page): the per-vCPU MMIO cache answered, in the
  emulator's translation (vcpu_mmio_gva_to_gpa, arch/x86/kvm/x86.c);
- kvmmmu/handle_mmio_page_fault, mark_mmio_spte, check_mmio_spte: an MMIO spte exists. Never on
  this host (kvm.mmio_caching=N); if one appears, this module refuses to classify the access
  rather than guess.

The paths, as measured (mode, outcome -> path):

| mode     | outcome | traced on the page                          | path     |
| -------- | ------- | ------------------------------------------- | -------- |
| native   | ram     | no page-table walk: the spte was present    | hw       |
| native   | ram     | a page-table walk: the fault installed it   | slow     |
| any      | mmio    | vcpu_match_mmio                             | cache    |
| any      | mmio    | no cache hit: the emulator looked it up     | emulator |
| emulated | ram     | (the emulator read memory itself)           | emulator |

A native MMIO access always faults (no MMIO sptes here), fills the cache and emulates the load,
whose translation then hits the fresh entry: "cache", exactly as the spec's FillNoSlot -> Emulate.
"spte" is never reported. A cache hit on a memory read is impossible and refused.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .tracefs import TraceRecord, parse_cache_hit

__all__ = [
    "PATH_EVENTS",
    "REQUIRED_EVENTS",
    "Evidence",
    "Unclassifiable",
    "classify",
    "evidence_from",
]

REQUIRED_EVENTS = ("kvm/vcpu_match_mmio", "kvmmmu/kvm_mmu_pagetable_walk")
MMIO_SPTE_EVENTS = (
    "kvmmmu/handle_mmio_page_fault",
    "kvmmmu/mark_mmio_spte",
    "kvmmmu/check_mmio_spte",
)
PATH_EVENTS = (*REQUIRED_EVENTS, "kvmmmu/kvm_mmu_set_spte", *MMIO_SPTE_EVENTS)
PAGE_SHIFT = 12

_WALK = re.compile(r"addr (?P<addr>[0-9a-f]+) pferr (?P<pferr>[0-9a-f]+)")
_SET_SPTE = re.compile(r"gfn (?P<gfn>[0-9a-f]+) spte")
_MMIO_SPTE_NAMES = frozenset(event.split("/")[1] for event in MMIO_SPTE_EVENTS)


class Unclassifiable(ValueError):
    """The traced facts fit no path this host can take; the message says which facts."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the trace showed for one access to one page (counts of events)."""

    walks: int = 0  # guest page-table walks of an address in the page
    ram_sptes: int = 0  # kvm_mmu_set_spte for the page's gfn
    cache_hits: int = 0  # vcpu_match_mmio for an address in the page
    mmio_spte_events: int = 0  # any MMIO-spte event (none expected with kvm.mmio_caching=N)

    def as_json(self) -> dict[str, int]:
        return {
            "walks": self.walks,
            "ram_sptes": self.ram_sptes,
            "cache_hits": self.cache_hits,
            "mmio_spte_events": self.mmio_spte_events,
        }


def evidence_from(records: Iterable[TraceRecord], gfn: int) -> Evidence:
    """Count the path events of `records` that concern guest frame `gfn` (identity-mapped, so
    its gva page is the same number)."""
    walks = ram_sptes = cache_hits = mmio_spte_events = 0
    for record in records:
        if record.event == "kvm_mmu_pagetable_walk":
            match = _WALK.search(record.body)
            walks += match is not None and int(match["addr"], 16) >> PAGE_SHIFT == gfn
        elif record.event == "kvm_mmu_set_spte":
            match = _SET_SPTE.search(record.body)
            ram_sptes += match is not None and int(match["gfn"], 16) == gfn
        elif record.event == "vcpu_match_mmio":
            hit = parse_cache_hit(record)
            cache_hits += hit is not None and gfn in (hit.gva >> PAGE_SHIFT, hit.gpa >> PAGE_SHIFT)
        elif record.event in _MMIO_SPTE_NAMES:
            mmio_spte_events += 1
    return Evidence(walks, ram_sptes, cache_hits, mmio_spte_events)


def classify(
    mode: Literal["native", "emulated"], outcome: Literal["ram", "mmio"], evidence: Evidence
) -> str:
    """The spec's path for an access of `mode` that ended in `outcome` (see the table above)."""
    if evidence.mmio_spte_events:
        raise Unclassifiable(
            f"{evidence.mmio_spte_events} MMIO-spte event(s) traced, which kvm.mmio_caching=N "
            "excludes: this adapter cannot classify the access"
        )
    if outcome == "mmio":
        return "cache" if evidence.cache_hits else "emulator"
    if evidence.cache_hits:
        raise Unclassifiable("a memory read with a per-vCPU MMIO cache hit on its page")
    if mode == "emulated":
        return "emulator"
    return "slow" if evidence.walks else "hw"
