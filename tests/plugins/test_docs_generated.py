"""The generated Markdown of plugins and actions (engine.plugins.docs): tables, rules, examples,
settings with their secrets masked, and the documentation of an installed plugin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.diagnostics.errors import EngineError
from engine.plugins.docs import action_markdown, plugin_markdown, plugin_markdown_from
from engine.plugins.installer import install
from engine.plugins.lifecycle import configure
from engine.plugins.store import Store

CLIPBOARD_TOOLS = Path(__file__).resolve().parents[2] / "actions" / "clipboard-tools"
TABLE_HEAD = ["| Input | Type | Required | Default | Description |", "|---|---|---|---|---|"]
SETTINGS_HEAD = ["| Setting | Type | Default | Description |", "|---|---|---|---|"]
SECRET_VALUE = "tok-s3cr3t-value"


def _lines(markdown: str) -> list[str]:
    return markdown.splitlines()


def _section(markdown: str, title: str) -> list[str]:
    """The lines of one ``## title`` section, up to the next ``## `` heading."""
    lines = _lines(markdown)
    start = lines.index(f"## {title}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


# -- one action ----------------------------------------------------------------------------


def test_a_whole_action() -> None:
    manifest = {
        "name": "greet",
        "description": "Say hello.",
        "inputs": {"who": {"type": "string", "description": "Whom to greet"}},
        "steps": [{"id": "say", "tool": "km_notifications", "with": {"message": "hi"}}],
        "outputs": {"text": "{{ vars.t }}", "shown": "{{ true }}"},
        "tests": [
            {"name": "greets", "inputs": {"who": "Ann"}, "expect": {"outputs": {"text": "Hi"}}}
        ],
    }
    assert action_markdown(manifest) == "\n".join(
        [
            "### greet",
            "",
            "Say hello.",
            "",
            *TABLE_HEAD,
            "| `who` | text | yes |  | Whom to greet |",
            "",
            "Outputs: `text`, `shown`",
            "",
            "Calls: `km_notifications`",
            "",
            "Examples (from its tests):",
            "",
            '- greets: inputs `{"who": "Ann"}` give `{"text": "Hi"}`',
            "",
        ]
    )


def test_a_bare_action_has_a_placeholder_name_and_no_inputs() -> None:
    assert action_markdown({}, heading="##") == "## ?\n\nTakes no inputs.\n"


@pytest.mark.parametrize(
    ("spec", "row"),
    [
        pytest.param(
            {"type": "string", "description": "Whom to greet"},
            "| `x` | text | yes |  | Whom to greet |",
            id="required-string",
        ),
        pytest.param(
            {"type": "integer", "default": 1, "description": "How often"},
            "| `x` | a whole number | no | `1` | How often |",
            id="default-makes-it-optional",
        ),
        pytest.param(
            {"type": "boolean", "required": False},
            "| `x` | true or false | no |  |  |",
            id="optional-without-default",
        ),
        pytest.param(
            {"type": "array", "default": ["a", "é"], "description": "Tags"},
            '| `x` | a list | no | `["a", "é"]` | Tags |',
            id="default-as-json",
        ),
        pytest.param(
            {"type": "object", "default": {"k": None}},
            '| `x` | a mapping (key: value pairs) | no | `{"k": null}` |  |',
            id="object-default",
        ),
        pytest.param({"type": "any"}, "| `x` | any value | yes |  |  |", id="any"),
        pytest.param({"type": "widget"}, "| `x` | widget | yes |  |  |", id="unknown-type"),
        pytest.param(
            {"type": "string", "enum": ["fast", "slow"], "default": "fast", "description": "How"},
            '| `x` | text | no | `"fast"` | How; one of `"fast"`, `"slow"` |',
            id="enum-after-description",
        ),
        pytest.param(
            {"type": "integer", "enum": [1, 2]},
            "| `x` | a whole number | yes |  | one of `1`, `2` |",
            id="enum-alone",
        ),
        pytest.param(
            {"type": "integer", "minimum": 1, "maximum": 10, "description": "Count"},
            "| `x` | a whole number | yes |  | Count; from 1 to 10 |",
            id="minimum-and-maximum",
        ),
        pytest.param(
            {"type": "number", "minimum": 0.5},
            "| `x` | a number | yes |  | from 0.5 to … |",
            id="minimum-only",
        ),
        pytest.param(
            {"type": "number", "maximum": 0},
            "| `x` | a number | yes |  | from … to 0 |",
            id="maximum-zero",
        ),
        pytest.param(
            {"type": "integer", "enum": [1, 5], "minimum": 1, "maximum": 5, "description": "N"},
            "| `x` | a whole number | yes |  | N; one of `1`, `5`; from 1 to 5 |",
            id="enum-and-range",
        ),
        pytest.param(
            {"type": "string", "secret": True, "default": "s3cr3t", "description": "Key"},
            "| `x` | text | no | (secret) | Key |",
            id="secret-default-masked",
        ),
        pytest.param(
            {"type": "string", "secret": True, "description": "Key"},
            "| `x` | text | yes |  | Key |",
            id="secret-without-default",
        ),
        pytest.param(
            {"type": "string", "description": "a | b\nc"},
            "| `x` | text | yes |  | a \\| b c |",
            id="pipe-and-newline-escaped",
        ),
        pytest.param(
            {"type": "string", "enum": ["a|b"]},
            '| `x` | text | yes |  | one of `"a\\|b"` |',
            id="pipe-in-a-rule-escaped",
        ),
    ],
)
def test_input_rows(spec: dict[str, Any], row: str) -> None:
    lines = _lines(action_markdown({"name": "a", "inputs": {"x": spec}}))
    assert lines == ["### a", "", *TABLE_HEAD, row]


def test_inputs_keep_their_order_and_skip_malformed_entries() -> None:
    inputs = {
        "b": {"type": "string"},
        "broken": "not a mapping",
        "a": {"type": "integer", "default": 2},
    }
    assert _lines(action_markdown({"name": "a", "inputs": inputs})) == [
        "### a",
        "",
        *TABLE_HEAD,
        "| `b` | text | yes |  |  |",
        "| `a` | a whole number | no | `2` |  |",
    ]


@pytest.mark.parametrize(
    "inputs",
    [
        pytest.param(None, id="none"),
        pytest.param({}, id="empty"),
        pytest.param(["who"], id="a-list"),
        pytest.param({"who": "text"}, id="only-malformed-entries"),
    ],
)
def test_takes_no_inputs(inputs: Any) -> None:
    manifest = {"name": "a", "description": "Does a thing.", "inputs": inputs}
    assert _lines(action_markdown(manifest)) == [
        "### a",
        "",
        "Does a thing.",
        "",
        "Takes no inputs.",
    ]


@pytest.mark.parametrize(
    ("outputs", "line"),
    [
        pytest.param({"x": "1", "y": "2"}, "Outputs: `x`, `y`", id="listed"),
        pytest.param({}, None, id="empty"),
        pytest.param(["x"], None, id="not-a-mapping"),
        pytest.param(None, None, id="none"),
    ],
)
def test_outputs_line(outputs: Any, line: str | None) -> None:
    lines = _lines(action_markdown({"name": "a", "outputs": outputs}))
    assert lines == ["### a", "", "Takes no inputs.", *([] if line is None else ["", line])]


NESTED_STEPS: list[Any] = [
    {"id": "read", "tool": "km_clipboard_manager", "with": {"operation": "get"}},
    {"foreach": "[1, 2]", "steps": [{"tool": "km_notifications", "with": {"message": "x"}}]},
    {
        "parallel": [
            {"name": "one", "steps": [{"tool": "km_calculator", "with": {"expression": "1"}}]},
            {"name": "two", "steps": [{"tool": "km_calculator", "with": {"expression": "2"}}]},
        ]
    },
    {
        "choose": [{"when": "true", "steps": [{"tool": "km_variable_manager"}]}],
        "otherwise": [{"tool": "km_execute_macro", "with": {"identifier": "M"}}],
    },
    {
        "id": "risky",
        "tool": "km_search_macros",
        "retry": {"attempts": 2},
        "catch": [{"tool": "km_window_manager"}, {"set": {"problem": "{{ error.kind }}"}}],
    },
    {"tool": {"not": "a name"}},
    {"action": "other-action"},
]


def test_calls_lists_every_tool_in_nested_steps_once_sorted() -> None:
    lines = _lines(action_markdown({"name": "a", "steps": NESTED_STEPS}))
    assert lines[-1] == (
        "Calls: `km_calculator`, `km_clipboard_manager`, `km_execute_macro`, "
        "`km_notifications`, `km_search_macros`, `km_variable_manager`, `km_window_manager`"
    )


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(None, id="none"),
        pytest.param([{"set": {"x": 1}}, {"action": "b"}], id="no-tool-steps"),
        pytest.param("not steps", id="not-a-list"),
    ],
)
def test_no_calls_line_without_tools(steps: Any) -> None:
    assert _lines(action_markdown({"name": "a", "steps": steps})) == [
        "### a",
        "",
        "Takes no inputs.",
    ]


