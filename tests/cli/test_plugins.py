"""The store commands: install, uninstall, list, describe, configure, enable, disable,
verify and pack; their output, JSON shapes and exit statuses."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from engine.cli._plugins import report_error
from engine.diagnostics.errors import EngineError, Span
from engine.plugins.store import Store
from tests.cli.conftest import Cli, action_text, plugin_text

SETTINGS = """\
configuration_schema:
  type: object
  properties:
    greeting: {type: string, default: Hello, description: How to greet.}
    size: {type: integer, default: 3, minimum: 1, description: How many.}
    token: {type: string, minLength: 8, secret: true, description: The token.}
    quiet: {type: boolean, default: false}
  required: [token]
"""
HELLO = action_text(
    "hello",
    """\
    inputs:
      who: {type: string, description: Who.}
      loud: {type: boolean, default: false}
    steps:
      - set: {msg: "{{ config.greeting }} {{ inputs.who }}{{ '!' if inputs.loud else '' }}"}
    outputs:
      msg: "{{ vars.msg }}"
    """,
)
USE = action_text(
    "use",
    """\
    steps:
      - id: h
        action: demo/hello
        with: {who: App}
    outputs:
      msg: "{{ steps.h.result.msg }}"
    """,
)
WARNS = action_text(
    "warns",
    """\
    inputs:
      unused: {type: string, default: x, description: Nothing reads it.}
    steps:
      - set: {x: 1}
    outputs:
      x: "{{ vars.x }}"
    """,
)
BAD = action_text("bad", "steps:\n  - set: {x: '{{ inputs.nope }}'}\n")
BAD_TEXT = [
    "demo/actions/bad.yaml:6:18: error[unknown-input]: `inputs.nope` is not a declared input",
    "   6 |   - set: {x: '{{ inputs.nope }}'}",
    "     |                  ^^^^^^^^^^^",
    "     = hint: declare it under `inputs:`",
]


def _demo(cli: Cli, version: str = "1.0.0", *, extra: str = "", folder: str = "demo") -> Path:
    permissions = "permissions: [km_variable_manager]\n"
    cli.write(f"{folder}/plugin.yaml", plugin_text("demo", permissions + SETTINGS + extra,
                                                   version=version))  # fmt: skip
    cli.write(f"{folder}/actions/hello.yaml", HELLO)
    return cli.folder / folder


def _app(cli: Cli) -> Path:
    cli.write("app/plugin.yaml", plugin_text("app", 'dependencies: {demo: ">=1.0,<2"}\n'))
    cli.write("app/actions/use.yaml", USE)
    return cli.folder / "app"


def _installed(cli: Cli) -> dict[str, str]:
    with Store.open(cli.home) as store:
        return {p.identifier: p.version for p in store.plugins()}


# -- install -------------------------------------------------------------------------------


def test_install_a_folder(cli: Cli) -> None:
    _demo(cli)
    outcome = cli("install", "demo", "--yes")
    assert (outcome.code, outcome.out) == (0, "Installed demo 1.0.0.\n")
    assert outcome.err == (
        "  demo needs settings before some actions work: token "
        "(km-actions configure demo token=…)\n"
    )
    assert _installed(cli) == {"demo": "1.0.0"}


def test_install_as_json(cli: Cli) -> None:
    _demo(cli)
    data = cli("install", "demo", "--yes", "--json").json()
    assert data == {
        "ok": True,
        "plugin": "demo",
        "unchanged": False,
        "installed": [{"identifier": "demo", "version": "1.0.0"}],
        "upgraded": {},
        "dropped_settings": {},
        "needs_configuration": {"demo": ["token"]},
        "warnings": [],
    }
    again = cli("install", "demo", "--yes", "--json").json()
    assert (again["unchanged"], again["installed"], again["needs_configuration"]) == (
        True,
        [{"identifier": "demo", "version": "1.0.0"}],
        {},
    )


def test_install_again_changes_nothing(cli: Cli) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    outcome = cli("install", "demo", "-y")
    assert (outcome.code, outcome.out) == (0, "demo 1.0.0 is already installed (same files).\n")


def test_install_a_single_action_file_with_its_warnings(cli: Cli) -> None:
    cli.write("warns.yaml", WARNS)
    outcome = cli("install", "warns.yaml", "--yes")
    assert (outcome.code, outcome.out) == (0, "Installed warns 0.0.0.\n")
    assert outcome.err == (
        "  warning: warns.yaml:6:3: warning[unused-input]: the input `unused` is never used\n"
    )
    data = cli("install", "warns.yaml", "--yes", "--json").json()
    assert data["warnings"] == []  # unchanged: nothing was checked again


def test_an_upgrade_keeps_settings_and_reports_those_it_drops(cli: Cli) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    assert cli("configure", "demo", "size=7", "token=abcdefgh1").code == 0
    _demo(cli, "1.1.0", folder="demo2")
    text = (cli.folder / "demo2/plugin.yaml").read_text()
    (cli.folder / "demo2/plugin.yaml").write_text(
        text.replace("size: {type: integer, default: 3, minimum: 1", "size: {type: string")
    )
    outcome = cli("install", "demo2", "--yes")
    assert (outcome.code, outcome.out) == (0, "Upgraded demo 1.0.0 → 1.1.0.\n")
    assert outcome.err.startswith("  demo: the setting size")
    assert "was not kept" in outcome.err
    shown = cli("configure", "demo", "--json").json()
    assert shown == {"greeting": "Hello", "quiet": False, "token": "••••••"}


def test_install_a_dependency_first(cli: Cli) -> None:
    _app(cli)
    refused = cli("install", "app", "--yes")
    assert (refused.code, refused.out) == (1, "")
    assert refused.err == (
        "error[dependency-missing]: cannot install 'app' 1.0.0: 'app' 1.0.0 needs 'demo', "
        "which is not available from any source\n"
        "     = hint: check the plugin id for typos, or add the folder, archive or marketplace "
        "that provides it\n"
    )
    _demo(cli)
    assert cli("install", "demo", "--yes").code == 0
    outcome = cli("install", "app", "--yes")
    assert (outcome.code, outcome.out) == (0, "Installed app 1.0.0.\n")


def test_an_invalid_plugin_is_shown_at_its_source_line(cli: Cli) -> None:
    _demo(cli)
    cli.write("demo/actions/bad.yaml", BAD)
    outcome = cli("install", "demo", "--yes")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.splitlines() == BAD_TEXT
    assert _installed(cli) == {}


def test_an_invalid_action_file_is_shown_at_its_source_line(cli: Cli) -> None:
    cli.write("bad.yaml", BAD)
    outcome = cli("install", "bad.yaml", "--yes")
    assert outcome.code == 1
    assert outcome.err.splitlines() == [line.replace("demo/actions/", "") for line in BAD_TEXT]


def test_an_invalid_archive_is_located_without_a_source_line(cli: Cli) -> None:
    archive = cli.folder / "demo.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        packed.writestr("plugin.yaml", plugin_text("demo"))
        packed.writestr("actions/bad.yaml", BAD)
    outcome = cli("install", str(archive), "--yes")
    assert outcome.code == 1
    assert outcome.err == (
        "demo.zip/actions/bad.yaml:6:18: error[unknown-input]: `inputs.nope` is not a declared "
        "input\n"
        "     = hint: declare it under `inputs:`\n"
    )


def test_install_errors_as_json(cli: Cli) -> None:
    _demo(cli)
    cli.write("demo/actions/bad.yaml", BAD)
    data = cli("install", "demo", "--yes", "--json").json()
    assert sorted(data) == ["error", "ok"]
    assert data["ok"] is False
    error = data["error"]
    assert (error["code"], error["location"], error["path"], error["message"]) == (
        "invalid-plugin",
        "demo/actions/bad.yaml:6:18",
        "$.steps[0].set.x",
        "demo: the plugin 'demo' is not valid: demo/actions/bad.yaml:6:18: `inputs.nope` is not "
        "a declared input",
    )
    assert [d["code"] for d in error["diagnostics"]] == ["unknown-input"]


def test_install_something_that_is_not_there(cli: Cli) -> None:
    outcome = cli("install", "no/such/folder")
    assert (outcome.code, outcome.err) == (
        2,
        "km-actions install: no such file or folder: no/such/folder\n",
    )


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        pytest.param(
            ["--grant", "km_notifications"],
            "error[permission-not-granted]: 'demo' 1.0.0 asks for km_variable_manager, which the "
            "grant does not include; nothing was installed\n"
            "     = hint: grant them too (--grant km_variable_manager), or do not install the "
            "plugin\n",
            id="grant-too-small",
        ),
        pytest.param(
            ["--yes", "--profile", "sandbox"],
            "error[permission-not-allowed]: 'demo' 1.0.0 asks for tools the sandbox profile does "
            "not allow: km_variable_manager:delete is a destructive operation; the sandbox "
            "profile allows only read-only tools and operations (and 1 more)\n"
            "     = hint: ask the author to name only the operations its actions use "
            "(tool:operation), or install with a less strict profile (--profile standard) if you "
            "trust the plugin\n",
            id="profile",
        ),
    ],
)
def test_permissions_that_are_not_granted(cli: Cli, argv: list[str], err: str) -> None:
    _demo(cli)
    outcome = cli("install", "demo", *argv)
    assert (outcome.code, outcome.out, outcome.err) == (1, "", err)
    assert _installed(cli) == {}


def test_a_grant_that_covers_the_request(cli: Cli) -> None:
    _demo(cli)
    outcome = cli("install", "demo", "--grant", "km_variable_manager")
    assert (outcome.code, outcome.out) == (0, "Installed demo 1.0.0.\n")


class _Terminal(io.StringIO):
    """Typed answers, as if from a terminal."""

    def isatty(self) -> bool:
        return True


def test_an_upgrade_asks_for_new_permissions_on_a_terminal(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    _demo(cli, "2.0.0", folder="demo2")
    text = (cli.folder / "demo2/plugin.yaml").read_text()
    (cli.folder / "demo2/plugin.yaml").write_text(
        text.replace("[km_variable_manager]", "[km_variable_manager, km_notifications]")
    )
    monkeypatch.setattr("sys.stdin", _Terminal("yes\n"))
    outcome = cli("install", "demo2")
    assert (outcome.code, outcome.out) == (0, "Upgraded demo 1.0.0 → 2.0.0.\n")
    assert outcome.err.startswith(
        "'demo' 2.0.0 asks to call:\n"
        "  km_variable_manager (get: read-only, set: write, delete: destructive, list: "
        "read-only)\n"
        "  km_notifications (write) (new)\n"
        "Grant these permissions? [y/N] "
    )


def test_install_declined_without_a_terminal_as_json(cli: Cli) -> None:
    _demo(cli)
    data = cli("install", "demo", "--json").json()
    assert (data["ok"], data["error"]["code"]) == (False, "install-declined")
    assert data["error"]["message"] == (
        "'demo' 1.0.0 asks for: km_variable_manager (get: read-only, set: write, delete: "
        "destructive, list: read-only); nothing was installed"
    )


def test_install_on_a_terminal_asks_then_says_what_is_left_to_set(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _demo(cli)
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    outcome = cli("install", "demo")
    assert (outcome.code, outcome.out) == (0, "Installed demo 1.0.0.\n")
    assert outcome.err == (
        "'demo' 1.0.0 asks to call:\n"
        "  km_variable_manager (get: read-only, set: write, delete: destructive, list: "
        "read-only)\n"
        "Grant these permissions? [y/N] "
        "  demo needs settings before some actions work: token "
        "(km-actions configure demo token=…)\n"
    )


def test_install_refused_at_the_prompt(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _demo(cli)
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    outcome = cli("install", "demo")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.endswith(
        "Grant these permissions? [y/N] error[install-declined]: the permissions of 'demo' "
        "1.0.0 were not granted; nothing was installed\n"
        "     = hint: install it again and grant what it asks for, or leave it out\n"
    )
    assert _installed(cli) == {}


def test_install_without_a_terminal_says_how_to_grant(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _demo(cli)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    outcome = cli("install", "demo")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err == (
        "error[install-declined]: 'demo' 1.0.0 asks for: km_variable_manager (get: read-only, "
        "set: write, delete: destructive, list: read-only); nothing was installed\n"
        "     = hint: grant them with --yes (or name them with --grant), since there is no "
        "terminal to ask\n"
    )


@pytest.mark.parametrize(
    "stdin", [pytest.param("", id="no-terminal"), pytest.param("y", id="terminal")]
)
def test_a_plugin_that_asks_for_no_permissions_installs_without_asking(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, stdin: str
) -> None:
    """Found by a tester: "'clean-text' 0.0.0 asks for: ; nothing was installed", and
    --yes needed to grant nothing."""
    cli.write(
        "clean-text.yaml",
        'api_version: "1.1"\nkind: action\nname: clean-text\ndescription: Tidy a text.\n'
        "inputs:\n  text: {type: string, description: The text}\n"
        'steps:\n  - set: {cleaned: "{{ inputs.text | trim }}"}\n',
    )
    monkeypatch.setattr("sys.stdin", _Terminal(stdin) if stdin else io.StringIO(""))
    outcome = cli("install", "clean-text.yaml")
    assert (outcome.code, outcome.out, outcome.err) == (
        0,
        "Installed clean-text 0.0.0.\n",
        "'clean-text' 0.0.0 asks for no permissions (it calls no tools): nothing to grant.\n",
    )
    assert _installed(cli) == {"clean-text": "0.0.0"}


def test_a_lone_surrogate_in_a_json_action_is_refused_before_install(cli: Cli) -> None:
    """It passed validation and crashed the install when the database could not store it."""
    cli.write(
        "half.json",
        '{"api_version": "1.1", "kind": "action", "name": "half", "description": "a\\ud800",'
        ' "steps": [{"set": {"a": 1}}]}',
    )
    outcome = cli("install", "half.json", "--yes")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.splitlines()[0] == (
        "half.json:1:73: error[encoding]: the text holds \\ud800, half of a surrogate pair, "
        "which is not a character"
    )
    assert _installed(cli) == {}


# -- uninstall -----------------------------------------------------------------------------


def test_uninstall(cli: Cli) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    outcome = cli("uninstall", "demo")
    assert (outcome.code, outcome.out) == (0, "Removed demo.\n")
    assert _installed(cli) == {}


def test_uninstall_on_a_terminal_says_what_it_discards_and_asks(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    cli("configure", "demo", "size=5", "token=abcdefgh1")
    assert cli("run", "demo/hello", "-i", "who=Ann", "--fresh").code == 0
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    kept = cli("uninstall", "demo")
    assert (kept.code, kept.out) == (1, "")
    assert kept.err == (
        "Uninstalling discards:\n"
        "  demo 1.0.0: 1 setting, 1 secret, the statistics of 1 run\n"
        "Remove demo? [y/N] Nothing was removed.\n"
    )
    assert list(_installed(cli)) == ["demo"]
    monkeypatch.setattr("sys.stdin", _Terminal("yes\n"))
    removed = cli("uninstall", "demo")
    assert (removed.code, removed.out) == (0, "Removed demo.\n")
    assert _installed(cli) == {}


def test_uninstall_yes_does_not_ask(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    monkeypatch.setattr("sys.stdin", _Terminal(""))
    outcome = cli("uninstall", "demo", "--yes")
    assert (outcome.code, outcome.out, outcome.err) == (0, "Removed demo.\n", "")


def test_uninstall_with_dependents_lists_each_plugin_it_removes(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _demo(cli)
    _app(cli)
    cli("install", "demo", "--yes")
    cli("install", "app", "--yes")
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    outcome = cli("uninstall", "demo", "--with-dependents")
    assert outcome.err == (
        "Uninstalling discards:\n"
        "  app 1.0.0: nothing besides its files\n"
        "  demo 1.0.0: nothing besides its files\n"
        "Remove demo? [y/N] "
    )
    assert (outcome.code, outcome.out) == (0, "Removed app, demo.\n")
    # Refused anyway (others depend on it): not asked.
    cli("install", "demo", "--yes")
    cli("install", "app", "--yes")
    refused = cli("uninstall", "demo")
    assert refused.err.startswith("error[plugin-has-dependents]")


def test_uninstall_refuses_while_others_depend_on_it(cli: Cli) -> None:
    _demo(cli)
    _app(cli)
    cli("install", "demo", "--yes")
    cli("install", "app", "--yes")
    refused = cli("uninstall", "demo")
    assert (refused.code, refused.err) == (
        1,
        "error[plugin-has-dependents]: cannot uninstall 'demo': 'app' depends on it\n"
        "     = hint: uninstall those first, or remove them too (--with-dependents)\n",
    )
    outcome = cli("uninstall", "demo", "--with-dependents", "--json")
    assert (outcome.code, outcome.json()) == (0, {"ok": True, "removed": ["app", "demo"]})


def test_uninstall_what_is_not_installed(cli: Cli) -> None:
    outcome = cli("uninstall", "ghost", "--json")
    assert outcome.code == 1
    assert outcome.json()["error"]["message"] == "no plugin 'ghost' is installed"


# -- list ----------------------------------------------------------------------------------


def test_list_when_nothing_is_installed(cli: Cli) -> None:
    assert cli("list").out == "No plugins are installed.\n"
    assert cli("list", "--json").json() == []


def test_list_and_its_filters(cli: Cli) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    cli.write("warns.yaml", WARNS)
    cli("install", "warns.yaml", "--yes")
    cli("disable", "warns")
    assert cli("list").out == (
        "demo 1.0.0  [action]  active  The demo plugin.\n"
        "    actions: hello\n"
        "warns 0.0.0  [action]  disabled  Does a thing.\n"
        "    actions: warns\n"
    )
    assert [p["identifier"] for p in cli("list", "--enabled", "--json").json()] == ["demo"]
    assert [p["identifier"] for p in cli("list", "--disabled", "--json").json()] == ["warns"]
    assert cli("list", "--search", "hello").out.splitlines()[0].startswith("demo 1.0.0")
    assert cli("list", "--type", "utility").out == "No plugins match.\n"
    assert cli("list", "--search", "nothing-like-it").out == "No plugins match.\n"
    [entry] = cli("list", "--search", "demo", "--json").json()
    assert entry == {
        "identifier": "demo",
        "name": "Demo",
        "version": "1.0.0",
        "plugin_type": "action",
        "enabled": True,
        "status": "active",
        "problem": None,
        "description": "The demo plugin.",
        "actions": ["hello"],
        "origin": "file",
    }


def test_list_options_exclude_each_other(cli: Cli) -> None:
    outcome = cli.usage_error("list", "--enabled", "--disabled")
    assert outcome.code == 2
    assert "argument --disabled: not allowed with argument --enabled" in outcome.err


# -- describe ------------------------------------------------------------------------------


def test_describe(cli: Cli) -> None:
    _demo(cli)
    _app(cli)
    cli("install", "demo", "--yes")
    cli("install", "app", "--yes")
    cli("configure", "demo", "token=abcdefgh1")
    lines = cli("describe", "demo").out.splitlines()
    assert lines[0:2] == ["demo 1.0.0: Demo", "  The demo plugin."]
    assert lines[2].startswith(f"  active; action; from folder {cli.folder / 'demo'} (file); ")
    assert lines[3:] == [
        "  actions:",
        "    demo/hello: Does a thing.",
        # In the order hello.yaml declares them.
        "      - who (string, required) Who.",
        "      - loud (boolean, default false)",
        "      outputs: msg",
        "  permissions granted:",
        "    km_variable_manager: km_variable_manager (destructive)",
        "  settings:",
        '    greeting = "Hello"  How to greet.',
        "    quiet = false",
        "    size = 3  How many.",
        '    token = "••••••"  The token.',
        "  needed by: app",
        "  files: 2, all match the lock",
        *_certification(lines[17], certified=False),
        "    validation: 2 errors in 2 files",
        "    tests: no tests; 1 action without tests",
        "    demo/plugin.yaml:14:5: error[missing-description]: the setting `quiet` has no "
        "`description`",
        "    demo/actions/hello.yaml:7:3: error[missing-description]: the input `loud` has no "
        "`description`",
        "    demo/actions/hello.yaml:3:7: error[untested-action]: the action `hello` has no tests",
        "    demo/plugin.yaml:7:15: warning[permission-unused]: `km_variable_manager` is asked "
        "for, but no action calls it",
        "    demo/actions/hello.yaml:3:7: warning[docs-no-example]: the documentation of `hello` "
        "has no example",
    ]
    app = cli("describe", "app").out.splitlines()
    assert app[3:] == [
        "  actions:",
        "    app/use: Does a thing.",
        "      outputs: msg",
        "  permissions granted: none",
        "  needs demo >=1.0,<2 (installed: 1.0.0)",
        "  files: 2, all match the lock",
        *_certification(app[9], certified=False),
        "    tests: no tests; 1 action without tests",
        "    app/actions/use.yaml:3:7: error[untested-action]: the action `use` has no tests",
        "    app/actions/use.yaml:3:7: warning[docs-no-example]: the documentation of `use` has "
        "no example",
    ]


def _certification(line: str, *, certified: bool) -> list[str]:
    """The line of `describe` that says what certifying at install found (checked here)."""
    word = "certified" if certified else "NOT certified"
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    pattern = rf"  {word} at install \({stamp}, km-actions [0-9.]+\); package sha256 [0-9a-f]{{64}}"
    assert re.fullmatch(pattern, line), line
    return [line]


def test_describe_a_setting_not_set_and_changed_files(cli: Cli) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    data = cli("describe", "demo", "--json").json()
    assert data["settings"]["values"].get("token") is None
    edited = Path(data["folder"]) / "actions/hello.yaml"
    edited.chmod(0o644)
    edited.write_text(edited.read_text() + "# changed\n")
    lines = cli("describe", "demo").out.splitlines()
    assert "    token = (not set)  The token." in lines
    assert "  files: 2, CHANGED since install: run `km-actions verify`" in lines


def test_describe_as_json(cli: Cli) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    data = cli("describe", "demo", "--json").json()
    assert (data["identifier"], data["version"], data["enabled"], data["intact"]) == (
        "demo",
        "1.0.0",
        True,
        True,
    )
    assert data["source"]["kind"] == "folder"
    assert data["actions"][0]["qualified"] == "demo/hello"
    assert data["permissions"]["requested"] == ["km_variable_manager"]


def test_describe_shows_the_plugin_s_own_limits(cli: Cli) -> None:
    _demo(cli, extra="resource_limits: {max_tool_calls: 20, run_timeout: 2.5}\n")
    cli("install", "demo", "--yes")
    data = cli("describe", "demo", "--json").json()
    assert data["permissions"]["resource_limits"] == {"max_tool_calls": 20, "run_timeout": 2.5}
    lines = cli("describe", "demo").out.splitlines()
    assert "  limits: max_tool_calls 20, run_timeout 2.5 (tightening the standard profile)" in lines


def test_describe_what_is_not_installed(cli: Cli) -> None:
    outcome = cli("describe", "ghost")
    assert (outcome.code, outcome.err) == (
        1,
        "error[not-found]: no plugin 'ghost' is installed\n"
        "     = hint: see what is installed with `km-actions list`\n",
    )


# -- configure -----------------------------------------------------------------------------


def test_configure_shows_sets_and_unsets(cli: Cli) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    # Every declared setting, as `describe` lists them: the unset token too (issue 10.8).
    assert cli("configure", "demo").out == (
        'greeting = "Hello"  How to greet.\n'
        "quiet = false\n"
        "size = 3  How many.\n"
        "token = (not set)  The token.\n"
    )
    outcome = cli("configure", "demo", "size=5", "greeting=Hi there")
    assert outcome.out == (
        'greeting = "Hi there"  How to greet.\n'
        "quiet = false\n"
        "size = 5  How many.\n"
        "token = (not set)  The token.\n"
    )
    assert outcome.err == "  still to set: token\n"
    data = cli("configure", "demo", "token=abcdefgh1", "--unset", "size", "--json").json()
    assert data == {
        "ok": True,
        "settings": {"greeting": "Hi there", "quiet": False, "size": 3, "token": "••••••"},
        "missing": [],
    }


def test_configure_a_plugin_without_settings(cli: Cli) -> None:
    cli.write("warns.yaml", WARNS)
    cli("install", "warns.yaml", "--yes")
    assert cli("configure", "warns").out == "(no settings)\n"
    assert cli("configure", "warns", "--json").json() == {}


def test_configure_reads_a_secret_from_standard_input(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin-1\n"))
    outcome = cli("configure", "demo", "token=-")
    assert outcome.code == 0
    assert 'token = "••••••"' in outcome.out and "from-stdin-1" not in outcome.out
    with Store.open(cli.home) as store:
        assert store.secrets("demo") == {"token": "from-stdin-1"}


def test_configure_asks_for_a_secret_on_a_terminal(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    prompts: list[str] = []

    def typed(prompt: str) -> str:
        prompts.append(prompt)
        return "typed-secret-2"

    monkeypatch.setattr("sys.stdin", _Terminal(""))
    monkeypatch.setattr("getpass.getpass", typed)
    assert cli("configure", "demo", "token=-").code == 0
    assert prompts == ["token: "]
    with Store.open(cli.home) as store:
        assert store.secrets("demo") == {"token": "typed-secret-2"}


@pytest.mark.parametrize(
    ("assignment", "err"),
    [
        pytest.param(
            "nope=1",
            "error[unknown-setting]: 'demo' has no setting `nope`\n"
            "     = hint: expected one of: greeting, quiet, size, token\n",
            id="unknown",
        ),
        pytest.param(
            "size",
            "error[invalid-config]: 'size' is not KEY=VALUE\n"
            "     = hint: write e.g. greeting=Hello (quote values with spaces in your shell)\n",
            id="not-an-assignment",
        ),
        pytest.param(
            "size=0",
            "error[invalid-config]: the settings of 'demo' are not valid: `size`: 0 is below the "
            "minimum of 1\n"
            "     = hint: change the value to fit (see `km-actions describe demo`)\n",
            id="out-of-range",
        ),
    ],
)
def test_configure_refusals(cli: Cli, assignment: str, err: str) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    outcome = cli("configure", "demo", assignment)
    assert (outcome.code, outcome.out, outcome.err) == (1, "", err)
    assert cli("configure", "demo", "--json").json()["size"] == 3


@pytest.mark.parametrize(
    ("value", "message", "hint"),
    [
        pytest.param(
            "1" * 5000,
            "`size`: the whole number has 5,000 digits; at most 1,000 are allowed",
            "write a smaller number, or put it in quotes to keep it as text",
            id="long-whole-number",
        ),
        pytest.param(
            "\udcff",  # a byte of argv that is not UTF-8
            "the value of `size` is not UTF-8 text",
            "type the value again, as UTF-8 text",
            id="not-utf8",
        ),
    ],
)
def test_configure_refuses_values_it_cannot_keep(
    cli: Cli, value: str, message: str, hint: str
) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    outcome = cli("configure", "demo", f"size={value}")
    assert (outcome.code, outcome.out, outcome.err) == (
        1,
        "",
        f"error[invalid-config]: {message}\n     = hint: {hint}\n",
    )
    assert cli("configure", "demo", "--json").json()["size"] == 3


ONE_OF = """\
configuration_schema:
  type: object
  properties:
    token: {type: string, secret: true}
    mode: {enum: [a, b]}
  oneOf:
    - {properties: {mode: {const: a}}, required: [token]}
    - {properties: {mode: {const: b}}, not: {required: [token]}}
