"""``km-actions new``, ``docs`` and ``stats``: the files written, the Markdown printed,
the metrics shown; their messages and exit statuses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from engine.errors import EngineError
from tests.cli.conftest import Cli, action_text, plugin_text

CLIPBOARD_TOOLS = Path(__file__).resolve().parents[2] / "actions" / "clipboard-tools"
SETTINGS_HEAD = ["| Setting | Type | Default | Description |", "|---|---|---|---|"]
# The line the docs show (docs/writing-actions.md, "Setting up your editor").
DOCS_SCHEMA = "# yaml-language-server: $schema=./action.schema.json"
SAVE_SCHEMA = "for your editor: km-actions schema > {}action.schema.json\n"
NEW_HELLO = f"""\
{DOCS_SCHEMA}
api_version: "1.0"
kind: action
name: hello
description: Describe what the action does, in one sentence.
version: 0.1.0
permissions: [km_notifications]
inputs:
  message:
    type: string
    default: Hello from hello
    description: What the notification says.
steps:
  - id: notify
    tool: km_notifications
    with:
      notification_type: notification
      title: hello
      message: "{{{{ inputs.message }}}}"
outputs:
  shown: "{{{{ steps.notify.status == 'succeeded' }}}}"
tests:
  - name: shows the message
    inputs: {{message: Hi}}
    mocks:
      km_notifications: [{{success: true}}]
    expect:
      outputs: {{shown: true}}
      calls:
        - {{tool: km_notifications, with: {{message: Hi}}}}
