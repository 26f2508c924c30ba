"""``km-actions config path | show | set``: where the file is, what it says, changing it."""

from __future__ import annotations

import tomllib

import pytest

from tests.cli.conftest import Cli

DEFAULTS = {
    "upstream": "built-in simulator",
    "security": {
        "default_profile": "standard",
        "ceiling": ["read-only", "write"],
        "allow_mcp_overwrite": False,
        "allowed_hosts": [],
        "install_paths": [],
    },
    "tools": {"per_action": True, "disabled": []},
    "limits": {},
    "updates": {"automatic": True, "interval": 3600.0},
    "catalog": {"tools": "current"},
}


def test_path(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("config", "path").out == f"{cli.home / 'config.toml'}\n"
    assert cli("config", "path", "--config", "mine.toml").out == "mine.toml\n"
    monkeypatch.setenv("KM_ACTIONS_CONFIG", str(cli.folder / "env.toml"))
    assert cli("config", "path").out == f"{cli.folder / 'env.toml'}\n"


def test_show_the_defaults(cli: Cli) -> None:
    outcome = cli("config", "show")
    assert (outcome.code, outcome.json()) == (
        0,
        {"file": str(cli.home / "config.toml"), **DEFAULTS},
    )


def test_set_then_show(cli: Cli) -> None:
    steps = [
        ("upstream.url", "https://km.example/mcp"),
        ("security.ceiling", '["read-only"]'),
        ("security.allow_mcp_overwrite", "true"),
        ("security.allowed_hosts", '["plugins.example.org"]'),
        ("security.install_paths", '["/srv/km-plugins"]'),
        ("tools.disabled", '["demo/b", "demo/a"]'),
        ("limits.strict", '{"max_steps": 50}'),
        ("updates.interval", "900"),
        ("updates.automatic", "false"),
        ("catalog.tools", "2025"),
    ]
    target = cli.home / "config.toml"
    for key, value in steps:
        outcome = cli("config", "set", key, value)
        assert (outcome.code, outcome.out) == (0, f"set {key} in {target}\n")
    assert cli("config", "show").json() == {
        "file": str(target),
        "upstream": "https://km.example/mcp",
        "security": {
            "default_profile": "standard",
            "ceiling": ["read-only"],
            "allow_mcp_overwrite": True,
            "allowed_hosts": ["plugins.example.org"],
            "install_paths": ["/srv/km-plugins"],
        },
        "tools": {"per_action": True, "disabled": ["demo/a", "demo/b"]},
        "limits": {"strict": {"max_steps": 50}},
        "updates": {"automatic": False, "interval": 900.0},
        "catalog": {"tools": "2025"},
    }


def test_a_value_that_is_not_json_is_text(cli: Cli) -> None:
    assert cli("config", "set", "security.default_profile", "strict").code == 0
    assert cli("config", "set", "upstream.command", '["uvx", "km-mcp"]').code == 0
    written = tomllib.loads((cli.home / "config.toml").read_text())
    assert written == {
        "security": {"default_profile": "strict"},
        "upstream": {"command": ["uvx", "km-mcp"]},
    }
    assert cli("config", "show").json()["upstream"] == "uvx km-mcp"


def test_a_file_of_its_own(cli: Cli) -> None:
    outcome = cli("config", "set", "tools.per_action", "false", "--config", "k.toml")
    assert outcome.out == "set tools.per_action in k.toml\n"
    assert not (cli.home / "config.toml").exists()
    shown = cli("config", "show", "--config", "k.toml").json()
    assert (shown["file"], shown["tools"]["per_action"]) == ("k.toml", False)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["config", "set"], id="nothing"),
        pytest.param(["config", "set", "security.ceiling"], id="no-value"),
    ],
)
def test_set_needs_a_key_and_a_value(cli: Cli, argv: list[str]) -> None:
    outcome = cli(*argv)
    assert (outcome.code, outcome.out, outcome.err) == (
        2,
        "",
        "km-actions config set: needs KEY and VALUE\n",
    )


