"""A secret never reaches an MCP caller: the `km_plugin_ecosystem` operations and the
action tools, on an in-process store host (the same handlers `km-actions serve` runs).

The store has actions/clipboard-tools installed with a real ``share_token`` set by the
user; every answer is checked for that token in any form.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.plugins import lifecycle
from engine.plugins.installer import install
from engine.plugins.store import Store
from engine.server.store_host import StoreHost
from engine.tools.bridge.mock import MockBridge
from engine.tools.catalog import ToolCatalog
from engine.tools.config import Settings

from .conftest import CLIPBOARD_TOOLS, action_yaml, write_plugin

pytestmark = pytest.mark.anyio

TOKEN = "real-token-of-the-user-9f2c"

# Calls share-clipboard, whose test expects a wrong value in the token's call: the
# failure report quotes the arguments of that call.
LEAKY = action_yaml(
    "leaky",
    """
steps:
  - id: share
    action: clipboard-tools/share-clipboard
outputs:
  macro: "{{ steps.share.result.macro }}"
tests:
  - name: shares
    mocks:
      km_engine_control: [{success: true, data: {processed: hello}}]
      km_variable_manager: [{success: true}]
      km_execute_macro: [{success: true}]
    expect:
      calls:
        - {tool: km_engine_control, with: {operation: process_tokens}}
        - {tool: km_variable_manager, with: {value: WRONG}}
