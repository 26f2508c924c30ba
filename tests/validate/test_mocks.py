"""Mocked answers in ``tests:`` checked against what the real server answers
(engine/validate/_mocks.py): the exact warnings, where they point, and what is not checked."""

from __future__ import annotations

import pytest

from engine.load.loader import load_text
from engine.tools.catalog import ToolCatalog
from engine.tools.older_tools import CatalogTools
from engine.validate import ValidationContext, validate

CATALOG = ToolCatalog.builtin()
HEAD = (
    'api_version: "1.1"\nkind: action\nname: demo\ndescription: A demo.\n'
    "permissions: [km_variable_manager, km_window_manager, km_engine_control]\n"
    "steps:\n  - id: get\n    tool: km_variable_manager\n"
    "    with: {operation: get, name: Greeting}\n"
    'outputs:\n  x: "{{ steps.get.result.data.value }}"\n'
    "tests:\n  - name: t\n    expect: {outputs: {x: x}}\n    mocks:\n"
)


def _prefix(tool: str) -> str:
    """How every mock-answer-shape warning of a mock of ``tool`` begins."""
    return f"the test's mock of {tool} is not shaped as the real server answers: "


def _answers(tool: str, shape: str) -> str:
    """How every mock-answer-shape hint ends: the shape the real server answers."""
    return f"the real server answers {shape}; `km-actions tools {tool}` shows a recorded example"


def _closest(operation: str) -> str:
    """What a hint adds when the operation is not known before the run."""
    return (
        f"compared with what `km_variable_manager` answers for operation `{operation}`, the "
        "closest of its answers to this mock"
    )


PREFIX = _prefix("km_variable_manager")
WHOLE_GET = _answers(
    "km_variable_manager",
    "{success: boolean, data: {name: string, value: string, scope: string, exists: boolean, "
    "type: string}}",
)
#: The hints of a key a get's or a set's answer never has.
GET_DATA = f"`data` holds name, value, scope, exists, type; {WHOLE_GET}"
SET_DATA = "`data` holds name, scope, operation, value_length, is_password; " + _answers(
    "km_variable_manager",
    "{success: boolean, data: {name: string, scope: string, operation: string, "
    "value_length: integer, is_password: boolean}}",
)


def _warnings(text: str) -> list[tuple[str, str, str | None]]:
    """Where, what and the hint of each mock-answer-shape warning of the action ``text``."""
    found = validate(load_text(text, file="demo.yaml"), ValidationContext(catalog=CATALOG))
    return [
        (f"{d.location}: {d.severity.value}[{d.code}]", d.message, d.hint)
        for d in found
        if d.code == "mock-answer-shape"
    ]


def _found(mocks: str) -> list[tuple[str, str, str | None]]:
    return _warnings(HEAD + mocks)


@pytest.mark.parametrize(
    ("mocks", "where", "message", "hint"),
    [
        pytest.param(
            "      km_variable_manager: [{data: {value: x}}]\n",
            "demo.yaml:16:29",
            "an answer of km_variable_manager get always has `success`, and the mock has none",
            f"add `success: true` (or `success: false` with an `error` for a failure); {WHOLE_GET}",
            id="no-success",
        ),
        pytest.param(
            "      km_variable_manager: [{success: true, data: {variable: {value: x}}}]\n",
            "demo.yaml:16:52",
            "an answer of km_variable_manager get never has `data.variable`",
            "did you mean 'value'? (`data` holds name, value, scope, exists, type)",
            id="nested-wrongly",
        ),
        pytest.param(
            "      km_variable_manager:\n        match:\n          - with: {operation: get}\n"
            '            result: {success: true, data: {name: G, value: x, exists: "yes"}}\n',
            "demo.yaml:19:71",
            "`data.exists` is text, but in an answer of km_variable_manager get it is "
            "true or false",
            f"write true or false there; {WHOLE_GET}",
            id="type-in-a-match-rule",
        ),
        pytest.param(
            "      km_variable_manager:\n        match: []\n"
            "        otherwise: {success: false, error: {code: X, message: m, hint: h}}\n",
            "demo.yaml:18:66",
            "a failure of km_variable_manager get never has `error.hint`",
            "`error` holds code, message, recovery_suggestion; "
            + _answers(
                "km_variable_manager",
                "{success: boolean, error: {code: string, message: string, "
                "recovery_suggestion: string}}",
            ),
            id="failure-shape",
        ),
    ],
)
def test_mock_shaped_otherwise_is_a_located_warning(
    mocks: str, where: str, message: str, hint: str
) -> None:
    assert _found(mocks) == [(f"{where}: warning[mock-answer-shape]", PREFIX + message, hint)]


