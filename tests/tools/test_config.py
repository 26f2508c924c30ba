"""The configuration file (engine.tools.config), the data folder (engine.paths) and the limits
it overrides (engine.lang.limits): every setting, every refusal, and writing values back."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import platformdirs
import pytest

from engine.diagnostics.errors import ConfigError
from engine.lang.limits import UNLIMITED, Limits, Profile
from engine.paths import ENV_HOME, home, simulator_state_path
from engine.tools.catalog import CatalogTools
from engine.tools.config import (
    DEFAULT_CEILING,
    ENV_CONFIG,
    Settings,
    UpstreamConfig,
    config_path,
    load_settings,
    set_value,
)

EVERY_SETTING_HINT = "see docs/mcp.md for every setting"


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``KM_ACTIONS_HOME`` at a temporary folder, and no ``KM_ACTIONS_CONFIG``."""
    folder = tmp_path / "home"
    monkeypatch.setenv(ENV_HOME, str(folder))
    monkeypatch.delenv(ENV_CONFIG, raising=False)
    return folder


# -- Settings.from_data: what is accepted --------------------------------------------------


def test_an_empty_configuration_means_the_defaults() -> None:
    settings = Settings.from_data({})
    assert settings == Settings()
    assert (
        settings.path,
        settings.upstream,
        settings.default_profile,
        settings.ceiling,
        settings.allow_mcp_overwrite,
        settings.action_tools,
        settings.disabled_action_tools,
        settings.limit_overrides,
        settings.automatic_updates,
        settings.update_interval,
    ) == (
        None,
        None,
        Profile.STANDARD,
        ("read-only", "write"),
        False,
        True,
        frozenset(),
        {},
        True,
        3600.0,
    )
    assert DEFAULT_CEILING == ("read-only", "write")


def test_a_ceiling_may_name_operations() -> None:
    """`tool:operation` entries: checked against the shipped catalog's operations; a tool
    it does not have is left to the upstream server, which may offer it."""
    ceiling = ["read-only", "km_variable_manager:set", "km_macro_editor", "km_newer:thing"]
    settings = Settings.from_data({"security": {"ceiling": ceiling}})
    assert settings.ceiling == tuple(ceiling)


def test_every_setting_is_read() -> None:
    settings = Settings.from_data(
        {
            "upstream": {"url": "https://km.example/mcp", "env": {"TOKEN": "t"},
                         "cwd": "/tmp", "timeout": 5},
            "security": {"default_profile": "strict", "ceiling": ["read-only"],
                         "allow_mcp_overwrite": True,
                         "allowed_hosts": ["Plugins.Example.org.", "10.0.0.5"],
                         "install_paths": ["/srv/km-plugins/", "~/plugins/../km",
                                           "/srv/km-plugins"]},
            "tools": {"per_action": False, "disabled": ["demo/hello", "demo/bye"]},
            "limits": {"strict": {"max_steps": 50, "run_timeout": 1.5}},
            "updates": {"automatic": False, "interval": 600},
        },
        path=Path("k.toml"),
    )  # fmt: skip
    assert settings == Settings(
        path=Path("k.toml"),
        upstream=UpstreamConfig(
            url="https://km.example/mcp", env={"TOKEN": "t"}, cwd="/tmp", timeout=5.0
        ),
        default_profile=Profile.STRICT,
        ceiling=("read-only",),
        allow_mcp_overwrite=True,
        allowed_hosts=frozenset({"plugins.example.org", "10.0.0.5"}),
        install_paths=(Path("/srv/km-plugins"), Path.home() / "km"),
        action_tools=False,
        disabled_action_tools=frozenset({"demo/hello", "demo/bye"}),
        limit_overrides={"strict": {"max_steps": 50, "run_timeout": 1.5}},
        automatic_updates=False,
        update_interval=600.0,
    )
    assert isinstance(settings.upstream, UpstreamConfig)
    assert isinstance(settings.upstream.timeout, float)


