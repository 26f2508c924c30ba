"""What a beginner sees for the mistakes a trial made on purpose (issue 10, items 7 and 8):
the exact text of each message, where it points, and what it says to do."""

from __future__ import annotations

import json

from engine.lang.secrets import MASK
from tests.cli.conftest import Cli, action_text

TIMES = action_text(
    "ping",
    """\
    permissions: [km_notifications]
    inputs:
      times: {type: integer, default: 2, description: How many times.}
    steps:
      - repeat:
          max: "{{ inputs.times }}"
          steps:
            - tool: km_notifications
              with: {notification_type: hud, title: Ping, message: "{{ loop.index }}"}
    """,
)


def test_a_templated_count_is_valid_and_runs(cli: Cli) -> None:
    """`repeat: {max: "{{ inputs.times }}"}` was refused ("write the number without
    quotes"), and without quotes YAML refused it ("put the value in quotes")."""
    cli.write("ping.yaml", TIMES)
    assert cli("validate", "ping.yaml").out == "no problems in 1 file; 1 valid\n"
    ran = cli("run", "ping.yaml", "--dry-run", "--json", "-i", "times=3").json()
    assert (ran["status"], ran["tool_calls"]) == ("succeeded", 3)


def test_a_templated_count_that_gives_text_fails_naming_the_field(cli: Cli) -> None:
    cli.write("ping.yaml", TIMES.replace("type: integer", "type: string").replace("2", '"2"'))
    outcome = cli("run", "ping.yaml", "--dry-run", "-i", "times=twice")
    assert outcome.code == 1
    assert outcome.err.splitlines()[1:5] == [
        "ping.yaml:10:12: error[invalid-arguments]: `max` of `repeat` must be a whole number, "
        'but `{{ inputs.times }}` gave text ("twice")',
        '  10 |       max: "{{ inputs.times }}"',
        "     |            ^^^^^^^^^^^^^^^^^^^^",
        "     = hint: make the template give a whole number at least 1, or write the number itself",
    ]


MISSPELT_STEPS = action_text("demo", "stpes:\n  - set: {a: 1}\n")


def test_a_misspelt_steps_is_one_diagnostic_at_the_key(cli: Cli) -> None:
    cli.write("demo.yaml", MISSPELT_STEPS)
    outcome = cli("validate", "demo.yaml")
    assert outcome.out == (
        "demo.yaml:5:1: error[unknown-key]: unknown key `stpes` in the action\n"
        "   5 | stpes:\n"
        "     | ^^^^^\n"
        "     = hint: did you mean 'steps'?\n"
        "\n"
        "1 error in 1 file; 0 valid\n"
    )


UNCLOSED = action_text(
    "greet",
    """\
    steps:
      - set:
          greeting: "Hello, {{ 1 }}!
      - set: {other: 1}
    outputs:
      greeting: "{{ vars.greeting }}"
    """,
)


def test_an_unclosed_quote_is_shown_where_it_opens(cli: Cli) -> None:
    cli.write("greet.yaml", UNCLOSED)
    outcome = cli("validate", "greet.yaml")
    assert outcome.out.splitlines()[:4] == [
        "greet.yaml:7:17: error[syntax]: not valid YAML: the double quote opened here is not "
        "closed on its line, so the text runs on into the lines below",
        '   7 |       greeting: "Hello, {{ 1 }}!',
        "     |                 ^",
        '     = hint: end the text with a closing quote: "Hello, {{ 1 }}!"',
    ]


def test_a_quote_missing_at_the_start_is_a_warning(cli: Cli) -> None:
    cli.write("greet.yaml", UNCLOSED.replace('"Hello', "Hello").replace("!\n", '!"\n', 1))
    outcome = cli("validate", "greet.yaml")
    assert outcome.out.splitlines()[:4] == [
        'greet.yaml:7:17: warning[stray-quote]: this text ends with a `"` but does not start '
        'with one, so the `"` is part of the text',
        '   7 |       greeting: Hello, {{ 1 }}!"',
        "     |                 ^^^^^^^^^^^^^^^^",
        '     = hint: to quote the whole value, start it with a `"` too: "Hello, {{ 1 }}!"',
    ]


YES_SOUND = action_text(
    "done",
    """\
    permissions: [km_notifications]
    steps:
      - tool: km_notifications
        with: {notification_type: sound, title: Done, message: Done, sound: yes}
    """,
)