def test_examples_come_from_tests_that_expect_outputs() -> None:
    tests = [
        {"name": "no expect", "inputs": {"n": 0}},
        {"name": "expects an error", "expect": {"error": {"kind": "failed"}}},
        {"name": "outputs not a mapping", "expect": {"outputs": ["x"]}},
        "not a test",
        {"name": "one", "inputs": {"n": 1}, "expect": {"outputs": {"sq": 1}}},
        {"name": "no inputs", "expect": {"outputs": {"sq": 0}, "calls": []}},
        {"name": "empty outputs", "inputs": {"n": 2}, "expect": {"outputs": {}}},
        {"name": "fourth", "inputs": {"n": 3}, "expect": {"outputs": {"sq": 9}}},
    ]
    lines = _lines(action_markdown({"name": "square", "tests": tests}))
    assert lines[lines.index("Examples (from its tests):") :] == [
        "Examples (from its tests):",
        "",
        '- one: inputs `{"n": 1}` give `{"sq": 1}`',
        '- no inputs: inputs `{}` give `{"sq": 0}`',
        '- empty outputs: inputs `{"n": 2}` give `{}`',
    ]


def test_examples_show_text_as_written() -> None:
    tests = [{"inputs": {"t": "a\nb"}, "expect": {"outputs": {"t": "Ünï"}}}]
    lines = _lines(action_markdown({"name": "a", "tests": tests}))
    assert lines[-1] == '- : inputs `{"t": "a\\nb"}` give `{"t": "Ünï"}`'