def test_flat_answer_with_data() -> None:
    found = _found("      km_window_manager: [{success: true, data: {}}]\n")
    assert [(w, m) for w, m, _ in found] == [
        (
            "demo.yaml:16:43: warning[mock-answer-shape]",
            _prefix("km_window_manager") + "an answer of km_window_manager move never has `data`",
        )
    ]


@pytest.mark.parametrize(
    "mocks",
    [
        pytest.param(
            "      km_variable_manager: [{success: true, data: {name: G, value: x}}]\n",
            id="says-less",
        ),
        pytest.param("      km_variable_manager: [{success: true}]\n", id="envelope-only"),
        pytest.param(
            "      km_variable_manager:\n        match:\n          - with: {operation: set}\n"
            "            result: {success: true, data: {name: G, value_length: 1, "
            "operation: set}}\n",
            id="another-operation-a-rule-names",
        ),
        pytest.param(
            "      km_variable_manager: [{success: false, error: {code: KM_VARIABLE_FAILED, "
            "message: m}}]\n",
            id="failure",
        ),
        pytest.param(
            "      km_variable_manager:\n        match:\n"
            "          - with: {operation: nope}\n            result: {anything: 1}\n",
            id="operation-never-recorded",
        ),
    ],
)
def test_mocks_the_server_could_answer_pass(mocks: str) -> None:
    assert _found(mocks) == []


def test_tool_without_recorded_answers_is_not_checked() -> None:
    older = ToolCatalog.builtin(CatalogTools.WITH_2025)
    text = (
        'api_version: "1.1"\nkind: action\nname: demo\ndescription: A demo.\n'
        "permissions: [km_calculator]\nsteps:\n  - id: c\n    tool: km_calculator\n"
        '    with: {expression: "1+1"}\noutputs:\n  x: "{{ steps.c.result }}"\n'
        "tests:\n  - name: t\n    expect: {outputs: {x: x}}\n"
        "    mocks: {km_calculator: [{anything: 1}]}\n"
    )
    found = validate(load_text(text, file="demo.yaml"), ValidationContext(catalog=older))
    assert [d for d in found if d.code == "mock-answer-shape"] == []
    assert [d.code for d in found if d.is_error] == []


def _found_in(steps: str, mocks: str) -> list[tuple[str, str, str | None]]:
    """The warnings of an action whose ``steps:`` (and test's ``mocks:``) are given, one
    YAML line each."""
    text = (
        'api_version: "1.1"\nkind: action\nname: demo\ndescription: A demo.\n'
        "permissions: [km_variable_manager, km_engine_control, km_token_processor, "
        "km_list_macros]\n"
        f"steps:\n{steps}tests:\n  - name: t\n    mocks:\n{mocks}"
    )
    return _warnings(text)


GET_SET = (
    "  - {id: read, tool: km_variable_manager, with: {operation: get, name: A}}\n"
    '  - tool: km_variable_manager\n    with: {operation: set, name: B, value: "{{ '
    'steps.read.result.data.value }}"}\n'
)


def test_a_mock_is_compared_with_the_operation_its_step_writes_out() -> None:
    steps = '  - tool: km_engine_control\n    with: {operation: calculate, expression: "1+1"}\n'
    mocks = '      km_engine_control: [{success: true, data: {expression: "1+1", result: 2}}]\n'
    assert _found_in(steps, mocks) == [
        (
            "demo.yaml:12:77: warning[mock-answer-shape]",
            _prefix("km_engine_control") + "`data.result` is a whole number, but in an answer "
            "of km_engine_control calculate it is text",
            "write text there; "
            + _answers(
                "km_engine_control",
                "{success: boolean, data: {expression: string, result: string, "
                "result_type: string, timestamp: string}}",
            ),
        )
    ]


