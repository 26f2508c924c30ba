"""The recorded answers of the real Keyboard Maestro MCP server are complete and consistent.

Every current tool, and every value of its ``operation`` choices, has at least one
successful call recorded (or a reason below why none can succeed); the corpus and the
recordings agree call for call; and :func:`compare` finds exactly the differences it should.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from engine.tools.catalog import data_text
from tests.simulator.km_server_answers import (
    VARIABLE_FIELDS,
    answer_of,
    compare,
    load_corpus,
    load_json,
    load_recordings,
    recorded_calls,
)

SERVER_COMMIT = "66c1fcb2a06eb9454fcc4cd1091eef95d1a56e8d"

# Operations the real server never answers with success, and why.
CANNOT_SUCCEED = {
    ("km_trigger_manager", "set_enabled"): (
        "the server always answers TOGGLE_FAILED: Keyboard Maestro 11 keeps no per-trigger "
        "enabled bit"
    ),
}
# Tools whose operation is free text; the values their code handles.
FREE_TEXT_OPERATIONS = {"km_variable_manager": ("get", "set", "delete", "list")}


def _current_tools() -> dict[str, dict[str, Any]]:
    tools = json.loads(data_text("km_tools.json"))["tools"]
    return {t["name"]: t for t in tools if str(t.get("x-km-server", "")).startswith("current")}


def _operations(tool: dict[str, Any]) -> tuple[str, ...]:
    """The values of a tool's ``operation`` (its enum, or the alternatives of its pattern)."""
    schema = tool["inputSchema"].get("properties", {}).get("operation")
    if schema is None:
        return ()
    if "enum" in schema:
        return tuple(schema["enum"])
    if "pattern" in schema:
        return tuple(re.fullmatch(r"\^\((.*)\)\$", schema["pattern"]).group(1).split("|"))  # type: ignore[union-attr]
    return FREE_TEXT_OPERATIONS[tool["name"]]


def _succeeded(call: dict[str, Any]) -> bool:
    is_error, answer = answer_of(call["result"])
    return not is_error and isinstance(answer, dict) and answer.get("success") is True


def test_the_recordings_are_of_the_expected_server_commit() -> None:
    meta = load_json("meta.json")
    assert meta["server"]["commit"] == SERVER_COMMIT
    assert meta["server"]["modified_files"] == []
    assert load_json("tools.json")["server_commit"] == SERVER_COMMIT
    for name, recording in load_recordings().items():
        assert recording["server_commit"] == SERVER_COMMIT, name


def test_the_recorded_tool_list_is_the_current_catalog() -> None:
    listed = {t["name"]: t for t in load_json("tools.json")["tools"]}
    current = _current_tools()
    assert sorted(listed) == sorted(current)
    for name, tool in listed.items():
        assert tool["inputSchema"] == current[name]["inputSchema"], name
        assert tool["description"] == current[name]["description"], name


@pytest.mark.parametrize("tool", sorted(_current_tools()))
def test_every_tool_and_operation_succeeded_at_least_once(tool: str) -> None:
    calls = [call for _, call in recorded_calls() if call["tool"] == tool]
    assert any(_succeeded(call) for call in calls), f"no successful call of {tool}"
    for operation in _operations(_current_tools()[tool]):
        done = [c for c in calls if c["arguments"].get("operation") == operation]
        assert done, f"{tool} {operation} was never called"
        if (tool, operation) in CANNOT_SUCCEED:
            assert not any(_succeeded(c) for c in done), CANNOT_SUCCEED[(tool, operation)]
        else:
            assert any(_succeeded(c) for c in done), f"{tool} {operation} never succeeded"


def test_the_corpus_and_the_recordings_agree_call_for_call() -> None:
    scenarios = {s["name"]: s for s in load_corpus()["scenarios"]}
    recordings = load_recordings()
    assert sorted(recordings) == sorted(scenarios)
    for name, scenario in scenarios.items():
        recording = recordings[name]
        assert recording["seed"] == scenario["seed"], name
        assert recording["standin"] == scenario.get("standin", True), name
        planned = [
            (c["tool"], c.get("arguments", {}), c.get("note", "")) for c in scenario["calls"]
        ]
        done = [(c["tool"], c["arguments"], c["note"]) for c in recording["calls"]]
        assert done == planned, name
        assert [c["index"] for c in recording["calls"]] == list(range(len(planned)))


