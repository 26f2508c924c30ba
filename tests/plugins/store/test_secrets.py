"""Secret settings never appear in any output (runs, errors, views, CLI, database)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.diagnostics.errors import ConfigError
from engine.plugins.installer import install
from engine.plugins.inventory import describe, list_plugins
from engine.plugins.lifecycle import configure
from engine.plugins.serving import ServedPlugins
from engine.plugins.store import Store
from engine.simulator.dryrun import DryRunBridge
from engine.tools.bridge.mock import MockBridge
from engine.tools.catalog import ToolCatalog
from tests.plugins.store.conftest import MakePlugin

SECRET = "zq-SECRET-7731"
SCHEMA = {
    "type": "object",
    "properties": {
        "token": {"type": "string", "secret": True, "minLength": 8, "default": "zq-DEFAULT-001"},
        "user": {"type": "string", "default": "ann"},
    },
}
LEAK = {
    "steps": [
        {"set": {"copy": "token={{ config.token }}"}},
        {
            "tool": "km_variable_manager",
            "with": {
                "operation": "set",
                "name": "Token",
                "scope": "password",
                "value": "{{ config.token }}",
            },
        },
    ],
    "outputs": {"echo": "{{ vars.copy }}", "user": "{{ config.user }}"},
}
FAIL = {"steps": [{"fail": "the server refused {{ config.token }}"}]}


@pytest.fixture
def leaky(store: Store, make_plugin: MakePlugin) -> Store:
    root = make_plugin(
        "leaky",
        permissions=["km_variable_manager"],
        configuration_schema=SCHEMA,
        actions={"leak": LEAK, "fail": FAIL},
    )
    install(store, root)
    configure(store, "leaky", {"token": SECRET})
    return store


def _text(value: object) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def test_run_results_and_traces_mask_the_secret(leaky: Store) -> None:
    runtime = ServedPlugins.load(leaky)
    mocks = {"km_variable_manager": [{"success": True, "data": {"echo": SECRET}}]}
    bridge = MockBridge(mocks, ToolCatalog.builtin())
    result = asyncio.run(runtime.run("leaky/leak", bridge=bridge, trace=True))
    assert result.ok
    assert result.outputs == {"echo": "token=••••••", "user": "ann"}
    assert SECRET not in _text(result.to_dict())
    assert bridge.calls[0]["with"]["value"] == SECRET  # the tool itself gets the real value
    failed = asyncio.run(runtime.run("leaky/fail", bridge=bridge, trace=True))
    assert failed.error is not None
    assert failed.error.message == "the server refused ••••••"
    assert SECRET not in _text(failed.to_dict())
    dry = asyncio.run(runtime.run("leaky/leak", bridge=DryRunBridge(), dry_run=True, trace=True))
    assert SECRET not in _text(dry.to_dict())
    assert SECRET not in _text(runtime.history()) + _text(runtime.stats())
    runtime.close()


def test_store_views_mask_the_secret(leaky: Store) -> None:
    assert SECRET not in _text(describe(leaky, "leaky"))
    assert "zq-DEFAULT-001" not in _text(describe(leaky, "leaky"))
    assert SECRET not in _text([p.to_dict() for p in list_plugins(leaky)])
    result = configure(leaky, "leaky", {"user": "bob"})
    assert result.settings["token"] == "••••••"
    with pytest.raises(ConfigError) as caught:
        configure(leaky, "leaky", {"token": "zq-short"[:6]})
    assert "zq-sho" not in _text(caught.value.to_dict())


def test_the_database_never_holds_the_secret(leaky: Store) -> None:
    runtime = ServedPlugins.load(leaky)
    bridge = MockBridge({"km_variable_manager": [{"success": True}]}, ToolCatalog.builtin())
    asyncio.run(runtime.run("leaky/leak", bridge=bridge))
    runtime.close()
    leaky.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in leaky.root.rglob("*"):
        if path.is_file() and path.parent != leaky.secrets_dir:
            assert SECRET.encode() not in path.read_bytes(), path


def test_the_cli_never_prints_the_secret(
    leaky: Store, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    commands = [
        ["describe", "leaky"],
        ["describe", "leaky", "--json"],
        ["list", "--json"],
        ["configure", "leaky"],
        ["configure", "leaky", "--json"],
        ["configure", "leaky", "user=carl"],
        ["configure", "leaky", "token=zq-QQ"],
        ["run", "leaky/leak", "--json", "--trace", "--dry-run"],
        ["run", "leaky/fail", "--trace", "--fresh"],
        ["run", "leaky/fail", "--json", "--fresh"],
        ["test", "leaky/leak"],
        ["verify", "--json"],
    ]
    for argv in commands:
        main(argv)
        out, err = capsys.readouterr()
        assert SECRET not in out + err, argv
        assert "zq-QQ" not in out + err, argv


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=JSON)
def test_any_secret_value_is_accepted_or_refused_without_being_shown(
    leaky: Store, value: object
) -> None:
    try:
        result = configure(leaky, "leaky", {"token": value})
    except ConfigError as error:
        words = [error.message, str(error.hint)] + [d.message for d in error.diagnostics]
        shown = repr(value)
        if value is not None and not isinstance(value, bool) and len(shown) >= 4:
            assert all(shown not in text for text in words), words
        return
    assert result.settings["token"] == "••••••"
