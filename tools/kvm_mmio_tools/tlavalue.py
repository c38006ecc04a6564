"""TLA+ values as TLC prints them, read into Python values, and written back as TLA+ source text.

Why: TLC reports states as TLA+ text (error traces, ``-dump dot`` node labels); the cross-checks
compare them with the Python reference, which needs Python values, and trace validation writes
reference traces back into generated TLA+ modules.

TLA+ value (as TLC prints it)          Python value
-------------------------------------  ----------------------------------------------
``42``, ``-1``                         ``int``
``"a\\"b"`` (escapes ``\\" \\\\ \\n \\t \\r \\f``)  ``str``
``TRUE``, ``FALSE``                    ``bool``
``p1`` (a model value)                 :class:`ModelValue`
``{1, 2}``, ``1..3``                   ``frozenset``
``<<1, "a">>``, ``<< >>``              ``tuple``
``[a |-> 1, b |-> 2]``                 :class:`Record`
``(p1 :> 1 @@ p2 :> 2)``               :class:`Function`

What TLC's printing loses, so that the caller decides how to read it:

- a function whose domain is ``1..n`` prints as a tuple ``<<...>>``, the empty function as
  ``<< >>``: a :class:`Function` with keys 1..n reads back as a ``tuple``;
- a function whose domain is a set of strings that are all identifiers prints as a record, so
  ``[s \\in {"a", "b"} |-> 0]`` reads back as a :class:`Record`; with other strings it prints as
  ``("a b" :> 0 @@ ...)`` and reads back as a :class:`Function`;
- an interval that TLC keeps unevaluated prints as ``a..b`` and reads back as a frozenset.

:class:`Record` and :class:`Function` never compare equal to each other (nor to a dict), although
TLA+ calls a record a function: compare like with like.  Python's ``True == 1`` still holds
inside values; TLC never mixes booleans and integers in one set (it rejects such sets), so this
cannot merge two TLC states.

:func:`format_value` writes TLA+ source text: sets and function keys in a deterministic order,
records in their field order.  The text uses ``:>`` and ``@@`` (module TLC) for functions and
negative literals (module Integers), so a module that contains it EXTENDS both.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

__all__ = [
    "Function",
    "ModelValue",
    "Record",
    "Value",
    "format_value",
    "parse_state",
    "parse_value",
    "sort_key",
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = frozenset({"TRUE", "FALSE"})


def _check_identifier(kind: str, name: object) -> None:
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name) or name in _KEYWORDS:
        raise ValueError(f"{kind} must be a TLA+ identifier other than TRUE/FALSE, got {name!r}")


@attrs.frozen(slots=True, repr=False)
class ModelValue:
    """A TLC model value (a constant bound to itself in the cfg, e.g. ``p1``), printed bare."""

    name: str = attrs.field()

    @name.validator
    def _valid(self, _attribute: attrs.Attribute, value: str) -> None:
        _check_identifier("a model value name", value)

    def __repr__(self) -> str:
        return f"ModelValue({self.name!r})"


class _FrozenMap(Mapping):
    """An immutable, hashable mapping; equal only to a mapping of exactly the same class.

    Insertion order is kept for display and ignored by equality and hashing.
    """

    __slots__ = ("_hash", "_map")

    def __init__(self, items: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._map: dict[Any, Any] = dict(pairs)
        self._hash: int | None = None

    def __getitem__(self, key: Any) -> Any:
        return self._map[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._map == other._map  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((type(self).__name__, frozenset(self._map.items())))
        return self._hash

    def __reduce__(self) -> tuple[type, tuple[tuple[tuple[Any, Any], ...]]]:
        # Never pickle the cached hash: str hashes differ from one process to the next.
        return (type(self), (tuple(self._map.items()),))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._map!r})"


class Record(_FrozenMap):
    """A TLA+ record ``[a |-> 1, b |-> 2]``: field names (identifiers) to values."""

    __slots__ = ()

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        super().__init__(items)
        for name in self._map:
            _check_identifier("a record field", name)


class Function(_FrozenMap):
    """A TLA+ function as TLC prints it, ``(k1 :> v1 @@ k2 :> v2)``: any values to values."""

    __slots__ = ()


Value = int | str | bool | ModelValue | frozenset | tuple | Record | Function


def sort_key(value: Value) -> tuple:
    """A total order on values of any kind, used for deterministic output (not TLC's own order)."""
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, ModelValue):
        return (3, value.name)
    if isinstance(value, tuple):
        return (4, tuple(sort_key(item) for item in value))
    if isinstance(value, frozenset):
        return (5, tuple(sorted(sort_key(item) for item in value)))
    if isinstance(value, Record):
        return (6, tuple(sorted((name, sort_key(item)) for name, item in value.items())))
    if isinstance(value, Function):
        return (7, tuple(sorted((sort_key(k), sort_key(v)) for k, v in value.items())))
    raise TypeError(f"not a TLA+ value: {value!r} ({type(value).__name__})")


