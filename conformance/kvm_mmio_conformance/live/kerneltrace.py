"""A recorded event log (eventlog.py) as a trace of events with only what was observed.

Why: spec/KvmMmioKernelTrace.tla matches events, not trace lines. Each event keeps what the line
showed and nothing the recorder inferred:

  {"ev": "ioctl", "kind", "gfn", "to"}  userspace calls KVM_SET_USER_MEMORY_REGION (marker)
  {"ev": "ioctl_end", "ok"}             it returned; ok: it changed the memslots (marker)
  {"ev": "access", "gfn", "mode"}       the vCPU thread enters KVM_RUN for this access (marker)
  {"ev": "result", "gfn", "out"}        KVM_RUN ended it: "ram" (a value read) or "mmio" (marker)
  {"ev": "hit", "gfn"}                  kvm/vcpu_match_mmio: the per-vCPU MMIO cache answered
  {"ev": "mmio", "gfn", "op"}           kvm/kvm_mmio: the emulator decided an MMIO access
  {"ev": "zap"}                         kvmmmu/kvm_mmu_zap_all_fast: every shadow page zapped

Each event also has "t" (the trace clock, seconds) and "tid" (the thread). A kvm_mmio record of a
gfn outside `gfns` (the guest's report page, a read-only slot the spec does not model: the guest
writes each value it read there) is left out and counted in `Converted.unmodelled`. gfns are the
kernel's; the TLA+ batch renumbers them.
"""

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from .eventlog import MARK
from .tracefs import TraceRecord, parse_cache_hit
from .vm import PAGE_SIZE

__all__ = ["KERNEL_EVENTS", "Converted", "convert", "dumps", "loads"]

KERNEL_EVENTS = frozenset({"hit", "mmio", "zap"})
_KVM_MMIO = re.compile(r"mmio (?P<op>unsatisfied-read|read|write) len \d+ gpa (?P<gpa>0x[0-9a-f]+)")
_MARKS = {"ioctl": ("kind", "gfn", "to"), "ioctl_end": ("ok",), "access": ("gfn", "mode")}


@dataclass(frozen=True, slots=True)
class Converted:
    """The events of one log, and how many kernel records were outside the modelled gfns."""

    events: tuple[dict, ...]
    unmodelled: int

    @property
    def kernel_events(self) -> int:
        return sum(event["ev"] in KERNEL_EVENTS for event in self.events)


def convert(records: Iterable[TraceRecord], gfns: Collection[int]) -> Converted:
    """The events of a log's records, in the log's order; records of other kinds (another
    tool's markers, events not enabled by eventlog.py) are an error, not silently dropped."""
    events: list[dict] = []
    unmodelled = 0
    for record in records:
        head = {"t": record.timestamp, "tid": record.pid}
        if record.event == "tracing_mark_write":
            events.append(head | _marker(record.body))
        elif record.event == "vcpu_match_mmio":
            hit = parse_cache_hit(record)
            assert hit is not None  # parse_cache_hit raises on a malformed body
            gfn = hit.gpa // PAGE_SIZE
            if gfn not in gfns:
                unmodelled += 1
                continue
            events.append(head | {"ev": "hit", "gfn": gfn})
        elif record.event == "kvm_mmio":
            match = _KVM_MMIO.search(record.body)
            if match is None:
                raise ValueError(f"unexpected kvm_mmio format: {record.body!r}")
            gfn = int(match["gpa"], 16) // PAGE_SIZE
            if gfn not in gfns:
                unmodelled += 1
                continue
            events.append(head | {"ev": "mmio", "gfn": gfn, "op": match["op"]})
        elif record.event == "kvm_mmu_zap_all_fast":
            events.append(head | {"ev": "zap"})
        else:
            raise ValueError(f"a record the event log does not enable: {record}")
    return Converted(tuple(events), unmodelled)


def _marker(body: str) -> dict:
    text = body.strip()
    if not text.startswith(MARK.strip()):
        raise ValueError(f"a trace_marker line not written by eventlog.py: {body!r}")
    fields = json.loads(text[len(MARK.strip()) :])
    kind = fields.pop("m")
    if kind == "result":
        return {"ev": "result", "gfn": fields["gfn"], "out": fields["out"]}
    if kind not in _MARKS:
        raise ValueError(f"unknown marker {kind!r} in {body!r}")
    return {"ev": kind} | {name: fields[name] for name in _MARKS[kind]}


def dumps(events: Iterable[dict]) -> str:
    """Events as ndjson, one a line."""
    return "".join(json.dumps(event, separators=(",", ":")) + "\n" for event in events)


def loads(text: str) -> tuple[dict, ...]:
    """Events from ndjson (blank lines skipped)."""
    return tuple(json.loads(line) for line in text.splitlines() if line.strip())
