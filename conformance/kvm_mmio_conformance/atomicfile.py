"""Write a file whole or not at all: a temporary file in the same folder, then a rename.

Why one module: every file this project writes for a user (vectors, JUnit reports, ITF traces, the
models manifest, plots) must never be seen half written, and must get the permissions an ordinary
``open()`` would give it (0666 less the umask), not the private 0600 of ``tempfile.mkstemp``: a
manifest rewritten by ``kvm-mmio check --record`` or a trace saved for a colleague has to stay
readable. The reference writes no files; tools and the conformance suite share this one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["write_atomic", "write_text"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Create or replace ``path`` with what ``write(stream)`` writes to a binary stream; on any
    error (Ctrl-C included) the old file, if any, is left as it was and no temporary remains."""
    path = Path(path)
    folder = path.resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """``write_atomic`` of ``text`` in UTF-8."""
    return write_atomic(path, lambda stream: stream.write(text.encode("utf-8")))