# --- formatting --------------------------------------------------------------------------------

_STRING_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\f": "\\f"}


def format_value(value: Value | set | list) -> str:
    """TLA+ source text for ``value``; :func:`parse_value` reads it back to an equal value.

    Accepts ``set`` and ``list`` as well as ``frozenset`` and ``tuple``.  The empty
    :class:`Function` is written ``<<>>`` (TLA+ equates it with the empty sequence) and so reads
    back as ``()``.
    """
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + "".join(_STRING_ESCAPES.get(char, char) for char in value) + '"'
    if isinstance(value, ModelValue):
        return value.name
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(format_value(item) for item in sorted(value, key=sort_key)) + "}"
    if isinstance(value, tuple | list):
        return "<<" + ", ".join(format_value(item) for item in value) + ">>"
    if isinstance(value, Record):
        if not value:
            raise ValueError("a TLA+ record has at least one field")
        return "[" + ", ".join(f"{name} |-> {format_value(v)}" for name, v in value.items()) + "]"
    if isinstance(value, Function):
        if not value:
            return "<<>>"
        keys = sorted(value, key=sort_key)
        return (
            "(" + " @@ ".join(f"{format_value(k)} :> {format_value(value[k])}" for k in keys) + ")"
        )
    raise TypeError(f"cannot format {value!r} ({type(value).__name__}) as a TLA+ value")