@pytest.mark.parametrize(
    ("upstream", "expected"),
    [
        pytest.param({"command": "km-mcp"}, UpstreamConfig(command=("km-mcp",)), id="one-word"),
        pytest.param(
            {"command": ["uvx", "km-mcp", "--stdio"]},
            UpstreamConfig(command=("uvx", "km-mcp", "--stdio")),
            id="list",
        ),
        pytest.param(
            {"url": "http://127.0.0.1:8000/mcp", "timeout": 2.5},
            UpstreamConfig(url="http://127.0.0.1:8000/mcp", timeout=2.5),
            id="url",
        ),
        pytest.param(
            {"command": "km-mcp", "connect_timeout": 90},
            UpstreamConfig(command=("km-mcp",), connect_timeout=90.0),
            id="connect-timeout",
        ),
        pytest.param({}, None, id="empty-table"),
    ],
)
def test_upstream(upstream: dict[str, Any], expected: UpstreamConfig | None) -> None:
    assert Settings.from_data({"upstream": upstream}).upstream == expected


@pytest.mark.parametrize(
    ("upstream", "described"),
    [
        pytest.param(UpstreamConfig(url="https://km.example/mcp"), "https://km.example/mcp",
                     id="url"),
        pytest.param(UpstreamConfig(command=("uvx", "km-mcp")), "uvx km-mcp", id="command"),
        pytest.param(UpstreamConfig(command=("/Users/ann/My Tools/km-mcp", "--stdio")),
                     "'/Users/ann/My Tools/km-mcp' --stdio", id="command-as-a-shell-reads-it"),
        pytest.param(UpstreamConfig(url="https://ann:secret@km.example:8443/mcp?x=1"),
                     "https://km.example:8443/mcp?x=1", id="url-without-password"),
        pytest.param(UpstreamConfig(), "", id="neither"),
    ],
)  # fmt: skip
def test_upstream_describe(upstream: UpstreamConfig, described: str) -> None:
    assert upstream.describe() == described


