"""Tool arguments checked and coerced against the tool's inputSchema, and what tool answers
and tool failures become (engine/run/_args.py, the tool step of _codegen.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.diagnostics.errors import StepError
from engine.lang.limits import Profile
from engine.run import run
from engine.run.model import Pipeline, RunResult
from engine.tools.bridge.inprocess import InProcessBridge
from engine.tools.catalog import ToolCatalog

from .conftest import FAILURE, READ_ONLY, Tools, failure, where

# -- tool answers -----------------------------------------------------------------------


def test_success_false_is_a_failed_step_carrying_code_message_and_suggestion(
    tools: Tools,
) -> None:
    error = failure(tools.run("steps:\n  - id: read\n    tool: km_fail\n"))
    assert where(error) == ("tool-failed", "read", "t.yaml:5:5", "$.steps[0]")
    assert error.message == (
        "km_fail failed: Keyboard Maestro Engine is not running (KM_CONNECTION_FAILED)"
    )
    assert error.hint == "Start the Keyboard Maestro Engine and try again"
    assert error.details == {
        "tool": "km_fail",
        "code": "KM_CONNECTION_FAILED",
        "recovery_suggestion": "Start the Keyboard Maestro Engine and try again",
        "result": {"success": False, "error": FAILURE},
    }


@pytest.mark.parametrize(
    ("answer", "message", "code", "hint"),
    [
        pytest.param(
            {"success": False, "error": "disk full"},
            "km_odd failed: disk full",
            None,
            None,
            id="error-as-text",
        ),
        pytest.param(
            {"success": False},
            "km_odd failed: it answered success: false",
            None,
            None,
            id="no-error",
        ),
        pytest.param(
            {"success": False, "error": {"code": "E7", "suggestion": "wait"}},
            "km_odd failed: no message (E7)",
            "E7",
            "wait",
            id="suggestion-key",
        ),
    ],
)
def test_other_shapes_of_failure_answers(
    tools: Tools, answer: dict[str, Any], message: str, code: str | None, hint: str | None
) -> None:
    tools.register("km_odd", lambda: answer, {"type": "object"})
    error = failure(tools.run("steps:\n  - tool: km_odd\n"))
    assert (error.kind.value, error.message, error.details["code"], error.hint) == (
        "tool-failed",
        message,
        code,
        hint,
    )


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"success": True}, id="success"),
        pytest.param({"data": 1}, id="no-success-key"),
        pytest.param(["a", "list"], id="not-an-envelope"),
        pytest.param(None, id="nothing"),
    ],
)
def test_any_other_answer_is_the_result_as_given(tools: Tools, answer: Any) -> None:
    tools.register("km_odd", lambda: answer, {"type": "object"})
    result = tools.run(
        'steps:\n  - id: o\n    tool: km_odd\noutputs: {r: "{{ steps.o.result }}"}\n'
    )
    assert result.outputs == {"r": answer}


def test_a_tool_raising_is_tool_failed(tools: Tools) -> None:
    error = failure(tools.run("steps:\n  - id: b\n    tool: km_raise\n"))
    assert where(error) == ("tool-failed", "b", "t.yaml:5:5", "$.steps[0]")
    assert error.message == "km_raise raised RuntimeError: boom"


def test_a_tool_rejecting_its_arguments_is_invalid_arguments(tools: Tools) -> None:
    pipeline = tools.compile(
        "steps:\n  - id: add\n    tool: km_add\n    with: {a: 1}\n", check=False
    )
    error = failure(tools.run(pipeline))
    assert where(error) == ("invalid-arguments", "add", "t.yaml:5:5", "$.steps[0]")
    assert error.message.startswith("km_add rejected its arguments: ")
    assert "missing 1 required positional argument: 'b'" in error.message


class RaisingBridge(InProcessBridge):
    """A backend whose call_tool itself raises (a broken bridge, not a tool answer)."""

    def __init__(self, exc: Exception) -> None:
        super().__init__(label="broken backend")
        self.exc = exc

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "kind", "message"),
    [
        pytest.param(
            OSError("pipe closed"), "tool-failed", "km_echo raised OSError: pipe closed", id="os"
        ),
        pytest.param(
            TypeError("bad keyword"),
            "invalid-arguments",
            "km_echo rejected its arguments: bad keyword",
            id="type",
        ),
    ],
)
@pytest.mark.parametrize("wrapped", [False, True], ids=["inline", "with-retry"])
def test_a_backend_raising_becomes_a_step_error(
    tools: Tools, exc: Exception, kind: str, message: str, wrapped: bool
) -> None:
    bridge = RaisingBridge(exc)
    bridge.register("km_echo", lambda text: None, {"type": "object"}, annotations=READ_ONLY)
    extra = "\n    retry: {max_attempts: 1}" if wrapped else ""
    pipeline = tools.compile(
        f"steps:\n  - id: e\n    tool: km_echo\n    with: {{text: x}}{extra}\n"
    )
    result = _run_on(pipeline, bridge)
    error = failure(result)
    assert where(error) == (kind, "e", "t.yaml:5:5", "$.steps[0]")
    assert error.message == message


def _run_on(pipeline: Pipeline, bridge: InProcessBridge) -> RunResult:
    return asyncio.run(run(pipeline, {}, bridge=bridge))


@pytest.mark.parametrize("profile_limits", ["standard", "strict"])
def test_an_unknown_tool_is_unavailable(tools: Tools, profile_limits: str) -> None:
    pipeline = tools.compile("steps:\n  - id: x\n    tool: km_ehco\n", check=False)
    error = failure(tools.run(pipeline, limits=Profile(profile_limits).limits))
    assert where(error) == ("tool-unavailable", "x", "t.yaml:5:5", "$.steps[0]")
    assert error.message == "no tool named km_ehco is offered by in-process tools"
    assert error.hint == "did you mean 'km_echo'?"


def test_the_in_process_bridge_reports_an_unregistered_tool() -> None:
    bridge = InProcessBridge()
    with pytest.raises(StepError) as caught:
        asyncio.run(bridge.call_tool("km_zzz", {}))
    assert (caught.value.kind.value, caught.value.message, caught.value.hint) == (
        "tool-unavailable",
        "no tool named km_zzz is registered",
        "register the tool on this bridge before running actions that call it",
    )
    assert isinstance(bridge.catalog(), ToolCatalog)


# -- argument coercion ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "argument", "template", "sent"),
    [
        pytest.param("km_add", "a", "'3'", 3, id="text-to-integer"),
        pytest.param("km_add", "a", "' 42 '", 42, id="padded-text-to-integer"),
        pytest.param("km_add", "a", "3.0", 3, id="whole-float-to-integer"),
        pytest.param("km_add", "a", "3", 3, id="integer-stays"),
        pytest.param("km_echo", "text", "3", "3", id="integer-to-text"),
        pytest.param("km_echo", "text", "2.5", "2.5", id="float-to-text"),
        pytest.param("km_echo", "text", "'3'", "3", id="text-stays-text"),
        pytest.param("km_flag", "on", "'true'", True, id="true-text-to-boolean"),
        pytest.param("km_flag", "on", "' FALSE '", False, id="false-text-to-boolean"),
        pytest.param("km_flag", "on", "false", False, id="boolean-stays"),
        pytest.param("km_note", "text", "none", None, id="null-allowed-by-anyOf"),
        pytest.param("km_note", "text", "7", "7", id="anyOf-coerces-to-its-string"),
        pytest.param("km_free", "x", "'3'", "3", id="no-schema-text-stays"),
        pytest.param("km_free", "x", "[1, {'a': none}]", [1, {"a": None}], id="no-schema-list"),
    ],
)
def test_arguments_are_coerced_only_where_the_schema_says(
    tools: Tools, tool: str, argument: str, template: str, sent: Any
) -> None:
    others = {"km_add": ", b: 1"}.get(tool, "")
    body = f'steps:\n  - tool: {tool}\n    with: {{{argument}: "{{{{ {template} }}}}"{others}}}\n'
    assert tools.run(body).ok
    value = tools.calls[0][1][argument]
    assert (value, type(value)) == (sent, type(sent))


@pytest.mark.parametrize(
    ("tool", "argument", "template", "message"),
    [
        pytest.param(
            "km_add",
            "a",
            "'x'",
            "argument `a` of km_add must be a whole number, but `{{ 'x' }}` gave text (\"x\")",
            id="word-for-integer",
        ),
        pytest.param(
            "km_add",
            "a",
            "2.5",
            "argument `a` of km_add must be a whole number, but `{{ 2.5 }}` gave a number (2.5)",
            id="fraction-for-integer",
        ),
        pytest.param(
            "km_add",
            "a",
            "true",
            "argument `a` of km_add must be a whole number, but `{{ true }}` gave true",
            id="boolean-for-integer",
        ),
        pytest.param(
            "km_flag",
            "on",
            "'yes'",
            "argument `on` of km_flag must be true or false, but `{{ 'yes' }}` gave text (\"yes\")",
            id="yes-for-boolean",
        ),
        pytest.param(
            "km_flag",
            "on",
            "1",
            "argument `on` of km_flag must be true or false, but `{{ 1 }}` gave a whole number (1)",
            id="number-for-boolean",
        ),
        pytest.param(
            "km_echo",
            "text",
            "[1]",
            "argument `text` of km_echo must be text, but `{{ [1] }}` gave a list ([1])",
            id="list-for-text",
        ),
        pytest.param(
            "km_echo",
            "text",
            "true",
            "argument `text` of km_echo must be text, but `{{ true }}` gave true",
            id="boolean-for-text",
        ),
        pytest.param(
            "km_note",
            "text",
            "{'a': 1}",
            "argument `text` of km_note must be text, but `{{ {'a': 1} }}` gave a mapping "
            '(key: value pairs) ({"a": 1})',
            id="mapping-for-text-or-null",
        ),
    ],
)
def test_arguments_that_cannot_be_coerced_name_step_argument_and_type(
    tools: Tools, tool: str, argument: str, template: str, message: str
) -> None:
    others = {"km_add": ", b: 1"}.get(tool, "")
    body = (
        f"steps:\n  - id: call\n    tool: {tool}\n"
        f'    with: {{{argument}: "{{{{ {template} }}}}"{others}}}\n'
    )
    error = failure(tools.run(body))
    # At the argument, where the template that gave the value is written.
    location = (f"t.yaml:7:{14 + len(argument)}", f"$.steps[0].with.{argument}")
    assert where(error) == ("invalid-arguments", "call", *location)
    assert error.message == message
    assert error.details == {"tool": tool, "argument": argument}
    assert tools.calls == []


@pytest.mark.parametrize(
    ("schema", "template", "hint"),
    [
        pytest.param(
            {"type": "string", "description": "What to say."},
            "inputs.who",
            "give a value for when it is null: `{{ inputs.who | default('') }}` (`text`: What "
            "to say.)",
            id="null-for-text",
        ),
        pytest.param(
            {"type": "string", "minLength": 1, "description": "What to say."},
            "inputs.who",
            "give a value for when it is null (a text the tool accepts: it cannot be empty): "
            "`{{ inputs.who | default('…') }}` (`text`: What to say.)",
            id="null-for-text-that-cannot-be-empty",
        ),
        pytest.param(
            {"type": "integer"},
            "inputs.who",
            "give a value for when it is null: `{{ inputs.who | default(0) }}`",
            id="null-for-a-number",
        ),
        pytest.param(
            {"type": "string", "description": "What to say."},
            "inputs.tags",
            "join the items into one text: `{{ inputs.tags | join(', ') }}` (`text`: What to say.)",
            id="list-for-text",
        ),
        pytest.param(
            {"type": "string", "description": "What to say."},
            "inputs.flag",
            "What to say.",
            id="no-filter-to-suggest",
        ),
    ],
)
def test_a_template_that_gave_null_or_a_list_gets_a_hint_with_the_filter_to_add(
    tools: Tools, schema: dict[str, Any], template: str, hint: str
) -> None:
    """Found by a tester: the hint only repeated the argument's description."""
    tools.register(
        "km_say",
        lambda text: {"success": True, "data": {"text": text}},
        {"type": "object", "properties": {"text": schema}},
    )
    body = (
        "inputs:\n  who: {type: string, required: false}\n  tags: {type: array, default: [a]}\n"
        "  flag: {type: boolean, default: true}\n"
        f'steps:\n  - id: call\n    tool: km_say\n    with: {{text: "{{{{ {template} }}}}"}}\n'
    )
    error = failure(tools.run(body))
    assert (error.kind.value, error.hint) == ("invalid-arguments", hint)


