"""What validation says about permissions, operation by operation: each uncovered call at
its `operation:` value (or its `tool:` line), and over MCP what is beyond the server's
ceiling (engine/validate/_permissions.py)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.load.loader import load_text
from engine.validate import ValidationContext, validate

HEAD = 'api_version: "1.1"\nkind: action\nname: demo\n'


def _found(body: str, **context: Any) -> list[tuple[str, str | None]]:
    """What validation says of ``body`` about permissions (its warning that the action has
    no description left out)."""
    document = load_text(HEAD + body, file="demo.yaml")
    found = validate(document, ValidationContext(**context))
    return [(str(d), d.hint) for d in found if d.code != "missing-description"]


@pytest.mark.parametrize(
    ("body", "context", "found"),
    [
        pytest.param(
            "permissions: [variables]\nsteps:\n  - tool: km_variable_manager\n"
            "    with: {operation: delete, name: Draft}\n",
            {},
            [
                (  # a run refuses it: an error, in a lone action file too (issue 10.7)
                    "demo.yaml:7:23: error[permission-missing]: `km_variable_manager:delete` can "
                    "change or delete things, so the action's permissions must name it; a group "
                    "is not enough",
                    "add km_variable_manager:delete itself to `permissions:`; until then a run "
                    "refuses the call",
                )
            ],
            id="destructive-operation-through-a-group",
        ),
        pytest.param(
            "permissions: [km_variable_manager:get]\nsteps:\n  - tool: km_variable_manager\n"
            "    with: {operation: set, name: Draft, value: x}\n",
            {"permissions": ()},
            [
                (
                    "demo.yaml:7:23: error[permission-missing]: `km_variable_manager:set` is "
                    "used, but the plugin's permissions do not include it",
                    "add km_variable_manager:set (or km_variable_manager) to `permissions:` in "
                    "plugin.yaml",
                )
            ],
            id="an-operation-outside-the-plugin-s-permissions",
        ),
        pytest.param(  # the action's own list grants nothing: the guard enforces the plugin's
            "permissions: [km_variable_manager:get]\nsteps:\n  - tool: km_variable_manager\n"
            "    with: {operation: get, name: Draft}\n",
            {"permissions": ("km_notifications",)},
            [
                (
                    "demo.yaml:7:23: error[permission-missing]: `km_variable_manager:get` is "
                    "used, but the plugin's permissions do not include it: the action's own "
                    "`permissions:` list it, but an action of a plugin is granted only what "
                    "plugin.yaml asks for",
                    "add km_variable_manager:get (or km_variable_manager) to `permissions:` in "
                    "plugin.yaml",
                )
            ],
            id="an-operation-only-the-action-lists",
        ),
        pytest.param(  # over MCP, `create` writes the action's list into plugin.yaml
            "permissions: [km_variable_manager:get]\nsteps:\n  - tool: km_variable_manager\n"
            "    with: {operation: get, name: Draft}\n",
            {"permissions": ("km_notifications",), "own_granted": True},
            [],
            id="an-operation-the-action-lists-as-it-is-created",
        ),
        pytest.param(
            "permissions: [km_variable_manager:get]\ninputs:\n  op: {type: string}\nsteps:\n"
            '  - tool: km_variable_manager\n    with: {operation: "{{ inputs.op }}", name: x}\n',
            {},
            [
                (
                    "demo.yaml:9:23: warning[permission-missing]: the operation of this "
                    "km_variable_manager call is a template, so it may be any operation of "
                    "km_variable_manager, and the action's permissions do not cover them all",
                    "write the operation itself (get, set, delete, list), or add "
                    "km_variable_manager to `permissions:`; a run refuses the call when the "
                    "operation is one they do not cover",
                )
            ],
            id="a-templated-operation",
        ),
        pytest.param(
            "permissions: [km_variable_manager:get]\nsteps:\n  - tool: km_variable_manager\n"
            "    with: {operation: purge, name: x}\n",
            {},
            [
                (  # first of all, an operation the tool does not have
                    "demo.yaml:7:23: error[argument-value]: km_variable_manager has no "
                    'operation "purge"',
                    "expected one of: delete, get, list, set",
                )
            ],
            id="an-operation-nobody-knows",
        ),
        pytest.param(
            "permissions: [km_variable_manager:delet]\nsteps:\n  - tool: km_variable_manager\n"
            "    with: {operation: get, name: x}\n",
            {"permissions": ()},
            [
                (
                    "demo.yaml:4:15: error[unknown-permission]: `km_variable_manager:delet` is "
                    "not an operation of km_variable_manager",
                    "did you mean 'km_variable_manager:delete'?",
                ),
                (
                    "demo.yaml:7:23: error[permission-missing]: `km_variable_manager:get` is "
                    "used, but the plugin's permissions do not include it",
                    "add km_variable_manager:get (or km_variable_manager) to `permissions:` in "
                    "plugin.yaml",
                ),
            ],
            id="a-misspelt-operation",
        ),
        pytest.param(
            "steps:\n  - tool: km_variable_manager\n    with: {operation: get, name: x}\n"
            "  - tool: km_list_macros\n    with: {limit: 1}\n",
            {},
            [
                (
                    "demo.yaml:3:1: warning[permission-missing]: the action declares no "
                    "permissions, but uses km_variable_manager:get, km_list_macros",
                    "add `permissions: [km_variable_manager:get, km_list_macros]`, so whoever "
                    "installs it sees what it may do",
                )
            ],
            id="nothing-declared",
        ),
    ],
)
def test_each_uncovered_call_is_reported_where_its_operation_is(
    body: str, context: dict[str, Any], found: list[tuple[str, str | None]]
) -> None:
    assert _found(body, **context) == found


MCP: dict[str, Any] = {"ceiling": ("read-only", "write")}


def test_over_mcp_a_call_beyond_the_ceiling_is_an_error_where_it_is() -> None:
    body = (
        "permissions: [km_variable_manager:get, km_variable_manager:delete]\nsteps:\n"
        "  - tool: km_variable_manager\n    with: {operation: get, name: x}\n"
        "  - tool: km_variable_manager\n    with: {operation: delete, name: x}\n"
    )
    assert _found(body, **MCP) == [
        (
            "demo.yaml:4:40: error[permission-not-allowed]: `km_variable_manager:delete` "
            "(destructive) is beyond what MCP callers may grant on this server (read-only, "
            "write): only the user can grant it",
            "leave out the calls that need it and remove it here, or ask the user to install "
            "the action with `km-actions install`",
        ),
        (
            "demo.yaml:9:23: error[permission-not-allowed]: only the user can grant destructive "
            "operations: `km_variable_manager:delete` is beyond what MCP callers may grant on "
            "this server (read-only, write)",
            "leave the call out, or ask the user to install the action with `km-actions install`",
        ),
    ]


def test_over_mcp_a_whole_tool_asks_for_its_destructive_operations_too() -> None:
    body = (
        "permissions: [km_variable_manager]\nsteps:\n"
        "  - tool: km_variable_manager\n    with: {operation: get, name: x}\n"
        "  - tool: km_variable_manager\n    with: {operation: set, name: x, value: y}\n"
    )
    assert _found(body, **MCP) == [
        (
            "demo.yaml:4:15: error[permission-not-allowed]: `km_variable_manager` asks for "
            "km_variable_manager:delete (destructive), beyond what MCP callers may grant on this "
            "server (read-only, write): only the user can grant it",
            "ask only for what the action uses: km_variable_manager:get, km_variable_manager:set",
        )
    ]


def test_over_mcp_a_templated_operation_counts_as_the_most_dangerous_one() -> None:
    body = (
        "permissions: [km_variable_manager:get, km_variable_manager:set]\n"
        "inputs:\n  op: {type: string}\nsteps:\n"
        '  - tool: km_variable_manager\n    with: {operation: "{{ inputs.op }}", name: x}\n'
    )
    assert _found(body, ceiling=("read-only", "write"))[-1] == (
        "demo.yaml:9:23: error[permission-not-allowed]: only the user can grant destructive "
        "operations, and the operation of this km_variable_manager call is a template, so it "
        "may be any operation of km_variable_manager, km_variable_manager:delete (destructive) "
        "included: beyond what MCP callers may grant on this server (read-only, write)",
        "write the operation itself, one this server lets MCP callers grant",
    )


def test_over_mcp_reading_and_setting_a_variable_is_within_the_default_ceiling() -> None:
    body = (
        "permissions: [km_variable_manager:get, km_variable_manager:set]\nsteps:\n"
        "  - tool: km_variable_manager\n    with: {operation: get, name: x}\n"
        "  - tool: km_variable_manager\n    with: {operation: set, name: x, value: y}\n"
    )
    assert _found(body, **MCP) == []


def test_a_tool_without_operations_is_reported_at_its_tool_line() -> None:
    """(That the permissions lack it too is not said beside the ceiling's error.)"""
    body = "permissions: [km_notifications]\nsteps:\n  - tool: km_set_macro_triggers\n"
    body += "    with: {macro_id: m, triggers: []}\n"
    assert _found(body, ceiling=("read-only", "write")) == [
        (
            "demo.yaml:6:11: error[permission-not-allowed]: only the user can grant destructive "
            "operations: `km_set_macro_triggers` is beyond what MCP callers may grant on this "
            "server (read-only, write)",
            "leave the call out, or ask the user to install the action with `km-actions install`",
        )
    ]
    assert _found(body) == [
        (  # a run refuses the call: an error (issue 10.7)
            "demo.yaml:6:11: error[permission-missing]: `km_set_macro_triggers` is used, but "
            "the action's permissions do not include it",
            "add km_set_macro_triggers (or its group) to `permissions:`; until then a run "
            "refuses the call",
        )
    ]


def test_over_mcp_a_group_beyond_the_ceiling_is_narrowed_to_what_the_action_uses() -> None:
    body = "permissions: [triggers]\nsteps:\n  - tool: km_list_hotkey_triggers\n"
    [(message, hint)] = _found(body, **MCP)
    assert message.startswith(
        "demo.yaml:4:15: error[permission-not-allowed]: `triggers` asks for km_set_macro_triggers "
        "(destructive), km_trigger_crud:remove (destructive), km_trigger_crud:replace_all "
        "(destructive), km_trigger_manager:clear (destructive), km_trigger_manager:remove "
        "(destructive), beyond what MCP callers may grant"
    )
    assert message.endswith("only the user can grant them")
    assert hint == "ask only for what the action uses: km_list_hotkey_triggers"
