"""The package as a user gets it: the sdist and the wheel build without a warning, the wheel holds
the spec (every module, model and the manifest), and installed into a fresh virtual environment
outside the repository it runs the README's commands from an unrelated folder.

Why: in a checkout everything is found next to the code, which hides a wheel without the spec (the
tools then failed from any install). The environment is fresh (its own pip install of the wheel and
its dependencies, from pip's cache or the index), never this one's site-packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.tlc]

ROOT = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"


def _clean_env() -> dict[str, str]:
    """This environment without what would point the installed tools back at the checkout (and
    without PYTHONDONTWRITEBYTECODE, which makes setuptools warn that it does not byte-compile)."""
    dropped = {"KVM_MMIO_SPEC_DIR", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV"}
    return {key: value for key, value in os.environ.items() if key not in dropped}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist and, built from it, the wheel (`python -m build`); no warning on the way."""
    folder = tmp_path_factory.mktemp("dist")
    run = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(folder), str(ROOT)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    output = run.stdout + run.stderr
    warnings = [line for line in output.splitlines() if "warn" in line.lower()]
    assert warnings == [], "\n".join(warnings)
    return folder


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A fresh virtual environment outside the repository with the wheel installed: its bin/."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    wheel = dist / f"kvm_mmio_spec-{VERSION}-py3-none-any.whl"
    install = subprocess.run(
        [str(folder / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
        env=_clean_env() | {"PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    return folder / "bin"


def test_the_wheel_holds_the_spec_and_the_license(dist):
    with zipfile.ZipFile(dist / f"kvm_mmio_spec-{VERSION}-py3-none-any.whl") as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"kvm_mmio_spec-{VERSION}.dist-info/METADATA").decode()
    spec = ROOT / "spec"
    shipped = {f"kvm_mmio_spec/{path.name}" for path in spec.glob("*.tla")}
    shipped |= {f"kvm_mmio_spec/models/{path.name}" for path in (spec / "models").iterdir()}
    assert {"kvm_mmio_spec/KvmMmio.tla", "kvm_mmio_spec/models/manifest.json"} <= shipped
    assert shipped <= names
    manifest = json.loads((spec / "models" / "manifest.json").read_text())
    assert {f"kvm_mmio_spec/models/{entry['cfg']}" for entry in manifest["models"]} <= names
    assert {
        "kvm_mmio_conformance/vectors/spte.json",
        "kvm_mmio_conformance/schema/spte.schema.json",
    } <= names
    assert f"kvm_mmio_spec-{VERSION}.dist-info/licenses/LICENSE" in names
    assert "License-Expression: MIT" in metadata.splitlines()
    assert "Classifier: Operating System :: POSIX :: Linux" in metadata.splitlines()


def test_the_sdist_holds_the_spec_and_the_license(dist):
    with tarfile.open(dist / f"kvm_mmio_spec-{VERSION}.tar.gz") as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"LICENSE", "pyproject.toml", "spec/KvmMmio.tla", "spec/models/manifest.json"} <= names


def test_the_spec_is_found_inside_the_installed_package(venv, tmp_path):
    run = subprocess.run(
        [str(venv / "python"), "-c", "from kvm_mmio.config import spec_dir; print(spec_dir())"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith(str(venv.parent))
    assert run.stdout.strip().endswith("site-packages/kvm_mmio_spec")


@pytest.mark.parametrize(
    "argv",
    [
        ["kvm-mmio", "--version"],
        ["kvm-mmio", "check", "host"],
        ["kvm-mmio", "explore", "safe"],
        ["kvm-mmio", "crosscheck", "bug_no_flush", "--traces", "20"],
        ["python", "-c", "from kvm_mmio.vm import Vm; Vm.from_model('safe')"],
        [
            "kvm-mmio",
            "conformance",
            "--cmd",
            "{bin}/python -m kvm_mmio_conformance.serve_reference",
        ],
        [
            "kvm-mmio",
            "conformance",
            "--impl",
            "kvm_mmio_conformance.reference_adapter:ReferenceAdapter",
        ],
    ],
    ids=[
        "version",
        "check",
        "explore",
        "crosscheck",
        "from_model",
        "conformance-cmd",
        "conformance-impl",
    ],
)
def test_the_installed_commands_run_from_any_folder(venv, tmp_path, argv):
    command = [str(venv / argv[0]), *(word.format(bin=venv) for word in argv[1:])]
    run = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, env=_clean_env(), timeout=900
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    if argv[1:] == ["--version"]:
        assert run.stdout == f"kvm-mmio {VERSION}\n"
    assert list(tmp_path.iterdir()) == []  # nothing written into the folder it ran from
