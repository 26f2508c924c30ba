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
WHOLE_GET = (
    "the real server answers {success: boolean, data: {name: string, value: string, "
    "scope: string, exists: boolean, type: string}}; `km-actions tools km_variable_manager` "
    "shows a recorded example"
)
PREFIX = "the test's mock of km_variable_manager is not shaped as the real server answers: "
CLOSEST = (
    "; of what km_variable_manager answers, km_variable_manager get's is the closest to this mock"
)


def _found(mocks: str, catalog: ToolCatalog = CATALOG) -> list[tuple[str, str, str | None]]:
    document = load_text(HEAD + mocks, file="demo.yaml")
    found = validate(document, ValidationContext(catalog=catalog))
    return [
        (f"{d.location}: {d.severity.value}[{d.code}]", d.message, d.hint)
        for d in found
        if d.code == "mock-answer-shape"
    ]


@pytest.mark.parametrize(
    ("mocks", "where", "message", "hint"),
    [
        pytest.param(
            "      km_variable_manager: [{data: {value: x}}]\n",
            "demo.yaml:16:29",
            "an answer of km_variable_manager get always has `success`, and the mock has none",
            f"add `success: true` (or `success: false` with an `error` for a failure); "
            f"{WHOLE_GET}{CLOSEST}",
            id="no-success",
        ),
        pytest.param(
            "      km_variable_manager: [{success: true, data: {variable: {value: x}}}]\n",
            "demo.yaml:16:52",
            "an answer of km_variable_manager get never has `data.variable`",
            "did you mean 'value'? (`data` holds name, value, scope, exists, type)" + CLOSEST,
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
            "`error` holds code, message, recovery_suggestion; the real server answers "
            "{success: boolean, error: {code: string, message: string, recovery_suggestion: "
            "string}}; `km-actions tools km_variable_manager` shows a recorded example" + CLOSEST,
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
            "the test's mock of km_window_manager is not shaped as the real server answers: "
            "an answer of km_window_manager move never has `data`",
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
            "      km_variable_manager: [{success: true, data: {name: G, value_length: 1, "
            "operation: set}}]\n",
            id="another-operation",
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
