"""Uninstall, enable/disable, list, describe, configure and verify."""

from __future__ import annotations

import pytest

from engine.diagnostics.errors import ConfigError, EngineError, PluginError, SettingsError
from engine.plugins.installer import StoreEvent, install
from engine.plugins.inventory import describe, list_plugins
from engine.plugins.lifecycle import (
    configure,
    current_settings,
    disable,
    enable,
    uninstall,
    verify,
)
from engine.plugins.store import Store
from tests.plugins.store.conftest import CLIPBOARD_TOOLS, MakePlugin, call

LIB_X = {"x": {"steps": [{"set": {"x": 1}}], "outputs": {"x": "{{ vars.x }}"}}}
SCHEMA = {
    "type": "object",
    "properties": {
        "greeting": {"type": "string", "default": "Hello", "description": "What to say"},
        "count": {"type": "integer", "minimum": 1, "maximum": 10},
        "token": {"type": "string", "secret": True, "minLength": 4},
    },
    "required": ["token"],
}


@pytest.fixture
def chain(store: Store, make_plugin: MakePlugin) -> Store:
    """lib ← mid ← top, and alone (depending on nothing)."""
    install(store, make_plugin("lib", actions=LIB_X))
    install(store, make_plugin("mid", dependencies={"lib": "*"},
                               actions={"m": {"steps": [call("lib/x")]}}))  # fmt: skip
    install(store, make_plugin("top", dependencies={"mid": "*"}))
    install(store, make_plugin("alone"))
    return store


def test_uninstall_removes_everything(store: Store) -> None:
    install(store, CLIPBOARD_TOOLS)
    configure(store, "clipboard-tools", {"share_token": "tok-12345678"})
    plugin = store.require("clipboard-tools")
    events: list[StoreEvent] = []
    assert uninstall(store, "clipboard-tools", events=events.append).removed == ("clipboard-tools",)
    assert store.plugins() == []
    assert not (store.root / plugin.folder).exists()
    assert not (store.plugins_dir / "clipboard-tools").exists()
    assert list(store.cache_dir.iterdir()) == []
    assert list(store.secrets_dir.iterdir()) == []
    assert store.conn.execute("SELECT COUNT(*) FROM files").fetchone() == (0,)
    assert events == [StoreEvent("uninstalled", "clipboard-tools", "1.0.0", origin="file")]


def test_uninstall_refuses_while_others_depend(chain: Store) -> None:
    with pytest.raises(PluginError) as caught:
        uninstall(chain, "lib")
    assert caught.value.code == "plugin-has-dependents"
    assert caught.value.message == "cannot uninstall 'lib': 'top' and 'mid' depend on it"
    assert caught.value.hint == "uninstall those first, or remove them too (--with-dependents)"
    assert len(chain.plugins()) == 4


def test_uninstall_with_dependents_removes_them_first(chain: Store) -> None:
    events: list[StoreEvent] = []
    result = uninstall(chain, "lib", remove_dependents=True, events=events.append)
    assert result.removed == ("top", "mid", "lib")
    assert [e.plugin for e in events] == ["top", "mid", "lib"]
    assert [p.identifier for p in chain.plugins()] == ["alone"]


def test_uninstall_an_unknown_plugin(store: Store, make_plugin: MakePlugin) -> None:
    install(store, make_plugin("demo"))
    with pytest.raises(EngineError) as caught:
        uninstall(store, "dmeo")
    assert (caught.value.code, caught.value.hint) == ("not-found", "did you mean 'demo'?")


def test_enable_and_disable(store: Store, make_plugin: MakePlugin) -> None:
    install(store, make_plugin("demo"))
    heard: list[StoreEvent] = []
    off = [disable(store, "demo", events=heard.append).changed for _ in range(2)]
    assert off == [True, False]
    assert not store.require("demo").enabled
    on = [enable(store, "demo", events=heard.append).changed for _ in range(2)]
    assert on == [True, False]
    assert [(e.name, e.plugin, e.data) for e in heard] == [
        ("disabled", "demo", {"version": "1.0.0", "previous_version": None}),
        ("enabled", "demo", {"version": "1.0.0", "previous_version": None}),
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({}, ["alone", "clipboard-tools", "lib", "mid", "top"], id="all"),
        pytest.param({"plugin_type": "transformation"}, ["clipboard-tools"], id="type"),
        pytest.param({"enabled": False}, ["alone"], id="disabled"),
        pytest.param({"enabled": True, "search": "mid"}, ["mid"], id="enabled-and-search"),
        pytest.param({"search": "SIGN-clipboard"}, ["clipboard-tools"], id="action-name"),
        pytest.param({"search": "notification sign"}, ["clipboard-tools"], id="every-word"),
        pytest.param({"search": "notification zebra"}, [], id="a-word-missing"),
    ],
)
def test_list_filters(chain: Store, filters: dict[str, object], expected: list[str]) -> None:
    install(chain, CLIPBOARD_TOOLS)
    disable(chain, "alone")
    found = list_plugins(chain, **filters)  # type: ignore[arg-type]
    assert [p.identifier for p in found] == expected