""",
    description="Share the clipboard through clipboard-tools.",
)


def _forms(secret: str) -> list[str]:
    """The secret as an answer could hold it: raw, escaped, and its first characters."""
    return [secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], secret[:6]]


def assert_never_shown(answer: Any, secret: str = TOKEN) -> None:
    text = json.dumps(answer, ensure_ascii=False)
    for form in _forms(secret):
        assert form not in text, f"{form!r} is in {text}"


@pytest.fixture
def host(tmp_path: Path) -> Iterator[StoreHost]:
    store = Store.open(tmp_path / "home")
    install(store, CLIPBOARD_TOOLS)
    lifecycle.configure(store, "clipboard-tools", {"share_token": TOKEN})
    opened = StoreHost(
        store, MockBridge({}, ToolCatalog.builtin()), Settings(allow_mcp_overwrite=True)
    )
    yield opened
    opened.close()
    store.close()


# -- finding 2: `create` with `validation_level: strict` ------------------------------


async def test_create_refuses_a_call_to_a_plugin_it_does_not_depend_on(host: StoreHost) -> None:
    args = {"plugin_source": LEAKY, "validation_level": "strict"}
    created = await host.operation("create", args, None)
    assert created["error"]["code"] == "dependency-undeclared"
    assert created["error"]["diagnostics"][0]["message"] == (
        "`clipboard-tools/share-clipboard` belongs to the plugin 'clipboard-tools', which is "
        "not among the plugin's dependencies"
    )
    assert created["error"]["hint"] == (
        "an action created over MCP can call the actions of mcp-created only; call the "
        "tools it needs itself"
    )
    assert created["error"]["location"] == "manifest.yaml:7:13"
    checked = await host.operation("validate", {"plugin_source": LEAKY}, None)
    assert checked["error"]["code"] == "dependency-undeclared"
    assert_never_shown([created, checked])


async def test_tests_of_create_never_run_with_the_users_settings(
    host: StoreHost, tmp_path: Path
) -> None:
    # A plugin the user installed, which depends on clipboard-tools (and which MCP
    # callers may change here): its tests run share-clipboard with the defaults of
    # clipboard-tools, which has no default token, never the token the user set.
    relay = write_plugin(
        tmp_path / "relay",
        "relay",
        {"noop": action_yaml("noop", "steps:\n  - set: {x: 1}\n", description="Nothing.")},
        dependencies={"clipboard-tools": "*"},
    )
    install(host.store, relay)
    await host.reload()
    args = {"plugin_source": LEAKY, "validation_level": "strict", "plugin_identifier": "relay"}
    created = await host.operation("create", args, None)
    assert created["error"]["code"] == "test-failed"
    (report,) = created["data"]["tests"]
    assert report["failures"] == [
        "the action failed: [template-error] `config.share_token` is undefined at "
        "clipboard-tools/actions/share-clipboard.yaml:22:14"
    ]
    assert_never_shown(created)


# -- finding 5: settings errors -------------------------------------------------------


async def test_configure_never_prints_the_settings_object_with_its_secrets(
    host: StoreHost, tmp_path: Path
) -> None:
    folder = write_plugin(
        tmp_path / "one-of",
        "one-of",
        {"noop": action_yaml("noop", "steps:\n  - set: {x: 1}\n", description="Nothing.")},
        configuration_schema=ONE_OF,
    )
    install(host.store, folder)
    await host.reload()
    args = {"plugin_identifier": "one-of", "plugin_config": {"token": TOKEN, "mode": "a"}}
    first = await host.operation("configure", args, None)
    assert first["success"] is True
    both = {"plugin_identifier": "one-of", "plugin_config": {"mode": "b", "user": "ann"}}
    failed = await _failure(host, "configure", both)
    assert failed["code"] == "invalid-config"
    assert failed["message"] == (
        "the settings of 'one-of' are not valid: the settings object does not fit any of the "
        "forms it may take"
    )
    assert_never_shown(failed)


#: A top-level `oneOf`: its error quotes the whole settings object, secrets included.
ONE_OF: dict[str, Any] = {
    "type": "object",
    "properties": {
        "token": {"type": "string", "secret": True},
        "mode": {"enum": ["a", "b"]},
        "user": {"type": "string"},
    },
    "oneOf": [
        {"properties": {"mode": {"const": "a"}}, "required": ["token"]},
        {"properties": {"mode": {"const": "b"}}, "not": {"required": ["token"]}},
    ],
}


async def _failure(host: StoreHost, operation: str, args: dict[str, Any]) -> dict[str, Any]:
    """The error of an operation, as the MCP server answers it (an EngineError raised
    by a handler becomes the envelope's error)."""
    from engine.diagnostics.errors import EngineError
    from engine.server import ecosystem

    try:
        answer = await host.operation(operation, args, None)
    except EngineError as error:
        answer = ecosystem.failure(operation, error)
    assert answer["success"] is False, answer
    return dict(answer["error"])


# -- findings 9 and 14: action tools with secret inputs ---------------------------------


@pytest.fixture
async def pins(host: StoreHost, tmp_path: Path) -> StoreHost:
    """The host with the plugin `pins`: its action `check` has a secret input `pin`."""
    install(host.store, write_plugin(tmp_path / "pins", "pins", {"check": PIN_CHECK}))
    await host.reload()
    return host


async def _check(host: StoreHost, inputs: dict[str, Any]) -> dict[str, Any]:
    """Call the action tool of pins/check, as an MCP client does."""
    return await host.execute("pins/check", inputs, timeout=None, profile=None, progress=None)


async def test_an_action_tool_never_echoes_a_secret_input_of_the_wrong_type(
    pins: StoreHost,
) -> None:
    answer = await _check(pins, {"pin": 'pa"ss\\word-77', "note": "x"})
    assert answer["error"]["message"] == (
        "input `pin` of pins/check must be a whole number, not text (the secret input `pin`)"
    )
    assert_never_shown(answer, 'pa"ss\\word-77')


async def test_a_short_secret_input_leaves_other_text_alone(pins: StoreHost) -> None:
    answer = await _check(pins, {"pin": 1, "note": "a" * 12})
    assert answer["error"]["message"] == (
        "input `note` of pins/check must have at most 10 characters (has 12)"
    )


PIN_CHECK = action_yaml(
    "check",
    """
inputs:
  pin: {type: integer, secret: true, description: The PIN.}
  note: {type: string, max_length: 10, description: A note.}
steps:
  - set: {ok: true}
outputs:
  ok: "{{ vars.ok }}"
""",
    description="Check a PIN.",
)