# -- Settings.from_data: every refusal -----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message", "hint"),
    [
        pytest.param({"securty": {}}, "unknown section [securty]", "did you mean 'security'?",
                     id="section-misspelt"),
        pytest.param({"logging": {}}, "unknown section [logging]",
                     "expected one of: catalog, limits, security, tools, updates, upstream",
                     id="section-unknown"),
        pytest.param({"security": 1}, "[security] must be a table", EVERY_SETTING_HINT,
                     id="section-not-a-table"),
        pytest.param({"catalog": {"tools": "2024"}},
                     "catalog.tools must be one of 'current', '2025', not '2024'",
                     'write "current" (the current Keyboard Maestro MCP server\'s tools) or '
                     '"2025" (and those only its 2025 version had)', id="catalog-tools"),
        pytest.param({"security": {"celing": []}}, "unknown key security.celing",
                     "did you mean 'ceiling'?", id="key-misspelt"),
        pytest.param({"tools": {"colour": 1}}, "unknown key tools.colour",
                     "expected one of: disabled, per_action", id="key-unknown"),
        pytest.param({"upstream": {"command": "a", "url": "https://x"}},
                     "[upstream] needs exactly one of `command` or `url`", EVERY_SETTING_HINT,
                     id="upstream-both"),
        pytest.param({"upstream": {"timeout": 3}},
                     "[upstream] needs exactly one of `command` or `url`", EVERY_SETTING_HINT,
                     id="upstream-neither"),
        pytest.param({"upstream": {"command": []}}, "upstream.command is empty",
                     EVERY_SETTING_HINT, id="command-empty"),
        pytest.param({"upstream": {"command": ["a", 1]}},
                     "upstream.command must be a list of text values", EVERY_SETTING_HINT,
                     id="command-not-text"),
        pytest.param({"upstream": {"url": "ftp://x"}},
                     "upstream.url must be an http:// or https:// URL", EVERY_SETTING_HINT,
                     id="url-scheme"),
        pytest.param({"upstream": {"url": 5}},
                     "upstream.url must be an http:// or https:// URL", EVERY_SETTING_HINT,
                     id="url-not-text"),
        pytest.param({"upstream": {"url": "https://x", "env": {"A": 1}}},
                     "upstream.env must be a table of text values", EVERY_SETTING_HINT,
                     id="env-not-text"),
        pytest.param({"upstream": {"url": "https://x", "env": ["A=1"]}},
                     "upstream.env must be a table of text values", EVERY_SETTING_HINT,
                     id="env-not-a-table"),
        pytest.param({"upstream": {"url": "https://x", "timeout": 0}},
                     "upstream.timeout must be a number of seconds", EVERY_SETTING_HINT,
                     id="timeout-zero"),
        pytest.param({"upstream": {"url": "https://x", "timeout": True}},
                     "upstream.timeout must be a number of seconds", EVERY_SETTING_HINT,
                     id="timeout-bool"),
        pytest.param({"upstream": {"url": "https://x", "timeout": "30"}},
                     "upstream.timeout must be a number of seconds", EVERY_SETTING_HINT,
                     id="timeout-text"),
        pytest.param({"upstream": {"url": "https://x", "timeout": float("inf")}},
                     "upstream.timeout must be a number of seconds", EVERY_SETTING_HINT,
                     id="timeout-infinite"),
        pytest.param({"upstream": {"url": "https://x", "connect_timeout": -1}},
                     "upstream.connect_timeout must be a number of seconds", EVERY_SETTING_HINT,
                     id="connect-timeout-negative"),
        pytest.param({"upstream": {"url": "https://x", "connect_timeout": float("nan")}},
                     "upstream.connect_timeout must be a number of seconds", EVERY_SETTING_HINT,
                     id="connect-timeout-nan"),
        pytest.param({"security": {"default_profile": "strictt"}}, "unknown profile 'strictt'",
                     "did you mean 'strict'?", id="profile-misspelt"),
        pytest.param({"security": {"default_profile": 3}}, "unknown profile 3",
                     "expected one of: none, sandbox, standard, strict", id="profile-number"),
        pytest.param({"security": {"ceiling": "read-only"}},
                     "security.ceiling must be a list of text values", EVERY_SETTING_HINT,
                     id="ceiling-not-a-list"),
        pytest.param({"security": {"ceiling": ["read-onyl"]}},
                     "security.ceiling: 'read-onyl' is neither a tool group nor a km_* tool",
                     "did you mean 'read-only'?", id="ceiling-misspelt"),
        pytest.param({"security": {"ceiling": ["km_variable_manager:gte"]}},
                     "security.ceiling: `km_variable_manager:gte` is not an operation of "
                     "km_variable_manager", "did you mean 'km_variable_manager:get'?",
                     id="ceiling-operation-misspelt"),
        pytest.param({"security": {"ceiling": ["km_list_macros:list"]}},
                     "security.ceiling: `km_list_macros:list` names an operation, but "
                     "km_list_macros has no operations to choose from",
                     "grant `km_list_macros` itself", id="ceiling-operation-of-a-single-tool"),
        pytest.param({"security": {"ceiling": ["variables:get"]}},
                     "security.ceiling: 'variables:get' is neither a tool group nor a km_* tool",
                     "did you mean 'variables'?", id="ceiling-operation-of-a-group"),
        pytest.param({"security": {"allow_mcp_overwrite": "yes"}},
                     "security.allow_mcp_overwrite must be true or false", EVERY_SETTING_HINT,
                     id="overwrite-not-bool"),
        pytest.param({"security": {"allowed_hosts": "plugins.example.org"}},
                     "security.allowed_hosts must be a list of text values", EVERY_SETTING_HINT,
                     id="hosts-not-a-list"),
        pytest.param({"security": {"allowed_hosts": ["https://plugins.example.org/x"]}},
                     "security.allowed_hosts: 'https://plugins.example.org/x' is not a host name",
                     'write the host alone, without scheme, port or path: "plugins.example.org"',
                     id="hosts-url"),
        pytest.param({"security": {"install_paths": "/srv/km-plugins"}},
                     "security.install_paths must be a list of text values", EVERY_SETTING_HINT,
                     id="install-paths-not-a-list"),
        pytest.param({"security": {"install_paths": ["km-plugins"]}},
                     "security.install_paths: 'km-plugins' is not an absolute folder path",
                     'write whole paths, e.g. "~/km-plugins" or "/Users/ann/km-plugins"',
                     id="install-paths-relative"),
        pytest.param({"security": {"install_paths": ["file:///srv/km"]}},
                     "security.install_paths: 'file:///srv/km' is not an absolute folder path",
                     'write whole paths, e.g. "~/km-plugins" or "/Users/ann/km-plugins"',
                     id="install-paths-url"),
        pytest.param({"tools": {"per_action": 1}}, "tools.per_action must be true or false",
                     EVERY_SETTING_HINT, id="per-action-not-bool"),
        pytest.param({"tools": {"disabled": [1]}}, "tools.disabled must be a list of text values",
                     EVERY_SETTING_HINT, id="disabled-not-text"),
        pytest.param({"limits": {"strictt": {}}}, "unknown key limits.strictt",
                     "did you mean 'strict'?", id="limits-profile"),
        pytest.param({"limits": {"strict": 5}}, "[limits.strict] must be a table",
                     EVERY_SETTING_HINT, id="limits-not-a-table"),
        pytest.param({"limits": {"strict": {"max_stepz": 5}}}, "unknown limit max_stepz",
                     "did you mean 'max_steps'?", id="limit-misspelt"),
        pytest.param({"limits": {"strict": {"allowed_classes": 5}}},
                     "unknown limit allowed_classes", None, id="limit-not-a-number-limit"),
        pytest.param({"limits": {"strict": {"max_steps": 0}}},
                     "limits.strict.max_steps must be a positive number", EVERY_SETTING_HINT,
                     id="limit-zero"),
        pytest.param({"limits": {"strict": {"max_steps": True}}},
                     "limits.strict.max_steps must be a positive number", EVERY_SETTING_HINT,
                     id="limit-bool"),
        pytest.param({"limits": {"strict": {"max_wait": "5"}}},
                     "limits.strict.max_wait must be a positive number", EVERY_SETTING_HINT,
                     id="limit-text"),
        pytest.param({"updates": {"automatic": "no"}}, "updates.automatic must be true or false",
                     EVERY_SETTING_HINT, id="updates-not-bool"),
        pytest.param({"updates": {"interval": 0}}, "updates.interval must be a number of seconds",
                     EVERY_SETTING_HINT, id="update-interval-zero"),
        pytest.param({"updates": {"every": 60}}, "unknown key updates.every", None,
                     id="updates-unknown-key"),
    ],
)  # fmt: skip
def test_refusals(data: dict[str, Any], message: str, hint: str | None) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_data(data)
    assert refused.value.message == f"the configuration: {message}"
    assert refused.value.code == "invalid-config"
    if hint is not None:
        assert refused.value.hint == hint
    else:
        assert refused.value.hint is not None and refused.value.hint.startswith("expected one of")


