"""References into a tool step's result, checked against what the tool answers
(engine/validate/_results.py): the exact messages and hints, and which tools are known."""

from __future__ import annotations

import pytest

from engine.lang.expressions import ExpressionEngine
from engine.load.loader import load_text
from engine.tools.answers import AnswerBook
from engine.tools.catalog import ToolCatalog
from engine.tools.shapes import node_at, schema_of
from engine.validate import ValidationContext, validate
from engine.validate._results import (
    ActionResult,
    ItemShape,
    foreach_items,
    item_finding,
    result_finding,
)

CATALOG = ToolCatalog.builtin()
STEPS = """steps:
  - id: get
    tool: km_variable_manager
    with: {operation: get, name: Greeting}
  - id: all
    tool: km_variable_manager
    with: {operation: list}
  - id: window
    tool: km_window_manager
    with: {operation: get_info, window_identifier: Finder}
  - id: tokens
    tool: km_token_processor
    with: {text: "%Variable%Greeting%", preview_only: true}
"""


def _found(output: str, catalog: ToolCatalog = CATALOG) -> list[tuple[str, str | None]]:
    text = (
        'api_version: "1.1"\nkind: action\nname: demo\ndescription: A demo.\n'
        "permissions: [km_variable_manager, km_window_manager, km_token_processor]\n"
        f'{STEPS}outputs:\n  x: "{output}"\n'
    )
    found = validate(load_text(text, file="demo.yaml"), ValidationContext(catalog=catalog))
    return [(f"{d.code}: {d.message}", d.hint) for d in found if d.code != "unused-result"]


@pytest.mark.parametrize(
    ("output", "message", "hint"),
    [
        pytest.param(
            "{{ steps.get.result.data.valu }}",
            "km_variable_manager get answers `data.value`, not `data.valu`",
            "did you mean 'value'? (`data` holds name, value, scope, exists, type)",
            id="close-match",
        ),
        pytest.param(
            "{{ steps.get.result.data.status }}",
            "km_variable_manager get answers no `data.status`",
            "`data` holds name, value, scope, exists, type; `km-actions tools "
            "km_variable_manager` shows the whole answer",
            id="no-match",
        ),
        pytest.param(
            "{{ steps.window.result.data.window }}",
            "km_window_manager get_info answers no `data`: unlike most tools, it gives no "
            "`data` mapping",
            "the answer holds success, operation, window, timestamp; `km-actions tools "
            "km_window_manager` shows the whole answer",
            id="flat-answer",
        ),
        pytest.param(
            "{{ steps.all.result.data.variables.name }}",
            "in what km_variable_manager list answers, `data.variables` is a list, so it has "
            "no `name`",
            "read one item, as in `steps.all.result.data.variables[0].name`, or go through "
            "them with `foreach: steps.all.result.data.variables`",
            id="key-of-a-list",
        ),
        pytest.param(
            "{{ steps.all.result.data.variables['0'] }}",
            "in what km_variable_manager list answers, `data.variables` is a list, so it has "
            "no `0`",
            "list positions are numbers, not text: write `steps.all.result.data.variables[0]`",
            id="position-as-text",
        ),
        pytest.param(
            "{{ steps.all.result.data[0] }}",
            "in what km_variable_manager list answers, `data` is a mapping, not a list: it "
            "has no item [0]",
            "read one of its keys: variables, scope, count",
            id="index-of-a-mapping",
        ),
        pytest.param(
            "{{ steps.all.result.data.count.value }}",
            "in what km_variable_manager list answers, `data.count` is a whole number, so it "
            "has no `value`",
            "read `data.count` itself; `km-actions tools km_variable_manager` shows the "
            "whole answer",
            id="key-of-a-number",
        ),
        pytest.param(
            "{{ steps.get.result.error.code }}",
            "`steps.get.result.error` never has a value: a successful answer of "
            "km_variable_manager get has no `error`, and a step that failed has no result",
            "give the step `continue_on_error: true` (or `catch:`) and read "
            "`steps.get.error.message` (also `.code` and `.kind`)",
            id="error-of-the-result",
        ),
        pytest.param(
            "{{ steps.tokens.result.preview.token_details[0].postion }}",
            "km_token_processor with preview_only: true answers "
            "`preview.token_details[0].position`, not `preview.token_details[0].postion`",
            "did you mean 'position'? (`preview.token_details[0]` holds token, content, "
            "type, position)",
            id="mode",
        ),
    ],
)
def test_what_a_wrong_read_of_an_answer_says(output: str, message: str, hint: str) -> None:
    assert _found(output) == [(f"unknown-result-field: {message}", hint)]


