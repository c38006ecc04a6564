"""The java command lines of distributed TLC's roles: server, worker, fingerprint-set server.

Why in one place: the local runner starts exactly these commands and ``--print-worker-command``
prints them, so what a user starts by hand is what the tests exercise.  What TLC 2.15 needs, found
in the jar (``unzip -l``, ``javap``) and by running it:

- ``tlc2.tool.distributed.TLCServer`` takes TLC's usual ``-tool -config -metadir SPEC`` flags; its
  RMI registry port is the system property ``tlc2.tool.distributed.TLCServer.port`` (10997), which
  workers and fingerprint sets read too; ``...TLCServer.report`` is the progress interval (ms);
  ``...TLCServer.expectedFPSetCount=N`` makes it a DistributedFPSetTLCServer that waits for N
  ``tlc2.tool.distributed.fp.DistributedFPSet`` processes before computing the initial states.
- ``tlc2.tool.distributed.TLCWorker HOST`` and ``...fp.DistributedFPSet HOST`` take only the
  server's host; the worker's thread count is ``tlc2.tool.distributed.TLCWorker.threadCount``
  (default: every core); both fetch the spec from the server over RMI.
- Every JVM exports RMI objects, and the address it advertises for them is
  ``java.rmi.server.hostname``; Java 17 needs two ``--add-opens`` for TLC's RMI port lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kvm_mmio_tools.tlc_locate import find_jar, find_java

__all__ = [
    "DEFAULT_PORT",
    "FPSET_CLASS",
    "LOOPBACK",
    "RMI_OPENS",
    "SERVER_CLASS",
    "WORKER_CLASS",
    "fpset_command",
    "server_command",
    "worker_command",
]

SERVER_CLASS = "tlc2.tool.distributed.TLCServer"
WORKER_CLASS = "tlc2.tool.distributed.TLCWorker"
FPSET_CLASS = "tlc2.tool.distributed.fp.DistributedFPSet"
DEFAULT_PORT = 10997
LOOPBACK = "127.0.0.1"
RMI_OPENS = (
    "--add-opens",
    "java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-opens",
    "java.rmi/sun.rmi.transport=ALL-UNNAMED",
)
# TLC's distributed server reports progress once a minute by default; every 10 s keeps the
# progress display alive without flooding the output.
REPORT_MILLISECONDS = 10_000
# Not tuning but hygiene: no /tmp/hsperfdata_* file left behind by a killed JVM.
_FIXED_JAVA_OPTS = ("-XX:-UsePerfData",)


def _java(
    main_class: str,
    *,
    advertise: str,
    port: int,
    properties: Sequence[str],
    java_opts: Sequence[str],
    tmpdir: Path | None,
    shim: Path | None,
) -> list[str]:
    """java, its options, and the class to run (through the loopback shim when given)."""
    return [
        find_java(),
        *_FIXED_JAVA_OPTS,
        *java_opts,
        *RMI_OPENS,
        f"-Djava.rmi.server.hostname={advertise}",
        f"-D{SERVER_CLASS}.port={port}",
        *(f"-D{name}" for name in properties),
        *([f"-Djava.io.tmpdir={tmpdir}"] if tmpdir is not None else []),
        "-cp",
        str(find_jar()),
        *([str(shim)] if shim is not None else []),
        main_class,
    ]


def server_command(
    spec_name: str,
    cfg_name: str,
    metadir: Path,
    *,
    port: int,
    advertise: str = LOOPBACK,
    fpsets: int = 0,
    java_opts: Sequence[str] = (),
    tmpdir: Path | None = None,
    shim: Path | None = None,
) -> list[str]:
    """The TLCServer, run from the spec's folder (``-config`` is resolved against it)."""
    properties = [f"{SERVER_CLASS}.report={REPORT_MILLISECONDS}"]
    if fpsets:
        properties.append(f"{SERVER_CLASS}.expectedFPSetCount={fpsets}")
    return [
        *_java(
            SERVER_CLASS,
            advertise=advertise,
            port=port,
            properties=properties,
            java_opts=java_opts,
            tmpdir=tmpdir,
            shim=shim,
        ),
        "-tool",
        "-config",
        cfg_name,
        "-metadir",
        str(metadir),
        spec_name,
    ]


def worker_command(
    server_host: str,
    *,
    port: int,
    advertise: str = LOOPBACK,
    threads: int | None = None,
    java_opts: Sequence[str] = (),
    tmpdir: Path | None = None,
    shim: Path | None = None,
) -> list[str]:
    """A TLCWorker with ``threads`` threads (None: one per core of its machine)."""
    properties = [] if threads is None else [f"{WORKER_CLASS}.threadCount={threads}"]
    return [
        *_java(
            WORKER_CLASS,
            advertise=advertise,
            port=port,
            properties=properties,
            java_opts=java_opts,
            tmpdir=tmpdir,
            shim=shim,
        ),
        server_host,
    ]


def fpset_command(
    server_host: str,
    *,
    port: int,
    advertise: str = LOOPBACK,
    java_opts: Sequence[str] = (),
    tmpdir: Path | None = None,
    shim: Path | None = None,
) -> list[str]:
    """A DistributedFPSet (it keeps its fingerprints under java.io.tmpdir)."""
    return [
        *_java(
            FPSET_CLASS,
            advertise=advertise,
            port=port,
            properties=(),
            java_opts=java_opts,
            tmpdir=tmpdir,
            shim=shim,
        ),
        server_host,
    ]