def test_refusals_name_the_file() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_data({"tools": {"per_action": "no"}}, path=Path("/etc/km.toml"))
    assert refused.value.message == "/etc/km.toml: tools.per_action must be true or false"


@pytest.mark.parametrize(
    "ceiling",
    [
        pytest.param(["all"], id="everything"),
        pytest.param(["read-only", "write", "destructive"], id="classes"),
        pytest.param(["clipboard", "notifications"], id="domains"),
        pytest.param(["km_clipboard_manager", "km_tool_a_newer_server_has"], id="tools"),
        pytest.param([], id="nothing"),
    ],
)
def test_ceilings(ceiling: list[str]) -> None:
    assert Settings.from_data({"security": {"ceiling": ceiling}}).ceiling == tuple(ceiling)


# -- limits --------------------------------------------------------------------------------


def test_limits_for_applies_overrides_to_that_profile_only() -> None:
    settings = Settings.from_data({"limits": {"strict": {"max_steps": 50, "max_wait": 2}}})
    strict = settings.limits_for(Profile.STRICT)
    assert (strict.max_steps, strict.max_wait) == (50, 2)
    assert strict.max_tool_calls == Profile.STRICT.limits.max_tool_calls
    assert strict.allowed_classes == Profile.STRICT.limits.allowed_classes
    assert settings.limits_for(Profile.STANDARD) is Profile.STANDARD.limits


