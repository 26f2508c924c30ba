"""A template that changes a secret before it is shown (found by a tester: the masking
finds a secret's own text, so `{{ config.token[4:] }}` or `| replace` showed it): such a
use is a warning, `secret-changed`, at the reference; passing a secret on whole, or
inside text, is not."""

from __future__ import annotations

import pytest

from engine.engine import Engine
from engine.load.loader import load_text
from engine.validate.context import ValidationContext

SETTINGS = {
    "type": "object",
    "properties": {
        "token": {"type": "string", "secret": True},
        "keys": {"type": "array", "secret": True},
        "plain": {"type": "string"},
    },
}
MESSAGE = (
    "the secret {what} `{name}` is changed here (a filter, a slice, a method): what that "
    "makes is not the secret's text, so it is not masked where it is shown"
)


def secret_changes(template: str) -> list[tuple[str, str, str]]:
    text = (
        'api_version: "1.1"\nkind: action\nname: demo\ndescription: Demo.\n'
        "inputs:\n  pin: {type: string, secret: true}\n"
        f"steps:\n  - set: {{x: {template!r}}}\n"
        'outputs: {x: "{{ vars.x }}{{ inputs.pin }}"}\n'
    )
    context = ValidationContext(config_schema=SETTINGS)
    return [
        (d.code, d.message, d.location)
        for d in Engine().validate(load_text(text, file="demo.yaml"), context)
        if d.code == "secret-changed"
    ]


@pytest.mark.parametrize(
    ("template", "name", "column"),
    [
        pytest.param("{{ config.token[4:] }}", "config.token", 18, id="a-slice"),
        pytest.param("{{ config.token[0] }}", "config.token", 18, id="a-character"),
        pytest.param("{{ config.token | replace('-', '_') }}", "config.token", 18, id="a-filter"),
        pytest.param("{{ config.token.upper() }}", "config.token", 18, id="a-method"),
        pytest.param("{{ (config.token ~ '!') | reverse }}", "config.token", 19, id="joined-then"),
        pytest.param("{{ inputs.pin | reverse | join }}", "inputs.pin", 18, id="a-secret-input"),
        pytest.param("{{ config.token[inputs.pin] }}", "config.token", 18, id="a-computed-key"),
    ],
)
def test_a_secret_changed_before_it_is_shown_is_a_warning(
    template: str, name: str, column: int
) -> None:
    what = "input" if name.startswith("inputs.") else "setting"
    assert secret_changes(template) == [
        ("secret-changed", MESSAGE.format(what=what, name=name), f"demo.yaml:8:{column}")
    ]


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("{{ config.token }}", id="whole"),
        pytest.param("Bearer {{ config.token }}", id="inside-text"),
        pytest.param("{{ config.token ~ '!' }}", id="joined"),
        pytest.param("{{ config.token | default('') }}", id="a-default"),
        pytest.param("{{ 'x' | replace('x', config.token) }}", id="put-in-whole"),
        pytest.param("{{ config.keys[0] }}", id="an-item-of-a-secret-list"),
        pytest.param("{{ config.token | length > 0 }}", id="its-length"),
        pytest.param("{{ config.token | tojson }}", id="as-json"),
        pytest.param("{{ config.keys | join(', ') }}", id="a-secret-list-joined"),
        pytest.param("{{ config.plain | upper }}", id="not-a-secret"),
    ],
)
def test_a_secret_passed_on_whole_is_not(template: str) -> None:
    assert secret_changes(template) == []
