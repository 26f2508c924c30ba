"""``km-actions new`` (an action of each template, a plugin) and ``km-actions certify``:
the files written, that they validate, pass their tests and certify as written; the
report, its exit statuses and messages."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import Cli

# The line the docs show (docs/writing-actions.md, "Setting up your editor").
DOCS_SCHEMA = "# yaml-language-server: $schema=./action.schema.json"
SAVE_SCHEMA = "for your editor: km-actions schema > {}action.schema.json\n"
NEW_HELLO = f"""\
{DOCS_SCHEMA}
api_version: "1.1"
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
    else:  # written as asked, and validate says what is missing
        assert "warning[missing-description]" in cli("validate", "act.yaml").out


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
    assert cli("new", "x", "--folder", folder).code == 0
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


# -- new action --template -------------------------------------------------------------------

TEMPLATE_TESTS = {
    "notify": ["shows the message"],
    "loop": ["shows one notification per item"],
    "retry": ["tries again after a failure", "gives up after three tries"],
    "choice": ["an error is an alert", "a warning is a notification", "anything else is a HUD"],
}


@pytest.mark.parametrize("template", list(TEMPLATE_TESTS))
def test_every_template_validates_strictly_and_passes_its_tests(cli: Cli, template: str) -> None:
    outcome = cli("new", "action", "shape", "--template", template, "--description", "A shape.")
    assert (outcome.code, outcome.err) == (0, "")
    validated = cli("validate", "--level", "strict", "shape.yaml")
    assert (validated.code, validated.out) == (0, "no problems in 1 file; 1 valid\n")
    tested = cli("test", "shape.yaml")
    names = TEMPLATE_TESTS[template]
    assert (tested.code, tested.out) == (
        0,
        "".join(f"shape.yaml::shape::{name} PASSED\n" for name in names)
        + f"\n{len(names)} passed, 0 failed\n",
    )


def test_new_action_is_new_name(cli: Cli) -> None:
    assert cli("new", "action", "hello").code == 0
    assert (cli.folder / "hello.yaml").read_text("utf-8") == NEW_HELLO


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        pytest.param(
            ["new", "plugin"],
            "km-actions new plugin: give the plugin's name: km-actions new plugin NAME\n",
            id="plugin-without-name",
        ),
        pytest.param(
            ["new", "action"],
            "km-actions new action: give the action's name: km-actions new action NAME\n",
            id="action-without-name",
        ),
        pytest.param(
            ["new", "macro", "x"],
            "km-actions new: cannot start 'macro'\n"
            "     = hint: km-actions new action NAME, or new plugin NAME\n",
            id="unknown-kind",
        ),
        pytest.param(
            ["new", "plugin", "Demo"],
            "km-actions new: 'Demo' is not a valid name: use lower-case letters, digits and "
            "-, starting with a letter (dots allowed), e.g. 'demo'\n",
            id="invalid-plugin-name",
        ),
        pytest.param(
            ["new", "plugin", "demo", "--action", "Say Hi"],
            "km-actions new: 'Say Hi' is not a valid name: use lower-case letters, digits, - "
            "and _, starting with a letter, e.g. 'say-hi'\n",
            id="invalid-action-name",
        ),
    ],
)
def test_new_usage_errors(cli: Cli, argv: list[str], err: str) -> None:
    outcome = cli(*argv)
    assert (outcome.code, outcome.out, outcome.err) == (2, "", err)
    assert list(cli.folder.iterdir()) == []


def test_an_unknown_template_is_a_usage_error(cli: Cli) -> None:
    outcome = cli.usage_error("new", "x", "--template", "loops")
    assert outcome.code == 2
    assert "argument --template: invalid choice: 'loops'" in outcome.err


# -- new plugin ------------------------------------------------------------------------------


def test_new_plugin_validates_passes_its_tests_and_is_certified(cli: Cli) -> None:
    outcome = cli("new", "plugin", "text-tools", "--description", "Tidy text.")
    assert (outcome.code, outcome.err) == (0, "")
    assert outcome.out == (
        "wrote text-tools/ (plugin.yaml, actions/say-hello.yaml, README.md): edit them, then "
        "`km-actions validate text-tools`, `km-actions test text-tools` and "
        "`km-actions certify text-tools`\n"
    )
    root = cli.folder / "text-tools"
    plugin = yaml.safe_load((root / "plugin.yaml").read_text("utf-8"))
    assert plugin == {
        "api_version": "1.1",
        "kind": "plugin",
        "identifier": "text-tools",
        "name": "Text Tools",
        "version": "0.1.0",
        "description": "Tidy text.",
        "author": "Your name",
        "license": "MIT",
        "plugin_type": "action",
        "permissions": ["km_notifications"],
    }
    action = yaml.safe_load((root / "actions/say-hello.yaml").read_text("utf-8"))
    assert (action["name"], action["description"]) == (
        "say-hello",
        "Text Tools: shows a notification.",
    )
    readme = (root / "README.md").read_text("utf-8")
    assert readme.startswith("# Text Tools\n\nTidy text.\n")
    assert "km-actions certify ." in readme
    assert cli("validate", "--level", "strict", "text-tools").code == 0
    assert cli("test", "text-tools").out.endswith("\n1 passed, 0 failed\n")
    certified = cli("certify", "text-tools")
    assert certified.code == 0, certified.out
    assert certified.out.splitlines()[-1].startswith("certified: text-tools 0.1.0, package ")