def test_with_overrides_copies_and_checks_names() -> None:
    base = Profile.SANDBOX.limits
    changed = base.with_overrides(max_steps=7, run_timeout=None)
    assert (changed.max_steps, changed.run_timeout, base.max_steps) == (7, None, 500)
    assert changed.allowed_classes == base.allowed_classes
    with pytest.raises(TypeError, match="max_stepz"):
        base.with_overrides(max_stepz=1)


def test_describe_is_json_friendly() -> None:
    assert Profile.STANDARD.limits.describe() == {
        "run_timeout": 300.0,
        "step_timeout": 60.0,
        "max_steps": 10_000,
        "max_loop_iterations": 1_000,
        "max_call_depth": 8,
        "max_parallel_branches": 16,
        "max_tool_calls": 1_000,
        "max_string_length": 1_000_000,
        "max_collection_size": 10_000,
        "max_template_output": 1_000_000,
        "max_wait": 300.0,
        "max_hook_depth": 4,
        "allowed_classes": ["destructive", "read-only", "write"],
        "destructive_needs_explicit_grant": True,
    }


def test_describe_shows_unlimited_as_null() -> None:
    described = Profile.NONE.limits.describe()
    assert [name for name, value in described.items() if value is None] == [
        "run_timeout", "step_timeout", "max_steps", "max_loop_iterations", "max_tool_calls",
    ]  # fmt: skip
    assert Profile.SANDBOX.limits.describe()["allowed_classes"] == ["read-only"]
    assert Limits(max_steps=UNLIMITED).describe()["max_steps"] is None


# -- paths and config_path -----------------------------------------------------------------


def test_home_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(ENV_HOME, "~/km")
    assert home() == tmp_path / "km"
    assert simulator_state_path() == tmp_path / "km" / "simulator-state.json"


def test_home_defaults_to_the_user_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_HOME, raising=False)
    assert home() == Path(platformdirs.user_data_dir("km-actions", appauthor=False))
    monkeypatch.setenv(ENV_HOME, "")
    assert home() == Path(platformdirs.user_data_dir("km-actions", appauthor=False))


