"""Invoking a pipeline: inputs checked and defaulted, native types kept through templates,
outputs projected (engine/run/_exec.py)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.run.model import RunStatus

from .conftest import Tools, failure

# -- inputs -----------------------------------------------------------------------------

INPUTS = """
inputs:
  name: {type: string, description: Who to greet}
  count: {type: integer, default: 2, minimum: 1}
  tags: {type: array, default: [a]}
  note: {type: string, required: false}
steps:
  - set: {tags: "{{ inputs.tags + ['b'] }}"}
outputs:
  name: "{{ inputs.name }}"
  count: "{{ inputs.count }}"
  tags: "{{ vars.tags }}"
  note: "{{ inputs.note }}"
"""


def test_defaults_fill_in_and_optional_inputs_are_null(tools: Tools) -> None:
    pipeline = tools.compile(INPUTS)
    first = tools.run(pipeline, {"name": "Ann"})
    assert first.outputs == {"name": "Ann", "count": 2, "tags": ["a", "b"], "note": None}
    # A default list is copied for every run: the first run did not change it.
    assert tools.run(pipeline, {"name": "Bo", "count": 5}).outputs["tags"] == ["a", "b"]


@pytest.mark.parametrize(
    ("given", "message", "hint"),
    [
        pytest.param(
            {},
            "t needs the input `name`",
            "`name` takes text (Who to greet): give it as --input name=…",
            id="missing",
        ),
        pytest.param(
            {"name": "Ann", "tags": "a"},
            'input `tags` of t must be a list, not text ("a")',
            "`tags` takes a list: give it as --input tags=…",
            id="text-for-list",
        ),
        pytest.param(
            {"name": "Ann", "nmae": "x"},
            "t has no input `nmae`",
            "did you mean 'name'?",
            id="unknown",
        ),
        pytest.param(
            {"name": "Ann", "count": 0},
            "input `count` of t must be at least 1 (got 0)",
            "`count` takes a whole number: give it as --input count=…",
            id="below-minimum",
        ),
        pytest.param(
            {"name": 5},
            "input `name` of t must be text, not a whole number (5)",
            "`name` takes text (Who to greet): give it as --input name=…",
            id="wrong-type",
        ),
    ],
)
def test_bad_inputs_fail_with_invalid_input(
    tools: Tools, given: dict[str, Any], message: str, hint: str
) -> None:
    error = failure(tools.run(INPUTS, given))
    assert (error.kind.value, error.message, error.hint, error.step) == (
        "invalid-input",
        message,
        hint,
        None,
    )
    assert error.details["input"] in given or error.details["input"] == "name"
    assert tools.calls == []


@pytest.mark.parametrize(
    ("given", "path", "location"),
    [
        pytest.param({}, "$.inputs.name", "t.yaml:6:3", id="missing"),
        pytest.param({"name": "Ann", "count": "2"}, "$.inputs.count", "t.yaml:7:3", id="type"),
        pytest.param({"name": "Ann", "cuont": 2}, "$.inputs.cuont", "t.yaml:5:1", id="unknown"),
    ],
)
def test_an_input_that_does_not_fit_is_located_at_its_declaration(
    tools: Tools, given: dict[str, Any], path: str, location: str
) -> None:
    """A run's caller (an MCP client, the command line) is told where the input is: its
    path, and its declaration in the file (`inputs:` for one the action does not have)."""
    error = failure(tools.run(INPUTS, given))
    assert (error.kind.value, error.first.json_path, error.first.location) == (
        "invalid-input",
        path,
        location,
    )
    assert error.to_dict()["path"] == path


def test_an_action_without_inputs_says_so_for_an_unknown_input(tools: Tools) -> None:
    error = failure(tools.run("steps:\n  - set: {x: 1}\n", {"who": 1}))
    assert (error.message, error.hint) == (
        "t has no input `who`",
        "this action takes no inputs",
    )


# -- type preservation ------------------------------------------------------------------

VALUES = [
    pytest.param("7", 7, id="int"),
    pytest.param("2.5", 2.5, id="float"),
    pytest.param("true", True, id="bool"),
    pytest.param("none", None, id="none"),
    pytest.param("[1, 'a', [2]]", [1, "a", [2]], id="list"),
    pytest.param("{'k': {'n': 1}}", {"k": {"n": 1}}, id="dict"),
    pytest.param("'text'", "text", id="str"),
]


@pytest.mark.parametrize(("expression", "value"), VALUES)
def test_one_expression_keeps_its_type_through_set_and_outputs(
    tools: Tools, expression: str, value: Any
) -> None:
    body = (
        f'steps:\n  - set: {{v: "{{{{ {expression} }}}}"}}\n'
        '  - set: {w: "{{ vars.v }}"}\n'
        'outputs: {direct: "{{ ' + expression + ' }}", through_set: "{{ vars.w }}"}\n'
    )
    outputs = tools.run(body).outputs
    assert outputs == {"direct": value, "through_set": value}
    assert type(outputs["direct"]) is type(value)
    assert type(outputs["through_set"]) is type(value)


@pytest.mark.parametrize(("expression", "value"), VALUES)
def test_one_expression_keeps_its_type_through_with(
    tools: Tools, expression: str, value: Any
) -> None:
    library = tools.library(
        inner="inputs: {v: {type: any, required: false}}\nsteps:\n  - set: {x: 1}\n"
        'outputs: {v: "{{ inputs.v }}"}\n'
    )
    pipeline = tools.compile(
        f"""
