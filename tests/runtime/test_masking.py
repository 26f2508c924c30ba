"""Secrets are masked in everything a run gives back: outputs, trace, errors, recorded
calls (engine/runtime/_masking.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.bridge.dryrun import DryRunBridge
from engine.engine import Engine
from engine.runtime import FakeClock, run
from engine.runtime._exec import note_secret
from engine.runtime._masking import MASK, Masker

from .conftest import Tools, failure

SECRET = """
inputs:
  password: {type: string, secret: true}
  user: {type: string}
steps:
  - id: login
    tool: km_echo
    with: {text: "{{ inputs.user }}:{{ inputs.password }}"}
  - id: check
    fail: "login {{ steps.login.result.data.text }} was refused"
    continue_on_error: true
outputs:
  echoed: "{{ steps.login.result.data.text }}"
  why: "{{ steps.check.error.message }}"
"""


def test_a_secret_input_is_masked_in_outputs_and_trace(tools: Tools) -> None:
    result = tools.run(SECRET, {"user": "ann", "password": "hunter2"}, trace=True)
    assert result.outputs == {
        "echoed": f"ann:{MASK}",
        "why": f"login ann:{MASK} was refused",
    }
    assert result.trace is not None
    assert result.trace[0]["arguments"] == {"text": f"ann:{MASK}"}
    assert result.trace[0]["result"] == {"success": True, "data": {"text": f"ann:{MASK}"}}
    assert result.trace[1]["error"]["message"] == f"login ann:{MASK} was refused"
    assert "hunter2" not in repr(result.to_dict())
    # The tool itself got the real value: masking is for what the run gives back.
    assert tools.calls == [("km_echo", {"text": "ann:hunter2"})]


def test_a_secret_is_masked_in_the_error_a_run_fails_with(tools: Tools) -> None:
    def refuse(text: str) -> dict[str, Any]:
        return {
            "success": False,
            "error": {
                "code": "AUTH",
                "message": f"{text} is wrong",
                "recovery_suggestion": f"do not use {text}",
            },
        }

    tools.register("km_login", refuse, {"type": "object"})
    body = (
        "inputs: {pw: {type: string, secret: true}}\n"
        'steps:\n  - tool: km_login\n    with: {text: "{{ inputs.pw }}"}\n'
    )
    error = failure(tools.run(body, {"pw": "s3cret!"}))
    assert error.message == f"km_login failed: {MASK} is wrong (AUTH)"
    assert error.hint == f"do not use {MASK}"
    assert error.details["result"]["error"]["message"] == f"{MASK} is wrong"
    assert error.first.message == error.message and error.first.hint == error.hint
    assert str(error) == error.message
    assert "s3cret!" not in repr(error.to_dict())


@pytest.mark.parametrize(
    ("spec", "value", "output"),
    [
        pytest.param("{type: integer, secret: true}", 4321, MASK, id="integer"),
        pytest.param(
            "{type: any, secret: true}",
            ["tok-1", {"k": "tok-2"}],
            [MASK, {"k": MASK}],
            id="list-and-mapping",
        ),
        pytest.param("{type: string, secret: true, default: dflt-pw}", None, MASK, id="default"),
    ],
)
def test_secrets_of_every_type_are_masked(tools: Tools, spec: str, value: Any, output: Any) -> None:
    body = (
        f'inputs: {{s: {spec}}}\nsteps:\n  - set: {{x: 1}}\noutputs: {{s: "{{{{ inputs.s }}}}"}}\n'
    )
    result = tools.run(body, {} if value is None else {"s": value})
    assert result.outputs == {"s": output}


def test_secrets_passed_to_the_run_are_masked(tools: Tools) -> None:
    body = 'steps:\n  - set: {x: 1}\noutputs: {token: "{{ config.token }}"}\n'
    pipeline = tools.compile(body, check=False)
    result = tools.run(pipeline, config={"token": "abc-123"}, secrets=("abc-123", ""))
    assert result.outputs == {"token": MASK}


def test_recorded_calls_of_a_dry_run_are_masked() -> None:
    engine = Engine()
    body = (
        'api_version: "1.0"\nkind: action\nname: t\n'
        "inputs: {pw: {type: string, secret: true}}\n"
        "steps:\n  - tool: km_variable_manager\n"
        '    with: {operation: set, name: Password, value: "{{ inputs.pw }}"}\n'
    )
    pipeline = engine.compile(engine.load(body, file="t.yaml"))
    bridge = DryRunBridge()
    result = asyncio.run(
        run(pipeline, {"pw": "open-sesame"}, bridge=bridge, dry_run=True, clock=FakeClock())
    )
    assert result.recorded_calls is not None
    assert result.recorded_calls[0]["with"]["value"] == MASK
    assert bridge.recorded[0]["with"]["value"] == "open-sesame"


def test_note_secret_collects_text_and_numbers() -> None:
    found: set[str] = set()
    note_secret(found, {"a": ["x", 1.5, True, None, ""], "b": ("y",)})
    assert found == {"x", "1.5", "y"}


def test_the_longest_secret_is_masked_first() -> None:
    masker = Masker(["abc", "abcdef", 3])  # type: ignore[list-item]
    assert masker.mask("xabcdefx abc") == f"x{MASK}x {MASK}"
    assert masker.mask((1, "abc")) == (1, MASK)
    assert not Masker([])
    assert Masker([]).mask({"a": "abc"}) == {"a": "abc"}