@pytest.mark.parametrize(
    "tests",
    [
        pytest.param(None, id="none"),
        pytest.param([], id="empty"),
        pytest.param([{"name": "e", "expect": {"error": {"kind": "failed"}}}], id="only-errors"),
        pytest.param([{"name": "c", "expect": {"calls": []}}], id="only-calls"),
    ],
)
def test_no_examples_without_expected_outputs(tests: Any) -> None:
    assert "Examples" not in action_markdown({"name": "a", "tests": tests})


# -- a plugin from its metadata ------------------------------------------------------------

METADATA: dict[str, Any] = {
    "identifier": "demo",
    "name": "Demo tools",
    "version": "1.2.0",
    "description": "Tools to show.",
    "plugin_type": "transformation",
    "permissions": ["km_clipboard_manager", "km_notifications"],
    "configuration_schema": {
        "type": "object",
        "properties": {
            "greeting": {"type": "string", "default": "Hi | there", "description": "How."},
            "size": {"type": "integer", "description": "How many\nat most."},
            "token": {"type": "string", "secret": True, "description": "The token."},
            "key": {"type": "string", "secret": True, "default": "default-key"},
            "loose": "not a mapping",
        },
    },
    "dependencies": {"base": ">=1.0,<2", "extra": ">=2.1"},
}
HELLO = {"name": "hello", "description": "Says hello.", "outputs": {"text": "hi"}}


def test_a_whole_plugin() -> None:
    markdown = plugin_markdown_from(METADATA, [HELLO, {"name": "bye"}])
    assert markdown == "\n".join(
        [
            "# Demo tools",
            "",
            "`demo` version 1.2.0, a transformation plugin",
            "",
            "Tools to show.",
            "",
            "## Permissions",
            "",
            "`km_clipboard_manager`, `km_notifications`",
            "",
            "## Settings",
            "",
            *SETTINGS_HEAD,
            '| `greeting` | string | `"Hi | there"` | How. |',
            "| `size` | integer |  | How many at most. |",
            "| `token` | string | (secret) | The token. |",
            "| `key` | string | (secret) |  |",
            "| `loose` | any |  |  |",
            "",
            "## Dependencies",
            "",
            "- `base` >=1.0,<2",
            "- `extra` >=2.1",
            "",
            "## Actions",
            "",
            "### hello",
            "",
            "Says hello.",
            "",
            "Takes no inputs.",
            "",
            "Outputs: `text`",
            "",
            "### bye",
            "",
            "Takes no inputs.",
            "",
        ]
    )
    assert "default-key" not in markdown


def test_a_bare_plugin() -> None:
    assert plugin_markdown_from({}, []) == "\n".join(
        ["# ?", "", "`?` version ?", "", "## Permissions", "", "None.", "", "## Actions", ""]
    )