def test_list_refuses_an_unknown_type(store: Store) -> None:
    with pytest.raises(PluginError) as caught:
        list_plugins(store, plugin_type="utilty")
    assert caught.value.hint == "did you mean 'utility'?"


def test_describe(chain: Store) -> None:
    install(chain, CLIPBOARD_TOOLS)
    configure(chain, "clipboard-tools", {"share_token": "tok-12345678", "preview_length": 20})
    info = describe(chain, "clipboard-tools")
    assert info["version"] == "1.0.0"
    assert info["source"]["kind"] == "folder"
    preview = next(a for a in info["actions"] if a["name"] == "preview-clipboard")
    assert preview["inputs"] == {
        "title": {
            "type": "string",
            "description": "The notification's title.",
            "default": "Clipboard",
            "required": False,
        }
    }
    assert preview["outputs"] == ["preview"]
    granted = {g["entry"]: g["tools"] for g in info["permissions"]["granted"]}
    assert list(granted) == [
        "km_engine_control:process_tokens",
        "km_execute_macro",
        "km_notifications",
        "km_variable_manager:set",
    ]
    assert granted["km_variable_manager:set"] == [
        {"name": "km_variable_manager", "operation": "set", "class": "write"}
    ]
    assert granted["km_engine_control:process_tokens"] == [
        {"name": "km_engine_control", "operation": "process_tokens", "class": "read-only"}
    ]
    assert info["settings"]["values"] == {
        "result_variable": "Clipboard Tools Result",
        "signature": "-- sent from my Mac",
        "preview_length": 20,
        "share_macro": "Share Clipboard",
        "share_token": "••••••",
    }
    assert info["settings"]["missing"] == []
    assert info["intact"] is True
    assert [f["status"] for f in info["files"]] == ["ok"] * 5
    mid = describe(chain, "mid")
    assert mid["dependencies"] == {"lib": {"range": "*", "installed": "1.0.0", "satisfied": True}}
    assert mid["dependents"] == ["top"]


def test_configure_checks_and_applies_defaults(store: Store, make_plugin: MakePlugin) -> None:
    install(store, make_plugin("demo", configuration_schema=SCHEMA))
    events: list[StoreEvent] = []
    result = configure(store, "demo", {"count": 3}, events=events.append)
    assert (dict(result.settings), result.missing, result.changed) == (
        {"greeting": "Hello", "count": 3},
        ("token",),
        True,
    )
    assert events == [StoreEvent("configured", "demo", "1.0.0")]
    configure(store, "demo", {"token": "abcd"})
    assert current_settings(store, "demo") == {"greeting": "Hello", "count": 3, "token": "abcd"}
    result = configure(store, "demo", unset=["count"])
    assert dict(result.settings) == {"greeting": "Hello", "token": "••••••"}
    assert configure(store, "demo", {"token": "abcd"}).changed is False


def test_install_sets_the_settings_given_in_the_same_commit(
    store: Store, make_plugin: MakePlugin
) -> None:
    """Settings given to `install` are checked before anything is written: refused, the
    plugin is not installed; accepted, they are set on those the old version had."""
    with pytest.raises(SettingsError) as caught:
        install(store, make_plugin("demo", configuration_schema=SCHEMA), settings={"count": 0})
    assert (caught.value.message, caught.value.first.json_path) == (
        "the settings of 'demo' are not valid: `count`: 0 is below the minimum of 1; nothing "
        "was installed",
        "$.count",
    )
    assert store.plugins() == [] and store.settings("demo") == {}
    first = install(store, make_plugin("demo", configuration_schema=SCHEMA), settings={"count": 3})
    assert first.needs_configuration == {"demo": ("token",)}
    upgraded = install(
        store, make_plugin("demo", "1.1.0", configuration_schema=SCHEMA), settings={"token": "abcd"}
    )
    assert upgraded.needs_configuration == {}
    assert current_settings(store, "demo") == {"greeting": "Hello", "count": 3, "token": "abcd"}
    assert store.secrets("demo") == {"token": "abcd"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param({"count": 0}, "`count`: 0 is below the minimum of 1", id="minimum"),
        pytest.param({"count": "3"}, '`count`: "3" is not a whole number', id="type"),
        pytest.param(
            {"token": "abc"},
            "`token`: the secret value is shorter than 4 characters",
            id="secret-named",
        ),
    ],
)
def test_configure_refuses_what_does_not_fit(
    store: Store, make_plugin: MakePlugin, values: dict[str, object], message: str
) -> None:
    install(store, make_plugin("demo", configuration_schema=SCHEMA))
    with pytest.raises(ConfigError) as caught:
        configure(store, "demo", values)
    assert caught.value.code == "invalid-config"
    assert [d.message for d in caught.value.diagnostics] == [message]
    assert store.settings("demo") == {} and store.secrets("demo") == {}