def test_schema_keywords_beyond_type_are_checked(tools: Tools) -> None:
    tools.register(
        "km_mode",
        lambda mode: {"success": True, "data": mode},
        {
            "type": "object",
            "properties": {
                "mode": {"type": "string", "enum": ["fast", "safe"], "description": "How."}
            },
        },
    )
    body = (
        "inputs: {m: {type: string}}\n"
        'steps:\n  - tool: km_mode\n    with: {mode: "{{ inputs.m }}"}\n'
    )
    assert tools.run(body, {"m": "safe"}).ok
    error = failure(tools.run(body, {"m": "quick"}))
    assert (error.kind.value, error.message, error.hint) == (
        "invalid-arguments",
        "argument `mode` of km_mode, given by `{{ inputs.m }}`, is not valid: "
        '"quick" is not one of "fast", "safe"',
        "How.",
    )


@pytest.mark.parametrize(
    ("template", "sent"),
    [
        pytest.param("'2.5'", 2.5, id="fraction-text"),
        pytest.param("'2'", 2, id="whole-text"),
        pytest.param("'1e3'", 1000, id="exponent-text"),
    ],
)
def test_number_arguments_from_text(tools: Tools, template: str, sent: Any) -> None:
    tools.register(
        "km_num",
        lambda x: {"success": True, "data": x},
        {"type": "object", "properties": {"x": {"type": "number"}}},
    )
    assert tools.run(f'steps:\n  - tool: km_num\n    with: {{x: "{{{{ {template} }}}}"}}\n').ok
    value = tools.calls[0][1]["x"]
    assert (value, type(value)) == (sent, type(sent))


