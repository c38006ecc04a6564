"""NAME_MAP covers every name spec/KvmMmio.tla declares or defines, every Python name in it
exists, and spec/README.md's name tables agree with it."""

import re

import pytest

from kvm_mmio.config import spec_dir
from kvm_mmio.names import NAME_MAP, python_name, resolve

TLA = (spec_dir() / "KvmMmio.tla").read_text()


def _block(keyword: str) -> str:
    found = re.search(rf"^{keyword}\b(.*?)^\s*$", TLA, re.MULTILINE | re.DOTALL)
    assert found, keyword
    return found.group(1)


def tla_names() -> set[str]:
    definitions = set(re.findall(r"^([A-Za-z_]\w*)\s*(?:\([^)]*\))?\s*==", TLA, re.MULTILINE))
    declared = {
        name
        for keyword in ("CONSTANTS", "VARIABLES")
        for name in re.findall(r"^\s*([A-Za-z_]\w*),?\s*(?:\\\*.*)?$", _block(keyword), re.M)
    }
    return definitions | declared


def test_every_tla_name_is_mapped():
    names = tla_names()
    assert len(names) > 90  # 22 constants, 14 variables and the definitions
    assert names - set(NAME_MAP) == set()
    assert {"Publish", "BeginAccess", "TypeOK", "inCS", "FixCacheOwnAs", "Next"} <= names


@pytest.mark.parametrize("tla_name", sorted(NAME_MAP))
def test_every_python_name_exists(tla_name):
    resolve(tla_name)


def _readme_rows() -> list[tuple[str, str]]:
    """(TLA+ cell, Python cell) of the Variables, Actions and Invariants tables."""
    text = (spec_dir() / "README.md").read_text()
    rows = []
    for section in ("Variables", "Actions", "Invariants, properties, witnesses"):
        body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
        for line in body.splitlines():
            cells = [cell.strip() for cell in line.split("|")[1:-1]]
            if len(cells) >= 2 and cells[0].startswith("`"):
                rows.append((cells[0], cells[1]))
    return rows


def _names(cell: str) -> list[str]:
    """The names in a cell, without arguments, indexes or a parenthesised remark."""
    head = cell.split(" (", 1)[0]
    return [re.split(r"[(\[]", token)[0] for token in re.findall(r"`([^`]+)`", head)]


def test_readme_tables_show_the_name_map():
    rows = _readme_rows()
    assert len(rows) >= 30
    for tla_cell, python_cell in rows:
        tla, python = _names(tla_cell), _names(python_cell)
        assert len(tla) == len(python), (tla_cell, python_cell)
        for tla_name, python_found in zip(tla, python, strict=True):
            assert python_name(tla_name) == python_found, tla_cell
