"""The bundled plugin (actions/clipboard-tools): valid, tested, and runnable installed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from engine.plugins.installer import install
from engine.plugins.lifecycle import configure
from engine.plugins.local import LocalPlugin
from engine.plugins.serving import ServedPlugins
from engine.plugins.store import Store
from engine.simulator import Simulator
from engine.simulator._state import default_seed
from tests.plugins.store.conftest import CLIPBOARD_TOOLS

PLUGIN = LocalPlugin.read(CLIPBOARD_TOOLS)


def _copied(text: str, **kwargs: Path) -> Simulator:
    """A simulator whose Mac has ``text`` on the clipboard (no tool of the current server
    sets the clipboard: the user copied it)."""
    seed = default_seed()
    seed["clipboards"] = [text]
    return Simulator(seed=seed, **kwargs)


@pytest.mark.parametrize("name", PLUGIN.names())
def test_its_tests_pass(name: str) -> None:
    outcomes = asyncio.run(PLUGIN.run_tests(name))
    assert outcomes, f"{name} has no tests"
    assert [o.failures for o in outcomes] == [[] for _ in outcomes]


def test_one_action_calls_another() -> None:
    assert PLUGIN.pipeline("sign-clipboard").calls == ("clean-clipboard",)


def test_it_runs_installed_on_the_simulator(store: Store) -> None:
    install(store, CLIPBOARD_TOOLS)
    configure(store, "clipboard-tools", {"signature": "-- Ann", "share_token": "tok-12345678"})
    runtime = ServedPlugins.load(store)
    simulator = _copied("  hello   there ")

    async def prepare() -> None:
        # The real server's km_create_macro needs the group to create the macro in.
        macro = {"name": "Share Clipboard", "template": "custom", "group_name": "Examples"}
        assert (await simulator.call_tool("km_create_macro", macro))["success"]

    asyncio.run(prepare())
    signed = asyncio.run(runtime.run("clipboard-tools/sign-clipboard", bridge=simulator))
    assert signed.outputs == {"text": "hello there\n-- Ann"}, signed.error
    shared = asyncio.run(runtime.run("clipboard-tools/share-clipboard", bridge=simulator))
    assert shared.ok, shared.error
    # The clipboard is as copied (sign-clipboard's text went to a variable), read through
    # %SystemClipboard%, whose text the server gives back trimmed: "hello   there".
    assert shared.outputs == {"macro": "Share Clipboard", "shared": 13}
    runtime.close()


def test_the_share_token_stays_in_keyboard_maestros_memory(store: Store, tmp_path: Path) -> None:
    # Keyboard Maestro decides a variable's kind by its name: only a name starting or ending
    # in "Password" (or "PW") keeps the token out of its saved variables and its lists.
    install(store, CLIPBOARD_TOOLS)
    configure(store, "clipboard-tools", {"share_token": "tok-12345678"})
    runtime = ServedPlugins.load(store)
    state = tmp_path / "simulator.json"
    simulator = _copied("hello", state_path=state)

    async def share() -> None:
        macro = {"name": "Share Clipboard", "template": "custom", "group_name": "Examples"}
        assert (await simulator.call_tool("km_create_macro", macro))["success"]
        shared = await runtime.run("clipboard-tools/share-clipboard", bridge=simulator)
        assert shared.ok, shared.error

    asyncio.run(share())
    model = simulator.snapshot()["keyboard_maestro"]
    assert model["password_variables"] == {"ClipboardToolsTokenPassword": "tok-12345678"}
    assert "tok-12345678" not in json.dumps(model["variables"])
    assert "tok-12345678" not in state.read_text("utf-8")
    runtime.close()