def test_config_path_order(
    data_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert config_path() == data_home / "config.toml"
    monkeypatch.setenv(ENV_CONFIG, str(tmp_path / "env.toml"))
    assert config_path() == tmp_path / "env.toml"
    assert config_path(tmp_path / "given.toml") == tmp_path / "given.toml"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_path("~/tilde.toml") == tmp_path / "tilde.toml"
    monkeypatch.setenv(ENV_CONFIG, "~/env-tilde.toml")
    assert config_path() == tmp_path / "env-tilde.toml"


# -- load_settings -------------------------------------------------------------------------


def test_a_missing_file_means_the_defaults(data_home: Path) -> None:
    assert load_settings() == Settings(path=data_home / "config.toml")


def test_a_file_is_read(data_home: Path) -> None:
    data_home.mkdir()
    (data_home / "config.toml").write_text(
        '[upstream]\ncommand = ["km-mcp"]\n\n[security]\nceiling = ["read-only"]\n'
    )
    settings = load_settings()
    assert (settings.upstream, settings.ceiling, settings.path) == (
        UpstreamConfig(command=("km-mcp",)),
        ("read-only",),
        data_home / "config.toml",
    )


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        pytest.param(b"key = \n", "Invalid value (at line 1, column 7)", id="toml"),
        pytest.param(b"\xff = 1\n", "'utf-8' codec can't decode byte 0xff in position 0",
                     id="encoding"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_toml(tmp_path: Path, content: bytes, detail: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as refused:
        load_settings(path)
    assert refused.value.message.startswith(f"{path} is not valid TOML: {detail}")
    assert refused.value.hint == "see docs/mcp.md for the format"
    assert refused.value.first.file == str(path)


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path)
    assert refused.value.message == f"cannot read {tmp_path}: Is a directory"


def test_an_invalid_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "k.toml"
    path.write_text("[security]\ndefault_profile = 'lax'\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(path)
    assert refused.value.message == f"{path}: unknown profile 'lax'"


# -- set_value -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "read_back"),
    [
        pytest.param("upstream.command", ["km-mcp", "--stdio"],
                     lambda s: s.upstream.command, id="command"),
        pytest.param("upstream.url", "https://km.example/mcp", lambda s: s.upstream.url,
                     id="url"),
        pytest.param("security.default_profile", "sandbox", lambda s: s.default_profile.value,
                     id="profile"),
        pytest.param("security.ceiling", ["read-only"], lambda s: list(s.ceiling),
                     id="ceiling"),
        pytest.param("security.allow_mcp_overwrite", True, lambda s: s.allow_mcp_overwrite,
                     id="overwrite"),
        pytest.param("security.allowed_hosts", ["plugins.example.org"],
                     lambda s: sorted(s.allowed_hosts), id="allowed-hosts"),
        pytest.param("security.install_paths", ["/srv/km-plugins"],
                     lambda s: [str(p) for p in s.install_paths], id="install-paths"),
        pytest.param("tools.per_action", False, lambda s: s.action_tools, id="per-action"),
        pytest.param("tools.disabled", ["a/b"], lambda s: sorted(s.disabled_action_tools),
                     id="disabled"),
        pytest.param("limits.strict", {"max_steps": 9}, lambda s: s.limit_overrides["strict"],
                     id="limits"),
    ],
)  # fmt: skip
def test_set_value_round_trips(data_home: Path, key: str, value: Any, read_back: Any) -> None:
    written = set_value(None, key, value)
    assert written == data_home / "config.toml"
    got = read_back(load_settings())
    assert (list(got) if isinstance(got, tuple) else got) == value
    assert [p.name for p in data_home.iterdir()] == ["config.toml"]


def test_set_value_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "k.toml"
    path.write_text('[upstream]\nurl = "https://km.example/mcp"\n')
    set_value(path, "upstream.timeout", 4)
    set_value(path, "security.ceiling", ["read-only", "write", "destructive"])
    assert tomllib.loads(path.read_text()) == {
        "upstream": {"url": "https://km.example/mcp", "timeout": 4},
        "security": {"ceiling": ["read-only", "write", "destructive"]},
    }


def test_set_value_follows_km_actions_config(
    data_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere" / "km.toml"
    monkeypatch.setenv(ENV_CONFIG, str(target))
    assert set_value(None, "tools.per_action", False) == target
    assert load_settings().action_tools is False
    assert not data_home.exists()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        pytest.param("ceiling", ["read-only"], "'ceiling' is not a setting name", id="no-dot"),
        pytest.param("security.ceiling", "read-only",
                     "security.ceiling must be a list of text values", id="invalid"),
        pytest.param("secrity.ceiling", [], "unknown section [secrity]", id="section"),
    ],
)  # fmt: skip
def test_set_value_refuses_and_changes_nothing(
    tmp_path: Path, key: str, value: Any, message: str
) -> None:
    path = tmp_path / "k.toml"
    path.write_text("[tools]\nper_action = false\n")
    with pytest.raises(ConfigError) as refused:
        set_value(path, key, value)
    assert refused.value.message.endswith(message)
    assert path.read_text() == "[tools]\nper_action = false\n"
    assert sorted(os.listdir(tmp_path)) == ["k.toml"]


def test_set_value_without_a_dot_hints_the_form(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        set_value(tmp_path / "k.toml", "ceiling", [])
    assert refused.value.hint == "write section.key, e.g. security.ceiling"
    assert not (tmp_path / "k.toml").exists()


@pytest.mark.parametrize("written", ["2025", 2025])
def test_the_2025_servers_tools_by_choice(written: object) -> None:
    """`[catalog] tools = "2025"` (or the year as a number, as `km-actions config set`
    reads it) adds the 18 tools only the 2025 server had to the shipped catalog."""
    settings = Settings.from_data({"catalog": {"tools": written}})
    assert settings.catalog_tools is CatalogTools.WITH_2025
    assert "km_calculator" in settings.shipped_catalog()
    assert "km_calculator" not in Settings().shipped_catalog()
