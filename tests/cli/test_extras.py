"""``km-actions docs``: the Markdown printed for a plugin folder or an installed plugin;
its messages and exit statuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.diagnostics.errors import EngineError
from tests.cli.conftest import Cli, action_text, plugin_text

CLIPBOARD_TOOLS = Path(__file__).resolve().parents[2] / "actions" / "clipboard-tools"
SETTINGS_HEAD = ["| Setting | Type | Default | Description |", "|---|---|---|---|"]
# -- docs ----------------------------------------------------------------------------------


def test_docs_of_a_plugin_folder(cli: Cli) -> None:
    outcome = cli("docs", str(CLIPBOARD_TOOLS))
    assert (outcome.code, outcome.err) == (0, "")
    lines = outcome.out.splitlines()
    assert lines[:3] == [
        "# Clipboard tools",
        "",
        "`clipboard-tools` version 1.0.0, a transformation plugin",
    ]
    settings = lines[lines.index("## Settings") : lines.index("## Actions")]
    assert settings == [
        "## Settings",
        "",
        *SETTINGS_HEAD,
        '| `result_variable` | string | `"Clipboard Tools Result"` | The Keyboard Maestro '
        "variable `clean-clipboard` and `sign-clipboard` put their text in (the Keyboard "
        "Maestro MCP server has no tool that sets the clipboard: a macro's \"Set Clipboard to "
        'Text %Variable%Clipboard Tools Result%" does). |',
        '| `signature` | string | `"-- sent from my Mac"` | The line `sign-clipboard` adds '
        "under the clipboard text. |",
        "| `preview_length` | integer | `60` | How many characters of the clipboard "
        "notifications show. |",
        '| `share_macro` | string | `"Share Clipboard"` | The Keyboard Maestro macro '
        "`share-clipboard` runs. |",
        "| `share_token` | string | (secret) | The API token of your sharing service. "
        "`share-clipboard` puts it in the password variable ClipboardToolsTokenPassword for the "
        "sharing macro; it is never shown. |",
        "",
    ]
    clean = lines[lines.index("### clean-clipboard") : lines.index("### preview-clipboard")]
    assert clean == [
        "### clean-clipboard",
        "",
        "Tidy the clipboard text (trim it and squeeze runs of spaces and tabs into one space) "
        "into the `result_variable` Keyboard Maestro variable.",
        "",
        "Takes no inputs.",
        "",
        "Outputs: `text`, `changed`",
        "",
        "Calls: `km_engine_control`, `km_variable_manager`",
        "",
        "Run it: `km-actions run clipboard-tools/clean-clipboard`",
        "",
        "Examples (from its tests):",
        "",
        '- squeezes spaces and trims, into the variable: inputs `{}` give `{"text": '
        '"hello big world", "changed": true}`',
        "",
    ]
    assert [line for line in lines if line.startswith("### ")] == [
        "### clean-clipboard",
        "### preview-clipboard",
        "### share-clipboard",
        "### sign-clipboard",
    ]


def test_docs_of_a_folder_in_the_working_folder_wins_over_an_installed_id(cli: Cli) -> None:
    assert cli("install", str(CLIPBOARD_TOOLS), "--yes").code == 0
    cli.write("clipboard-tools/plugin.yaml", plugin_text("clipboard-tools", version="0.0.1"))
    cli.write("clipboard-tools/actions/hi.yaml", action_text("hi", "steps:\n  - set: {x: 1}\n"))
    outcome = cli("docs", "clipboard-tools")
    assert (outcome.code, outcome.err) == (0, "")
    assert outcome.out.splitlines() == [
        "# Clipboard-Tools",
        "",
        "`clipboard-tools` version 0.0.1, an action plugin",
        "",
        "The clipboard-tools plugin.",
        "",
        "## Permissions",
        "",
        "None.",
        "",
        "## Actions",
        "",
        "### hi",
        "",
        "Does a thing.",
        "",
        "Takes no inputs.",
        "",
        "Run it: `km-actions run clipboard-tools/hi`",
        "",
    ]


def test_docs_of_one_installed_action_shows_how_to_run_it(cli: Cli) -> None:
    assert cli("install", str(CLIPBOARD_TOOLS), "--yes").code == 0
    outcome = cli("docs", "clipboard-tools/preview-clipboard")
    assert (outcome.code, outcome.err) == (0, "")
    lines = outcome.out.splitlines()
    assert lines[0] == "# preview-clipboard"
    assert "Run it: `km-actions run clipboard-tools/preview-clipboard --input title=Now`" in lines
    assert not any(line.startswith("## ") or "### sign" in line for line in lines)
    misspelt = cli("docs", "clipboard-tools/preview-clipbord")
    assert (misspelt.code, misspelt.err) == (
        1,
        "km-actions docs: the plugin 'clipboard-tools' has no action 'preview-clipbord'\n"
        "     = hint: did you mean 'preview-clipboard'?\n",
    )


def test_docs_of_an_action_file_shows_how_to_run_it(cli: Cli) -> None:
    cli.write(
        "greet.yaml",
        action_text(
            "greet",
            """\
            inputs:
              who: {type: string, description: Who to greet.}
            steps:
              - set: {msg: "Hello {{ inputs.who }}"}
            outputs:
              msg: "{{ vars.msg }}"
            """,
        ),
    )
    outcome = cli("docs", "greet.yaml")
    assert outcome.out.splitlines()[0] == "# greet"
    assert "Run it: `km-actions run greet.yaml --input who=…`" in outcome.out.splitlines()


def test_docs_of_an_installed_plugin(cli: Cli) -> None:
    assert cli("install", str(CLIPBOARD_TOOLS), "--yes").code == 0
    assert (
        cli("configure", "clipboard-tools", "preview_length=20", "share_token=tok-s3cr3t!").code
        == 0
    )
    outcome = cli("docs", "clipboard-tools")
    assert (outcome.code, outcome.err) == (0, "")
    lines = outcome.out.splitlines()
    assert lines[:3] == [
        "# Clipboard tools",
        "",
        "`clipboard-tools` version 1.0.0, a transformation plugin",
    ]
    settings = lines[lines.index("## Settings") + 4 : lines.index("## Actions") - 1]
    assert [row.split(" | ")[:3] for row in settings] == [
        ["| `preview_length`", "integer", "`60` (now `20`)"],
        ["| `result_variable`", "string", '`"Clipboard Tools Result"`'],
        ["| `share_macro`", "string", '`"Share Clipboard"`'],
        ["| `share_token`", "string", "(secret) (set)"],
        ["| `signature`", "string", '`"-- sent from my Mac"`'],
    ]
    assert "tok-s3cr3t!" not in outcome.out
    assert [line for line in lines if line.startswith("### ")] == [
        "### clean-clipboard",
        "### preview-clipboard",
        "### share-clipboard",
        "### sign-clipboard",
    ]


@pytest.mark.parametrize(
    ("installed", "argv", "err"),
    [
        pytest.param(
            False,
            ["nope"],
            "km-actions docs: no plugin 'nope' is installed\n"
            "     = hint: see what is installed with `km-actions list`\n",
            id="nothing-installed",
        ),
        pytest.param(
            True,
            ["clipboard-tool"],
            "km-actions docs: no plugin 'clipboard-tool' is installed\n"
            "     = hint: did you mean 'clipboard-tools'?\n",
            id="misspelt",
        ),
        pytest.param(
            False,
            ["empty"],
            "km-actions docs: empty: no plugin manifest (plugin.yaml, plugin.yml, plugin.json) "
            "at the top of the folder\n"
            "     = hint: add a plugin.yaml (see docs/plugins.md), or install a single action "
            "file\n",
            id="folder-without-plugin-yaml",
        ),
    ],
)
def test_docs_errors(cli: Cli, installed: bool, argv: list[str], err: str) -> None:
    (cli.folder / "empty").mkdir()
    if installed:
        assert cli("install", str(CLIPBOARD_TOOLS), "--yes").code == 0
    outcome = cli("docs", *argv)
    assert (outcome.code, outcome.out, outcome.err) == (1, "", err)


def test_docs_error_without_a_hint(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(folder: Path) -> None:
        raise EngineError(f"{folder.name}: cannot be read")

    monkeypatch.setattr("engine.plugins.manifest.read_plugin", refuse)
    (cli.folder / "plug").mkdir()
    outcome = cli("docs", "plug")
    assert (outcome.code, outcome.out, outcome.err) == (
        1,
        "",
        "km-actions docs: plug: cannot be read\n",
    )


def test_docs_when_the_store_cannot_be_opened(cli: Cli) -> None:
    cli.home.write_text("a file where the data folder should be")
    outcome = cli("docs", "clipboard-tools")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.splitlines() == [
        f"km-actions docs: cannot open the plugin store at {cli.home}: [Errno 17] File "
        f"exists: '{cli.home}'",
        f"     = hint: check that {cli.home} is a folder you can write to, or set KM_ACTIONS_HOME "
        "to another folder",
    ]
