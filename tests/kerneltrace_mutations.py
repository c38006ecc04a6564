"""Mutations of real kernel event logs that the spec must reject (tests/test_kernel_trace.py).

Why each is wrong for the kernel, not just for the log's shape: each one tells a story that no
kernel could produce under the host profile, and each returns the index of the event at which
that story stops being explainable, so the test can check TLC names that event.
"""

from collections.abc import Sequence

__all__ = [
    "drop_hit",
    "drop_zap",
    "hit_after_update",
    "mmio_after_create",
    "read_before_create",
]

Log = list[dict]


def _effective_ioctls(log: Sequence[dict], kind: str) -> list[tuple[int, int]]:
    """(begin, end) indices of every ioctl of `kind` that returned ok."""
    found = []
    for i, event in enumerate(log):
        if event["ev"] == "ioctl" and event["kind"] == kind:
            end = next(j for j in range(i + 1, len(log)) if log[j]["ev"] == "ioctl_end")
            if log[end]["ok"]:
                found.append((i, end))
    return found


def _access_block(log: Sequence[dict], start: int) -> tuple[int, int]:
    """(begin, result) indices of the first access that begins at or after `start`."""
    begin = next(i for i in range(start, len(log)) if log[i]["ev"] == "access")
    result = next(i for i in range(begin, len(log)) if log[i]["ev"] == "result")
    return begin, result


def mmio_after_create(log: Sequence[dict]) -> tuple[Log, int]:
    """A memory read, begun after a create of its gfn returned, turned into an MMIO exit."""
    for _begin, end in _effective_ioctls(log, "create"):
        _access, result = _access_block(log, end)
        if log[result]["out"] == "ram":
            mutated = [dict(e) for e in log]
            mutated[result]["out"] = "mmio"
            return mutated, result
    raise LookupError("no memory read after a create")


def hit_after_update(log: Sequence[dict]) -> tuple[Log, int]:
    """The first memslot update moved from before the access that filled the cache to between
    that access and the next one, whose cache hit now follows an update (cache-check logs)."""
    begin, end = _effective_ioctls(log, "create")[0]
    update = list(log[begin : end + 1])
    rest = list(log[:begin]) + list(log[end + 1 :])
    _fill, fill_result = _access_block(rest, 0)
    probe, _ = _access_block(rest, fill_result + 1)
    mutated = rest[: fill_result + 1] + update + rest[fill_result + 1 :]
    hit = next(i for i in range(probe + len(update), len(mutated)) if mutated[i]["ev"] == "hit")
    return mutated, hit


def read_before_create(log: Sequence[dict]) -> tuple[Log, int]:
    """A create's ioctl (updater thread) and the memory read that followed it (vCPU thread)
    swapped across the ioctl: the read now ends before the create began, its gfn without a slot.
    Only an instance where the vCPU is between accesses when the create begins is used."""
    for begin, end in _effective_ioctls(log, "create"):
        before = [e["ev"] for e in log[:begin] if e["ev"] in ("access", "result")]
        if not before or before[-1] != "result":
            continue
        access, result = _access_block(log, end)
        if log[result]["out"] != "ram" or any(
            e["ev"] not in ("access", "result", "mmio", "hit") for e in log[access : result + 1]
        ):
            continue
        block = list(log[access : result + 1])
        mutated = list(log[:begin]) + block + list(log[begin:access]) + list(log[result + 1 :])
        return [dict(e) for e in mutated], begin + len(block) - 1
    raise LookupError("no create followed by a memory read with the vCPU idle at its start")


def drop_zap(log: Sequence[dict]) -> tuple[Log, int]:
    """The first zap dropped: the DELETE/MOVE cannot get past its flush, so it cannot return,
    nor can a read see the slot gone. Returns the index of its ioctl's end, the latest event at
    which the spec must give up (a read may show it earlier)."""
    zap = next(i for i, e in enumerate(log) if e["ev"] == "zap")
    mutated = [dict(e) for i, e in enumerate(log) if i != zap]
    end = next(i for i in range(zap, len(mutated)) if mutated[i]["ev"] == "ioctl_end")
    return mutated, end


def drop_hit(log: Sequence[dict]) -> tuple[Log, int]:
    """The first cache hit of an access that no ioctl overlaps dropped: the cache was filled
    (nothing was in progress), so the emulator must have hit; the access's MMIO exit is then
    the first event the spec cannot explain."""
    depth, quiet = 0, False
    for i, event in enumerate(log):
        if event["ev"] in ("ioctl", "ioctl_end"):
            depth += 1 if event["ev"] == "ioctl" else -1
            quiet = False
        elif event["ev"] == "access":
            quiet = depth == 0
        elif event["ev"] == "hit" and quiet:
            mutated = [dict(e) for j, e in enumerate(log) if j != i]
            return mutated, i
    raise LookupError("no cache hit in an access that no ioctl overlaps")
