"""Make distributed TLC's JVMs listen on 127.0.0.1 only.

Why: TLCServer, TLCWorker and DistributedFPSet talk Java RMI, which opens its server sockets (the
registry on the server's port, one anonymous port per exported object) on every interface; the
flag ``-Djava.rmi.server.hostname`` only changes the address RMI advertises, and TLC has no option
to bind.  Java does offer a process-wide hook, ``RMISocketFactory.setSocketFactory``, which must be
called before anything is exported.  A TLC class cannot do that, so the JVM runs this small
launcher, which installs a factory binding every server socket to 127.0.0.1 and then calls the
TLC class's ``main``.  It is Java source run by the JDK's source launcher (``java File.java``, JEP
330: compiled in memory, nothing written), so nothing has to be built or shipped; the launcher
needs the ``jdk.compiler`` module, which Debian's JRE has.  Without it the JVMs listen on every
interface, and the caller must say so (it looks at what listens; see listening.py).
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from kvm_mmio_tools.tlc_locate import find_java

__all__ = ["SHIM_NAME", "source_launcher_available", "write_shim"]

SHIM_NAME = "LoopbackRmi.java"

_SOURCE = """\
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.rmi.server.RMISocketFactory;
import java.util.Arrays;

/** Runs args[0].main(rest) with every RMI server socket bound to 127.0.0.1 (kvm-mmio). */
public class LoopbackRmi {
    public static void main(String[] args) throws Throwable {
        final InetAddress loopback = InetAddress.getByName("127.0.0.1");
        RMISocketFactory.setSocketFactory(new RMISocketFactory() {
            @Override
            public ServerSocket createServerSocket(int port) throws IOException {
                return new ServerSocket(port, 50, loopback);
            }

            @Override
            public Socket createSocket(String host, int port) throws IOException {
                return new Socket(host, port);
            }
        });
        try {
            Class.forName(args[0]).getMethod("main", String[].class)
                .invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
"""


@functools.cache
def source_launcher_available() -> bool:
    """Whether this java can run a .java file (it has the jdk.compiler module)."""
    try:
        modules = subprocess.run(
            [find_java(), "--list-modules"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(line.startswith("jdk.compiler@") for line in modules.splitlines())


def write_shim(folder: Path) -> Path:
    """Write the launcher into ``folder``; run it as ``java ... -cp JAR SHIM Class args``."""
    path = folder / SHIM_NAME
    path.write_text(_SOURCE)
    return path