# --- parsing -----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<int>-?\d+)
      | (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct><<|>>|\|->|:>|@@|\.\.|[{}\[\](),])
    )""",
    re.VERBOSE | re.DOTALL,
)
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_UNESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "f": "\f"}


class _Parser:
    """Recursive descent over the text; every error names the character position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.kind = ""
        self.token = ""
        self.start = 0
        self._advance()

    def _advance(self) -> None:
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            rest = self.text[self.pos :]
            if rest.strip():
                self.start = self.pos + len(rest) - len(rest.lstrip())
                raise self.error("unexpected character")
            self.kind, self.token, self.start, self.pos = "end", "", len(self.text), len(self.text)
            return
        kind = match.lastgroup or ""
        self.kind, self.token, self.start, self.pos = (
            kind,
            match[kind],
            match.start(kind),
            match.end(),
        )

    def error(self, message: str, position: int | None = None) -> ValueError:
        position = self.start if position is None else position
        snippet = self.text[position : position + 30]
        found = f"{snippet!r}" if snippet else "the end of the text"
        return ValueError(f"{message} at position {position}: found {found}")

    def expect(self, punct: str) -> None:
        if self.kind != "punct" or self.token != punct:
            raise self.error(f"expected {punct!r}")
        self._advance()

    def at(self, punct: str) -> bool:
        return self.kind == "punct" and self.token == punct

    def value(self) -> Value:
        kind, token = self.kind, self.token
        if kind == "int":
            self._advance()
            if self.at(".."):
                self._advance()
                if self.kind != "int":
                    raise self.error("expected an integer after '..'")
                high = int(self.token)
                self._advance()
                return frozenset(range(int(token), high + 1))
            return int(token)
        if kind == "str":
            text = self._string(token)
            self._advance()
            return text
        if kind == "ident":
            self._advance()
            if token in _KEYWORDS:
                return token == "TRUE"
            return ModelValue(token)
        if kind == "punct":
            if token == "{":
                return frozenset(self._items("{", "}"))
            if token == "<<":
                return tuple(self._items("<<", ">>"))
            if token == "[":
                return self._record()
            if token == "(":
                return self._function()
        raise self.error("expected a value")

    def _string(self, token: str) -> str:
        def unescape(match: re.Match[str]) -> str:
            char = match[1]
            if char not in _UNESCAPES:
                raise self.error(
                    f"unknown escape \\{char} in a string", self.start + 1 + match.start()
                )
            return _UNESCAPES[char]

        return _UNESCAPE.sub(unescape, token[1:-1])

    def _items(self, opening: str, closing: str) -> list[Value]:
        self.expect(opening)
        items: list[Value] = []
        if not self.at(closing):
            items.append(self.value())
            while self.at(","):
                self._advance()
                items.append(self.value())
        self.expect(closing)
        return items

    def _record(self) -> Record:
        self.expect("[")
        fields: dict[str, Value] = {}
        while True:
            if self.kind != "ident" or self.token in _KEYWORDS:
                raise self.error("expected a record field name")
            name, name_start = self.token, self.start
            self._advance()
            self.expect("|->")
            if name in fields:
                raise self.error(f"duplicate record field {name!r}", name_start)
            fields[name] = self.value()
            if not self.at(","):
                break
            self._advance()
        self.expect("]")
        return Record(fields)

    def _function(self) -> Function:
        self.expect("(")
        pairs: dict[Value, Value] = {}
        while True:
            key_start = self.start
            key = self.value()
            self.expect(":>")
            if key in pairs:
                raise self.error("duplicate function key", key_start)
            pairs[key] = self.value()
            if not self.at("@@"):
                break
            self._advance()
        self.expect(")")
        return Function(pairs)


@functools.lru_cache(maxsize=65536)
def parse_value(text: str) -> Value:
    """The Python value of one TLA+ value printed by TLC; ValueError with the position if malformed.

    Cached: a state graph repeats the same value texts many times, and values are immutable.
    """
    parser = _Parser(text)
    value = parser.value()
    if parser.kind != "end":
        raise parser.error("expected the end of the value")
    return value


_CONJUNCT = re.compile(r"^/\\ ", re.MULTILINE)
_ASSIGNMENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*) = (.*)", re.DOTALL)


def parse_state(text: str) -> dict[str, Value]:
    """Variables of one state as TLC prints it: ``/\\ x = 1`` lines, or ``x = 1`` for a single one.

    A value may span several lines (TLC indents its continuation lines); a new conjunct starts with
    ``/\\`` in the first column.  Positions in errors count from the start of ``text``.
    """
    if not text.strip():
        return {}
    if _CONJUNCT.match(text.lstrip("\n")):
        marks = [match.start() for match in _CONJUNCT.finditer(text)]
        spans = [
            (start + 3, end) for start, end in zip(marks, [*marks[1:], len(text)], strict=True)
        ]
    else:
        spans = [(0, len(text))]
    state: dict[str, Value] = {}
    for start, end in spans:
        match = _ASSIGNMENT.fullmatch(text, start, end)
        if match is None:
            raise ValueError(
                f"expected 'name = value' at position {start}: {text[start:end][:40]!r}"
            )
        name = match[1]
        if name in state:
            raise ValueError(f"variable {name!r} appears twice, at position {start}")
        try:
            state[name] = parse_value(match[2].strip())
        except ValueError as error:
            raise ValueError(f"variable {name!r} (at position {start}): {error}") from None
    return state
