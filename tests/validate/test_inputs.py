"""Action inputs (engine.validate.inputs): declarations, their JSON Schema, checking values and
turning command-line text into typed values."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.diagnostics.words import fits_type, json_type, type_word
from engine.validate.inputs import InputSpec, inputs_json_schema, parse_inputs

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


# -- declarations --------------------------------------------------------------------------


def test_a_bare_declaration_is_required_text() -> None:
    spec = InputSpec.from_manifest("name", {})
    assert (spec.type, spec.required, spec.has_default, spec.description, spec.title) == (
        "string",
        True,
        False,
        "",
        None,
    )
    assert spec.plain_types == frozenset({str})


def test_every_field_is_read() -> None:
    spec = InputSpec.from_manifest(
        "tags",
        {"type": "array", "description": "Tags.", "title": "Tags", "default": ["a"],
         "enum": [["a"], ["b"]], "min_length": 1, "max_length": 3, "items": {"type": "string"},
         "secret": True},
    )  # fmt: skip
    assert spec == InputSpec(
        name="tags", type="array", description="Tags.", title="Tags", default=["a"],
        required=False, enum=(["a"], ["b"]), min_length=1, max_length=3, item_type="string",
        secret=True,
    )  # fmt: skip
    assert spec.plain_types == frozenset()


@pytest.mark.parametrize(
    ("entry", "required"),
    [
        pytest.param({}, True, id="no-default"),
        pytest.param({"default": None}, False, id="default-null"),
        pytest.param({"required": False}, False, id="optional"),
        pytest.param({"default": 1, "required": True}, True, id="required-with-default"),
    ],
)
def test_required(entry: dict[str, Any], required: bool) -> None:
    assert InputSpec.from_manifest("x", entry).required is required


@pytest.mark.parametrize(
    ("entry", "plain"),
    [
        pytest.param({"type": "integer"}, {int}, id="integer"),
        pytest.param({"type": "number"}, {int, float}, id="number"),
        pytest.param({"type": "boolean"}, {bool}, id="boolean"),
        pytest.param({"type": "any"}, {str, int, float, bool, list, dict, type(None)}, id="any"),
        pytest.param({"type": "array"}, set(), id="array-always-checked"),
        pytest.param({"type": "object"}, set(), id="object-always-checked"),
        pytest.param({"type": "integer", "minimum": 0}, set(), id="bounded"),
        pytest.param({"type": "string", "pattern": "^a"}, set(), id="pattern"),
        pytest.param({"type": "string", "enum": ["a"]}, set(), id="enum"),
        pytest.param({"type": "string", "max_length": 2}, set(), id="length"),
    ],
)
def test_plain_types_only_when_the_type_is_the_whole_rule(
    entry: dict[str, Any], plain: set[type]
) -> None:
    assert InputSpec.from_manifest("x", entry).plain_types == frozenset(plain)


def test_parse_inputs() -> None:
    specs = parse_inputs({"a": {"type": "integer"}, "b": {"default": "x"}})
    assert [(s.name, s.type, s.required) for s in specs.values()] == [
        ("a", "integer", True),
        ("b", "string", False),
    ]
    assert parse_inputs(None) == {}


# -- JSON Schema ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "schema"),
    [
        pytest.param({}, {"type": "string"}, id="bare"),
        pytest.param({"type": "any", "description": "Anything."}, {"description": "Anything."},
                     id="any-has-no-type"),
        pytest.param(
            {"type": "integer", "title": "Count", "default": 2, "minimum": 1, "maximum": 9,
             "enum": [1, 2, 9]},
            {"type": "integer", "title": "Count", "default": 2, "minimum": 1, "maximum": 9,
             "enum": [1, 2, 9]},
            id="number-rules",
        ),
        pytest.param(
            {"type": "string", "min_length": 1, "max_length": 5, "pattern": "^[a-z]+$",
             "secret": True},
            {"type": "string", "minLength": 1, "maxLength": 5, "pattern": "^[a-z]+$",
             "writeOnly": True},
            id="text-rules",
        ),
        pytest.param(
            {"type": "array", "min_length": 1, "max_length": 5, "items": {"type": "number"}},
            {"type": "array", "minItems": 1, "maxItems": 5, "items": {"type": "number"}},
            id="list-rules",
        ),
        pytest.param({"type": "array", "items": {"type": "any"}}, {"type": "array"},
                     id="items-of-any-type"),
        pytest.param({"default": None}, {"type": "string", "default": None}, id="null-default"),
        pytest.param({"secret": True, "default": "dflt-token"},
                     {"type": "string", "writeOnly": True}, id="a-secret-default-is-never-shown"),
    ],
)  # fmt: skip
def test_json_schema(entry: dict[str, Any], schema: dict[str, Any]) -> None:
    assert InputSpec.from_manifest("x", entry).json_schema() == schema


def test_inputs_json_schema() -> None:
    specs = parse_inputs({"who": {"description": "Who."}, "n": {"type": "integer", "default": 1}})
    assert inputs_json_schema(specs) == {
        "type": "object",
        "properties": {
            "who": {"type": "string", "description": "Who."},
            "n": {"type": "integer", "default": 1},
        },
        "required": ["who"],
        "additionalProperties": False,
    }
    assert inputs_json_schema({}) == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


# -- types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name", "word"),
    [
        pytest.param(None, "null", "null", id="null"),
        pytest.param(True, "boolean", "true or false", id="bool"),
        pytest.param(3, "integer", "a whole number", id="int"),
        pytest.param(3.5, "number", "a number", id="float"),
        pytest.param("x", "string", "text", id="str"),
        pytest.param([1], "array", "a list", id="list"),
        pytest.param((1,), "array", "a list", id="tuple"),
        pytest.param({"a": 1}, "object", "a mapping (key: value pairs)", id="dict"),
    ],
)
def test_json_type_and_type_word(value: Any, name: str, word: str) -> None:
    assert (json_type(value), type_word(value)) == (name, word)


def test_json_type_of_something_else_is_its_class_name() -> None:
    assert json_type(b"x") == "bytes"
    assert json_type({1, 2}) == "set"


@pytest.mark.parametrize(
    ("value", "expected", "fits"),
    [
        pytest.param(3, "number", True, id="int-is-a-number"),
        pytest.param(3.0, "integer", True, id="whole-float-is-an-integer"),
        pytest.param(3.5, "integer", False, id="fraction-is-not-an-integer"),
        pytest.param(True, "integer", False, id="bool-is-not-an-integer"),
        pytest.param(1, "boolean", False, id="int-is-not-a-bool"),
        pytest.param(object(), "any", True, id="anything-is-any"),
        pytest.param("3", "integer", False, id="text-is-not-a-number"),
        pytest.param(None, "string", False, id="null-is-not-text"),
    ],
)
def test_fits_type(value: Any, expected: str, fits: bool) -> None:
    assert fits_type(value, expected) is fits


# -- problems ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "value", "problems"),
    [
        pytest.param({"type": "integer"}, "3", ['must be a whole number, not text ("3")'],
                     id="type"),
        pytest.param({"type": "integer"}, 2.5, ["must be a whole number, not a number (2.5)"],
                     id="fraction"),
        pytest.param({"type": "boolean"}, None,
                     ["must be true or false, not null"], id="null"),
        pytest.param({"type": "string", "enum": ["red", "green"]}, "blue",
                     ['must be one of "red", "green" (got "blue")'], id="enum"),
        pytest.param({"type": "number", "minimum": 1}, 0.5, ["must be at least 1 (got 0.5)"],
                     id="minimum"),
        pytest.param({"type": "number", "maximum": 2.5}, 3, ["must be at most 2.5 (got 3)"],
                     id="maximum"),
        pytest.param({"type": "integer", "minimum": 1, "maximum": 3, "enum": [5, 9]}, 5,
                     ["must be at most 3 (got 5)"], id="enum-and-bounds"),
        pytest.param({"type": "string", "min_length": 2}, "a",
                     ["must have at least 2 characters (has 1)"], id="too-short"),
        pytest.param({"type": "string", "max_length": 2}, "abc",
                     ["must have at most 2 characters (has 3)"], id="too-long"),
        pytest.param({"type": "array", "min_length": 1}, [], ["must have at least 1 items (has 0)"],
                     id="too-few-items"),
        pytest.param({"type": "array", "max_length": 1}, [1, 2],
                     ["must have at most 1 items (has 2)"], id="too-many-items"),
        pytest.param({"type": "string", "pattern": "^[A-Z]"}, "lower",
                     ["must match the pattern '^[A-Z]' (got \"lower\")"], id="pattern"),
        pytest.param({"type": "string", "pattern": "(unclosed"}, "x",
                     ["must match the pattern '(unclosed' (got \"x\")"], id="broken-pattern"),
        pytest.param({"type": "array", "items": {"type": "string"}}, ["a", 2, 3],
                     ["item 2 must be text, not a whole number"], id="item-type"),
        pytest.param({"type": "string", "min_length": 1, "pattern": "^a"}, "",
                     ["must have at least 1 characters (has 0)",
                      "must match the pattern '^a' (got \"\")"], id="several"),
        pytest.param({"type": "string"}, "x" * 70, [], id="long-text-is-fine"),
    ],
)  # fmt: skip
def test_problems(entry: dict[str, Any], value: Any, problems: list[str]) -> None:
    assert InputSpec.from_manifest("x", entry).problems(value) == problems


def test_values_that_fit() -> None:
    spec = InputSpec.from_manifest(
        "x", {"type": "array", "min_length": 1, "max_length": 3, "items": {"type": "integer"}}
    )
    assert spec.problems([1, 2.0]) == []
    assert InputSpec.from_manifest("x", {"type": "any"}).problems({"a": [None]}) == []
    assert InputSpec.from_manifest("x", {"pattern": "b"}).problems("abc") == []


def test_long_values_are_shortened_in_messages() -> None:
    [problem] = InputSpec.from_manifest("x", {"type": "integer"}).problems("y" * 100)
    assert problem == 'must be a whole number, not text ("' + "y" * 56 + "…)"


def test_normalize_turns_whole_floats_into_integers_for_integer_inputs() -> None:
    integer = InputSpec.from_manifest("x", {"type": "integer"})
    number = InputSpec.from_manifest("x", {"type": "number"})
    assert (integer.normalize(3.0), type(integer.normalize(3.0))) == (3, int)
    assert (integer.normalize(3.5), number.normalize(3.0), integer.normalize("3")) == (
        3.5,
        3.0,
        "3",
    )
    assert type(number.normalize(3.0)) is float


# -- from_text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        pytest.param("string", " 42 ", " 42 ", id="string-as-is"),
        pytest.param("boolean", "true", True, id="true"),
        pytest.param("boolean", " YES ", True, id="yes"),
        pytest.param("boolean", "on", True, id="on"),
        pytest.param("boolean", "1", True, id="one"),
        pytest.param("boolean", "False", False, id="false"),
        pytest.param("boolean", "no", False, id="no"),
        pytest.param("boolean", "off", False, id="off"),
        pytest.param("boolean", "0", False, id="zero"),
        pytest.param("integer", " -7 ", -7, id="integer"),
        pytest.param("number", "3", 3, id="whole-number-stays-int"),
        pytest.param("number", "3.0", 3.0, id="written-with-a-point-stays-float"),
        pytest.param("number", "2.5", 2.5, id="fraction"),
        pytest.param("number", "1e3", 1000, id="exponent"),
        pytest.param("array", '["a", 1]', ["a", 1], id="array"),
        pytest.param("object", '{"a": null}', {"a": None}, id="object"),
        pytest.param("any", "[1, 2]", [1, 2], id="any-json"),
        pytest.param("any", "plain words", "plain words", id="any-text"),
        pytest.param("any", "NaN", "NaN", id="any-nan-is-text"),
    ],
)
def test_from_text(kind: str, text: str, value: Any) -> None:
    got = InputSpec.from_manifest("x", {"type": kind}).from_text(text)
    assert (got, type(got)) == (value, type(value))


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        pytest.param("boolean", "maybe", 'expected true or false, got "maybe"', id="boolean"),
        pytest.param("integer", "7.5", 'expected a whole number, got "7.5"', id="integer"),
        pytest.param("integer", "", 'expected a whole number, got ""', id="empty"),
        pytest.param("number", "abc", 'expected a number, got "abc"', id="number"),
        pytest.param("number", "nan", 'expected a number, got "nan"', id="nan"),
        pytest.param("number", "-inf", 'expected a number, got "-inf"', id="infinity"),
        pytest.param("array", "a,b", 'expected a list written as JSON, e.g. ["a", "b"]',
                     id="array"),
        pytest.param("array", "0", 'expected a list written as JSON, e.g. ["a", "b"]',
                     id="array-given-a-number"),
        pytest.param("object", "[1]",
                     'expected a mapping (key: value pairs) written as JSON, e.g. {"key": "value"}',
                     id="object-given-a-list"),
        pytest.param("array", "[1, NaN]", 'expected a list written as JSON, e.g. ["a", "b"]',
                     id="array-with-nan"),
        pytest.param("object", "a=1",
                     'expected a mapping (key: value pairs) written as JSON, e.g. {"key": "value"}',
                     id="object"),
    ],
)  # fmt: skip
def test_from_text_refusals(kind: str, text: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        InputSpec.from_manifest("x", {"type": kind}).from_text(text)
    assert str(refused.value) == message


@given(st.integers())
def test_integers_round_trip_through_text(number: int) -> None:
    assert InputSpec("n", type="integer").from_text(str(number)) == number


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip_through_text(number: float) -> None:
    assert InputSpec("n", type="number").from_text(repr(number)) == number


@given(JSON_VALUES)
def test_json_values_round_trip_through_text(value: Any) -> None:
    text = json.dumps(value)
    assert InputSpec("v", type="any").from_text(text) == value
    if isinstance(value, list):
        assert InputSpec("v", type="array").from_text(text) == value


@given(st.text())
def test_from_text_gives_a_value_or_a_value_error(text: str) -> None:
    for kind in ("string", "integer", "number", "boolean", "array", "object", "any"):
        spec = InputSpec("v", type=kind)
        try:
            value = spec.from_text(text)
        except ValueError as refused:
            assert str(refused).startswith("expected ")
        else:
            assert fits_type(value, kind) or (kind == "any")
