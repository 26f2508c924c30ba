"""Secrets are masked in everything a run gives back: outputs, trace, errors, recorded
calls (the last line of defence of engine/lang/secrets.py, applied by engine.run.run)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from engine.engine import Engine
from engine.lang.secrets import MASK
from engine.run import FakeClock, run
from engine.run.model import PluginSettings
from engine.simulator.dryrun import DryRunBridge

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
    settings = PluginSettings({"token": "abc-123", "empty": ""}, frozenset({"token", "empty"}))
    result = tools.run(pipeline, config=settings)
    assert result.outputs == {"token": MASK}


def test_recorded_calls_of_a_dry_run_are_masked() -> None:
    engine = Engine()
    body = (
        'api_version: "1.1"\nkind: action\nname: t\n'
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


# -- messages name secrets; they never quote them, even in part -----------------------

LONG_TOKEN = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"


def test_a_failing_conversion_names_the_secret_setting_not_a_prefix(tools: Tools) -> None:
    body = "steps:\n  - if: int(config.token) > 1\n    set: {x: 1}\n"
    settings = PluginSettings({"token": LONG_TOKEN}, frozenset({"token"}))
    error = failure(tools.run(tools.compile(body, check=False), config=settings))
    assert error.message == "cannot turn the secret setting `token` into a whole number"
    assert LONG_TOKEN[:8] not in repr(error.to_dict())


def test_a_secret_with_quotes_and_backslashes_is_not_shown_escaped(tools: Tools) -> None:
    body = (
        "inputs: {pw: {type: string, secret: true}}\n"
        "steps:\n  - if: int(inputs.pw) > 1\n    set: {x: 1}\n"
    )
    password = 'pa"ss\\word'
    error = failure(tools.run(body, {"pw": password}))
    assert error.message == "cannot turn the secret input `pw` into a whole number"
    shown = repr(error.to_dict()) + json.dumps(error.to_dict())
    for form in (password, repr(password)[1:-1], json.dumps(password)[1:-1]):
        assert form not in shown


def test_a_secret_input_of_the_wrong_type_is_not_echoed(tools: Tools) -> None:
    body = "inputs: {pin: {type: integer, secret: true}}\nsteps:\n  - set: {x: 1}\n"
    error = failure(tools.run(body, {"pin": "my-secret-pin"}))
    assert error.message == (
        "input `pin` of t must be a whole number, not text (the secret input `pin`)"
    )
    assert "my-secret" not in repr(error.to_dict())


def test_a_short_secret_does_not_corrupt_other_text(tools: Tools) -> None:
    body = (
        "inputs:\n  pw: {type: string, secret: true}\n  note: {type: string, max_length: 10}\n"
        "steps:\n  - set: {x: 1}\n"
    )
    error = failure(tools.run(body, {"pw": "1", "note": "a" * 12}))
    assert error.message == "input `note` of t must have at most 10 characters (has 12)"
    counted = "inputs: {pw: {type: string, secret: true}}\nsteps:\n  - set: {x: 1}\n"
    outputs = 'outputs: {pw: "{{ inputs.pw }}", n: 10, text: "1 of 10", same: "1"}\n'
    result = tools.run(counted + outputs, {"pw": "1"})
    assert result.outputs == {"pw": MASK, "n": 10, "text": "1 of 10", "same": MASK}


def test_tool_argument_errors_name_the_secret(tools: Tools) -> None:
    tools.register(
        "km_pick",
        lambda mode: {"success": True, "data": {"mode": mode}},
        {"type": "object", "properties": {"mode": {"enum": ["fast", "slow"]}}},
    )
    body = (
        "inputs: {pw: {type: string, secret: true}}\nsteps:\n"
        '  - tool: km_pick\n    with: {mode: "{{ inputs.pw }}"}\n'
    )
    error = failure(tools.run(body, {"pw": "s3cr3t-mode"}))
    assert error.message == (
        "argument `mode` of km_pick, given by `{{ inputs.pw }}`, is not valid: the secret "
        'input `pw` is not one of "fast", "slow"'
    )


def test_a_key_looked_up_by_a_secret_is_named(tools: Tools) -> None:
    body = (
        "inputs: {pw: {type: string, secret: true}}\nsteps:\n  - set: {m: {k: 1}}\n"
        '  - set: {x: "{{ vars.m[inputs.pw] }}"}\n'
    )
    error = failure(tools.run(body, {"pw": "kk-secret"}))
    assert error.message == "`vars.m` has no key given by the secret input `pw`"
    assert error.hint == "check the key the template looks up"


def test_a_wait_too_long_names_the_secret_seconds(tools: Tools) -> None:
    body = 'inputs: {s: {type: integer, secret: true}}\nsteps:\n  - wait: "{{ inputs.s }}"\n'
    error = failure(tools.run(body, {"s": 5000}, clock=FakeClock()))
    assert error.message == "the step waits the secret input `s` (limit max_wait: 300 s)"
