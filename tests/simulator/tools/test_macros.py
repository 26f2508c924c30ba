"""km_list_macros and km_execute_macro beyond the recordings (``test_differential.py``)."""

from __future__ import annotations

from typing import Any

from .conftest import KM, Machine

NO_MATCH = (
    "Keyboard Maestro Engine got an error: do script found no macros with a matching name "
    "(macros must be enabled, and in macro groups that are enabled and currently active)"
)


def names(data: dict[str, Any]) -> list[Any]:
    return [m["name"] for m in data["macros"]]


def rename(km: KM, old: str, new: str) -> None:
    km.ok("km_macro_editor", operation="rename", macro_id=old, new_name=new)


def test_the_example_macros(km: KM) -> None:
    data = km.ok("km_list_macros", enabled_only=False)
    assert [(m["name"], m["group"], m["enabled"]) for m in data["macros"]] == [
        ("Hello World", "Examples", True),
        ("Insert Date", "Global Macro Group", True),
        ("Old Macro", "Examples", False),
    ]


def test_a_name_that_looks_like_a_number_is_listed_as_one(recorded: KM) -> None:
    rename(recorded, "Scratch", "42")
    data = recorded.ok("km_list_macros", sort_by="created_date", group_filters=["Sandbox"])
    assert names(data) == [42, "Trigger Lab"]
    answer = recorded("km_list_macros")  # sorting by name: 42 has no lower case
    assert answer["error"] == {
        "code": "SYSTEM_ERROR",
        "message": "Unexpected system error occurred",
        "details": "Contact support",
        "recovery_suggestion": "Check logs and ensure Keyboard Maestro is running. Try "
        "restarting the MCP server if the issue persists.",
    }


def test_a_comma_in_a_name_breaks_its_record(recorded: KM) -> None:
    rename(recorded, "Scratch", "Notes, old")
    data = recorded.ok("km_list_macros", sort_by="none", group_filters=["Sandbox"])
    assert names(data) == ["Trigger Lab"]  # its group went into a key "old, groupName"
    data = recorded.ok("km_list_macros", sort_by="none")
    scratch = next(m for m in data["macros"] if m["id"].endswith("0008"))
    assert (scratch["name"], scratch["group"]) == ("Notes", "")


def test_a_group_named_like_a_number_fails_a_filtered_listing(recorded: KM) -> None:
    recorded.ok("km_macro_group_manager", operation="rename", group_id="Sandbox", new_name="7")
    assert recorded.ok("km_list_macros", group_filters=[])["total_count"] == 8
    error = recorded.fails("km_list_macros", "KM_CONNECTION_FAILED", group_filters=["x"])
    assert error["message"] == "Cannot connect to Keyboard Maestro"


def test_executing_runs_the_macros_actions(recorded: KM) -> None:
    data = recorded.ok("km_execute_macro", identifier="Hello World", trigger_value="from MCP")
    assert (data["macro_id"], data["trigger_value"], data["output"]) == (
        "Hello World", "from MCP", ""
    )  # fmt: skip
    typed = recorded.sim.snapshot()["keyboard_maestro"]["log"]["typed"]
    assert typed == [{"text": "Hello, from MCP", "how": "typed"}]


def test_the_identifier_is_trimmed_and_its_name_kept(recorded: KM) -> None:
    data = recorded.ok("km_execute_macro", identifier=" Hello World ", trigger_value="")
    assert (data["macro_id"], data["macro_name"], data["trigger_value"]) == (
        "Hello World", " Hello World ", None
    )  # fmt: skip


def test_a_blank_identifier_is_refused(recorded: KM) -> None:
    answer = recorded("km_execute_macro", identifier="   ")
    assert answer["error"] == {
        "code": "INVALID_PARAMETER",
        "message": "Validation failed for field 'identifier': cannot be empty. Got:    ",
        "details": "Check parameter format and try again",
        "recovery_suggestion": "Verify macro identifier format and ensure it exists",
    }


def test_the_retry_needs_the_exact_name(recorded: KM) -> None:
    assert recorded.ok("km_execute_macro", identifier="Old Macro")["name_to_uuid_retry"] is True
    error = recorded.fails("km_execute_macro", "EXECUTION_ERROR", identifier="old macro")
    assert (error["message"], error["details"]) == (NO_MATCH, None)


def test_a_double_quote_in_the_trigger_value_breaks_the_script(recorded: KM) -> None:
    error = recorded.fails(
        "km_execute_macro", "EXECUTION_ERROR", identifier="Hello World", trigger_value='a"b'
    )
    assert "syntax error" in error["message"]
    assert recorded.sim.snapshot()["keyboard_maestro"]["log"]["typed"] == []


def test_a_stopped_engine_is_refused_before_anything(machine: Machine) -> None:
    km = machine("engine_stopped")
    error = km.fails("km_execute_macro", "KM_CONNECTION_FAILED", identifier="Hello World")
    assert error["details"] == "Keyboard Maestro Engine is not running or not accessible"