"""


def _passes_validate_and_test(cli: Cli, file: str, name: str) -> None:
    validated = cli("validate", file)
    assert (validated.code, validated.out, validated.err) == (
        0,
        "no problems in 1 file; 1 valid\n",
        "",
    )
    tested = cli("test", file)
    assert (tested.code, tested.out) == (
        0,
        f"{file}::{name}::shows the message PASSED\n\n1 passed, 0 failed\n",
    )


# -- new -----------------------------------------------------------------------------------


def test_new_writes_an_action_that_validates_and_passes_its_test(cli: Cli) -> None:
    outcome = cli("new", "hello")
    assert (outcome.code, outcome.out, outcome.err) == (
        0,
        "wrote hello.yaml: edit it, then `km-actions validate hello.yaml` and "
        "`km-actions test hello.yaml`\n" + SAVE_SCHEMA.format(""),
        "",
    )
    assert (cli.folder / "hello.yaml").read_text("utf-8") == NEW_HELLO
    _passes_validate_and_test(cli, "hello.yaml", "hello")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a", id="one-letter"),
        pytest.param("a-b_9", id="dash-underscore-digit"),
        pytest.param("a" * 64, id="64-characters"),
        pytest.param("yes", id="yaml-true"),
        pytest.param("off", id="yaml-false"),
        pytest.param("null", id="yaml-null"),
    ],
)
def test_new_names_that_yaml_would_misread_are_quoted(cli: Cli, name: str) -> None:
    assert cli("new", name).code == 0
    data = yaml.safe_load((cli.folder / f"{name}.yaml").read_text("utf-8"))
    assert (data["name"], data["steps"][0]["with"]["title"]) == (name, name)
    assert data["inputs"]["message"]["default"] == f"Hello from {name}"
    _passes_validate_and_test(cli, f"{name}.yaml", name)


@pytest.mark.parametrize(
    ("description", "line"),
    [
        pytest.param("Copies the clipboard.", "description: Copies the clipboard.", id="plain"),
        pytest.param(
            "Copy: then paste", 'description: "Copy: then paste"', id="colon-space-quoted"
        ),
        pytest.param("Tidy # it", 'description: "Tidy # it"', id="hash-quoted"),
        pytest.param('Say "hi"', 'description: Say "hi"', id="inner-quotes-plain"),
        pytest.param("two\nlines é", 'description: "two\\nlines é"', id="newline-escaped"),
        pytest.param("- item", 'description: "- item"', id="dash-quoted"),
        pytest.param("", 'description: ""', id="empty-quoted"),
    ],
)
def test_new_description(cli: Cli, description: str, line: str) -> None:
    assert cli("new", "act", "--description", description).code == 0
    text = (cli.folder / "act.yaml").read_text("utf-8")
    assert text.splitlines()[4] == line
    assert yaml.safe_load(text)["description"] == description
    if description:
        _passes_validate_and_test(cli, "act.yaml", "act")
    else:  # valid, with a warning that says to write one
        validated = cli("validate", "act.yaml")
        assert (validated.code, validated.out.splitlines()[0]) == (
            0,
            "act.yaml:4:1: warning[missing-description]: the action has no `description`",
        )


@pytest.mark.parametrize(
    ("name", "example"),
    [
        pytest.param("Hello", ", e.g. 'hello'", id="upper-case"),
        pytest.param("1st", ", e.g. 'a-1st'", id="starts-with-digit"),
        pytest.param("-x", ", e.g. 'x'", id="starts-with-dash"),
        pytest.param("a.b", ", e.g. 'a-b'", id="dot"),
        pytest.param("a b", ", e.g. 'a-b'", id="space"),
        pytest.param("a" * 65, f", e.g. '{'a' * 64}'; at most 64 characters", id="65-characters"),
        pytest.param("abc\n", ", e.g. 'abc'", id="final-newline"),
        pytest.param("../x", ", e.g. 'x'", id="a-path"),
        pytest.param("", "", id="empty"),
    ],
)
def test_new_refuses_an_invalid_name(cli: Cli, name: str, example: str) -> None:
    outcome = cli("new", "--", name)
    assert (outcome.code, outcome.out, outcome.err) == (
        2,
        "",
        f"km-actions new: {name!r} is not a valid name: use lower-case letters, digits, "
        f"- and _, starting with a letter{example}\n",
    )
    assert list(cli.folder.iterdir()) == []


def test_new_does_not_overwrite(cli: Cli) -> None:
    cli.write("hello.yaml", "mine\n")
    outcome = cli("new", "hello")
    assert (outcome.code, outcome.out, outcome.err) == (
        1,
        "",
        "km-actions new: hello.yaml already exists; choose another name\n",
    )
    assert (cli.folder / "hello.yaml").read_text("utf-8") == "mine\n"


def test_new_creates_its_folder(cli: Cli) -> None:
    outcome = cli("new", "deep", "--folder", "a/b/c")
    assert (outcome.code, outcome.out) == (
        0,
        "wrote a/b/c/deep.yaml: edit it, then `km-actions validate a/b/c/deep.yaml` and "
        "`km-actions test a/b/c/deep.yaml`\n" + SAVE_SCHEMA.format("a/b/c/"),
    )
    written = cli.folder / "a/b/c/deep.yaml"
    assert written.read_text("utf-8").splitlines()[0] == DOCS_SCHEMA
    _passes_validate_and_test(cli, "a/b/c/deep.yaml", "deep")


@pytest.mark.parametrize(
    ("folder", "error"),
    [
        pytest.param("taken.txt", "File exists", id="folder-is-a-file"),
        pytest.param("taken.txt/sub", "Not a directory", id="under-a-file"),
    ],
)
def test_new_cannot_write(cli: Cli, folder: str, error: str) -> None:
    cli.write("taken.txt", "a file\n")
    outcome = cli("new", "x", "--folder", folder)
    assert (outcome.code, outcome.out, outcome.err) == (
        1,
        "",
        f"km-actions new: cannot write {folder}/x.yaml: {error}\n",
    )


@pytest.mark.parametrize(
    ("folder", "reference"),
    [
        pytest.param("checkout", "./schemas/action.schema.json", id="checkout-root"),
        pytest.param("checkout/actions", "../schemas/action.schema.json", id="one-down"),
        pytest.param(
            "checkout/actions/mine/new", "../../../schemas/action.schema.json", id="deeper"
        ),
    ],
)
def test_new_points_at_the_checkouts_schema(cli: Cli, folder: str, reference: str) -> None:
    cli.write("checkout/schemas/action.schema.json", "{}\n")
    outcome = cli("new", "x", "--folder", folder)
    assert (outcome.code, "for your editor" in outcome.out) == (0, False)
    written = cli.folder / folder / "x.yaml"
    assert written.read_text("utf-8").splitlines()[0] == (
        f"# yaml-language-server: $schema={reference}"
    )
    assert (written.parent / reference).resolve() == (
        cli.folder / "checkout/schemas/action.schema.json"
    )


@pytest.mark.parametrize(
    ("saved", "folder", "reference"),
    [
        pytest.param("mine/action.schema.json", "mine", "./action.schema.json", id="next-to-it"),
        pytest.param("action.schema.json", "mine", "../action.schema.json", id="one-up"),
        pytest.param("action.schema.json", "mine/deep", "../../action.schema.json", id="two-up"),
    ],
)
def test_new_points_at_the_schema_saved_as_the_docs_say(
    cli: Cli, saved: str, folder: str, reference: str
) -> None:
    cli.write(saved, "{}\n")
    cli.write("schemas/action.schema.json", "{}\n")  # farther than the saved one
    outcome = cli("new", "x", "--folder", folder)
    assert (outcome.code, "for your editor" in outcome.out) == (0, False)
    first = (cli.folder / folder / "x.yaml").read_text("utf-8").splitlines()[0]
    assert first == f"# yaml-language-server: $schema={reference}"


def test_new_without_a_saved_schema_writes_the_docs_line_and_says_how_to_save_it(
    cli: Cli,
) -> None:
    cli.write("elsewhere/schemas/plugin.schema.json", "{}\n")  # not the action schema
    outcome = cli("new", "x", "--folder", "elsewhere")
    assert outcome.out.splitlines()[-1] == SAVE_SCHEMA.format("elsewhere/").strip()
    first = (cli.folder / "elsewhere/x.yaml").read_text("utf-8").splitlines()[0]
    assert first == DOCS_SCHEMA
    # What it says to run writes the file the line names.
    printed = cli("schema")
    (cli.folder / "elsewhere/action.schema.json").write_text(printed.out, "utf-8")
    assert cli("validate", "elsewhere").code == 0


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
        '| `signature` | string | `"-- sent from my Mac"` | The line `sign-clipboard` adds '
        "under the clipboard text. |",
        "| `preview_length` | integer | `60` | How many characters of the clipboard "
        "notifications show. |",
        '| `share_macro` | string | `"Share Clipboard"` | The Keyboard Maestro macro '
        "`share-clipboard` runs. |",
        "| `share_token` | string | (secret) | The API token of your sharing service. "
        "`share-clipboard` puts it in the password variable ClipboardToolsToken for the "
        "sharing macro; it is never shown. |",
        "",
    ]
    clean = lines[lines.index("### clean-clipboard") : lines.index("### preview-clipboard")]
    assert clean == [
        "### clean-clipboard",
        "",
        "Tidy the clipboard text (trim it and squeeze runs of spaces and tabs into one space) "
        "and put it back.",
        "",
        "Takes no inputs.",
        "",
        "Outputs: `text`, `changed`",
        "",
        "Calls: `km_clipboard_manager`",
        "",
        "Run it: `km-actions run clipboard-tools/clean-clipboard`",
        "",
        "Examples (from its tests):",
        "",
        '- squeezes spaces and trims: inputs `{}` give `{"text": "hello big world", '
        '"changed": true}`',
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


# -- stats ---------------------------------------------------------------------------------

STATS_HEAD = "action                                     runs failed   mean ms    max ms  last run"
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"


def _row(action: str, runs: int, failed: int) -> re.Pattern[str]:
    return re.compile(
        rf"{re.escape(f'{action:<40} {runs:>6} {failed:>6}')} +\d+\.\d\d +\d+\.\d\d  {TIMESTAMP}"
    )


def test_stats_with_no_runs(cli: Cli) -> None:
    outcome = cli("stats")
    assert (outcome.code, outcome.out, outcome.err) == (0, "no runs of installed actions yet\n", "")
    assert cli("stats", "--json").json() == {"actions": [], "recent": []}


def test_stats_with_installed_but_unused_actions(cli: Cli) -> None:
    assert cli("install", str(CLIPBOARD_TOOLS), "--yes").code == 0
    assert cli("stats").out == "no runs of installed actions yet\n"


def _run_clipboard_actions(cli: Cli) -> None:
    assert cli("install", str(CLIPBOARD_TOOLS), "--yes").code == 0
    preview = cli("run", "clipboard-tools/preview-clipboard", "--fresh")
    assert (preview.code, preview.json()) == (0, {"preview": "(empty)"})
    clean = cli("run", "clipboard-tools/clean-clipboard", "--fresh")
    assert clean.code == 1  # the simulator's clipboard is empty
    assert cli("run", "clipboard-tools/preview-clipboard", "--fresh", "-i", "title=T").code == 0


def test_stats_table_after_runs(cli: Cli) -> None:
    _run_clipboard_actions(cli)
    outcome = cli("stats")
    assert (outcome.code, outcome.err) == (0, "")
    head, *rows = outcome.out.splitlines()
    assert head == STATS_HEAD
    assert len(rows) == 2
    assert _row("clipboard-tools/clean-clipboard", 1, 1).fullmatch(rows[0]), rows[0]
    assert _row("clipboard-tools/preview-clipboard", 2, 0).fullmatch(rows[1]), rows[1]


def test_stats_as_json(cli: Cli) -> None:
    _run_clipboard_actions(cli)
    data = cli("stats", "--json").json()
    assert list(data) == ["actions", "recent"]
    assert [(a["action"], a["runs"], a["failures"], a["last_status"]) for a in data["actions"]] == [
        ("clipboard-tools/clean-clipboard", 1, 1, "failed"),
        ("clipboard-tools/preview-clipboard", 2, 0, "succeeded"),
    ]
    for action in data["actions"]:
        assert action["max_ms"] >= action["mean_ms"] > 0
        assert re.fullmatch(TIMESTAMP, action["last_run"])
    assert [(r["action"], r["status"], r["error_kind"]) for r in data["recent"]] == [
        ("preview-clipboard", "succeeded", None),
        ("clean-clipboard", "failed", "failed"),
        ("preview-clipboard", "succeeded", None),
    ]
    first = data["recent"][0]
    assert sorted(first) == [
        "action",
        "duration_ms",
        "error_kind",
        "plugin",
        "started_at",
        "status",
    ]
    assert first["plugin"] == "clipboard-tools"


@pytest.mark.parametrize(
    ("recent", "actions"),
    [
        pytest.param("1", ["preview-clipboard"], id="one"),
        pytest.param("2", ["preview-clipboard", "clean-clipboard"], id="two"),
        pytest.param("0", [], id="none"),
        pytest.param("10", ["preview-clipboard", "clean-clipboard", "preview-clipboard"], id="all"),
    ],
)
def test_stats_recent_limits_the_history(cli: Cli, recent: str, actions: list[str]) -> None:
    _run_clipboard_actions(cli)
    data = cli("stats", "--json", "--recent", recent).json()
    assert [r["action"] for r in data["recent"]] == actions
    assert len(data["actions"]) == 2  # the metrics are never limited


def test_stats_recent_must_be_a_number(cli: Cli) -> None:
    outcome = cli.usage_error("stats", "--recent", "many")
    assert outcome.code == 2
    assert outcome.err.endswith(
        "km-actions stats: error: argument --recent: invalid int value: 'many'\n"
    )


def test_stats_when_the_store_cannot_be_opened(cli: Cli) -> None:
    cli.home.write_text("a file where the data folder should be")
    outcome = cli("stats")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.splitlines()[0] == (
        f"km-actions stats: cannot open the plugin store at {cli.home}: [Errno 17] File "
        f"exists: '{cli.home}'"
    )