"""


def test_configure_never_prints_a_secret_in_its_errors(cli: Cli) -> None:
    cli.write("guarded/plugin.yaml", plugin_text("guarded", ONE_OF))
    cli.write("guarded/actions/noop.yaml", action_text("noop", "steps:\n  - set: {x: 1}\n"))
    assert cli("install", "guarded", "--yes").code == 0
    assert cli("configure", "guarded", "token=the-real-token-77", "mode=a").code == 0
    whole = cli("configure", "guarded", "mode=b")
    assert (whole.code, whole.out) == (1, "")
    assert whole.err == (
        "error[invalid-config]: the settings of 'guarded' are not valid: the settings object "
        "does not fit any of the forms it may take\n"
        "     = hint: change the value to fit (see `km-actions describe guarded`)\n"
    )
    typed_alone = cli("configure", "guarded", "the-real-token-77")
    assert typed_alone.err.startswith(
        "error[invalid-config]: a setting without `=` is not KEY=VALUE\n"
    )
    for outcome in (whole, typed_alone, cli("configure", "guarded", "mode=b", "--json")):
        assert "the-real" not in outcome.out + outcome.err


def test_configure_what_is_not_installed(cli: Cli) -> None:
    outcome = cli("configure", "ghost", "--json")
    assert (outcome.code, outcome.json()["error"]["code"]) == (1, "not-found")


# -- enable, disable, verify ---------------------------------------------------------------


def test_enable_and_disable(cli: Cli) -> None:
    _demo(cli)
    cli("install", "demo", "--yes")
    assert cli("enable", "demo").out == "demo is enabled (it already was).\n"
    assert cli("disable", "demo").out == "demo is disabled.\n"
    assert cli("disable", "demo").out == "demo is disabled (it already was).\n"
    run = cli("run", "demo/hello", "-i", "who=x")
    assert (run.code, run.out, run.err) == (
        1,
        "",
        "km-actions run: the plugin 'demo' is disabled\n"
        "     = hint: enable it with `km-actions enable demo`\n",
    )
    assert cli("enable", "demo").out == "demo is enabled.\n"


def test_enable_what_is_not_installed(cli: Cli) -> None:
    outcome = cli("disable", "ghost")
    assert (outcome.code, outcome.err.splitlines()[0]) == (
        1,
        "error[not-found]: no plugin 'ghost' is installed",
    )


def test_verify(cli: Cli) -> None:
    assert (cli("verify").code, cli("verify").out) == (0, "No plugins are installed.\n")
    _demo(cli)
    cli("install", "demo", "--yes")
    assert cli("verify").out == "demo 1.0.0: ok\n"
    folder = Path(cli("describe", "demo", "--json").json()["folder"])
    (folder / "actions/hello.yaml").chmod(0o644)
    (folder / "actions/hello.yaml").write_text("changed\n")
    outcome = cli("verify", "demo")
    assert (outcome.code, outcome.out) == (
        1,
        "demo 1.0.0: actions/hello.yaml: changed since it was installed\n",
    )
    refused = cli("run", "demo/hello", "-i", "who=x")
    assert (refused.code, refused.err.splitlines()[0]) == (
        1,
        "km-actions run: 'demo' 1.0.0 is refused: actions/hello.yaml: changed since it was "
        "installed",
    )
    (folder / "actions/hello.yaml").unlink()
    data = cli("verify", "--json").json()
    assert data == [
        {
            "identifier": "demo",
            "version": "1.0.0",
            "ok": False,
            "problems": [{"path": "actions/hello.yaml", "problem": "missing"}],
        }
    ]


def test_verify_what_is_not_installed(cli: Cli) -> None:
    outcome = cli("verify", "ghost")
    assert (outcome.code, outcome.out, outcome.err) == (
        1,
        "",
        "error[not-found]: no plugin 'ghost' is installed\n"
        "     = hint: see what is installed with `km-actions list`\n",
    )


# -- pack ----------------------------------------------------------------------------------


def test_pack_writes_an_archive_that_installs(cli: Cli) -> None:
    _demo(cli)
    outcome = cli("pack", "demo")
    first, second = outcome.out.splitlines()
    assert (outcome.code, first) == (0, "Packed demo 1.0.0 (1 actions) into demo-1.0.0.zip")
    assert second.startswith("sha256 ") and len(second) == len("sha256 ") + 64
    assert (cli.folder / "demo-1.0.0.zip").is_file()
    assert cli("install", "demo-1.0.0.zip", "--yes").out == "Installed demo 1.0.0.\n"


def test_pack_skips_the_json_schema_saved_next_to_the_actions(cli: Cli) -> None:
    _demo(cli)
    cli.write("demo/actions/action.schema.json", cli("schema").out)
    outcome = cli("pack", "demo")
    assert (outcome.code, outcome.out.splitlines()[0]) == (
        0,
        "Packed demo 1.0.0 (1 actions) into demo-1.0.0.zip",
    )


def test_pack_as_tar_gz_where_asked(cli: Cli) -> None:
    _demo(cli)
    refused = cli("pack", "demo", "-o", "out/x.tar.gz", "--format", "tar.gz")
    assert (refused.code, refused.err) == (
        1,
        "error[archive-destination]: cannot write 'out/x.tar.gz': the folder 'out' does not "
        "exist\n"
        "     = hint: create the folder first, or write the archive somewhere else\n",
    )
    (cli.folder / "out").mkdir()
    outcome = cli("pack", "demo", "-o", "out/x.tar.gz", "--format", "tar.gz")
    assert outcome.out.splitlines()[0] == "Packed demo 1.0.0 (1 actions) into out/x.tar.gz"
    assert (cli.folder / "out/x.tar.gz").is_file()
    assert cli("install", "out/x.tar.gz", "--yes").out == "Installed demo 1.0.0.\n"


def test_pack_checks_calls_into_installed_plugins(cli: Cli) -> None:
    _app(cli)
    refused = cli("pack", "app")
    assert refused.code == 1
    assert "error[unknown-action]" in refused.err
    _demo(cli)
    cli("install", "demo", "--yes")
    packed = cli("pack", "app")
    assert (packed.code, packed.out.splitlines()[0]) == (
        0,
        "Packed app 1.0.0 (1 actions) into app-1.0.0.zip",
    )
    assert zipfile.is_zipfile(cli.folder / "app-1.0.0.zip")


def test_pack_refuses_an_invalid_plugin(cli: Cli) -> None:
    _demo(cli)
    cli.write("demo/actions/bad.yaml", BAD)
    outcome = cli("pack", "demo")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.splitlines() == BAD_TEXT
    assert not (cli.folder / "demo-1.0.0.zip").exists()


def test_pack_something_that_is_not_a_folder(cli: Cli) -> None:
    cli.write("file.yaml", WARNS)
    outcome = cli("pack", "file.yaml")
    assert (outcome.code, outcome.err) == (2, "km-actions pack: no such folder: file.yaml\n")


# -- hooks, and errors without a location --------------------------------------------------

HOOKED = plugin_text(
    "hk",
    """\
    hooks:
      - on: installed
        action: hello
        if: event.data.missing.deeper
      - on: configured
        action: hello
    configuration_schema:
      type: object
      properties:
        n: {type: integer, default: 1}
    """,
)
BARE = action_text("hello", "steps:\n  - set: {x: 1}\n", description=None)
HOOK = action_text("hello", "steps:\n  - set: {x: 1}\n", description="Sets x.")


def test_a_failing_hook_is_a_warning_and_the_install_stands(cli: Cli) -> None:
    cli.write("hk/plugin.yaml", HOOKED)
    cli.write("hk/actions/hello.yaml", HOOK)
    outcome = cli("install", "hk", "--yes")
    assert (outcome.code, outcome.out) == (0, "Installed hk 1.0.0.\n")
    state = cli.home / "simulator-state.json"
    simulator = (
        "the built-in simulator (no Keyboard Maestro server is configured); its state is kept "
        f"in {state}"
    )
    assert outcome.err == (
        f"  1 hook ran on {simulator}\n"
        "  warning: hook 1 of `hk` (on installed → hk/hello) failed: `event.data` has no key "
        "'missing'; it has: previous_version, version\n"
    )
    assert cli("configure", "hk", "n=2").err == f"  1 hook ran on {simulator}\n"
    assert state.is_file()  # hooks ran on the kept simulator


def test_enable_and_disable_set_off_their_hooks(cli: Cli) -> None:
    """`disabled` and `enabled` are store events too (issue 11.2); a plugin's own hooks
    hear it being enabled, not being disabled (they are off then)."""
    hooks = "".join(
        f"  - on: {name}\n    action: hello\n    if: event.plugin == 'demo'\n"
        for name in ("enabled", "disabled")
    )
    cli.write("hk/plugin.yaml", plugin_text("hk", "hooks:\n" + hooks))
    cli.write("hk/actions/hello.yaml", BARE)
    cli("install", "hk", "--yes")
    _demo(cli)
    cli("install", "demo", "--yes")
    simulator = (
        "the built-in simulator (no Keyboard Maestro server is configured); its state is kept "
        f"in {cli.home / 'simulator-state.json'}"
    )
    for command in ("disable", "enable", "disable"):
        outcome = cli(command, "demo")
        assert (outcome.out, outcome.err) == (
            f"demo is {command}d.\n",
            f"  1 hook ran on {simulator}\n",
        )
    assert cli("disable", "demo").err == ""  # it already was: nothing happened


def test_describe_an_action_without_description_inputs_or_outputs(cli: Cli) -> None:
    cli.write("hello.yaml", BARE)
    cli("install", "hello.yaml", "--yes")
    lines = cli("describe", "hello").out.splitlines()
    assert lines[0] == "hello 0.0.0: hello"
    assert lines[1].startswith("  active; action; from file ")
    assert lines[2:] == [
        "  actions:",
        "    hello/hello:",
        "  permissions granted: none",
        "  files: 1, all match the lock",
        *_certification(lines[6], certified=False),
        "    validation: 1 error in 1 file",
        "    tests: no tests; 1 action without tests",
        "    hello.yaml:3:1: error[missing-description]: the action has no `description`",
        "    hello.yaml:3:7: error[untested-action]: the action `hello` has no tests",
        "    hello.yaml:3:7: warning[docs-no-example]: the documentation of `hello` has no example",
    ]


class _BrokenListener:
    """A store-event listener that fails (its failure must not undo the install)."""

    def __init__(self) -> None:
        self.outcomes: list[object] = []
        self.warnings: list[str] = []

    def __call__(self, event: object) -> None:
        raise RuntimeError("listener broke")


def test_a_failing_event_listener_is_a_warning(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(_BrokenListener):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__()

        def finish(self) -> None:
            pass

    monkeypatch.setattr("engine.cli._plugins.CommandHooks", Broken)
    _demo(cli)
    outcome = cli("install", "demo", "--yes")
    assert (outcome.code, outcome.out) == (0, "Installed demo 1.0.0.\n")
    assert outcome.err.endswith("  warning: the installed event of 'demo' failed: listener broke\n")
    _demo(cli, "1.0.1", folder="demo2")
    data = cli("install", "demo2", "--yes", "--json").json()
    assert data["warnings"] == ["the upgraded event of 'demo' failed: listener broke"]


def test_a_newer_simulator_state_stops_the_hooks_not_the_change(cli: Cli) -> None:
    newer = '{"format": "km-actions-simulator-state", "version": 9}'
    cli.write("home/simulator-state.json", newer)
    _demo(cli)  # no plugin has hooks yet: the simulator is not even opened
    assert "warning" not in cli("install", "demo", "--yes").err
    cli.write("hk/plugin.yaml", HOOKED)
    cli.write("hk/actions/hello.yaml", HOOK)
    outcome = cli("install", "hk", "--yes")
    assert (outcome.code, outcome.out) == (0, "Installed hk 1.0.0.\n")
    assert outcome.err == (
        "  warning: the hooks on `installed` of 'hk' did not run: the simulator state file "
        f"{cli.home / 'simulator-state.json'} was written by a newer km-actions (state "
        "version 9; this one reads up to 2)\n"
        "     = hint: upgrade km-actions, or use another state file\n"
    )
    assert (cli.home / "simulator-state.json").read_text() == newer


@pytest.mark.parametrize(
    ("error", "as_json", "err", "out"),
    [
        pytest.param(
            EngineError("it broke", code="x-code"), False, "error[x-code]: it broke\n", "",
            id="no-hint",
        ),
        pytest.param(
            EngineError("it broke", code="x-code", hint="fix it"), False,
            "error[x-code]: it broke\n     = hint: fix it\n", "", id="hint",
        ),
        pytest.param(
            EngineError("it broke", code="x-code", file="a.yaml", span=Span(1, 1, 1, 4)), False,
            "a.yaml:1:1: error[x-code]: it broke\n   1 | abc: 1\n     | ^^^\n", "",
            id="located",
        ),
    ],
)  # fmt: skip
def test_report_error(
    capsys: pytest.CaptureFixture[str], error: EngineError, as_json: bool, err: str, out: str
) -> None:
    assert report_error(error, as_json=as_json, sources={"a.yaml": "abc: 1\n"}) == 1
    assert capsys.readouterr() == (out, err)


def test_report_error_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert report_error(EngineError("it broke", code="x-code"), as_json=True) == 1
    data = json.loads(capsys.readouterr().out)
    assert data == {
        "ok": False,
        "error": {
            "code": "x-code",
            "message": "it broke",
            "hint": None,
            "location": None,
            "path": None,
            "diagnostics": [
                {
                    "severity": "error", "code": "x-code", "message": "it broke", "path": "$",
                    "file": None, "line": None, "column": None, "end_line": None,
                    "end_column": None, "hint": None,
                }
            ],
        },
    }  # fmt: skip


def test_describe_a_long_certification_and_none(cli: Cli) -> None:
    for n in range(4):
        cli.write(f"many/actions/a{n}.yaml", BARE.replace("name: hello", f"name: a{n}"))
    cli.write("many/plugin.yaml", plugin_text("many"))
    assert cli("install", "many", "--yes").code == 0
    lines = cli("describe", "many").out.splitlines()
    # Per action: no description, no tests, no example: 12 problems, 10 shown.
    assert lines[-1] == "    … and 2 more: run `km-actions certify` on its folder"
    with Store.open(cli.home) as store, store.transaction() as conn:
        conn.execute("DELETE FROM certifications")
    assert cli("describe", "many").out.splitlines()[-1] == (
        "  certification: none (installed by a km-actions that did not certify)"
    )


CALCULATE = action_text(
    "add",
    """\
    steps:
      - id: sum
        tool: km_calculator
        with: {expression: "1 + 2"}
    outputs:
      total: "{{ steps.sum.result }}"
    """,
)


def test_install_checks_against_the_tools_validate_checks_against(cli: Cli) -> None:
    """A user who chose the 2025 server's tools (`catalog.tools = 2025`) validates an
    action calling km_calculator, and installs it: the install checks against the same
    tools (it used to check against the current server's only, and refuse it)."""
    cli.write("calc/plugin.yaml", plugin_text("calc", "permissions: [km_calculator]\n"))
    cli.write("calc/actions/add.yaml", CALCULATE)
    assert cli("config", "set", "catalog.tools", "2025").code == 0
    assert cli("validate", "calc").code == 0
    installed = cli("install", "calc", "--yes")
    assert installed.code == 0, installed.err
    assert cli("list", "--json").json()[0]["identifier"] == "calc"


def test_certify_checks_against_the_tools_validate_checks_against(cli: Cli) -> None:
    """As install: with `catalog.tools = 2025`, certify accepts km_calculator."""
    cli.write("calc/plugin.yaml", plugin_text("calc", "permissions: [km_calculator]\n"))
    cli.write("calc/actions/add.yaml", CALCULATE)
    assert cli("config", "set", "catalog.tools", "2025").code == 0
    certified = cli("certify", "calc")
    assert "  validation   passed   2 files valid at the strict level" in certified.out
    assert "  permissions  passed   1 tool used, 1 permission asked for" in certified.out
