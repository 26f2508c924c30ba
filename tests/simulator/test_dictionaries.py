"""km_dictionary_manager: create, read (every format), update, delete, export and import."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import KM, PEOPLE, SCHEMA, FakeClock, read_people

TOOL = "km_dictionary_manager"


def test_create_reports_a_summary(km: KM, clock: FakeClock) -> None:
    data = km.ok(TOOL, operation="create", dictionary_name="people", value=PEOPLE)
    assert data == {
        "dictionary_name": "people",
        "key_count": 2,
        "size_bytes": 84,
        "nested_levels": 3,
        "has_schema": False,
        "created_at": clock.now.isoformat(),
        "modified_at": clock.now.isoformat(),
        "created": True,
    }


def test_create_twice_is_refused(people: KM) -> None:
    error = people.fails(TOOL, "ALREADY_EXISTS", operation="create", dictionary_name="people")
    assert (
        error["recovery_suggestion"]
        == "Use 'update' or 'merge' to change it, or 'delete' it first."
    )


def test_create_needs_an_object(km: KM) -> None:
    error = km.fails(TOOL, "VALIDATION_ERROR", operation="create", dictionary_name="d", value=[1])
    assert error["message"] == "the initial data must be a JSON object, not list"


def test_create_without_value_is_empty(km: KM) -> None:
    km.ok(TOOL, operation="create", dictionary_name="empty")
    assert km.ok(TOOL, operation="read", dictionary_name="empty")["value"] == {}


@pytest.mark.parametrize(
    ("key_path", "value"),
    [
        pytest.param(None, PEOPLE, id="whole"),
        pytest.param("count", 2, id="key"),
        pytest.param("users.1.name", "Bo", id="nested-index"),
        pytest.param("users.-1", {"name": "Bo"}, id="negative-index"),
    ],
)
def test_read_by_key_path(people: KM, key_path: str | None, value: Any) -> None:
    assert read_people(people, key_path=key_path) == value


@pytest.mark.parametrize(
    ("key_path", "code", "message"),
    [
        pytest.param("nope", "NOT_FOUND", "key 'nope' of 'nope' does not exist", id="missing"),
        pytest.param(
            "users.5", "NOT_FOUND", "index 5 of 'users.5' is out of range (length 2)", id="index"
        ),
        pytest.param(
            "count.x",
            "NOT_FOUND",
            "'x' of 'count.x' goes into a number, which has no keys",
            id="scalar",
        ),
        pytest.param(
            "users..name",
            "VALIDATION_ERROR",
            "key path 'users..name' has an empty part",
            id="empty-part",
        ),
    ],
)
def test_read_failures(people: KM, key_path: str, code: str, message: str) -> None:
    error = people.fails(TOOL, code, operation="read", dictionary_name="people", key_path=key_path)
    assert error["message"] == message


def test_missing_dictionary(people: KM) -> None:
    error = people.fails(TOOL, "NOT_FOUND", operation="read", dictionary_name="peple")
    assert error["message"] == "dictionary 'peple' does not exist"
    assert error["recovery_suggestion"] == (
        "Create it first with operation 'create' (or 'import'). Did you mean 'people'?"
    )


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        pytest.param("json", '[\n  "Ann",\n  "Bo"\n]', id="json"),
        pytest.param("yaml", "- Ann\n- Bo\n", id="yaml"),
        pytest.param("csv", "value\r\nAnn\r\nBo\r\n", id="csv"),
        pytest.param(
            "xml",
            '<?xml version="1.0" encoding="UTF-8"?>\n<dictionary name="people">\n  <array>\n'
            "    <string>Ann</string>\n    <string>Bo</string>\n  </array>\n</dictionary>\n",
            id="xml",
        ),
    ],
)
def test_read_formats(people: KM, fmt: str, text: str) -> None:
    people.ok(
        TOOL, operation="update", dictionary_name="people", key_path="names", value=["Ann", "Bo"]
    )
    data = people.ok(
        TOOL, operation="read", dictionary_name="people", key_path="names", format_output=fmt
    )
    assert data["formatted_data"] == text


def test_csv_of_records_has_a_header_of_every_key(people: KM) -> None:
    data = people.ok(
        TOOL, operation="read", dictionary_name="people", key_path="users", format_output="csv"
    )
    assert data["formatted_data"] == "name,email\r\nAnn,ann@example.com\r\nBo,\r\n"


def test_update_sets_and_creates_paths(people: KM, clock: FakeClock) -> None:
    clock.advance(60)
    data = people.ok(
        TOOL, operation="update", dictionary_name="people", key_path="meta.source", value="crm"
    )
    assert (data["created"], data["modified_at"]) == (True, clock.now.isoformat())
    people.ok(
        TOOL, operation="update", dictionary_name="people", key_path="users.2", value={"name": "Cy"}
    )
    people.ok(TOOL, operation="update", dictionary_name="people", key_path="count", value=None)
    assert read_people(people, key_path="meta") == {"source": "crm"}
    assert read_people(people, key_path="users.2.name") == "Cy"
    assert read_people(people, key_path="count") is None


def test_update_needs_a_value_and_a_path(people: KM) -> None:
    error = people.fails(
        TOOL, "VALIDATION_ERROR", operation="update", dictionary_name="people", key_path="x"
    )
    assert error["message"] == "'value' is required for operation 'update'"
    error = people.fails(
        TOOL, "VALIDATION_ERROR", operation="update", dictionary_name="people", value=1
    )
    assert error["message"] == "'key_path' is required for operation 'update'"


def test_update_cannot_go_through_a_scalar(people: KM) -> None:
    error = people.fails(
        TOOL,
        "VALIDATION_ERROR",
        operation="update",
        dictionary_name="people",
        key_path="count.x",
        value=1,
    )
    assert error["message"] == "cannot set 'x' of 'count.x' inside a number"
    assert read_people(people) == PEOPLE


def test_delete_a_key_then_the_dictionary(people: KM) -> None:
    data = people.ok(TOOL, operation="delete", dictionary_name="people", key_path="users.0")
    assert data["deleted"] == "key"
    assert read_people(people, key_path="users") == [{"name": "Bo"}]
    people.fails(TOOL, "NOT_FOUND", operation="delete", dictionary_name="people", key_path="zz")
    assert people.ok(TOOL, operation="delete", dictionary_name="people") == {
        "dictionary_name": "people",
        "deleted": "dictionary",
    }
    people.fails(TOOL, "NOT_FOUND", operation="read", dictionary_name="people")


def test_export_with_and_without_query(people: KM) -> None:
    data = people.ok(
        TOOL, operation="export", dictionary_name="people", query="$..email", format_output="yaml"
    )
    assert data == {
        "dictionary_name": "people",
        "format": "yaml",
        "export_data": "query_results:\n- ann@example.com\n",
        "size_bytes": 33,
    }
    full = people.ok(TOOL, operation="export", dictionary_name="people")
    assert full["export_data"].startswith('{\n  "users": [')


@pytest.mark.parametrize(
    "value",
    [pytest.param('{"a": [1, 2]}', id="json-text"), pytest.param({"a": [1, 2]}, id="object")],
)
def test_import_creates_then_replaces(km: KM, value: Any) -> None:
    first = km.ok(TOOL, operation="import", dictionary_name="imp", value=value)
    assert (first["imported"], first["replaced"]) == (True, False)
    again = km.ok(TOOL, operation="import", dictionary_name="imp", value={"b": 1})
    assert again["replaced"] is True
    assert km.ok(TOOL, operation="read", dictionary_name="imp")["value"] == {"b": 1}


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        pytest.param(
            {"value": "{bad"},
            "VALIDATION_ERROR",
            "the import text is not valid JSON: Expecting property name enclosed in double "
            "quotes: line 1 column 2 (char 1)",
            id="bad-json",
        ),
        pytest.param(
            {"value": "[1]"},
            "VALIDATION_ERROR",
            "the imported data must be a JSON object, not list",
            id="not-object",
        ),
        pytest.param(
            {"value": "a: 1", "format_output": "yaml"},
            "UNSUPPORTED_FORMAT",
            "the simulator imports text as JSON only, not yaml",
            id="yaml-text",
        ),
        pytest.param(
            {"value": "[" * 100 + "]" * 100},
            "VALIDATION_ERROR",
            "the import text is not valid JSON: nested deeper than 64 levels",
            id="too-deep",
        ),
    ],
)
def test_import_failures(km: KM, arguments: dict[str, Any], code: str, message: str) -> None:
    error = km.fails(TOOL, code, operation="import", dictionary_name="imp", **arguments)
    assert error["message"] == message


def test_render_formats_for_every_kind_of_value() -> None:
    from engine.simulator.km.formats import render

    assert render({"a": [1, {"b": None}], "t": True, "n": None}, "csv", name="d") == (
        'key,value\r\na,"[1, {""b"": null}]"\r\nt,true\r\nn,\r\n'
    )
    assert render(3, "csv", name="d") == "value\r\n3\r\n"
    assert render({"k": None, "b": False, "x": 1.5, "s": "<&>"}, "xml", name="a&b") == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<dictionary name="a&amp;b">\n'
        "  <object>\n"
        '    <entry key="k">\n      <null/>\n    </entry>\n'
        '    <entry key="b">\n      <false/>\n    </entry>\n'
        '    <entry key="x">\n      <number>1.5</number>\n    </entry>\n'
        '    <entry key="s">\n      <string>&lt;&amp;&gt;</string>\n    </entry>\n'
        "  </object>\n</dictionary>\n"
    )


def test_update_replaces_an_array_item(people: KM) -> None:
    people.ok(
        TOOL, operation="update", dictionary_name="people", key_path="users.0", value={"name": "Al"}
    )
    assert read_people(people, key_path="users.0") == {"name": "Al"}


def test_import_with_a_schema_checks_the_data(km: KM) -> None:
    km.fails(
        TOOL, "SCHEMA_VALIDATION_FAILED", operation="import", dictionary_name="i",
        value={"count": "x"}, schema=SCHEMA,
    )  # fmt: skip
    data = km.ok(TOOL, operation="import", dictionary_name="i", value={"count": 1}, schema=SCHEMA)
    assert data["has_schema"] is True


def test_xml_replaces_characters_xml_cannot_hold() -> None:
    from engine.simulator.km.formats import render

    text = render({"k\x01": "a\x00b"}, "xml", name="n")
    assert '<entry key="k\ufffd">' in text
    assert "<string>a\ufffdb</string>" in text
