"""The catalog's classes: every operation of every tool has one, and what permission
entries cover, operation by operation (engine/tools/catalog.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine.tools.catalog import Coverage, Need, Operations, ToolCatalog, ToolClass
from engine.tools.tool_schema import allowed_values

CATALOG = ToolCatalog.builtin()
R, W, D = ToolClass.READ_ONLY, ToolClass.WRITE, ToolClass.DESTRUCTIVE


def _accepted(schema: dict[str, Any]) -> set[str]:
    """The values a tool's operation argument takes: its enum or ``^(a|b)$`` pattern, else
    those its description names (``Operation: get, set, delete, or list``: the server
    checks them in code)."""
    listed = allowed_values(schema)
    if listed is not None:
        return {str(v) for v in listed}
    named = schema["description"].partition(":")[2]
    return set(re.findall(r"[a-z_]+", named)) - {"or", "and"}


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_operation_of_every_tool_has_a_class(name: str) -> None:
    spec = CATALOG[name]
    selector = spec.properties.get("operation")
    if selector is None:
        assert spec.operations is None
        return
    assert spec.operations is not None, f"{name} has operations but no classes"
    assert spec.operations.parameter == "operation"
    assert set(spec.operations.classes) == _accepted(dict(selector))


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_a_tool_s_annotations_give_its_most_dangerous_operation_s_class(name: str) -> None:
    spec = CATALOG[name]
    assert ToolClass.from_annotations(spec.annotations) is spec.tool_class


@pytest.mark.parametrize(
    ("tool", "classes"),
    [
        pytest.param(
            "km_variable_manager", {"get": R, "list": R, "set": W, "delete": D}, id="variables"
        ),
        pytest.param(
            "km_engine_control",
            {"calculate": R, "process_tokens": R, "search_replace": R, "status": R, "reload": W},
            id="engine",
        ),
        pytest.param(
            "km_macro_editor",
            {"create": W, "rename": W, "duplicate": W, "set_enabled": W, "delete": D},
            id="macro-editor",
        ),
        pytest.param(
            "km_macro_group_manager",
            {"list": R, "create": W, "rename": W, "set_enabled": W, "delete": D},
            id="macro-groups",
        ),
        pytest.param(
            "km_action_builder",
            {"list": R, "append": W, "delete": D, "clear": D},
            id="action-builder",
        ),
        pytest.param(
            "km_application_control",
            {"list_running": R, "get_state": R, "launch": W, "activate": W, "quit": D},
            id="applications",
        ),
        pytest.param(
            "km_trigger_crud",
            {"list": R, "get": R, "add": W, "update": W, "remove": D, "replace_all": D},
            id="trigger-crud",
        ),
        pytest.param(
            "km_trigger_manager",
            {"list": R, "add": W, "set_enabled": W, "remove": D, "clear": D},
            id="trigger-manager",
        ),
        pytest.param(
            "km_window_manager",
            {
                "get_info": R,
                "get_screens": R,
                **dict.fromkeys(
                    ("move", "resize", "minimize", "maximize", "restore", "arrange"), W
                ),
            },
            id="windows",
        ),
    ],
)
def test_the_agreed_classes_of_the_current_server_s_operations(
    tool: str, classes: dict[str, ToolClass]
) -> None:
    """Issue 9, item 5: the classification as agreed, from what each operation does."""
    operations = CATALOG[tool].operations
    assert operations is not None
    assert dict(operations.classes) == classes


@pytest.mark.parametrize(
    ("tool", "tool_class"),
    [
        pytest.param("km_set_macro_triggers", D, id="replaces-all-triggers"),
        pytest.param("km_refresh_action_templates", D, id="clears-its-scratch-macro"),
        pytest.param("km_move_macro_to_group", W, id="moves"),
        pytest.param("km_list_macros", R, id="lists"),
        pytest.param("km_notifications", W, id="notifies"),
    ],
)
def test_tools_without_operations_keep_one_class(tool: str, tool_class: ToolClass) -> None:
    spec = CATALOG[tool]
    assert (spec.operations, spec.tool_class, spec.class_of("anything")) == (
        None,
        tool_class,
        tool_class,
    )


@pytest.mark.parametrize(
    ("arguments", "need"),
    [
        pytest.param({"operation": "get"}, Need("km_variable_manager", "get"), id="literal"),
        pytest.param({"operation": "{{ inputs.op }}"}, Need("km_variable_manager"), id="template"),
        pytest.param({"operation": "purge"}, Need("km_variable_manager"), id="unknown"),
        pytest.param({"operation": 3}, Need("km_variable_manager"), id="not-text"),
        pytest.param({}, Need("km_variable_manager"), id="missing"),
    ],
)
def test_what_a_call_needs(arguments: dict[str, Any], need: Need) -> None:
    assert CATALOG["km_variable_manager"].need(arguments) == need


def test_a_left_out_operation_is_the_schema_s_default() -> None:
    catalog = ToolCatalog.from_tool_list(
        [
            {
                "name": "km_variable_manager",
                "inputSchema": {
                    "type": "object",
                    "properties": {"operation": {"type": "string", "default": "list"}},
                },
            }
        ],
        origin="a server",
    )
    assert catalog["km_variable_manager"].need({}) == Need("km_variable_manager", "list")


def test_a_connected_server_s_tools_keep_the_classes_of_their_operations() -> None:
    """No server publishes classes per operation: the shipped ones apply while the listed
    schema still has the argument that names the operation; a list may bring its own."""
    own = {"parameter": "mode", "classes": {"peek": "read-only", "wipe": "destructive"}}
    catalog = ToolCatalog.from_tool_list(
        [
            {
                "name": "km_variable_manager",
                "inputSchema": CATALOG["km_variable_manager"].input_schema,
            },
            {"name": "km_engine_control", "inputSchema": {"type": "object", "properties": {}}},
            {"name": "km_new", "inputSchema": {"type": "object"}, "x-km-operations": own},
        ],
        origin="a server",
    )
    assert catalog["km_variable_manager"].operations == CATALOG["km_variable_manager"].operations
    assert catalog["km_engine_control"].operations is None
    assert catalog["km_new"].operations == Operations.from_data(own)
    assert catalog["km_new"].class_of("peek") is R
    assert Operations.from_data(own).to_data() == own


@pytest.mark.parametrize(
    ("entries", "tools", "operations"),
    [
        pytest.param(
            ["read-only"],
            None,
            {("km_variable_manager", "get"), ("km_variable_manager", "list")},
            id="read-only-class",
        ),
        pytest.param(
            ["km_variable_manager:get", "km_variable_manager:set"],
            set(),
            {("km_variable_manager", "get"), ("km_variable_manager", "set")},
            id="operations",
        ),
        pytest.param(
            ["read-only", "write", "km_variable_manager:delete"],
            {"km_variable_manager"},
            set(),
            id="every-operation-one-by-one-is-the-whole-tool",
        ),
        pytest.param(["variables"], {"km_variable_manager"}, set(), id="domain-group"),
        pytest.param(
            ["km_variable_manager", "km_variable_manager:get"],
            {"km_variable_manager"},
            set(),
            id="an-operation-of-a-whole-tool",
        ),
    ],
)
def test_what_entries_cover_of_km_variable_manager(
    entries: list[str], tools: set[str] | None, operations: set[tuple[str, str]]
) -> None:
    coverage = CATALOG.coverage(entries)
    mine = {(t, o) for t, o in coverage.operations if t == "km_variable_manager"}
    assert mine == operations
    if tools is not None:
        assert {t for t in coverage.tools if t == "km_variable_manager"} == tools
    else:
        assert "km_variable_manager" not in coverage.tools


def test_class_groups_cover_the_operations_of_their_class() -> None:
    read_only = CATALOG.groups["read-only"]
    assert read_only.covers(Need("km_variable_manager", "get"))
    assert read_only.covers(Need("km_list_macros"))
    assert not read_only.covers(Need("km_variable_manager", "set"))
    assert not read_only.covers(Need("km_variable_manager"))  # a templated operation
    destructive = CATALOG.groups["destructive"]
    assert destructive.covers(Need("km_variable_manager", "delete"))
    assert destructive.covers(Need("km_set_macro_triggers"))
    assert not destructive.covers(Need("km_variable_manager", "get"))
    assert CATALOG.groups["all"].covers(Need("km_variable_manager"))


def test_what_a_coverage_needs_one_by_one() -> None:
    coverage = Coverage(
        frozenset({"km_list_macros", "km_variable_manager", "km_unknown"}),
        frozenset({("km_engine_control", "status")}),
    )
    assert [str(n) for n in coverage.needs(CATALOG)] == [
        "km_engine_control:status",
        "km_list_macros",
        "km_unknown",
        "km_variable_manager:delete",
        "km_variable_manager:get",
        "km_variable_manager:list",
        "km_variable_manager:set",
    ]
    assert coverage.touches("km_engine_control") and not coverage.touches("km_token_stats")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        pytest.param("km_variable_manager:get", None, id="an-operation"),
        pytest.param("read-only", None, id="a-class"),
        pytest.param(
            "notification",
            ("`notification` is not a tool or a tool group", "did you mean 'notifications'?"),
            id="a-misspelt-group",
        ),
        pytest.param(
            "km_variable_manager:gte",
            (
                "`km_variable_manager:gte` is not an operation of km_variable_manager",
                "did you mean 'km_variable_manager:get'?",
            ),
            id="a-misspelt-operation",
        ),
        pytest.param(
            "km_variable_manager:purge",
            (
                "`km_variable_manager:purge` is not an operation of km_variable_manager",
                "the operations of km_variable_manager are: get, set, delete, list",
            ),
            id="an-unknown-operation",
        ),
        pytest.param(
            "km_variable_manger:get",
            (
                "`km_variable_manger:get` names an operation of `km_variable_manger`, which is "
                "not a tool",
                "did you mean 'km_variable_manager:get'?",
            ),
            id="a-misspelt-tool",
        ),
        pytest.param(
            "km_nothing_like_it:get",
            (
                "`km_nothing_like_it:get` names an operation of `km_nothing_like_it`, which is "
                "not a tool",
                "run `km-actions schema --tools` to list the tools",
            ),
            id="an-unknown-tool",
        ),
        pytest.param(
            "km_list_macros:list",
            (
                "`km_list_macros:list` names an operation, but km_list_macros has no operations "
                "to choose from",
                "grant `km_list_macros` itself",
            ),
            id="a-tool-without-operations",
        ),
        pytest.param(
            "variables:get",
            (
                "`variables:get` is not a tool or a tool group",
                "did you mean 'variables'?",
            ),
            id="an-operation-of-a-group",
        ),
    ],
)
def test_permission_entries_are_checked(entry: str, problem: tuple[str, str] | None) -> None:
    assert CATALOG.permission_problem(entry) == problem
    assert CATALOG.is_permission(entry) is (problem is None)
