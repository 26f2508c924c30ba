"""``km-actions validate`` (files, folders, plugin folders, JSON) and ``km-actions schema``."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli._validate import _enclosing_plugin
from engine.resources import schema_path
from engine.tools.catalog import ToolCatalog
from engine.tools.saved_tools import save_tool_list
from tests.cli.conftest import DEMO_PLUGIN, Cli, action_text

GOOD = action_text(
    "greet",
    """\
    inputs:
      who: {type: string, description: Who to greet.}
    steps:
      - set: {msg: "Hello {{ inputs.who }}"}
    outputs:
      msg: "{{ vars.msg }}"
    """,
)
UNUSED_INPUT = action_text(
    "greet",
    """\
    inputs:
      who: {type: string, description: Who to greet.}
      loud: {type: boolean, default: false}
    steps:
      - set: {msg: "Hello {{ inputs.who }}"}
    outputs:
      msg: "{{ vars.msg }}"
    """,
)
MISSPELT = action_text(
    "bad",
    """\
    permissions: [km_variable_manager]
    steps:
      - tool: km_variable_manager
        wiht: {operation: get, name: A}
    """,
)
MISSPELT_TEXT = (
    "bad.yaml:8:5: error[unknown-key]: unknown key `wiht` in a `tool` step\n"
    "   8 |     wiht: {operation: get, name: A}\n"
    "     |     ^^^^\n"
    "     = hint: did you mean 'with'?\n"
)
CALLER = action_text(
    "caller",
    """\
    steps:
      - id: c
        action: callee
        with: {n: 2}
    outputs:
      r: "{{ steps.c.result.d }}"
    """,
)
CALLEE = action_text(
    "callee",
    """\
    inputs:
      n: {type: integer, description: A number.}
    steps:
      - set: {d: "{{ inputs.n * 2 }}"}
    outputs:
      d: "{{ vars.d }}"
    """,
)


def test_a_valid_file(cli: Cli) -> None:
    cli.write("greet.yaml", GOOD)
    outcome = cli("validate", "greet.yaml")
    assert (outcome.code, outcome.out, outcome.err) == (0, "no problems in 1 file; 1 valid\n", "")


def test_warnings_are_shown_with_the_source_line_and_pass(cli: Cli) -> None:
    cli.write("greet.yaml", UNUSED_INPUT)
    outcome = cli("validate", "greet.yaml")
    assert outcome.code == 0
    assert outcome.out == (
        "greet.yaml:7:3: warning[unused-input]: the input `loud` is never used\n"
        "   7 |   loud: {type: boolean, default: false}\n"
        "     |   ^^^^\n"
        "     = hint: use it as {{ inputs.loud }}, or remove it\n"
        "\n"
        "1 warning in 1 file; 1 valid\n"
    )


def test_errors_fail_with_status_1(cli: Cli) -> None:
    cli.write("bad.yaml", MISSPELT)
    cli.write("greet.yaml", GOOD)
    outcome = cli("validate", "bad.yaml", "greet.yaml")
    assert outcome.code == 1
    assert outcome.out == MISSPELT_TEXT + "\n1 error in 2 files; 1 valid\n"


UNKNOWN_FILTERS = action_text(
    "shout",
    """\
    inputs:
      who: {type: string, description: Who to greet.}
      words: {type: array, description: Words.}
    steps:
      - set: {msg: "Hello {{ inputs.who | uppercase }}"}
      - set: {titled: "{{ inputs.words | map('titlecase') | list }}"}
    outputs:
      msg: "{{ vars.msg }} {{ vars.titled }}"
    """,
)


def test_an_unknown_filter_is_underlined_whole(cli: Cli) -> None:
    """The excerpt underlines the filter's whole name (given by name in quotes, too),
    not its first character."""
    cli.write("shout.yaml", UNKNOWN_FILTERS)
    outcome = cli("validate", "shout.yaml")
    assert outcome.code == 1
    assert outcome.out == (
        "shout.yaml:9:39: error[unknown-filter]: unknown filter `uppercase`\n"
        '   9 |   - set: {msg: "Hello {{ inputs.who | uppercase }}"}\n'
        "     |                                       ^^^^^^^^^\n"
        "     = hint: did you mean `upper`?\n"
        "\n"
        "shout.yaml:10:43: error[unknown-filter]: unknown filter `titlecase` (given to `map` by "
        "name)\n"
        "  10 |   - set: {titled: \"{{ inputs.words | map('titlecase') | list }}\"}\n"
        "     |                                           ^^^^^^^^^\n"
        "     = hint: did you mean `title`?\n"
        "\n"
        "2 errors in 1 file; 0 valid\n"
    )
    shown = cli("validate", "shout.yaml", "--json").json()
    assert [(d["line"], d["column"], d["end_line"], d["end_column"]) for d in shown] == [
        (9, 39, 9, 48),
        (10, 43, 10, 52),
    ]


def test_json_lists_every_diagnostic(cli: Cli) -> None:
    cli.write("bad.yaml", MISSPELT)
    outcome = cli("validate", "bad.yaml", "--json")
    assert outcome.code == 1
    assert outcome.json() == [
        {
            "severity": "error",
            "code": "unknown-key",
            "message": "unknown key `wiht` in a `tool` step",
            "path": "$.steps[0].wiht",
            "file": "bad.yaml",
            "line": 8,
            "column": 5,
            "end_line": 8,
            "end_column": 9,
            "hint": "did you mean 'with'?",
        }
    ]


def test_json_of_a_valid_file_is_an_empty_list(cli: Cli) -> None:
    cli.write("greet.yaml", GOOD)
    outcome = cli("validate", "greet.yaml", "--json")
    assert (outcome.code, outcome.json()) == (0, [])


def test_quiet_leaves_out_warnings(cli: Cli) -> None:
    cli.write("greet.yaml", UNUSED_INPUT)
    outcome = cli("validate", "-q", "greet.yaml")
    assert (outcome.code, outcome.out) == (0, "no problems in 1 file; 1 valid\n")


@pytest.mark.parametrize(
    ("level", "code", "last_line"),
    [
        pytest.param("basic", 0, "no problems in 1 file; 1 valid", id="basic"),
        pytest.param("standard", 0, "1 warning in 1 file; 1 valid", id="standard"),
        pytest.param("strict", 1, "1 error in 1 file; 0 valid", id="strict"),
    ],
)
def test_levels(cli: Cli, level: str, code: int, last_line: str) -> None:
    cli.write("greet.yaml", UNUSED_INPUT)
    outcome = cli("validate", "greet.yaml", "--level", level)
    assert (outcome.code, outcome.out.splitlines()[-1]) == (code, last_line)
    if level == "strict":
        assert (
            "greet.yaml:7:3: error[missing-description]: the input `loud` has no `description`"
            in outcome.out
        )


def test_a_level_that_does_not_exist(cli: Cli) -> None:
    outcome = cli.usage_error("validate", "x.yaml", "--level", "none")
    assert outcome.code == 2
    assert "argument --level: invalid choice: 'none' (choose from" in outcome.err


def test_missing_paths_are_usage_errors(cli: Cli) -> None:
    cli.write("greet.yaml", GOOD)
    outcome = cli("validate", "nope.yaml", "greet.yaml", "gone")
    assert (outcome.code, outcome.out) == (2, "")
    assert outcome.err == (
        "km-actions validate: no such file or folder: nope.yaml\n"
        "km-actions validate: no such file or folder: gone\n"
    )


def test_a_folder_without_manifests(cli: Cli) -> None:
    cli.write("empty/notes.txt", "not a manifest")
    outcome = cli("validate", "empty")
    assert (outcome.code, outcome.err) == (
        2,
        "km-actions validate: no manifests (.yaml, .yml, .json) found\n",
    )


def test_a_folder_checks_every_manifest_and_skips_tool_folders(cli: Cli) -> None:
    cli.write("lib/caller.yaml", CALLER)
    cli.write("lib/sub/callee.yml", CALLEE)
    cli.write("lib/notes.txt", "ignored")
    for hidden in (".git", "node_modules", ".hidden", "__pycache__"):
        cli.write(f"lib/{hidden}/bad.yaml", MISSPELT)
    outcome = cli("validate", "lib")
    assert (outcome.code, outcome.out) == (0, "no problems in 2 files; 2 valid\n")


def test_a_folder_skips_the_json_schema_saved_for_editors(cli: Cli) -> None:
    """docs/writing-actions.md: save the schema next to your actions, then `validate .`."""
    cli.write("lib/greet.yaml", GOOD)
    cli.write("lib/action.schema.json", cli("schema").out)
    cli.write("lib/plugin.schema.json", cli("schema", "--plugin").out)
    outcome = cli("validate", "lib")
    assert (outcome.code, outcome.out) == (0, "no problems in 1 file; 1 valid\n")


def test_a_file_given_twice_is_checked_once(cli: Cli) -> None:
    cli.write("lib/greet.yaml", GOOD)
    outcome = cli("validate", "lib", "lib/greet.yaml", "./lib/greet.yaml")
    assert outcome.out == "no problems in 1 file; 1 valid\n"


def test_a_file_that_does_not_load_is_reported_with_the_rest(cli: Cli) -> None:
    cli.write("lib/broken.json", "not: [closed\n")
    cli.write("lib/greet.yaml", GOOD)
    outcome = cli("validate", "lib")
    assert outcome.code == 1
    assert outcome.out == (
        "lib/broken.json:1:1: error[syntax]: not valid JSON: unexpected character 'n'\n"
        "   1 | not: [closed\n"
        "     | ^\n"
        "     = hint: JSON needs double quotes around text and keys\n"
        "\n"
        "1 error in 2 files; 1 valid\n"
    )


def test_one_file_knows_the_actions_next_to_it(cli: Cli) -> None:
    cli.write("lib/caller.yaml", CALLER)
    cli.write("lib/callee.yaml", CALLEE)
    outcome = cli("validate", "lib/caller.yaml")
    assert (outcome.code, outcome.out) == (0, "no problems in 1 file; 1 valid\n")


def test_a_call_to_a_missing_action_is_an_error(cli: Cli) -> None:
    cli.write("caller.yaml", CALLER)
    outcome = cli("validate", "caller.yaml")
    assert outcome.code == 1
    assert outcome.out.startswith(
        "caller.yaml:7:13: error[unknown-action]: no action named `callee` is available here\n"
    )


def test_a_call_that_breaks_the_callee_signature(cli: Cli) -> None:
    cli.write("lib/caller.yaml", CALLER.replace("{n: 2}", "{m: 2}"))
    cli.write("lib/callee.yaml", CALLEE)
    outcome = cli("validate", "lib")
    assert outcome.code == 1
    assert "lib/caller.yaml:8:" in outcome.out
    assert "`callee`" in outcome.out


# -- plugin folders ------------------------------------------------------------------------

HELLO = action_text(
    "hello",
    """\
    inputs:
      who: {type: string, description: Who.}
    steps:
      - set: {msg: "{{ config.greeting }} {{ inputs.who }}"}
    outputs:
      msg: "{{ vars.msg }}"
    """,
)
TWICE = action_text(
    "twice",
    """\
    steps:
      - id: one
        action: hello
        with: {who: Bo}
      - tool: km_engine_control
        with: {operation: status}
      - set: {x: "{{ config.nope }}"}
    outputs:
      msg: "{{ steps.one.result.msg }}"
    """,
)
TWICE_PROBLEMS = (
    "demo/actions/twice.yaml:10:23: error[permission-missing]: `km_engine_control:status` is "
    "used, but the plugin's permissions do not include it\n"
    "  10 |     with: {operation: status}\n"
    "     |                       ^^^^^^\n"
    "     = hint: add km_engine_control:status (or km_engine_control) to `permissions:` in "
    "plugin.yaml\n"
    "\n"
    "demo/actions/twice.yaml:11:18: error[unknown-config]: `config.nope` is not a setting of "
    "this plugin\n"
    '  11 |   - set: {x: "{{ config.nope }}"}\n'
    "     |                  ^^^^^^^^^^^\n"
    "     = hint: expected one of: greeting\n"
)


def _plugin(cli: Cli, *, twice: bool = True) -> None:
    cli.write("demo/plugin.yaml", DEMO_PLUGIN)
    cli.write("demo/actions/hello.yaml", HELLO)
    if twice:
        cli.write("demo/actions/twice.yaml", TWICE)


def test_a_valid_plugin_folder(cli: Cli) -> None:
    _plugin(cli, twice=False)
    outcome = cli("validate", "demo")
    assert (outcome.code, outcome.out) == (0, "no problems in 2 files; 2 valid\n")


def test_a_plugin_folder_checks_permissions_and_settings(cli: Cli) -> None:
    _plugin(cli)
    outcome = cli("validate", "demo")
    assert outcome.code == 1
    assert outcome.out == TWICE_PROBLEMS + "\n2 errors in 3 files; 2 valid\n"


def test_one_action_of_a_plugin_is_checked_in_the_plugin(cli: Cli) -> None:
    _plugin(cli)
    outcome = cli("validate", "demo/actions/twice.yaml")
    assert outcome.code == 1
    assert outcome.out == TWICE_PROBLEMS + "\n2 errors in 1 file; 0 valid\n"


def test_plugin_yaml_alone(cli: Cli) -> None:
    _plugin(cli)
    outcome = cli("validate", "demo/plugin.yaml")
    assert (outcome.code, outcome.out) == (0, "no problems in 1 file; 1 valid\n")


def test_a_plugin_hook_must_name_one_of_its_actions(cli: Cli) -> None:
    _plugin(cli, twice=False)
    cli.write("demo/plugin.yaml", DEMO_PLUGIN + "hooks:\n  - on: installed\n    action: helo\n")
    outcome = cli("validate", "demo/plugin.yaml", "--json")
    assert outcome.code == 1
    [problem] = outcome.json()
    assert (problem["code"], problem["file"], problem["line"], problem["hint"]) == (
        "unknown-action",
        "demo/plugin.yaml",
        14,
        "did you mean 'hello'?",
    )


def test_resource_limits_may_only_tighten_the_profile(cli: Cli) -> None:
    """Compared with the standard profile, the one install uses unless told otherwise;
    names and values are checked by the schema."""
    _plugin(cli, twice=False)
    limits = "resource_limits:\n  max_steps: 50\n  max_tool_calls: 5000\n  max_stesp: 3\n"
    cli.write("demo/plugin.yaml", DEMO_PLUGIN + limits)
    outcome = cli("validate", "demo/plugin.yaml")
    assert outcome.code == 1
    assert outcome.out == (
        "demo/plugin.yaml:14:19: error[limit-too-loose]: resource_limits.max_tool_calls is "
        "5,000, looser than the standard profile's 1,000: a plugin's limits may only tighten "
        "its profile's\n"
        "  14 |   max_tool_calls: 5000\n"
        "     |                   ^^^^\n"
        "     = hint: write 1,000 or less, or leave max_tool_calls out (the profile's applies)\n"
        "\n"
        "demo/plugin.yaml:15:3: error[unknown-key]: unknown key `max_stesp` in "
        "`resource_limits`\n"
        "  15 |   max_stesp: 3\n"
        "     |   ^^^^^^^^^\n"
        "     = hint: did you mean 'max_steps'?\n"
        "\n"
        "2 errors in 1 file; 0 valid\n"
    )


def test_an_invalid_plugin_manifest(cli: Cli) -> None:
    cli.write("demo/plugin.yaml", DEMO_PLUGIN.replace("version: 1.0.0", "version: one"))
    cli.write("demo/actions/hello.yaml", HELLO)
    outcome = cli("validate", "demo", "--json")
    assert outcome.code == 1
    [problem] = outcome.json()
    assert (problem["code"], problem["path"], problem["file"]) == (
        "invalid-version",
        "$.version",
        "demo/plugin.yaml",
    )


READ_VAR = """\
    api_version: "1.1"
    kind: action
    name: read-var
    description: Reads a variable.
    permissions: [km_variable_manager:get]
    steps:
      - id: get
        tool: km_variable_manager
        with: {operation: get, name: Foo}
    outputs:
      value: "{{ steps.get.result }}"
    """
READ_VAR_PROBLEM = (
    "notes/actions/read-var.yaml:9:23: error[permission-missing]: `km_variable_manager:get` "
    "is used, but the plugin's permissions do not include it: the action's own "
    "`permissions:` list it, but an action of a plugin is granted only what plugin.yaml "
    "asks for\n"
    "   9 |     with: {operation: get, name: Foo}\n"
    "     |                       ^^^\n"
    "     = hint: add km_variable_manager:get (or km_variable_manager) to `permissions:` in "
    "plugin.yaml\n"
)


def test_an_action_of_a_plugin_is_granted_only_what_plugin_yaml_asks_for(cli: Cli) -> None:
    # The scaffold's plugin.yaml asks for km_notifications; an action listing another tool
    # under its own `permissions:` is not granted it (the guard enforces the plugin's grant),
    # so validate and install refuse it instead of every run failing.
    assert cli("new", "plugin", "notes").code == 0
    cli.write("notes/actions/read-var.yaml", READ_VAR)
    outcome = cli("validate", "notes")
    assert (outcome.code, outcome.out) == (
        1,
        READ_VAR_PROBLEM + "\n1 error in 3 files; 2 valid\n",
    )
    installed = cli("install", "--yes", "notes")
    assert installed.code == 1
    assert READ_VAR_PROBLEM.splitlines()[0].split(": ", 1)[1] in installed.err


def test_a_plugin_without_identifier_or_permissions_list(cli: Cli) -> None:
    cli.write(
        "odd/plugin.json",
        '{"api_version": "1.1", "kind": "plugin", "name": "Odd", "version": "1.0.0",'
        ' "permissions": "km_notifications"}',
    )
    cli.write(
        "odd/actions/note.yaml",
        action_text(
            "note",
            """\
            steps:
              - tool: km_notifications
                with: {notification_type: notification, title: Hi, message: There}
            """,
        ),
    )
    outcome = cli("validate", "odd/actions/note.yaml", "--json")
    assert outcome.code == 1
    assert [(p["code"], p["message"]) for p in outcome.json()] == [
        (
            "permission-missing",
            "`km_notifications` is used, but the plugin's permissions do not include it",
        )
    ]


def test_a_file_of_kind_plugin_is_a_plugin_manifest(cli: Cli) -> None:
    cli.write("extra-plugin.yaml", DEMO_PLUGIN)
    outcome = cli("validate", "extra-plugin.yaml")
    assert (outcome.code, outcome.out) == (0, "no problems in 1 file; 1 valid\n")


# -- schema --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "schema_id"),
    [
        pytest.param([], "https://km-actions.dev/schemas/1.0/action.schema.json", id="action"),
        pytest.param(
            ["--plugin"], "https://km-actions.dev/schemas/1.0/plugin.schema.json", id="plugin"
        ),
    ],
)
def test_schema(cli: Cli, argv: list[str], schema_id: str) -> None:
    outcome = cli("schema", *argv)
    data = outcome.json()
    assert (outcome.code, data["$id"], data["$schema"]) == (
        0,
        schema_id,
        "https://json-schema.org/draft/2020-12/schema",
    )


def test_schema_is_the_shipped_file_with_the_shipped_tools(cli: Cli) -> None:
    outcome = cli("schema")
    assert outcome.out == schema_path("action").read_text("utf-8")


def test_schema_knows_the_tools_of_the_server_last_connected_to(cli: Cli) -> None:
    """What an editor flags and what `validate` reports follow the same tools."""
    tool = {"name": "km_test_text", "description": "Echo.", "inputSchema": {
        "type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"],
        "additionalProperties": False}}  # fmt: skip
    save_tool_list([tool], upstream="km-mcp", server="test")
    rules = cli("schema").json()["$defs"]["tool_calls"]["allOf"]
    assert rules[0]["then"]["properties"]["tool"] == {"enum": ["km_test_text"]}
    assert rules[1]["then"]["properties"]["with"]["properties"] == {"text": {"type": "string"}}


def test_schema_of_the_tools(cli: Cli) -> None:
    outcome = cli("schema", "--tools")
    tools = outcome.json()
    catalog = ToolCatalog.builtin()
    assert outcome.code == 0
    assert [t["name"] for t in tools] == [t.name for t in catalog.values()]
    engine = next(t for t in tools if t["name"] == "km_engine_control")
    assert sorted(engine) == ["class", "description", "inputSchema", "name", "operations"]
    assert engine["class"] == catalog["km_engine_control"].tool_class.value == "write"
    assert engine["inputSchema"] == catalog["km_engine_control"].input_schema
    variables = next(t for t in tools if t["name"] == "km_variable_manager")
    assert variables["operations"] == {
        "parameter": "operation",
        "classes": {
            "get": "read-only",
            "set": "write",
            "delete": "destructive",
            "list": "read-only",
        },
    }
    macros = next(t for t in tools if t["name"] == "km_list_macros")
    assert (macros["class"], "operations" in macros) == ("read-only", False)


def test_schema_options_exclude_each_other(cli: Cli) -> None:
    outcome = cli.usage_error("schema", "--plugin", "--tools")
    assert outcome.code == 2
    assert "argument --tools: not allowed with argument --plugin" in outcome.err


def test_a_manifest_that_is_not_a_mapping(cli: Cli) -> None:
    cli.write("list.yaml", "- a\n- b\n")
    outcome = cli("validate", "list.yaml", "--json")
    assert outcome.code == 1
    assert [(d["code"], d["path"]) for d in outcome.json()] == [("not-a-mapping", "$")]


def test_the_files_given_win_over_their_neighbours(cli: Cli) -> None:
    cli.write("lib/caller.yaml", CALLER)
    cli.write("lib/callee.yaml", CALLEE)
    cli.write("lib/old-callee.yaml", CALLEE.replace("  n: {type: integer", "  m: {type: integer"))
    outcome = cli("validate", "lib/caller.yaml", "lib/callee.yaml")
    assert (outcome.code, outcome.out) == (0, "no problems in 2 files; 2 valid\n")


def test_no_enclosing_plugin_up_to_the_root() -> None:
    assert (
        _enclosing_plugin(Path("/km-actions-test-no-such.yaml"), {}, ToolCatalog.builtin()) is None
    )