steps:
  - id: tool
    tool: km_free
    with: {{v: "{{{{ {expression} }}}}"}}
  - id: action
    action: inner
    with: {{v: "{{{{ {expression} }}}}"}}
outputs:
  tool: "{{{{ steps.tool.result.data.v }}}}"
  action: "{{{{ steps.action.result.v }}}}"
""",
        library=library,
    )
    outputs = tools.run(pipeline, resolver=library).outputs
    assert outputs == {"tool": value, "action": value}
    assert type(outputs["tool"]) is type(value) and type(outputs["action"]) is type(value)
    sent = tools.calls[0][1]["v"]
    assert (sent, type(sent)) == (value, type(value))


@pytest.mark.parametrize(
    ("template", "text"),
    [
        pytest.param("n={{ 7 }}", "n=7", id="text-around"),
        pytest.param("{{ 1 }}{{ 2 }}", "12", id="two-expressions"),
        pytest.param(" {{ true }}", " True", id="leading-space"),
        pytest.param("{{ [1] }} items", "[1] items", id="list-in-text"),
    ],
)
def test_mixed_text_is_a_string(tools: Tools, template: str, text: str) -> None:
    body = (
        f'steps:\n  - set: {{v: "{template}"}}\n'
        f'outputs: {{v: "{{{{ vars.v }}}}", o: "{template}"}}\n'
    )
    assert tools.run(body).outputs == {"v": text, "o": text}


def test_rendered_output_is_never_rendered_again(tools: Tools) -> None:
    body = (
        "inputs: {t: {type: string}}\n"
        'steps:\n  - id: e\n    tool: km_echo\n    with: {text: "{{ inputs.t }}"}\n'
        'outputs: {t: "{{ steps.e.result.data.text }}", again: "x{{ inputs.t }}"}\n'
    )
    result = tools.run(body, {"t": "{{ 7 * 6 }}"})
    assert result.outputs == {"t": "{{ 7 * 6 }}", "again": "x{{ 7 * 6 }}"}
    assert tools.calls == [("km_echo", {"text": "{{ 7 * 6 }}"})]


def test_an_output_that_cannot_render_fails_at_the_output(tools: Tools) -> None:
    body = (
        "inputs: {v: {type: any}}\n"
        "steps:\n  - set: {x: 1}\n"
        'outputs:\n  ok: "{{ vars.x }}"\n  bad: "{{ inputs.v.missing }}"\n'
    )
    result = tools.run(body, {"v": {"present": 1}})
    error = failure(result)
    assert (error.kind.value, error.first.location, error.first.json_path) == (
        "template-error",
        "t.yaml:9:8",
        "$.outputs.bad",
    )
    assert (result.status, result.outputs) == (RunStatus.FAILED, {})


def test_a_run_without_outputs_gives_an_empty_mapping(tools: Tools) -> None:
    result = tools.run("steps:\n  - tool: km_echo\n    with: {text: x}\n")
    assert (result.ok, result.outputs, result.tool_calls, result.steps_run) == (True, {}, 1, 1)


def test_literal_lists_and_mappings_are_fresh_for_every_run(tools: Tools) -> None:
    def append(items: list[Any]) -> dict[str, Any]:
        items.append("added by the tool")
        return {"success": True, "data": list(items)}

    tools.register("km_append", append, {"type": "object"})
    pipeline = tools.compile(
        """
        steps:
          - set: {kept: [1, 2]}
          - id: tool
            tool: km_append
            with: {items: [a]}
        outputs:
          literal: {nested: [1]}
          kept: "{{ vars.kept }}"
          sent: "{{ steps.tool.result.data }}"
        """
    )
    first = tools.run(pipeline)
    first.outputs["literal"]["nested"].append("changed by the caller")
    first.outputs["kept"].append("changed by the caller")
    assert tools.run(pipeline).outputs == {
        "literal": {"nested": [1]},
        "kept": [1, 2],
        "sent": ["a", "added by the tool"],
    }


def test_null_for_an_optional_input_means_not_given(tools: Tools) -> None:
    pipeline = tools.compile(INPUTS)
    result = tools.run(pipeline, {"name": "Ann", "count": None, "note": None, "tags": None})
    assert result.outputs == {"name": "Ann", "count": 2, "tags": ["a", "b"], "note": None}
    error = failure(tools.run(pipeline, {"name": None}))
    assert (error.kind.value, error.message) == (
        "invalid-input",
        "input `name` of t must be text, not null",
    )


CALLEE = """
inputs:
  count: {type: integer}
  label: {type: string, required: false}
  flag: {type: boolean, default: true}
