"""Files written for a user appear whole or not at all, with the permissions open() would give."""

import os

import pytest

from kvm_mmio_conformance.atomicfile import write_atomic, write_text
from kvm_mmio_tools.models import spec_dir, write_manifest


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_a_new_file_has_ordinary_permissions_and_its_folder_is_made(tmp_path):
    umask = os.umask(0o027)
    try:
        path = write_text(tmp_path / "deep" / "a.txt", "hello\n")
    finally:
        os.umask(umask)
    assert path.read_text() == "hello\n"
    assert _mode(path) == 0o640  # 0666 less the umask, not mkstemp's 0600
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = write_text(tmp_path / "a.txt", "old\n")

    def half(stream):
        stream.write(b"new, but only ha")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, half)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_recording_counts_keeps_the_manifest_readable(tmp_path):
    (tmp_path / "models").mkdir()
    manifest = tmp_path / "models" / "manifest.json"
    manifest.write_text((spec_dir() / "models" / "manifest.json").read_text())
    manifest.chmod(0o644)
    umask = os.umask(0o022)
    try:
        write_manifest({"host": (1, 2)}, root=tmp_path)
    finally:
        os.umask(umask)
    assert _mode(manifest) == 0o644
    assert '"distinct_states": 1' in manifest.read_text()