def test_every_recorded_result_is_whole() -> None:
    for name, call in recorded_calls():
        where = f"{name}#{call['index']}"
        result = call["result"]
        assert "protocol_error" not in result, where
        assert isinstance(result["is_error"], bool), where
        assert result["content"], where
        for item in result["content"]:
            assert item["type"] == "text", where
        if result["structured_content"] is not None:
            assert result["content"][0]["json"] == result["structured_content"], where
        else:
            assert result["is_error"], where  # only FastMCP's own errors lack structure


def test_the_stand_in_modelled_every_form_the_server_sent() -> None:
    planned = {
        (s["name"], i): c.get("unmodelled_ok", False)
        for s in load_corpus()["scenarios"]
        for i, c in enumerate(s["calls"])
    }
    for name, call in recorded_calls():
        if call["osascript"]["unmodelled"]:
            assert planned[(name, call["index"])], f"{name}#{call['index']}"


def test_the_scenario_without_osascript_records_its_failures() -> None:
    recording = load_recordings()["no_osascript"]
    assert recording["standin"] is False and recording["state_after"] is None
    answers = [answer_of(c["result"])[1] for c in recording["calls"]]
    assert answers[0]["error"]["message"] == (
        "AppleScript execution error: [Errno 2] No such file or directory: 'osascript'"
    )
    assert answers[2]["error"]["code"] == "KM_CONNECTION_FAILED"


def test_the_seed_states_are_model_states() -> None:
    from engine.simulator.km.state import KMState

    for seed in ("default", "engine_stopped"):
        data = load_json(f"seeds/{seed}.json")
        # Every field is read into the model and none is dropped or invented.
        assert KMState.from_json(data).to_json() == data, seed


def test_every_recording_agrees_with_itself() -> None:
    for name, call in recorded_calls():
        assert compare(call["result"], call["result"]) == [], f"{name}#{call['index']}"


# -- compare ------------------------------------------------------------------------------

OK = {"success": True, "data": {"name": "X", "count": 2, "items": [1, 2]}}


@pytest.mark.parametrize(
    ("ours", "expected"),
    [
        pytest.param(OK, [], id="same"),
        pytest.param(
            {"success": True, "data": {"name": "Y", "count": 2, "items": [1, 2]}},
            ['data.name: recorded "X", ours "Y"'],
            id="value",
        ),
        pytest.param(
            {"success": True, "data": {"name": "X", "count": "2", "items": [1, 2]}},
            ['data.count: recorded a whole number (2), ours text ("2")'],
            id="number-as-text",
        ),
        pytest.param(
            {"success": True, "data": {"name": "X", "count": 2.0, "items": [1, 2]}},
            ["data.count: recorded a whole number (2), ours a number with a fraction (2.0)"],
            id="integer-as-real",
        ),
        pytest.param(
            {"success": True, "data": {"name": "X", "items": [1, 2], "extra": None}},
            [
                "data.count: missing (recorded 2)",
                "data.extra: not in the recorded answer (ours null)",
            ],
            id="keys",
        ),
        pytest.param(
            {"success": True, "data": {"name": "X", "count": 2, "items": [1]}},
            ["data.items: recorded 2 items, ours 1"],
            id="list-length",
        ),
        pytest.param(
            {"success": True, "data": ["X"]},
            [
                'data: recorded an object ({"name": "X", "count": 2, "items": [1, 2]}), '
                'ours a list (["X"])'
            ],
            id="nesting",
        ),
    ],
)
def test_compare_reports_shape_and_value_differences(ours: Any, expected: list[str]) -> None:
    assert compare(OK, ours) == expected


def test_compare_reports_outcome_and_error_code_first() -> None:
    recorded = {"success": False, "error": {"code": "NOT_FOUND", "message": "m"}}
    ours = {"success": True, "data": {}}
    assert compare(recorded, ours) == [
        "error code: recorded NOT_FOUND, ours None",
        "success: recorded false, ours true",
        "data: not in the recorded answer (ours {})",
    ]
    wrong_code = {"success": False, "error": {"code": "OTHER", "message": "m"}}
    assert compare(recorded, wrong_code) == ["error code: recorded NOT_FOUND, ours OTHER"]
    window = {"success": False, "error": "MISSING_POSITION", "message": "m"}
    assert compare(window, {**window, "error": "X"}) == [
        "error code: recorded MISSING_POSITION, ours X"
    ]


