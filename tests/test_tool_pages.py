"""A tool's page (engine/tool_pages.py, engine/tool_text.py): arguments in words, the
operations and their classes, an example step that validates, and what it answers."""

from __future__ import annotations

import yaml

from engine.answers import AnswerBook
from engine.catalog import ToolCatalog
from engine.loader import load_text
from engine.tool_pages import page_data, tool_page
from engine.tool_text import answer_lines, argument_text, page_text, step_yaml, type_words
from engine.validate import validate

CATALOG = ToolCatalog.builtin()


def _manifest(tool: str, steps: str, step_id: str) -> str:
    return (
        f'api_version: "1.1"\nkind: action\nname: example\ndescription: An example.\n'
        f"permissions: [{tool}]\n"
        f'steps:\n{steps}\noutputs:\n  answer: "{{{{ steps.{step_id}.result }}}}"\n'
    )


def test_every_example_step_validates_without_a_problem() -> None:
    """Each step as pasted under `steps:` (the YAML the page shows), for every operation
    of every tool km-actions ships."""
    checked = 0
    for name in CATALOG:
        for case in tool_page(CATALOG[name]).cases:
            text = "\n".join("  " + line for line in step_yaml(case.step).splitlines())
            manifest = _manifest(name, text, str(case.step["id"]))
            found = validate(load_text(manifest, file=f"{name}.yaml"))
            assert [str(d) for d in found] == [], text
            assert yaml.safe_load(step_yaml(case.step)) == [case.step]
            checked += 1
    assert checked == 128


def test_the_page_of_one_operation() -> None:
    page = tool_page(CATALOG["km_variable_manager"], only="get")
    text = page_text(page, "from the catalog km-actions ships")
    lines = text.splitlines()
    assert lines[0] == "km_variable_manager (destructive), from the catalog km-actions ships"
    start = lines.index("Arguments (under `with:`):")
    assert lines[start + 1 : start + 6] == [
        "  operation     text, required; one of get, set, delete, list. Operation: get, set, "
        "delete, or list",
        "  name          text. Variable name (required for get, set, delete)",
        "  value         text. Variable value (required for set operation)",
        '  scope         text, default "global". Variable scope: global, local, instance, or '
        "password",
        "  _instance_id  text. Instance ID for local/instance variables",
    ]
    start = lines.index("== km_variable_manager get (read-only) ==")
    assert lines[start:] == [
        "== km_variable_manager get (read-only) ==",
        "Example step:",
        "  - id: get",
        "    tool: km_variable_manager",
        "    with: {operation: get, name: Greeting}",
        "Answer (steps.get.result), recorded (get an existing global; variables#0):",
        "  success   true or false  true",
        "  data      a mapping (key: value pairs)",
        '    name    text           "Greeting"',
        '    value   text           "Hello"',
        '    scope   text           "global"',
        "    exists  true or false  true",
        '    type    text           "string"',
        "Recorded failures: KM_VARIABLE_FAILED.",
        "A failure (success: false) fails the step with kind tool-failed; with "
        "`continue_on_error: true` or `catch:`, `steps.get.error` holds its kind, message and "
        "code.",
        "",
        "Answers recorded from the Keyboard Maestro MCP server at 66c1fcb.",
    ]


def test_the_page_of_a_tool_lists_its_operations_with_their_classes() -> None:
    text = page_text(tool_page(CATALOG["km_variable_manager"]), "here")
    assert "Operations:\n  get     read-only\n  set     write\n  delete  destructive\n" in text
    assert text.count("== km_variable_manager ") == 4
    modes = page_text(tool_page(CATALOG["km_token_processor"]), "here")
    assert "What it answers depends on `preview_only`: false, true." in modes
    assert "== km_token_processor with preview_only: true (read-only) ==" in modes


def test_an_operation_without_a_recorded_success_says_why() -> None:
    text = page_text(tool_page(CATALOG["km_trigger_manager"], only="set_enabled"), "here")
    assert (
        "Answer: no successful answer was recorded: the server never succeeds here: Keyboard "
        "Maestro 11 stores no enabled state per trigger"
    ) in text
    assert "Recorded failures: TOGGLE_FAILED." in text


def test_a_tool_without_recorded_answers_says_so() -> None:
    page = tool_page(CATALOG["km_calculator"])
    assert page.unknown == (
        "what it answers is not known: the Keyboard Maestro MCP server at 66c1fcb, whose "
        "answers km-actions has recorded, has no km_calculator"
    )
    assert [case.step for case in page.cases] == [
        {"id": "calculator", "tool": "km_calculator", "with": {"expression": "text"}}
    ]
    other = ToolCatalog.from_tool_list(
        [{"name": "km_variable_manager", "inputSchema": {"type": "object"}}], origin="server"
    )
    changed = tool_page(other["km_variable_manager"])
    assert changed.unknown is not None and "another version of the tool" in changed.unknown
    assert changed.recorded is None and changed.cases[0].answer is None


def test_the_page_as_data() -> None:
    data = page_data(tool_page(CATALOG["km_variable_manager"], only="list"))
    assert data["operations"]["classes"]["list"] == "read-only"
    assert data["arguments"][0] == {
        "name": "operation",
        "type": ["string"],
        "words": "text",
        "required": True,
        "allowed": ["get", "set", "delete", "list"],
        "description": "Operation: get, set, delete, or list",
    }
    (case,) = data["cases"]
    assert case["operation"] == "list"
    assert case["answer_compact"] == (
        "{success: boolean, data: {variables: [{name: string, scope: string, type: string}], "
        "scope: string, count: integer}}"
    )
    assert case["example"]["data"]["count"] == case["example"]["data"]["count"]
    assert case["recorded_call"]["scenario"] == "variables"
    assert case["failure_codes"] == ["SYSTEM_ERROR"]
    assert data["answers_recorded_from"] == AnswerBook.builtin().server_commit


def test_types_and_arguments_in_words() -> None:
    assert type_words({"type": ["array", "null"], "items": {"type": "string"}}) == (
        "a list (each text) or null"
    )
    assert type_words({"type": "array"}) == "a list (empty when recorded)"
    assert type_words({}) == "any value"
    assert answer_lines({"type": "object", "additionalProperties": {"type": "string"}}, {}) == [
        "(any key)  text"
    ]
    (window,) = tool_page(CATALOG["km_window_manager"], only="get_info").arguments[4:5]
    assert argument_text(window) == 'text, default "main". Target screen (main, external, or index)'
