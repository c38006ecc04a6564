"""Which TCP addresses some processes listen on, as the kernel reports it (Linux /proc).

Why look instead of trusting our flags: Java RMI opens server sockets on its own (a registry, one
anonymous port per exported object), and ``-Djava.rmi.server.hostname`` only sets the address it
*advertises*.  What is listening, and on which address, is the only evidence of who can connect.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Iterable
from pathlib import Path

import attrs

__all__ = ["Listener", "listeners_of", "parse_proc_net_tcp"]

_LISTEN = "0A"  # TCP_LISTEN in the st column of /proc/net/tcp{,6}
_TABLES = ("tcp", "tcp6")


@attrs.frozen
class Listener:
    """One listening TCP socket of process ``pid``."""

    pid: int
    address: str
    port: int

    @property
    def _ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        ip = ipaddress.ip_address(self.address)
        mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is IPv4 loopback
        return mapped or ip

    @property
    def loopback(self) -> bool:
        """Reachable from this machine only."""
        return self._ip.is_loopback

    @property
    def all_interfaces(self) -> bool:
        """Bound to the wildcard address (0.0.0.0 or ::): every interface."""
        return self._ip.is_unspecified

    def __str__(self) -> str:
        ip = ipaddress.ip_address(self.address)
        mapped = getattr(ip, "ipv4_mapped", None)
        host = f"[::ffff:{mapped}]" if mapped else f"[{ip}]" if ip.version == 6 else str(ip)
        return f"{host}:{self.port}"


def _decode_address(text: str) -> str:
    """The /proc/net/tcp hex address (32-bit words in host byte order, little-endian here)."""
    raw = bytes.fromhex(text)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def parse_proc_net_tcp(text: str) -> dict[int, tuple[str, int]]:
    """Listening sockets of one /proc/net/tcp{,6} table: socket inode -> (address, port)."""
    sockets = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != _LISTEN:
            continue
        address, _, port = fields[1].partition(":")
        sockets[int(fields[9])] = (_decode_address(address), int(port, 16))
    return sockets


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def listeners_of(pids: Iterable[int]) -> list[Listener] | None:
    """The listening TCP sockets of these processes, or None where /proc cannot tell (not Linux)."""
    tables: dict[int, tuple[str, int]] = {}
    for name in _TABLES:
        try:
            tables |= parse_proc_net_tcp(Path(f"/proc/net/{name}").read_text())
        except OSError:
            if name == "tcp":
                return None
    found = []
    for pid in pids:
        for inode in sorted(_socket_inodes(pid)):
            if inode in tables:
                found.append(Listener(pid, *tables[inode]))
    return found