@pytest.mark.parametrize(
    ("metadata", "version", "heading"),
    [
        pytest.param({"identifier": "p"}, None, ["# p", "", "`p` version ?"], id="title-is-id"),
        pytest.param(
            {"identifier": "p", "name": "", "version": "1.0.0"},
            None,
            ["# p", "", "`p` version 1.0.0"],
            id="empty-name",
        ),
        pytest.param(
            {"identifier": "p", "name": "P", "version": "1.0.0"},
            "2.0.0",
            ["# P", "", "`p` version 2.0.0"],
            id="installed-version-wins",
        ),
    ],
)
def test_heading_and_version(
    metadata: dict[str, Any], version: str | None, heading: list[str]
) -> None:
    assert _lines(plugin_markdown_from(metadata, [], version=version))[:3] == heading


@pytest.mark.parametrize(
    ("plugin_type", "line"),
    [
        pytest.param("action", "`p` version 1.0.0, an action plugin", id="action"),
        pytest.param("integration", "`p` version 1.0.0, an integration plugin", id="integration"),
        pytest.param("interface", "`p` version 1.0.0, an interface plugin", id="interface"),
        pytest.param("trigger", "`p` version 1.0.0, a trigger plugin", id="trigger"),
        pytest.param("utility", "`p` version 1.0.0, a utility plugin", id="utility"),
        pytest.param("", "`p` version 1.0.0", id="empty"),
        pytest.param(None, "`p` version 1.0.0", id="none"),
    ],
)
def test_plugin_type(plugin_type: str | None, line: str) -> None:
    metadata = {"identifier": "p", "version": "1.0.0", "plugin_type": plugin_type}
    assert _lines(plugin_markdown_from(metadata, []))[2] == line


@pytest.mark.parametrize(
    ("permissions", "line"),
    [
        pytest.param(["km_notifications"], "`km_notifications`", id="one"),
        pytest.param([], "None.", id="empty"),
        pytest.param(None, "None.", id="none"),
    ],
)
def test_permissions(permissions: list[str] | None, line: str) -> None:
    markdown = plugin_markdown_from({"identifier": "p", "permissions": permissions}, [])
    assert _section(markdown, "Permissions") == ["", line, ""]


@pytest.mark.parametrize(
    "schema",
    [
        pytest.param(None, id="none"),
        pytest.param({"type": "object"}, id="no-properties"),
        pytest.param({"type": "object", "properties": {}}, id="empty-properties"),
        pytest.param("not a schema", id="not-a-mapping"),
    ],
)
def test_no_settings_section_without_settings(schema: Any) -> None:
    markdown = plugin_markdown_from({"identifier": "p", "configuration_schema": schema}, [])
    assert "## Settings" not in markdown


def test_no_dependencies_section_without_dependencies() -> None:
    markdown = plugin_markdown_from({"identifier": "p", "dependencies": {}}, [])
    assert "## Dependencies" not in markdown


def test_current_settings_are_shown_and_secrets_only_said_to_be_set() -> None:
    settings = {"greeting": "Yo", "size": 0, "token": SECRET_VALUE, "key": SECRET_VALUE}
    markdown = plugin_markdown_from(METADATA, [], settings=settings)
    assert _section(markdown, "Settings") == [
        "",
        *SETTINGS_HEAD,
        '| `greeting` | string | `"Hi | there"` (now `"Yo"`) | How. |',
        "| `size` | integer |  (now `0`) | How many at most. |",
        "| `token` | string | (secret) (set) | The token. |",
        "| `key` | string | (secret) (set) |  |",
        "| `loose` | any |  |  |",
        "",
    ]
    assert SECRET_VALUE not in markdown


def test_settings_not_set_show_only_their_defaults() -> None:
    markdown = plugin_markdown_from(METADATA, [], settings={"other": 1})
    assert _section(markdown, "Settings")[3:5] == [
        '| `greeting` | string | `"Hi | there"` | How. |',
        "| `size` | integer |  | How many at most. |",
    ]


# -- an installed plugin -------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A store in ``tmp_path/home`` with actions/clipboard-tools installed."""
    with Store.open(tmp_path / "home") as opened:
        install(opened, CLIPBOARD_TOOLS)
        yield opened


def _clean_clipboard_file(store: Store) -> Path:
    plugin = store.require("clipboard-tools")
    (action,) = [a for a in store.actions(plugin) if a.name == "clean-clipboard"]
    return store.folder(plugin) / action.path