def test_a_list_of_answers_is_compared_with_the_calls_in_the_order_they_are_made() -> None:
    mocks = (
        "      km_variable_manager: [{success: true, data: {name: A, value: x}}, "
        "{success: true, data: {valeu: 1}}]\n"
    )
    assert _found_in(GET_SET, mocks) == [
        (
            "demo.yaml:13:96: warning[mock-answer-shape]",
            PREFIX + "an answer of km_variable_manager set never has `data.valeu`",
            SET_DATA,
        )
    ]


@pytest.mark.parametrize(
    "step",
    [
        pytest.param(
            "  - {tool: km_variable_manager, with: {operation: get, name: A}, if: true}\n",
            id="after-a-step-under-if-any-step-from-there-on",
        ),
        pytest.param(
            "  - {tool: km_variable_manager, with: {operation: get, name: A}, "
            "retry: {max_attempts: 2}}\n",
            id="after-a-step-with-retry",
        ),
        pytest.param(
            "  - foreach: [1]\n    steps:\n"
            "      - {tool: km_variable_manager, with: {operation: get, name: A}}\n",
            id="after-a-step-in-a-loop",
        ),
    ],
)
def test_past_a_step_that_may_not_run_once_an_answer_may_answer_any_later_call(
    step: str,
) -> None:
    """The get under `if:` may be skipped: the first answer may be set's (it is), the
    second get's or set's, and it is closer to get's."""
    mocks = (
        "      km_variable_manager: [{success: true, data: {name: A, value_length: 1}}, "
        "{success: true, data: {name: A, value: x, exists: true, is_password: false}}]\n"
    )
    found = _found_in(step + GET_SET, mocks)
    assert [(m, h) for _, m, h in found] == [
        (
            PREFIX + "an answer of km_variable_manager get never has `data.is_password`",
            f"{GET_DATA}; {_closest('get')}",
        )
    ]


def test_every_misfit_of_one_answer_is_reported_at_once() -> None:
    steps = "  - {tool: km_variable_manager, with: {operation: get, name: A}}\n"
    mocks = "      km_variable_manager: [{value: x, data: {value: 1}}]\n"
    assert _found_in(steps, mocks) == [
        (
            "demo.yaml:11:29: warning[mock-answer-shape]",
            PREFIX + "an answer of km_variable_manager get always has `success`, and the mock "
            "has none",
            f"add `success: true` (or `success: false` with an `error` for a failure); {WHOLE_GET}",
        ),
        (
            "demo.yaml:11:30: warning[mock-answer-shape]",
            PREFIX + "an answer of km_variable_manager get never has `value`",
            f"the answer holds success, data; {WHOLE_GET}",
        ),
        (
            "demo.yaml:11:54: warning[mock-answer-shape]",
            PREFIX + "`data.value` is a whole number, but in an answer of km_variable_manager "
            "get it is text",
            f"write text there; {WHOLE_GET}",
        ),
    ]


@pytest.mark.parametrize(
    ("mocks", "message", "compared"),
    [
        pytest.param(
            "      km_variable_manager: [{success: true, data: {name: A, value_length: one, "
            "operation: set, is_password: true}}]\n",
            "`data.value_length` is text, but in an answer of km_variable_manager set it is "
            "a whole number",
            _closest("set"),
            id="fewest-misfits",
        ),
        pytest.param(
            "      km_variable_manager: [{success: true, data: {name: A, size: 1}}]\n",
            "an answer of km_variable_manager get never has `data.size`",
            "compared with what `km_variable_manager` answers for operation `get`: its "
            "answers for operation `set` and for operation `delete` are as close to this mock",
            id="a-tie-names-every-one",
        ),
    ],
)
def test_a_templated_operation_is_compared_with_the_closest_operation(
    mocks: str, message: str, compared: str
) -> None:
    steps = '  - {tool: km_variable_manager, with: {operation: "{{ inputs.op }}", name: A}}\n'
    found = _found_in(steps, mocks)
    assert [m for _, m, _ in found] == [PREFIX + message]
    assert str(found[0][2]).endswith("; " + compared)