@pytest.mark.parametrize("template", list(TEMPLATE_TESTS))
def test_a_new_plugin_of_every_template_is_certified(cli: Cli, template: str) -> None:
    assert cli("new", "plugin", "p", "--template", template, "--action", "act").code == 0
    report = cli("certify", "p", "--json").json()
    assert report["certified"] is True
    assert {c["name"]: (c["outcome"], c["problems"]) for c in report["checks"]} == {
        name: ("passed", []) for name in ("validation", "tests", "permissions", "docs", "package")
    }


@pytest.mark.parametrize(
    ("folder", "plugin_schema", "action_schema"),
    [
        pytest.param(
            "checkout",
            "../schemas/plugin.schema.json",
            "../../schemas/action.schema.json",
            id="in-a-checkout",
        ),
        pytest.param(
            "checkout/actions",
            "../../schemas/plugin.schema.json",
            "../../../schemas/action.schema.json",
            id="deeper",
        ),
    ],
)
def test_new_plugin_points_at_the_checkouts_schemas(
    cli: Cli, folder: str, plugin_schema: str, action_schema: str
) -> None:
    cli.write("checkout/schemas/plugin.schema.json", "{}\n")
    cli.write("checkout/schemas/action.schema.json", "{}\n")
    assert cli("new", "plugin", "p", "--folder", folder).code == 0
    root = cli.folder / folder / "p"
    first = (root / "plugin.yaml").read_text("utf-8").splitlines()[0]
    assert first == f"# yaml-language-server: $schema={plugin_schema}"
    action = (root / "actions/say-hello.yaml").read_text("utf-8").splitlines()[0]
    assert action == f"# yaml-language-server: $schema={action_schema}"
    assert (root / plugin_schema).resolve() == cli.folder / "checkout/schemas/plugin.schema.json"
    assert (root / "actions" / action_schema).resolve() == (
        cli.folder / "checkout/schemas/action.schema.json"
    )


def test_new_plugin_does_not_overwrite(cli: Cli) -> None:
    cli.write("p/notes.txt", "mine\n")
    outcome = cli("new", "plugin", "p")
    assert (outcome.code, outcome.out, outcome.err) == (
        1,
        "",
        "km-actions new: p already exists; choose another name or --folder\n",
    )
    assert [f.name for f in (cli.folder / "p").iterdir()] == ["notes.txt"]


def test_new_plugin_that_cannot_be_written_leaves_nothing(cli: Cli) -> None:
    cli.write("taken.txt", "a file\n")
    outcome = cli("new", "plugin", "p", "--folder", "taken.txt")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err == "km-actions new: cannot write taken.txt/p: Not a directory\n"
    assert sorted(f.name for f in cli.folder.iterdir()) == ["taken.txt"]


# -- certify ---------------------------------------------------------------------------------

CLIPBOARD_TOOLS = Path(__file__).resolve().parents[2] / "actions" / "clipboard-tools"


def test_the_shipped_plugin_is_certified(cli: Cli) -> None:
    outcome = cli("certify", str(CLIPBOARD_TOOLS))
    assert (outcome.code, outcome.err) == (0, "")
    lines = outcome.out.splitlines()
    assert lines[0] == f"certifying clipboard-tools 1.0.0 ({CLIPBOARD_TOOLS})"
    assert lines[1:10] == [
        "  validation   passed   5 files valid at the strict level",
        "  tests        passed   7 tests passed, 0 failed",
        "  permissions  passed   4 tools used, 4 permissions asked for",
        "                        clean-clipboard: km_engine_control process_tokens (read-only); "
        "km_variable_manager set (write)",
        "                        preview-clipboard: km_engine_control process_tokens "
        "(read-only); km_notifications (write)",
        "                        share-clipboard: km_engine_control process_tokens (read-only); "
        "km_variable_manager set (write); km_execute_macro (write)",
        "                        sign-clipboard: km_variable_manager set (write); "
        "action clean-clipboard",
        lines[8],
        lines[9],
    ]
    # The size of the generated docs follows their wording; what matters is that they exist.
    assert re.fullmatch(r"  docs         passed   [\d,]+ characters for 4 actions", lines[8])
    assert lines[9].startswith("  package      passed   sha256 ")
    sha = cli("pack", str(CLIPBOARD_TOOLS), "-o", "ct.zip").out.split("sha256 ")[1].strip()
    assert lines[-1] == f"certified: clipboard-tools 1.0.0, package sha256 {sha}"