def test_unquoted_yes_for_an_argument_says_to_quote_it(cli: Cli) -> None:
    cli.write("done.yaml", YES_SOUND)
    outcome = cli("validate", "done.yaml")
    assert outcome.out.splitlines()[0] == (
        "done.yaml:8:73: error[unquoted-value]: `sound` must be text, but YAML read the "
        "unquoted `yes` as true"
    )
    assert outcome.out.splitlines()[3] == '     = hint: put it in quotes: "yes"'
    assert "True" not in outcome.out


FAILED_READ = action_text(
    "read",
    """\
    permissions: [km_variable_manager]
    steps:
      - id: read
        tool: km_variable_manager
        with: {operation: delete, name: NoSuchVariable}  # fails: there is none to delete
        continue_on_error: true
      - set:
          value: "{{ steps.read.result.data.existed }}"
    outputs:
      value: "{{ vars.value }}"
    """,
)


def test_reading_the_result_of_a_failed_step_says_so_and_how_to_handle_it(cli: Cli) -> None:
    cli.write("read.yaml", FAILED_READ)
    outcome = cli("run", "read.yaml", "--fresh")
    assert outcome.code == 1
    assert outcome.err.splitlines()[1:5] == [
        "read.yaml:12:14: error[template-error]: `steps.read.result` is null: the step `read` "
        "failed or was skipped, so it has no key 'data'",
        '  12 |       value: "{{ steps.read.result.data.existed }}"',
        "     |              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
        "     = hint: a step that fails (with continue_on_error or catch) or is skipped gives "
        "no result: read it only if `steps.read.status == 'succeeded'`, or add a fallback: "
        "`steps.read.result.data | default('')`",
    ]


def test_a_keyboard_maestro_variable_in_vars_says_how_to_read_it(cli: Cli) -> None:
    cli.write("mood.yaml", action_text("mood", 'steps:\n  - set: {m: "{{ vars.Mood }}"}\n'))
    outcome = cli("validate", "mood.yaml")
    assert outcome.out.splitlines()[0] == (
        "mood.yaml:6:18: error[unknown-variable]: `vars.Mood` is never set"
    )
    assert outcome.out.splitlines()[3] == (
        "     = hint: `vars` holds this action's own variables, set by `set` steps; a Keyboard "
        "Maestro variable is read with km_variable_manager (operation: get, name: Mood)"
    )


NEEDS_WHO = action_text(
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


def test_a_missing_input_says_how_to_give_it(cli: Cli) -> None:
    cli.write("greet.yaml", NEEDS_WHO)
    outcome = cli("run", "greet.yaml")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err == (
        "greet.yaml:6:3: error[invalid-input]: greet needs the input `who`\n"
        "   6 |   who: {type: string, description: Who to greet.}\n"
        "     |   ^^^\n"
        "     = hint: `who` takes text (Who to greet): give it as --input who=…\n"
    )
    as_json = cli("run", "greet.yaml", "--json")
    assert (as_json.code, as_json.json()["status"], as_json.json()["error"]["hint"]) == (
        1,
        "failed",
        "`who` takes text (Who to greet): give it as --input who=…",
    )


def test_run_json_is_json_when_validation_fails(cli: Cli) -> None:
    cli.write("demo.yaml", MISSPELT_STEPS)
    outcome = cli("run", "demo.yaml", "--json")
    data = outcome.json()
    assert (outcome.code, outcome.err, data["status"], data["outputs"]) == (1, "", "failed", {})
    assert [(d["code"], d["line"], d["column"]) for d in data["error"]["diagnostics"]] == [
        ("unknown-key", 5, 1)
    ]
    assert data["ran_on"]["kind"] == "simulator"


SECRET_NOTE = action_text(
    "note",
    """\
    permissions: [km_notifications]
    inputs:
      code: {type: string, secret: true, description: The code.}
    steps:
      - tool: km_notifications
        with: {notification_type: hud, title: Code, message: "code {{ inputs.code }}"}
    """,
)


def test_trace_shows_each_calls_arguments_with_secrets_named(cli: Cli) -> None:
    cli.write("note.yaml", SECRET_NOTE)
    outcome = cli("run", "note.yaml", "--dry-run", "--trace", "-i", "code=hunter2-77")
    assert outcome.code == 0
    assert outcome.err.splitlines()[2] == (
        '            with {"notification_type": "hud", "title": "Code", "message": "code '
        f'{MASK}"}}'
    )
    assert "hunter2" not in outcome.err + outcome.out
    traced = cli("run", "note.yaml", "--dry-run", "--trace", "--json", "-i", "code=hunter2-77")
    assert "hunter2" not in traced.out
    assert json.loads(traced.out)["trace"][0]["arguments"]["title"] == "Code"