def test_a_tool_of_another_server_version_is_not_checked() -> None:
    recorded = {
        "name": "km_variable_manager",
        "inputSchema": CATALOG["km_variable_manager"].input_schema,
    }
    others = [
        {"name": name, "inputSchema": CATALOG[name].input_schema}
        for name in ("km_window_manager", "km_token_processor")
    ]
    same = ToolCatalog.from_tool_list([recorded, *others], origin="server")
    assert len(_found("{{ steps.get.result.data.valu }}", same)) == 1
    changed = {**recorded, "inputSchema": {"type": "object", "properties": {"operation": {}}}}
    other = ToolCatalog.from_tool_list([changed, *others], origin="server")
    assert _found("{{ steps.get.result.data.valu }}", other) == []


def test_the_items_of_a_list_in_a_loop_item_are_known_too() -> None:
    answer = AnswerBook.builtin()["km_variable_manager"].answers["list"]
    groups = schema_of({"groups": [{"name": "g", "macros": [{"id": "m", "on": True}]}]})
    outer = ItemShape(groups["properties"]["groups"]["items"], answer, "data.groups")
    (ref,) = ExpressionEngine().analyze("group.macros").references
    inner = foreach_items(ref, "group.macros", {}, {"group": outer}.get)
    assert inner is not None and inner.source == "data.groups[…].macros"
    found = item_finding(inner, "macro", ("idd",))
    assert found is not None and found.message == (
        "`macro` (an item of `data.groups[…].macros` in what km_variable_manager list "
        "answers) has `macro.id`, not `macro.idd`"
    )
    (other,) = ExpressionEngine().analyze("steps.call.result.items").references
    called = {"call": ActionResult("helper", ("items",))}
    assert foreach_items(other, "steps.call.result.items", called, {}.get) is None
    assert foreach_items(other, "steps.call.result.items[0]", called, {}.get) is None
    assert node_at(schema_of({"a": {"k": 1}}), ("a", 0)) is None
    assert node_at({"type": "object", "additionalProperties": {"type": "string"}}, ("x",)) == {
        "type": "string"
    }


def test_reading_the_outputs_of_an_action_that_declares_none() -> None:
    found = result_finding(ActionResult("notify", ()), "n", ("text",), guarded=False)
    assert found is not None
    assert (found.message, found.hint) == (
        "the action `notify` has no output `text`",
        "`notify` declares no outputs; add them under its `outputs:`",
    )
    assert result_finding(ActionResult("notify", ()), "n", ("text",), guarded=True) is None


@pytest.mark.parametrize(
    ("title", "hint"),
    [
        pytest.param("{{ steps.earlyer.result }}", "did you mean 'earlier'?", id="ran-before"),
        pytest.param("{{ steps.notee.result }}", "expected one of: earlier", id="not-itself"),
        pytest.param("{{ steps.latter.result }}", "expected one of: earlier", id="not-later"),
    ],
)
def test_a_misspelt_step_is_matched_only_with_the_steps_that_ran_before(
    title: str, hint: str
) -> None:
    """Within step `note`, `note` (itself) and `later` cannot be read: never suggested."""
    text = (
        'api_version: "1.1"\nkind: action\nname: demo\ndescription: A demo.\n'
        "permissions: [km_variable_manager]\nsteps:\n"
        "  - {id: earlier, tool: km_variable_manager, with: {operation: get, name: A}}\n"
        "  - {id: note, tool: km_variable_manager, with: "
        f'{{operation: set, name: B, value: "{title}"}}}}\n'
        "  - {id: later, tool: km_variable_manager, with: {operation: get, name: A}}\n"
    )
    found = validate(load_text(text, file="demo.yaml"), ValidationContext(catalog=CATALOG))
    [problem] = [d for d in found if d.code == "unknown-step"]
    assert problem.hint == hint