def test_a_rule_naming_no_operation_answers_the_calls_the_action_makes() -> None:
    """A delete answer fits no call of an action that only gets and sets: `{name: B}`
    answers the set of B."""
    mocks = (
        "      km_variable_manager:\n        match:\n          - with: {name: B}\n"
        "            result: {success: true, data: {name: B, operation: delete, existed: true}}\n"
        "        otherwise: {success: true, data: {name: A, value: x}}\n"
    )
    assert _found_in(GET_SET, mocks) == [
        (
            "demo.yaml:16:72: warning[mock-answer-shape]",
            PREFIX + "an answer of km_variable_manager set never has `data.existed`",
            SET_DATA,
        )
    ]


def test_a_rule_naming_no_operation_answers_the_steps_its_arguments_match() -> None:
    """`{name: A}` answers the get (of A), not the set (of B): a set's answer does not fit."""
    mocks = (
        "      km_variable_manager:\n        match:\n          - with: {name: A}\n"
        "            result: {success: true, data: {name: A, scope: global, operation: set, "
        "value_length: 1, is_password: false}}\n"
    )
    found = _found_in(GET_SET, mocks)
    assert [m for _, m, _ in found] == [
        PREFIX + "an answer of km_variable_manager get never has `data.operation`",
        PREFIX + "an answer of km_variable_manager get never has `data.value_length`",
        PREFIX + "an answer of km_variable_manager get never has `data.is_password`",
    ]
    assert found[0][2] == GET_DATA


def test_a_mode_is_named_as_the_argument_that_selects_it() -> None:
    steps = '  - {tool: km_token_processor, with: {text: "%X%", preview_only: "{{ inputs.p }}"}}\n'
    mocks = (
        "      km_token_processor: [{success: true, preview: {token_count: 1, count: 2}, "
        "metadata: {preview_mode: true}}]\n"
    )
    found = _found_in(steps, mocks)
    assert [(m, str(h).rsplit("; ", 1)[-1]) for _, m, h in found] == [
        (
            _prefix("km_token_processor") + "an answer of km_token_processor with "
            "preview_only: true never has `preview.count`",
            "compared with what `km_token_processor` answers with `preview_only: true`, the "
            "closest of its answers to this mock",
        )
    ]


def test_an_answer_past_an_action_step_may_be_of_any_operation() -> None:
    """The action it calls may call the tool: its answer may be a delete's."""
    steps = "  - {action: other}\n" + GET_SET
    mocks = "      km_variable_manager: [{success: true, data: {name: A, existed: true}}]\n"
    assert _found_in(steps, mocks) == []


def test_a_rule_of_a_tool_with_one_answer_is_compared_with_it() -> None:
    steps = "  - {tool: km_list_macros, with: {limit: 5}}\n"
    mocks = (
        "      km_list_macros:\n        match:\n          - with: {limit: 5}\n"
        "            result: {success: true, data: {macros: [], count: 0}}\n"
    )
    assert [m for _, m, _ in _found_in(steps, mocks)] == [
        _prefix("km_list_macros") + "an answer of km_list_macros never has `data.count`"
    ]


@pytest.mark.parametrize(
    ("steps", "mocks"),
    [
        pytest.param(
            '  - {tool: km_variable_manager, with: {operation: "{{ inputs.op }}", name: A}}\n',
            "      km_variable_manager:\n"
            "        otherwise: {success: true, data: {name: A, existed: true}}\n",
            id="otherwise-of-a-templated-operation-may-be-any",
        ),
        pytest.param(
            "  - {tool: km_engine_control, with: {operation: reload}}\n",
            "      km_engine_control: [{success: false, error: {anything: 1}}]\n",
            id="failure-of-an-operation-never-seen-failing",
        ),
        pytest.param(
            "  - {tool: km_variable_manager, with: {operation: get, name: A}}\n",
            "      km_variable_manager: 3\n",
            id="not-a-mock",
        ),
    ],
)
def test_what_cannot_be_compared_is_not_reported(steps: str, mocks: str) -> None:
    assert _found_in(steps, mocks) == []