def test_an_installed_plugin(store: Store) -> None:
    markdown = plugin_markdown(store, "clipboard-tools")
    lines = _lines(markdown)
    assert lines[:8] == [
        "# Clipboard tools",
        "",
        "`clipboard-tools` version 1.0.0, a transformation plugin",
        "",
        "Tidy the clipboard text, sign it, preview it in a notification, and hand it to your "
        "sharing macro.",
        "",
        "## Permissions",
        "",
    ]
    assert lines[8] == (
        "`km_engine_control:process_tokens`, `km_notifications`, `km_variable_manager:set`, "
        "`km_execute_macro`"
    )
    # The store keeps the metadata with its keys sorted: the settings come alphabetically.
    assert _section(markdown, "Settings") == [
        "",
        *SETTINGS_HEAD,
        "| `preview_length` | integer | `60` | How many characters of the clipboard "
        "notifications show. |",
        '| `result_variable` | string | `"Clipboard Tools Result"` | The Keyboard Maestro '
        "variable `clean-clipboard` and `sign-clipboard` put their text in (the Keyboard "
        "Maestro MCP server has no tool that sets the clipboard: a macro's \"Set Clipboard to "
        'Text %Variable%Clipboard Tools Result%" does). |',
        '| `share_macro` | string | `"Share Clipboard"` | The Keyboard Maestro macro '
        "`share-clipboard` runs. |",
        "| `share_token` | string | (secret) | The API token of your sharing service. "
        "`share-clipboard` puts it in the password variable ClipboardToolsTokenPassword for the "
        "sharing macro; it is never shown. |",
        '| `signature` | string | `"-- sent from my Mac"` | The line `sign-clipboard` adds '
        "under the clipboard text. |",
        "",
    ]
    assert [line for line in lines if line.startswith("### ")] == [
        "### clean-clipboard",
        "### preview-clipboard",
        "### share-clipboard",
        "### sign-clipboard",
    ]
    preview = lines[lines.index("### preview-clipboard") :]
    assert preview[: preview.index("### share-clipboard")] == [
        "### preview-clipboard",
        "",
        "Show the start of the clipboard text in a notification (as many characters as the "
        "`preview_length` setting).",
        "",
        *TABLE_HEAD,
        '| `title` | text | no | `"Clipboard"` | The notification\'s title. |',
        "",
        "Outputs: `preview`",
        "",
        "Calls: `km_engine_control`, `km_notifications`",
        "",
        "Run it: `km-actions run clipboard-tools/preview-clipboard --input title=Now`",
        "",
        "Examples (from its tests):",
        "",
        '- shortens long text to the configured length: inputs `{}` give `{"preview": '
        '"The quick…"}`',
        '- says so when the clipboard is empty: inputs `{"title": "Now"}` give `{"preview": '
        '"(empty)"}`',
        "",
    ]
    assert markdown.endswith("\n") and not markdown.endswith("\n\n")


def test_an_installed_plugin_shows_its_settings_but_never_its_secret(store: Store) -> None:
    configure(store, "clipboard-tools", {"preview_length": 20, "share_token": SECRET_VALUE})
    markdown = plugin_markdown(store, "clipboard-tools")
    rows = _section(markdown, "Settings")[3:8]
    assert [row.split(" | ")[2] for row in rows] == [
        "`60` (now `20`)",
        '`"Clipboard Tools Result"`',
        '`"Share Clipboard"`',
        "(secret) (set)",
        '`"-- sent from my Mac"`',
    ]
    assert SECRET_VALUE not in markdown


@pytest.mark.parametrize(
    ("damage", "description"),
    [
        pytest.param(
            "missing",
            "(unreadable: [Errno 2] No such file or directory: '{path}')",
            id="missing",
        ),
        pytest.param(
            "garbled",
            "(unreadable: not valid YAML: a ': ' in the middle of this value starts another key)",
            id="garbled",
        ),
    ],
)
def test_an_unreadable_action_file_is_said_so(store: Store, damage: str, description: str) -> None:
    path = _clean_clipboard_file(store)
    if damage == "missing":
        path.unlink()
    else:
        path.write_text("a: b: c\n", "utf-8")
    lines = _lines(plugin_markdown(store, "clipboard-tools"))
    start = lines.index("### clean-clipboard")
    assert lines[start : start + 6] == [
        "### clean-clipboard",
        "",
        description.format(path=path),
        "",
        "Takes no inputs.",
        "",
    ]
    assert lines[start + 6] == "### preview-clipboard"


def test_documentation_of_a_plugin_not_installed(store: Store) -> None:
    with pytest.raises(EngineError) as raised:
        plugin_markdown(store, "clipboard-tool")
    assert (raised.value.message, raised.value.hint) == (
        "no plugin 'clipboard-tool' is installed",
        "did you mean 'clipboard-tools'?",
    )
