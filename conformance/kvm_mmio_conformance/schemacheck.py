"""A validator for the small subset of JSON Schema (2020-12) that schema/*.json use.

Why not the jsonschema package: the reference and the suite depend only on attrs, and a runner in
any language should be able to check the files with whatever validator it has, so the schemas keep
to a handful of keywords and this module implements exactly those. A keyword outside the subset
is an error (a typo in a schema must not silently validate everything).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_DIR", "SchemaError", "errors", "load_schema", "validate"]

SCHEMA_DIR = Path(__file__).parent / "schema"

_ANNOTATIONS = {"$schema", "$id", "$comment", "$defs", "title", "description", "default"}
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class SchemaError(ValueError):
    """An instance does not match its schema; the message lists where and why."""


@cache
def load_schema(name: str) -> dict:
    """schema/<name>.schema.json, parsed."""
    with (SCHEMA_DIR / f"{name}.schema.json").open(encoding="utf-8") as file:
        return json.load(file)


def _resolve(root: dict, ref: str) -> dict:
    if not ref.startswith("#/"):
        raise ValueError(f"$ref: only local references like #/$defs/name are supported, got {ref}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _check(instance: Any, schema: Any, root: dict, where: str, out: list[str]) -> None:
    if schema is True:
        return
    if schema is False:
        out.append(f"{where}: no value is allowed here")
        return
    unknown = set(schema) - _ANNOTATIONS - set(_KEYWORDS)
    if unknown:
        raise ValueError(f"schema at {where}: unsupported keywords {sorted(unknown)}")
    for keyword, value in schema.items():
        if keyword in _KEYWORDS:
            _KEYWORDS[keyword](instance, value, schema, root, where, out)


def _type(instance, expected, _schema, _root, where, out):
    names = expected if isinstance(expected, list) else [expected]
    if not any(_TYPES[name](instance) for name in names):
        out.append(f"{where}: expected {' or '.join(names)}, got {json.dumps(instance)[:60]}")


def _enum(instance, values, _schema, _root, where, out):
    if not any(_same(instance, value) for value in values):
        out.append(f"{where}: {json.dumps(instance)[:60]} is not one of {json.dumps(values)}")


def _const(instance, value, _schema, _root, where, out):
    if not _same(instance, value):
        out.append(f"{where}: expected {json.dumps(value)}, got {json.dumps(instance)[:60]}")


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1."""
    return type(a) is type(b) and a == b


def _properties(instance, properties, _schema, root, where, out):
    if isinstance(instance, dict):
        for key, subschema in properties.items():
            if key in instance:
                _check(instance[key], subschema, root, f"{where}.{key}", out)


def _required(instance, keys, _schema, _root, where, out):
    if isinstance(instance, dict):
        missing = [key for key in keys if key not in instance]
        if missing:
            out.append(f"{where}: missing {', '.join(missing)}")


def _additional(instance, subschema, schema, root, where, out):
    if isinstance(instance, dict):
        for key in instance:
            if key not in schema.get("properties", {}):
                _check(instance[key], subschema, root, f"{where}.{key}", out)


def _items(instance, subschema, _schema, root, where, out):
    if isinstance(instance, list):
        for index, item in enumerate(instance):
            _check(item, subschema, root, f"{where}[{index}]", out)


def _min_items(instance, least, _schema, _root, where, out):
    if isinstance(instance, list) and len(instance) < least:
        out.append(f"{where}: expected at least {least} items, got {len(instance)}")


def _pattern(instance, pattern, _schema, _root, where, out):
    if isinstance(instance, str) and not re.search(pattern, instance):
        out.append(f"{where}: {json.dumps(instance)[:60]} does not match {pattern}")


def _minimum(instance, least, _schema, _root, where, out):
    if _TYPES["number"](instance) and instance < least:
        out.append(f"{where}: {instance} is below the minimum {least}")


def _maximum(instance, most, _schema, _root, where, out):
    if _TYPES["number"](instance) and instance > most:
        out.append(f"{where}: {instance} is above the maximum {most}")


def _any_of(instance, branches, _schema, root, where, out):
    reasons = []
    for branch in branches:
        branch_errors: list[str] = []
        _check(instance, branch, root, where, branch_errors)
        if not branch_errors:
            return
        reasons.append(branch_errors[0])
    out.append(f"{where}: matches none of {len(branches)} shapes ({'; '.join(reasons)})")


def _ref(instance, ref, _schema, root, where, out):
    _check(instance, _resolve(root, ref), root, where, out)


_KEYWORDS = {
    "$ref": _ref,
    "type": _type,
    "enum": _enum,
    "const": _const,
    "properties": _properties,
    "required": _required,
    "additionalProperties": _additional,
    "items": _items,
    "minItems": _min_items,
    "pattern": _pattern,
    "minimum": _minimum,
    "maximum": _maximum,
    "anyOf": _any_of,
}


def errors(instance: Any, schema: dict) -> list[str]:
    """Every place where `instance` breaks `schema`, as "$.path: reason" strings."""
    out: list[str] = []
    _check(instance, schema, schema, "$", out)
    return out


def validate(instance: Any, schema: dict) -> None:
    """Raise SchemaError listing the first few problems unless `instance` matches `schema`."""
    problems = errors(instance, schema)
    if problems:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise SchemaError(f"{shown}{more}")
