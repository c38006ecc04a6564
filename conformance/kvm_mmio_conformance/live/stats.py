"""KVM binary statistics (KVM_GET_STATS_FD) of a VM or a vCPU.

The stats fd is the one observation channel that needs neither debugfs nor tracefs: counters such
as mmio_exits, pf_taken, insn_emulation and mmu_shadow_zapped tell which path an access took. The
layout is self-describing (Documentation/virt/kvm/api.rst, "KVM_GET_STATS_FD"): a header, then one
descriptor per statistic, then a data block of u64 values that is re-read for each snapshot.
"""

import ctypes
import fcntl
import os
from collections.abc import Mapping
from dataclasses import dataclass

from . import ioctls

__all__ = ["StatDescriptor", "StatsReader", "delta"]


@dataclass(frozen=True, slots=True)
class StatDescriptor:
    """One statistic: its name, kvm_stats_desc flags, and where its u64 values sit in the data."""

    name: str
    flags: int
    exponent: int
    size: int
    offset: int
    bucket_size: int

    @property
    def is_histogram(self) -> bool:
        kind = self.flags & ioctls.KVM_STATS_TYPE_MASK
        return kind in (ioctls.KVM_STATS_TYPE_LINEAR_HIST, ioctls.KVM_STATS_TYPE_LOG_HIST)


class StatsReader:
    """Owns the stats fd of one VM or vCPU fd; `snapshot()` reads every statistic at once."""

    def __init__(self, owner_fd: int) -> None:
        self.fd = fcntl.ioctl(owner_fd, ioctls.KVM_GET_STATS_FD, 0)
        try:
            header = ioctls.StatsHeader.from_buffer_copy(
                os.pread(self.fd, ctypes.sizeof(ioctls.StatsHeader), 0)
            )
            self.id = _cstring(os.pread(self.fd, header.name_size, header.id_offset))
            self.descriptors = _read_descriptors(self.fd, header)
        except BaseException:
            os.close(self.fd)
            raise
        self._data_offset = header.data_offset
        self._data_size = max((d.offset + 8 * d.size for d in self.descriptors), default=0)

    def snapshot(self) -> dict[str, int | tuple[int, ...]]:
        """Every statistic by name: an int, or a tuple of bucket counts for a histogram."""
        data = os.pread(self.fd, self._data_size, self._data_offset)
        values: dict[str, int | tuple[int, ...]] = {}
        for desc in self.descriptors:
            items = tuple((ctypes.c_uint64 * desc.size).from_buffer_copy(data, desc.offset))
            values[desc.name] = items if desc.is_histogram or desc.size != 1 else items[0]
        return values

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "StatsReader":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def delta(
    before: Mapping[str, int | tuple[int, ...]], after: Mapping[str, int | tuple[int, ...]]
) -> dict[str, int]:
    """after - before for every scalar statistic (histograms are left out); zeros included."""
    return {
        name: after[name] - value
        for name, value in before.items()
        if isinstance(value, int) and isinstance(after.get(name), int)
    }


def _read_descriptors(fd: int, header: ioctls.StatsHeader) -> tuple[StatDescriptor, ...]:
    fixed = ctypes.sizeof(ioctls.StatsDesc)
    stride = fixed + header.name_size
    raw = os.pread(fd, stride * header.num_desc, header.desc_offset)
    descriptors = []
    for index in range(header.num_desc):
        start = index * stride
        desc = ioctls.StatsDesc.from_buffer_copy(raw, start)
        descriptors.append(
            StatDescriptor(
                name=_cstring(raw[start + fixed : start + stride]),
                flags=desc.flags,
                exponent=desc.exponent,
                size=desc.size,
                offset=desc.offset,
                bucket_size=desc.bucket_size,
            )
        )
    return tuple(descriptors)


def _cstring(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode()
