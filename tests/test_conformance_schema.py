"""Every vectors file validates against its JSON Schema, the schemas keep to the subset the tiny
validator implements, and the validator says where an instance breaks its schema."""

import json

import pytest

from kvm_mmio_conformance.reference_adapter import ReferenceAdapter
from kvm_mmio_conformance.schemacheck import SCHEMA_DIR, SchemaError, errors, load_schema, validate
from kvm_mmio_conformance.vectors import SCHEMAS, VECTORS_DIR

VECTOR_FILES = sorted(VECTORS_DIR.glob("*.json"))


def test_there_is_a_schema_for_each_layer_and_for_hello():
    names = {path.name.removesuffix(".schema.json") for path in SCHEMA_DIR.glob("*.schema.json")}
    assert names == {*SCHEMAS.values(), "capabilities"}


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda path: path.name)
def test_every_vectors_file_validates(path):
    document = json.loads(path.read_text(encoding="utf-8"))
    layer = SCHEMAS[document["schema"]]
    assert errors(document, load_schema(layer)) == []
    assert document["count"] == len(document["cases"])
    ids = [case["id"] for case in document["cases"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", ["spte", "operations", "steps", "capabilities"])
def test_each_schema_uses_only_supported_keywords(name):
    # errors() raises ValueError on an unsupported keyword anywhere it walks; an empty object
    # walks the top level, so walk every $defs entry with a value of each JSON type as well.
    schema = load_schema(name)
    for value in ({}, [], "", 0, True, None):
        errors(value, schema)
        for definition in schema.get("$defs", {}).values():
            errors(value, {**definition, "$defs": schema.get("$defs", {})})


def test_the_reference_hello_validates():
    validate(ReferenceAdapter().hello(), load_schema("capabilities"))


def test_errors_name_the_place_and_the_reason():
    schema = load_schema("spte")
    case = {
        "id": "x",
        "tier": "must",
        "comment": "",
        "request": {"op": "check", "profile": {}, "spte": "0x1", "current_gen": "0x1"},
        "expected": {"hit": "yes"},
    }
    problems = errors({**_header(), "cases": [case]}, schema)
    assert len(problems) == 1
    assert problems[0].startswith("$.cases[0]: matches none of 4 shapes")


def _header():
    return {
        "schema": "kvm-mmio-spte-vectors",
        "version": 1,
        "generator": {"name": "g", "version": 1},
        "count": 1,
        "notes": {},
    }


@pytest.mark.parametrize(
    ("instance", "schema", "message"),
    [
        (True, {"type": "integer"}, "$: expected integer, got true"),
        ("v4", {"enum": ["v5.0"]}, '$: "v4" is not one of ["v5.0"]'),
        ({"a": 1}, {"additionalProperties": False}, "$.a: no value is allowed here"),
        ({}, {"required": ["a", "b"]}, "$: missing a, b"),
        ([1], {"minItems": 2}, "$: expected at least 2 items, got 1"),
        ("0xG", {"pattern": "^0x[0-9a-f]+$"}, '$: "0xG" does not match ^0x[0-9a-f]+$'),
        (53, {"maximum": 52}, "$: 53 is above the maximum 52"),
        (1, {"const": True}, "$: expected true, got 1"),
    ],
)
def test_each_keyword(instance, schema, message):
    assert errors(instance, schema) == [message]
    with pytest.raises(SchemaError):
        validate(instance, schema)


def test_an_unsupported_keyword_is_an_error_not_a_pass():
    with pytest.raises(ValueError, match="unsupported keywords"):
        errors(1, {"multipleOf": 2})
