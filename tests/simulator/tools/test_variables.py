"""km_variable_manager beyond the recordings: what the server's code and Keyboard Maestro do.

The recorded calls (``tests/data/km_server/scenarios/variables.json``) are checked by
``test_differential.py``; these follow the server's source into cases it did not record.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.simulator import Simulator
from tests.simulator.km_server_answers import load_json

from ..conftest import KM

TOOL = "km_variable_manager"
RECOVERY = "Check operation and parameter format"


def test_set_get_list_delete(km: KM) -> None:
    assert km.ok(TOOL, operation="set", name="Scratch Pad", value="one two") == {
        "name": "Scratch Pad",
        "scope": "global",
        "operation": "set",
        "value_length": 7,
        "is_password": False,
    }
    assert km.ok(TOOL, operation="get", name="Scratch Pad")["value"] == "one two"
    assert [v["name"] for v in km.ok(TOOL, operation="list")["variables"]] == [
        "Greeting",
        "Scratch Pad",
    ]
    assert km.ok(TOOL, operation="delete", name="Scratch Pad") == {
        "name": "Scratch Pad",
        "scope": "global",
        "operation": "delete",
        "existed": True,
    }


def test_empty_text_deletes_the_variable(km: KM) -> None:
    km.ok(TOOL, operation="set", name="Greeting", value="")
    assert km.ok(TOOL, operation="get", name="Greeting") == {
        "name": "Greeting",
        "value": "",
        "scope": "global",
        "exists": False,
        "type": "string",
    }


def test_values_come_back_without_surrounding_white_space(km: KM) -> None:
    # osascript's output is stripped by the server: a value of spaces does not "exist".
    km.ok(TOOL, operation="set", name="Padded", value="  hi \n")
    assert km.ok(TOOL, operation="get", name="Padded")["value"] == "hi"
    km.ok(TOOL, operation="set", name="Blank", value="   ")
    assert km.ok(TOOL, operation="get", name="Blank")["exists"] is False


def test_delete_finds_a_global_ignoring_case(km: KM) -> None:
    km.ok(TOOL, operation="delete", name="GREETING")
    assert km.ok(TOOL, operation="get", name="Greeting")["exists"] is False


def test_password_variables_are_kept_but_never_shown(km: KM, sim: Simulator) -> None:
    km.ok(TOOL, operation="set", name="MyPassword", value="s3cret")
    assert km.ok(TOOL, operation="get", name="MyPassword")["value"] == "s3cret"
    assert km.ok(TOOL, operation="get", name="MyPassword", scope="password")["value"] == (
        "[PROTECTED]"
    )
    assert sim.snapshot()["keyboard_maestro"]["password_variables"] == {"MyPassword": "s3cret"}
    assert "MyPassword" not in [v["name"] for v in km.ok(TOOL, operation="list")["variables"]]
    km.ok(TOOL, operation="delete", name="MyPassword")
    error = km.fails(TOOL, "KM_VARIABLE_FAILED", operation="delete", name="mypassword")
    assert error["message"] == (
        "AppleScript failed: 46:74: execution error: Keyboard Maestro Engine got an error: "
        'Can’t get variable "mypassword". (-1728)'
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            {"operation": "get", "name": ""},
            "Validation failed for field 'name': Variable name is required for get, set, and "
            "delete operations. Got: ",
            id="empty-name",
        ),
        pytest.param(
            {"operation": "list", "name": "a-b"},
            "Validation failed for field 'name': Invalid variable name format. Got: a-b",
            id="name-checked-for-list-too",
        ),
        pytest.param(
            {"operation": "set", "name": "pw-x", "value": "1", "scope": "local"},
            "Validation failed for field 'name': Invalid variable name format. Got: pw-x",
            id="password-names-only-in-password-scope",
        ),
        pytest.param(
            {"operation": "LIST"},
            "Validation failed for field 'operation': Unknown operation: LIST. Got: LIST",
            id="operations-are-lower-case",
        ),
    ],
)
def test_the_servers_checks(km: KM, arguments: dict[str, Any], message: str) -> None:
    error = km.fails(TOOL, "INVALID_PARAMETER", **arguments)
    assert (error["message"], error["recovery_suggestion"]) == (message, RECOVERY)


def test_names_of_letters_in_any_script_are_valid(km: KM) -> None:
    assert km.ok(TOOL, operation="set", name="Café 2", value="x")["value_length"] == 1


def test_names_and_values_are_searched_for_dangerous_content(km: KM) -> None:
    error = km.fails(TOOL, "KM_VARIABLE_FAILED", operation="set", name="A", value="/etc/hosts")
    assert error["message"] == "Dangerous AppleScript content detected"
    # The whole script line is searched: a name and a value can match together.
    error = km.fails(
        TOOL, "KM_VARIABLE_FAILED", operation="set", name="do shell script", value="rm -rf x"
    )
    assert error["message"] == "Dangerous AppleScript content detected"


def test_without_global_variables_the_list_is_a_placeholder(km: KM) -> None:
    km.ok(TOOL, operation="delete", name="Greeting")
    assert km.ok(TOOL, operation="list") == {
        "variables": [{"name": "Limited_global_access", "scope": "global", "type": "string"}],
        "scope": "global",
        "count": 1,
    }


def test_listed_names_are_read_back_from_record_text(km: KM) -> None:
    # The server reads osascript's "varName:…, varScope:…" text: a name holding ", x:"
    # splits, and runs of spaces become one.
    km.ok(TOOL, operation="set", name="Two  Spaces", value="1")
    names = [v["name"] for v in km.ok(TOOL, operation="list")["variables"]]
    assert names == ["Greeting", "Two Spaces"]


def test_a_stopped_engine_is_started_by_getvariable() -> None:
    sim = Simulator(seed=load_json("seeds/engine_stopped.json"))
    engine = "Keyboard Maestro Engine"
    processes = sim.snapshot()["keyboard_maestro"]["system"]["processes"]
    assert engine not in [p["name"] for p in processes]
    assert sim.call(TOOL, {"operation": "get", "name": "Greeting"})["data"]["value"] == "Hello"
    processes = sim.snapshot()["keyboard_maestro"]["system"]["processes"]
    assert next(p for p in processes if p["name"] == engine)["background_only"] is True


def test_without_osascript_every_operation_fails() -> None:
    seed = load_json("seeds/default.json")
    seed["system"]["osascript"] = False
    sim = Simulator(seed=seed)
    answer = sim.call(TOOL, {"operation": "set", "name": "A", "value": "1"})
    assert answer["error"] == {
        "code": "KM_VARIABLE_FAILED",
        "message": "AppleScript execution error: [Errno 2] No such file or directory: 'osascript'",
        "recovery_suggestion": "Verify Keyboard Maestro Engine is running.",
    }


def test_a_double_quote_in_the_scope_breaks_the_listing_script(km: KM) -> None:
    answer = km(TOOL, operation="list", scope='a"b')
    error = answer["error"]
    assert (error["code"], error["message"]) == (
        "KM_CONNECTION_FAILED",
        "Cannot retrieve variables from Keyboard Maestro",
    )
    assert error["details"].endswith("syntax error: Expected end of line but found identifier. "
                                      "(-2741)\n")  # fmt: skip
