"""What the benchmark ran on: CPU, cores, RAM, Java, Python, OS, and how busy the machine was.

Why: a figure without its machine is not a figure; and since other work may share the machine,
the load average before and after the run is part of the description.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from kvm_mmio_tools.errors import ToolError
from kvm_mmio_tools.tlc_locate import find_java

__all__ = ["cpu_model", "describe", "java_version", "load_average", "ram_gib"]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (the platform's processor string elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_gib() -> float | None:
    """Total RAM in GiB (MemTotal), or None when /proc/meminfo is not there."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def java_version() -> str:
    """The first line of ``java -version`` (it prints on stderr), or why there is none."""
    try:
        done = subprocess.run(
            [find_java(), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (ToolError, OSError, subprocess.TimeoutExpired) as error:
        return f"unavailable ({error})"
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[0] if lines else "unknown"


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return []


def describe() -> dict[str, Any]:
    """The machine, now (``tlc_version`` and the final load are added after the run)."""
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": ram_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "java": java_version(),
        "tlc_version": None,
        "load_before": load_average(),
        "load_after": [],
    }