@pytest.mark.parametrize(
    ("key", "value", "err"),
    [
        pytest.param(
            "security.ceiling", "read-only",
            "km-actions config: {file}: security.ceiling must be a list of text values\n"
            "     = hint: see docs/mcp.md for every setting\n",
            id="wrong-type",
        ),
        pytest.param(
            "security.default_profil", "strict",
            "km-actions config: {file}: unknown key security.default_profil\n"
            "     = hint: did you mean 'default_profile'?\n",
            id="misspelt",
        ),
        pytest.param(
            "ceiling", "[]",
            "km-actions config: 'ceiling' is not a setting name\n"
            "     = hint: write section.key, e.g. security.ceiling\n",
            id="no-section",
        ),
        pytest.param(
            "security.allow_mcp_overwrite", "1" * 5000,
            "km-actions config: security.allow_mcp_overwrite: the whole number has 5,000 "
            "digits; at most 1,000 are allowed\n"
            "     = hint: write a smaller number, or put it in quotes to keep it as text\n",
            id="long-whole-number",
        ),
        pytest.param(
            "security.ceiling", '["\\ud800"]',
            "km-actions config: security.ceiling: the text holds \\ud800, half of a surrogate "
            "pair, which is not a character\n"
            "     = hint: write the character itself, or both halves of its pair "
            "(\\ud83d\\ude00 for 😀)\n",
            id="lone-surrogate",
        ),
        pytest.param(
            "security.install_paths", '["~root/x"]',
            "km-actions config: {file}: security.install_paths: '~root/x' names another "
            "user's home; only `~` (your home) and `~/…` are expanded\n"
            '     = hint: write the whole path, e.g. "/Users/ann/km-plugins", or '
            '"~/km-plugins" for a folder in your home\n',
            id="tilde-user",
        ),
        pytest.param(
            "upstream.command", "\udcff",  # a byte of argv that is not UTF-8
            "km-actions config: the value for upstream.command is not UTF-8 text\n",
            id="not-utf8",
        ),
    ],
)  # fmt: skip
def test_set_refusals_write_nothing(cli: Cli, key: str, value: str, err: str) -> None:
    outcome = cli("config", "set", key, value)
    target = cli.home / "config.toml"
    assert (outcome.code, outcome.out, outcome.err) == (1, "", err.format(file=target))
    assert not target.exists()


def test_show_an_invalid_file(cli: Cli) -> None:
    cli.write("k.toml", "[security]\nceiling = 'all'\n")
    outcome = cli("config", "show", "--config", "k.toml")
    assert (outcome.code, outcome.out, outcome.err) == (
        1,
        "",
        "km-actions config: k.toml: security.ceiling must be a list of text values\n"
        "     = hint: see docs/mcp.md for every setting\n",
    )


def test_a_file_with_a_number_python_cannot_read(cli: Cli) -> None:
    cli.write("k.toml", f"[security]\nx = {'1' * 5000}\n")
    for argv in (["show"], ["set", "security.default_profile", "strict"]):
        outcome = cli("config", *argv, "--config", "k.toml")
        assert (outcome.code, outcome.out, outcome.err) == (
            1,
            "",
            "km-actions config: k.toml is not valid TOML: a whole number in it has more "
            "digits than 4,300\n"
            "     = hint: write a smaller number, or put it in quotes to keep it as text\n",
        )


def test_an_action_that_does_not_exist(cli: Cli) -> None:
    outcome = cli.usage_error("config", "get", "security.ceiling")
    assert outcome.code == 2
    assert "argument action: invalid choice: 'get' (choose from" in outcome.err


@pytest.mark.parametrize("allowed", [".", "home", "link"])
def test_a_folder_that_holds_the_store_is_refused(cli: Cli, allowed: str) -> None:
    # Before: accepted; MCP callers then got the store's path from its own refusal.
    (cli.folder / "link").symlink_to(cli.folder)
    folder = cli.folder / allowed
    outcome = cli("config", "set", "security.install_paths", f'["{folder}"]')
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err == (
        f"km-actions config: security.install_paths: '{folder}' holds km-actions' own store "
        f"({cli.home}), which MCP callers may never install from\n"
        "     = hint: allow a folder that holds plugins only, beside the store (e.g. "
        f"'{folder / 'km-plugins'}'), or move the store out of it (KM_ACTIONS_HOME)\n"
    )
    assert not (cli.home / "config.toml").exists()
    beside = cli("config", "set", "security.install_paths", f'["{cli.folder / "plugins"}"]')
    assert beside.code == 0, beside.err


def test_set_in_a_file_that_cannot_be_read_says_why(cli: Cli) -> None:
    # Before: OSError (ELOOP, ENAMETOOLONG, EISDIR) escaped as a traceback.
    (cli.folder / "loop").symlink_to(cli.folder / "loop")
    outcome = cli("config", "--config", "loop/config.toml", "set", "security.ceiling", "[]")
    assert (outcome.code, outcome.out, outcome.err) == (
        1,
        "",
        "km-actions config: cannot read loop/config.toml: Too many levels of symbolic links\n",
    )