@pytest.mark.parametrize(
    ("keyword", "message"),
    [
        pytest.param(
            {"oneOf": [{"required": ["token"]}, {"required": ["greeting"]}]},
            "the settings object fits more than one of the forms it may take: one with "
            "`token`, one with `greeting`",
            id="one-of",
        ),
        pytest.param(
            {"not": {"required": ["token"]}},
            "the settings object has a form it may not take: one with `token`",
            id="not",
        ),
        pytest.param(
            {"properties": {**SCHEMA["properties"], "token": {"secret": True, "enum": ["x"]}}},
            '`token`: the secret value is not one of "x"',
            id="enum",
        ),
        pytest.param(
            {"properties": {**SCHEMA["properties"], "token": {"secret": True, "not": {}}}},
            "`token`: the secret value has a form it may not take",
            id="secret-not",
        ),
    ],
)
def test_settings_errors_never_quote_a_secret(
    store: Store, make_plugin: MakePlugin, keyword: dict[str, object], message: str
) -> None:
    install(store, make_plugin("demo", configuration_schema={**SCHEMA, **keyword}))
    with pytest.raises(ConfigError) as caught:
        configure(store, "demo", {"token": "s3cr3t-value", "greeting": "Hi"})
    assert [d.message for d in caught.value.diagnostics] == [message]
    assert "s3cr3t" not in repr(caught.value.to_dict())


def test_configure_refuses_unknown_settings(store: Store, make_plugin: MakePlugin) -> None:
    install(store, make_plugin("demo", configuration_schema=SCHEMA))
    install(store, make_plugin("plain"))
    with pytest.raises(ConfigError) as caught:
        configure(store, "demo", {"greting": "Hi"})
    assert (caught.value.code, caught.value.hint) == ("unknown-setting", "did you mean 'greeting'?")
    with pytest.raises(ConfigError) as caught:
        configure(store, "plain", {"x": 1})
    assert caught.value.message == "'plain' has no settings"


def test_secrets_go_to_the_secrets_file_only(store: Store, make_plugin: MakePlugin) -> None:
    install(store, make_plugin("demo", configuration_schema=SCHEMA))
    configure(store, "demo", {"token": "s3cr3t-value", "greeting": "Hi"})
    assert store.settings("demo") == {"greeting": "Hi"}
    path = store.secrets_dir / "demo.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"s3cr3t-value" in path.read_bytes()
    for name in ("state.db", "state.db-wal"):
        database = store.root / name
        if database.exists():
            assert b"s3cr3t-value" not in database.read_bytes()


def test_verify_names_each_changed_file(store: Store, make_plugin: MakePlugin) -> None:
    install(store, make_plugin("demo", actions={"a": LIB_X["x"], "b": LIB_X["x"]}))
    install(store, make_plugin("other"))
    folder = store.folder(store.require("demo"))
    edited = folder / "actions" / "a.yaml"
    edited.chmod(0o644)
    edited.write_text(edited.read_text() + "# edited\n")
    (folder / "actions" / "b.yaml").unlink()
    (folder / "extra.txt").write_text("new")
    reports = {r.identifier: r for r in verify(store)}
    assert [str(p) for p in reports["demo"].problems] == [
        "actions/a.yaml: changed since it was installed",
        "actions/b.yaml: missing",
        "extra.txt: added after the install (not in the lock)",
    ]
    assert reports["other"].ok
    assert [r.ok for r in verify(store, "other")] == [True]
    assert describe(store, "demo")["intact"] is False