steps:
  - set: {x: 1}
outputs: {got: "{{ [inputs.count, inputs.label, inputs.flag] }}"}
"""


@pytest.mark.parametrize(
    ("given", "got"),
    [
        pytest.param({"count": "'7'"}, [7, None, True], id="text-to-integer"),
        pytest.param({"count": "7", "label": "42"}, [7, "42", True], id="number-to-text"),
        pytest.param({"count": "1", "flag": "'false'"}, [1, None, False], id="text-to-boolean"),
        pytest.param(
            {"count": "1", "label": "inputs.missing", "flag": "none"},
            [1, None, True],
            id="optional-left-out",
        ),
    ],
)
def test_action_inputs_are_coerced_like_tool_arguments(
    tools: Tools, given: dict[str, str], got: list[Any]
) -> None:
    library = tools.library(callee=CALLEE)
    arguments = ", ".join(f'{name}: "{{{{ {value} }}}}"' for name, value in given.items())
    pipeline = tools.compile(
        "inputs: {missing: {type: string, required: false}}\n"
        f"steps:\n  - id: call\n    action: callee\n    with: {{{arguments}}}\n"
        'outputs: {got: "{{ steps.call.result.got }}"}\n',
        library=library,
    )
    assert tools.run(pipeline, resolver=library).outputs == {"got": got}


def test_an_action_input_that_cannot_be_coerced_fails_at_the_calling_step(tools: Tools) -> None:
    library = tools.library(callee=CALLEE)
    pipeline = tools.compile(
        "steps:\n  - id: call\n    action: callee\n    with: {count: \"{{ 'many' }}\"}\n",
        library=library,
    )
    error = failure(tools.run(pipeline, resolver=library))
    assert (error.kind.value, error.step, error.first.location, error.message, error.hint) == (
        "invalid-input",
        "call",
        "t.yaml:5:5",
        'input `count` of callee must be a whole number, not text ("many")',
        "`count` takes a whole number (see `inputs:` in callee.yaml): give it under `with:` "
        "in the step that calls callee",
    )


def test_a_required_input_left_out_by_the_caller(tools: Tools) -> None:
    library = tools.library(callee=CALLEE)
    pipeline = tools.compile("steps:\n  - id: call\n    action: callee\n", check=False)
    error = failure(tools.run(pipeline, resolver=library))
    assert (error.kind.value, error.step, error.message, error.hint) == (
        "invalid-input",
        "call",
        "callee needs the input `count`",
        "`count` takes a whole number (see `inputs:` in callee.yaml): give it under `with:` "
        "in the step that calls callee",
    )