def test_compare_reads_recorded_mcp_results() -> None:
    answer = {"success": True, "data": {}}
    recorded = {
        "is_error": False,
        "content": [{"type": "text", "text": json.dumps(answer), "json": answer}],
        "structured_content": answer,
    }
    assert compare(recorded, answer) == []
    schema_error = {"is_error": True, "content": [{"type": "text", "text": "1 validation error"}],
                    "structured_content": None}  # fmt: skip
    assert compare(schema_error, answer) == [
        "isError: recorded True, ours False",
        'the answer: recorded text ("1 validation error"), '
        'ours an object ({"success": true, "data": {}})',
    ]
    assert compare({"protocol_error": {"code": -32602}}, {"protocol_error": {"code": -32602}}) == []


def test_variable_fields_are_checked_for_their_format_only() -> None:
    recorded = {"timestamp": "2026-01-01T00:00:00", "execution_time_ms": 12, "correlation_id": "a"}
    assert compare(recorded, {"timestamp": "2027-02-02T01:02:03+00:00",
                              "execution_time_ms": 99, "correlation_id": "b"}) == []  # fmt: skip
    assert compare(
        recorded, {"timestamp": "yesterday", "execution_time_ms": 1.5, "correlation_id": ""}
    ) == [
        'timestamp: recorded ISO date-time text, ours text ("yesterday")',
        "execution_time_ms: recorded whole number, ours a number with a fraction (1.5)",
        'correlation_id: recorded text, ours text ("")',
    ]
    assert set(VARIABLE_FIELDS) >= {"timestamp", "notification_id", "execution_time"}
    note = {"notification_id": "notification_1_1796663808"}
    assert compare(note, {"notification_id": "notification_7_1"}) == []
    assert compare(note, {"notification_id": "n-1"}) == [
        'notification_id: recorded notification id (notification_<n>_<epoch>), ours text ("n-1")'
    ]


def test_windows_read_through_the_cache_compare_by_shape() -> None:
    window = {"position": {"x": 1, "y": 2}, "title": "A"}
    moved = {"success": True, "operation": "move", "window": window}
    other = {"position": {"x": 9, "y": 9}, "title": "B"}
    assert compare(moved, {**moved, "window": other}) == []
    assert compare(moved, {**moved, "window": {"position": {"x": "9"}, "title": "B"}}) == [
        'window.position.x: recorded a whole number (1), ours text ("9")',
        "window.position.y: missing (recorded 2)",
    ]
    info = {**moved, "operation": "get_info"}
    assert compare(info, {**info, "window": other}) == [
        "window.position.x: recorded 1, ours 9",
        "window.position.y: recorded 2, ours 9",
        'window.title: recorded "A", ours "B"',
    ]


def test_sets_compare_in_any_order() -> None:
    recorded = {"hotkey": {"modifiers": ["cmd", "shift"]}}
    assert compare(recorded, {"hotkey": {"modifiers": ["shift", "cmd"]}}) == []
    assert compare(recorded, {"hotkey": {"modifiers": ["shift", "opt"]}}) == [
        'hotkey.modifiers[0]: recorded "cmd", ours "opt"'
    ]


def test_run_time_values_inside_text_are_masked() -> None:
    recorded = {
        "macro_id": "910C3914-A64A-4375-A6FD-A7FC35A0D224",
        "text": "Hi on 2026-12-07 17:13:56 (kmuser)",
        "code": "EXECUTION_MACROENGINEERROR_3f392666",
        "seeded": "5EED0000-0000-4000-8000-000000000001",
    }
    ours = {
        "macro_id": "00000000-1111-4222-8333-444444444444",
        "text": "Hi on 2030-01-01 00:00:00 (kmuser)",
        "code": "EXECUTION_MACROENGINEERROR_0badf00d",
        "seeded": "5EED0000-0000-4000-8000-000000000002",
    }
    assert compare(recorded, ours) == [
        'seeded: recorded "5EED0000-0000-4000-8000-000000000001", '
        'ours "5EED0000-0000-4000-8000-000000000002"'
    ]
