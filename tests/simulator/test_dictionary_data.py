"""km_dictionary_manager: queries, merges, transforms and schemas."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import KM, PEOPLE, SCHEMA, USERS, read_people

TOOL = "km_dictionary_manager"


@pytest.mark.parametrize(
    ("query", "results"),
    [
        pytest.param("$.users[*].name", ["Ann", "Bo"], id="wildcard"),
        pytest.param("$..name", ["Ann", "Bo"], id="recursive"),
        pytest.param("users[0].email", ["ann@example.com"], id="no-dollar"),
        pytest.param("$['count']", [2], id="quoted"),
        pytest.param('$["users"][-1]', [{"name": "Bo"}], id="negative"),
        pytest.param("$.nothing", [], id="no-match"),
        pytest.param(
            "$..*",
            [USERS, 2, *USERS, "Ann", "ann@example.com", "Bo"],
            id="all-descendants",
        ),
    ],
)
def test_query(people: KM, query: str, results: list[Any]) -> None:
    data = people.ok(TOOL, operation="query", dictionary_name="people", query=query)
    assert data == {"query": query, "results": results, "total_matches": len(results)}


def test_bad_query(people: KM) -> None:
    error = people.fails(
        TOOL, "VALIDATION_ERROR", operation="query", dictionary_name="people", query="$.a("
    )
    assert error["message"] == "cannot run query '$.a(': cannot read the query at '('"


@pytest.mark.parametrize(
    ("strategy", "source", "result"),
    [
        pytest.param(
            "deep",
            {"a": {"y": 2}, "l": [3]},
            {"a": {"x": 1, "y": 2}, "l": [3], "s": "k"},
            id="deep",
        ),
        pytest.param(
            "shallow", {"a": {"y": 2}}, {"a": {"y": 2}, "l": [1, 2], "s": "k"}, id="shallow"
        ),
        pytest.param("replace", {"z": 0}, {"z": 0}, id="replace"),
        pytest.param(
            "append",
            {"l": [2, 3], "s": "new"},
            {"a": {"x": 1}, "l": [1, 2, 2, 3], "s": "new"},
            id="append",
        ),
        pytest.param(
            "union",
            {"l": [2, 3], "s": "new"},
            {"a": {"x": 1}, "l": [1, 2, 3], "s": "k"},
            id="union",
        ),
    ],
)
def test_merge_strategies(
    km: KM, strategy: str, source: dict[str, Any], result: dict[str, Any]
) -> None:
    km.ok(
        TOOL, operation="create", dictionary_name="d", value={"a": {"x": 1}, "l": [1, 2], "s": "k"}
    )
    data = km.ok(
        TOOL, operation="merge", dictionary_name="d", value=source, merge_strategy=strategy
    )
    assert (data["merge_strategy"], data["keys_merged"]) == (strategy, len(source))
    assert km.ok(TOOL, operation="read", dictionary_name="d")["value"] == result


def test_transform(people: KM) -> None:
    data = people.ok(
        TOOL,
        operation="transform",
        dictionary_name="people",
        value={"rename": {"count": "total"}, "remove": ["users.1"], "set": {"meta.v": 1}},
    )
    assert data["transformations_applied"] == [
        "set meta.v",
        "remove users.1",
        "rename count -> total",
    ]
    assert data["data"] == {"users": [USERS[0]], "total": 2, "meta": {"v": 1}}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            {"rename": {"zz": "y"}},
            "transformation failed: key 'zz' of 'zz' does not exist",
            id="missing",
        ),
        pytest.param(
            {"remove": "count"},
            "transformation failed: 'remove' takes a list of key paths",
            id="remove-type",
        ),
        pytest.param(
            {"rename": {"count": "a.b"}},
            "transformation failed: rename target for 'count' must be a key without dots",
            id="dotted",
        ),
        pytest.param({"sort": {}}, "unknown transformation 'sort'", id="unknown"),
    ],
)
def test_transform_failures_change_nothing(people: KM, value: dict[str, Any], message: str) -> None:
    error = people.fails(
        TOOL, "VALIDATION_ERROR", operation="transform", dictionary_name="people", value=value
    )
    assert error["message"] == message
    assert read_people(people) == PEOPLE


def test_a_stored_schema_guards_every_change(km: KM) -> None:
    km.ok(TOOL, operation="create", dictionary_name="s", value={"count": 1}, schema=SCHEMA)
    error = km.fails(
        TOOL,
        "SCHEMA_VALIDATION_FAILED",
        operation="update",
        dictionary_name="s",
        key_path="count",
        value="two",
    )
    assert error["message"] == (
        "the change breaks the schema of dictionary 's': $.count: 'two' is not of type 'integer'"
    )
    km.fails(
        TOOL, "SCHEMA_VALIDATION_FAILED", operation="delete", dictionary_name="s", key_path="count"
    )
    km.ok(
        TOOL,
        operation="update",
        dictionary_name="s",
        key_path="count",
        value="two",
        validate_schema=False,
    )
    assert km.ok(TOOL, operation="validate", dictionary_name="s") == {
        "dictionary_name": "s",
        "valid": False,
        "errors": [{"path": "$.count", "message": "'two' is not of type 'integer'"}],
        "schema_source": "stored",
    }


def test_create_refuses_data_that_breaks_its_schema(km: KM) -> None:
    km.fails(
        TOOL,
        "SCHEMA_VALIDATION_FAILED",
        operation="create",
        dictionary_name="s",
        value={},
        schema=SCHEMA,
    )
    km.fails(TOOL, "NOT_FOUND", operation="read", dictionary_name="s")


def test_validate_with_a_given_schema(people: KM) -> None:
    data = people.ok(TOOL, operation="validate", dictionary_name="people", schema=SCHEMA)
    assert (data["valid"], data["schema_source"]) == (True, "argument")


def test_validate_without_any_schema(people: KM) -> None:
    error = people.fails(TOOL, "VALIDATION_ERROR", operation="validate", dictionary_name="people")
    assert error["message"] == "dictionary 'people' has no schema to validate against"


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        pytest.param(
            {"type": 5},
            "'schema' is not a valid JSON Schema: 5 is not valid under any of the given schemas",
            id="invalid",
        ),
        pytest.param(
            {"$ref": "https://example.com/s.json"},
            "the schema refers to something it does not contain: Unresolvable: https://example.com/s.json",
            id="remote-ref",
        ),
    ],
)
def test_bad_schemas(people: KM, schema: dict[str, Any], message: str) -> None:
    error = people.fails(
        TOOL, "VALIDATION_ERROR", operation="validate", dictionary_name="people", schema=schema
    )
    assert error["message"] == message


def test_transform_set_needs_an_object(people: KM) -> None:
    error = people.fails(
        TOOL, "VALIDATION_ERROR", operation="transform", dictionary_name="people",
        value={"set": ["a"]},
    )  # fmt: skip
    assert error["message"] == "transformation failed: 'set' takes an object of key paths"


def test_queries_are_capped(km: KM) -> None:
    km.ok(TOOL, operation="create", dictionary_name="big", value={"l": list(range(10_001))})
    error = km.fails(
        TOOL, "VALIDATION_ERROR", operation="query", dictionary_name="big", query="$.l[*]"
    )
    assert error["message"] == "cannot run query '$.l[*]': the query matches more than 10000 values"