@pytest.mark.parametrize("template", ["'nan'", "'inf'", "'many'"])
def test_number_arguments_refuse_what_is_not_a_finite_number(tools: Tools, template: str) -> None:
    tools.register(
        "km_num",
        lambda x: {"success": True, "data": x},
        {"type": "object", "properties": {"x": {"type": "number"}}},
    )
    error = failure(
        tools.run(f'steps:\n  - tool: km_num\n    with: {{x: "{{{{ {template} }}}}"}}\n')
    )
    assert error.kind.value == "invalid-arguments"
    given = f"argument `x` of km_num must be a number, but `{{{{ {template} }}}}` gave text ("
    assert error.message.startswith(given)


@pytest.mark.parametrize(
    ("template", "sent"),
    [
        pytest.param("'3'", 3, id="text-to-integer"),
        pytest.param("none", None, id="null"),
        pytest.param("4", 4, id="integer"),
    ],
)
def test_a_list_of_types_in_the_schema(tools: Tools, template: str, sent: Any) -> None:
    tools.register(
        "km_maybe",
        lambda n: {"success": True, "data": n},
        {"type": "object", "properties": {"n": {"type": ["integer", "null"]}}},
    )
    assert tools.run(f'steps:\n  - tool: km_maybe\n    with: {{n: "{{{{ {template} }}}}"}}\n').ok
    value = tools.calls[0][1]["n"]
    assert (value, type(value)) == (sent, type(sent))