def _broken_plugin(cli: Cli) -> Path:
    assert cli("new", "plugin", "broken", "--template", "choice", "--action", "pick").code == 0
    action = cli.folder / "broken/actions/pick.yaml"
    action.write_text(
        action.read_text("utf-8").replace("outputs: {style: alert}", "outputs: {style: hud}"),
        "utf-8",
    )
    plugin = cli.folder / "broken/plugin.yaml"
    plugin.write_text(
        plugin.read_text("utf-8").replace(
            "permissions: [km_notifications]", "permissions: [km_notifications, km_list_macros]"
        ),
        "utf-8",
    )
    return cli.folder / "broken"


def test_a_failing_test_fails_and_an_unused_permission_warns(cli: Cli) -> None:
    # (A call the plugin's permissions do not cover fails validation: see
    # tests/cli/test_validate.py; the permissions check then is not run.)
    _broken_plugin(cli)
    outcome = cli("certify", "broken")
    assert (outcome.code, outcome.err) == (1, "")
    lines = outcome.out.splitlines()
    assert lines[:8] == [
        "certifying broken 0.1.0 (broken)",
        "  validation   passed   2 files valid at the strict level",
        "  tests        failed   2 tests passed, 1 failed",
        "  permissions  warned   1 tool used, 2 permissions asked for",
        "                        pick: km_notifications (write)",
        lines[5],
        lines[6],
        "",
    ]
    assert re.fullmatch(r"  docs         passed   [\d,]+ characters for 1 action", lines[5])
    assert lines[6].startswith("  package      passed   sha256 ")
    text = outcome.out
    assert (
        "broken/actions/pick.yaml:38:11: error[test-failed]: the test `an error is an alert` "
        'of `pick` failed: output `style` is "alert", expected "hud"'
    ) in text
    assert (
        "broken/plugin.yaml:12:33: warning[permission-unused]: `km_list_macros` is asked for, "
        "but no action calls it"
    ) in text
    assert lines[-1] == "not certified: tests: 2 tests passed, 1 failed"


def test_the_report_as_json(cli: Cli) -> None:
    _broken_plugin(cli)
    report = cli("certify", "broken", "--json", "-o", "broken.zip").json()
    assert (report["identifier"], report["version"], report["certified"]) == (
        "broken",
        "0.1.0",
        False,
    )
    checks = {c["name"]: c for c in report["checks"]}
    assert [c["outcome"] for c in report["checks"]] == [
        "passed",
        "failed",
        "warned",
        "passed",
        "passed",
    ]
    assert [(p["code"], p["severity"], p["line"]) for p in checks["permissions"]["problems"]] == [
        ("permission-unused", "warning", 12),
    ]
    assert checks["permissions"]["details"] == {
        "declared": ["km_notifications", "km_list_macros"],
        "used": ["km_notifications"],
        "undeclared": [],
        "actions": {
            "pick": {
                "tools": [{"tool": "km_notifications", "operations": [None], "class": "write"}],
                "actions": [],
            }
        },
    }
    assert (checks["tests"]["details"]["passed"], checks["tests"]["details"]["failed"]) == (2, 1)
    assert report["sha256"] == checks["package"]["details"]["sha256"]
    # The package is kept even when the plugin is not certified: it is what was checked.
    kept = cli.folder / "broken.zip"
    assert checks["package"]["details"]["archive"] == "broken.zip"
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == report["sha256"]


def test_a_plugin_that_is_not_valid_skips_the_other_checks(cli: Cli) -> None:
    cli.write("bad/plugin.yaml", 'api_version: "1.1"\nidentifier: bad\nname: Bad\n')
    outcome = cli("certify", "bad")
    assert outcome.code == 1
    lines = outcome.out.splitlines()
    assert lines[:7] == [
        "certifying bad (bad)",
        "  validation   failed   not valid: 1 problem (the plugin cannot be installed as it is)",
        "  tests        skipped  not run: the plugin is not valid",
        "  permissions  skipped  not run: the plugin is not valid",
        "  docs         skipped  not run: the plugin is not valid",
        "  package      skipped  not run: the plugin is not valid",
        "",
    ]
    assert "error[missing-key]: the plugin is missing `version`" in outcome.out
    assert lines[-1].startswith("not certified: validation: not valid: 1 problem")


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        pytest.param(
            ["certify", "nowhere"],
            "km-actions certify: no such folder: nowhere\n"
            "     = hint: certify checks a plugin folder\n",
            id="no-such-folder",
        ),
        pytest.param(
            ["certify", "."],
            "km-actions certify: .: no plugin manifest (plugin.yaml, plugin.yml, plugin.json) "
            "at the top of the folder\n"
            "     = hint: certify checks a plugin folder; `km-actions new plugin NAME` starts "
            "one\n",
            id="not-a-plugin",
        ),
    ],
)
def test_certify_usage_errors(cli: Cli, argv: list[str], err: str) -> None:
    outcome = cli(*argv)
    assert (outcome.code, outcome.out, outcome.err) == (2, "", err)


def test_certify_when_the_store_cannot_be_opened(cli: Cli) -> None:
    assert cli("new", "plugin", "p").code == 0
    cli.home.write_text("a file where the data folder should be")
    outcome = cli("certify", "p")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.startswith(f"km-actions certify: cannot open the plugin store at {cli.home}")
