"""The text of a vectors file: a header, then one case per line.

Why shared: every generator writes the same layout (the one vectors/spte.json has), so that the
files diff case by case and a reader in any language sees the same header (schema, version,
generator, count, notes). The text depends only on the cases, so regenerating gives the same
bytes; the generators write it with atomicfile, so that it appears whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["render"]


def render(
    schema: str,
    version: int,
    generator: str,
    generator_version: int,
    notes: Mapping[str, str],
    cases: Sequence[Mapping[str, Any]],
) -> str:
    """The file's text: the header keys one per line, then the cases one per line."""
    header = {
        "schema": schema,
        "version": version,
        "generator": {"name": generator, "version": generator_version},
        "count": len(cases),
        "notes": dict(notes),
    }
    lines = ["{"]
    lines += [f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in header.items()]
    lines.append('  "cases": [')
    lines += [f"    {json.dumps(case)}," for case in cases[:-1]]
    if cases:
        lines.append(f"    {json.dumps(cases[-1])}")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"
