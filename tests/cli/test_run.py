"""``km-actions run``: files, plugin folders and installed actions; inputs, options, output."""

from __future__ import annotations

import json
import re

import pytest

from engine.cli._run import _file_sources, _installed_sources, is_installed_name
from engine.plugins.store import Store
from tests.cli.conftest import DEMO_PLUGIN, HELLO, Cli, action_text

GREET = action_text(
    "greet",
    """\
    inputs:
      who: {type: string, description: Who.}
      times: {type: integer, default: 1, minimum: 1, description: How often.}
      loud: {type: boolean, default: false, description: Shout.}
      tags: {type: array, default: [], description: Tags.}
    steps:
      - set: {msg: "Hello {{ inputs.who }} x{{ inputs.times }}{{ '!' if inputs.loud else '' }}"}
    outputs:
      msg: "{{ vars.msg }}"
      tags: "{{ inputs.tags }}"
    """,
)
NOTE = action_text(
    "note",
    """\
    permissions: [km_variable_manager:get, km_variable_manager:set]
    inputs:
      text: {type: string, default: "", description: What to write first (nothing when empty).}
    steps:
      - if: inputs.text != ""
        tool: km_variable_manager
        with: {operation: set, name: Note, value: "{{ inputs.text }}"}
      - id: read
        tool: km_variable_manager
        with: {operation: get, name: Note}
    outputs:
      got: "{{ steps.read.result.data.value }}"
    """,
)
BOOM = action_text(
    "boom",
    """\
    inputs:
      n: {type: integer, default: 1, description: A number.}
    steps:
      - set: {x: "{{ inputs.n }}"}
      - fail: "boom {{ vars.x }}"
    """,
)
SUCCEEDED = re.compile(r"succeeded: (\d+) steps?, (\d+) tool calls?, [0-9.]+ ms \((.*)\)\n\Z")


def _note(cli: Cli) -> str:
    state = cli.home / "simulator-state.json"
    return (
        "on the built-in simulator (no Keyboard Maestro server is configured); "
        f"its state is kept in {state}."
    )


PIN = action_text(
    "pin",
    """\
    inputs:
      pin: {type: integer, secret: true, description: The PIN.}
      note: {type: string, default: "", max_length: 10, description: A note.}
    steps:
      - set: {ok: true}
    outputs:
      ok: "{{ vars.ok }}"
    """,
)


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        pytest.param(
            ["-i", 'pin=pa"ss\\word-77'],
            "km-actions run: --input pin: expected a whole number, got the secret input `pin`\n",
            id="input-of-the-wrong-type",
        ),
        pytest.param(
            ["--inputs-json", '{"pin": "pa\\"ss\\\\word-77"}'],
            "pin.yaml:6:3: error[invalid-input]: input `pin` of pin must be a whole number, not "
            "text (the secret input `pin`)\n"
            "   6 |   pin: {type: integer, secret: true, description: The PIN.}\n"
            "     |   ^^^\n"
            "     = hint: `pin` takes a whole number (The PIN): give it as --input pin=…\n"
            "failed (invalid-input) after 0 steps\n",
            id="json-input-of-the-wrong-type",
        ),
        pytest.param(
            ["-i", 'pa"ss\\word-77'],
            "km-actions run: --input without `=` needs the form NAME=VALUE\n",
            id="without-a-name",
        ),
    ],
)
def test_a_run_never_echoes_a_secret_input(cli: Cli, argv: list[str], err: str) -> None:
    cli.write("pin.yaml", PIN)
    outcome = cli("run", "pin.yaml", *argv)
    assert outcome.err.endswith(err), outcome.err
    assert "pa" not in outcome.out + outcome.err.replace("pin.yaml", "")


def test_a_short_secret_input_leaves_other_text_alone(cli: Cli) -> None:
    cli.write("pin.yaml", PIN)
    outcome = cli("run", "pin.yaml", "-i", "pin=1", "-i", "note=aaaaaaaaaaaa", "--json")
    assert outcome.json()["error"]["message"] == (
        "input `note` of pin must have at most 10 characters (has 12)"
    )


def test_a_run_prints_outputs_and_a_summary(cli: Cli) -> None:
    cli.write("greet.yaml", GREET)
    outcome = cli("run", "greet.yaml", "--input", "who=Bob", "-i", "times=3", "-i", "loud=yes")
    assert outcome.code == 0
    assert json.loads(outcome.out) == {"msg": "Hello Bob x3!", "tags": []}
    first, second = outcome.err.splitlines(keepends=True)
    assert first == f"Running greet {_note(cli)}\n"
    found = SUCCEEDED.match(second)
    assert found is not None and found.groups() == ("1", "0", "simulator")


def test_inputs_json_then_input_values(cli: Cli) -> None:
    cli.write("greet.yaml", GREET)
    outcome = cli(
        "run", "greet.yaml", "--inputs-json", '{"who": "Ann", "times": 2, "tags": ["a"]}',
        "-i", "times=5", "-i", 'tags=["b", "c"]',
    )  # fmt: skip
    assert (outcome.code, json.loads(outcome.out)) == (
        0,
        {"msg": "Hello Ann x5", "tags": ["b", "c"]},
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["-i", "who"], "--input 'who' needs the form NAME=VALUE", id="no-equals"),
        pytest.param(
            ["-i", "who=A", "-i", "times=three"],
            '--input times: expected a whole number, got "three"',
            id="not-a-number",
        ),
        pytest.param(
            ["-i", "who=A", "-i", "loud=maybe"],
            '--input loud: expected true or false, got "maybe"',
            id="not-a-boolean",
        ),
        pytest.param(
            ["-i", "who=A", "-i", "tags=a,b"],
            '--input tags: expected a list written as JSON, e.g. ["a", "b"]',
            id="not-json",
        ),
        pytest.param(
            ["--inputs-json", '{"who": "A"'],
            "--inputs-json is not valid JSON: Expecting ',' delimiter",
            id="bad-json",
        ),
        pytest.param(
            ["--inputs-json", '{"who": "A", "times": NaN}'],
            "--inputs-json is not valid JSON: NaN is not a JSON value",
            id="json-nan",
        ),
        pytest.param(
            ["-i", "who=A", "-i", "tags=0"],
            '--input tags: expected a list written as JSON, e.g. ["a", "b"]',
            id="json-of-another-type",
        ),
        pytest.param(
            ["--inputs-json", "[1]"],
            '--inputs-json must be a JSON object, e.g. \'{"name": "x"}\'',
            id="json-not-object",
        ),
        pytest.param(
            ["-i", "who=A", "-i", f"times={'1' * 5000}"],
            "--input times: the whole number has 5,000 digits; at most 1,000 are allowed",
            id="long-whole-number",
        ),
        pytest.param(
            ["-i", "who=A", "-i", f"tags=[{'1' * 5000}]"],
            "--input tags: the whole number has 5,000 digits; at most 1,000 are allowed",
            id="long-whole-number-in-json",
        ),
        pytest.param(
            ["--inputs-json", f'{{"who": "A", "times": {"1" * 5000}}}'],
            "--inputs-json: the whole number has 5,000 digits; at most 1,000 are allowed",
            id="long-whole-number-in-inputs-json",
        ),
        pytest.param(
            ["--inputs-json", '{"who": "\\ud800"}'],
            "--inputs-json: the text holds \\ud800, half of a surrogate pair, which is not a "
            "character",
            id="lone-surrogate-in-inputs-json",
        ),
        pytest.param(
            ["-i", "who=A", "-i", 'tags=["\\udc00"]'],
            "--input tags: the text holds \\udc00, half of a surrogate pair, which is not a "
            "character",
            id="lone-surrogate-in-json",
        ),
        pytest.param(
            ["-i", "who=\udcff"],  # what Python makes of a byte that is not UTF-8 in argv
            "--input who: the value is not UTF-8 text",
            id="not-utf8-argument",
        ),
        pytest.param(
            ["--inputs-json", '{"who": "\udcff"}'],
            "--inputs-json is not UTF-8 text",
            id="not-utf8-inputs-json",
        ),
    ],
)
def test_input_usage_errors(cli: Cli, argv: list[str], message: str) -> None:
    cli.write("greet.yaml", GREET)
    outcome = cli("run", "greet.yaml", *argv)
    assert (outcome.code, outcome.out, outcome.err) == (2, "", f"km-actions run: {message}\n")


def test_one_bad_file_does_not_break_its_neighbours(cli: Cli) -> None:
    """validate and run read the actions next to a file (for `action:` steps): a
    neighbour the loader refuses is reported for itself, never a traceback here."""
    cli.write("greet.yaml", GREET)
    cli.write("huge.yaml", action_text("huge", f"steps:\n  - set: {{n: {'1' * 5000}}}\n"))
    cli.write(
        "half.json",
        '{"api_version": "1.1", "kind": "action", "name": "half", "description": "\\ud800",'
        ' "steps": [{"set": {"a": 1}}]}',
    )
    assert cli("validate", "greet.yaml").code == 0
    ran = cli("run", "greet.yaml", "-i", "who=Ann", "--fresh")
    assert (ran.code, json.loads(ran.out)) == (0, {"msg": "Hello Ann x1", "tags": []})
    both = cli("validate", "huge.yaml", "half.json")
    assert both.code == 1
    assert (
        "huge.yaml:6:14: error[invalid-number]: the whole number has 5,000 digits; at most "
        "1,000 are allowed" in both.out
    )
    assert (
        "half.json:1:73: error[encoding]: the text holds \\ud800, half of a surrogate pair, "
        "which is not a character" in both.out
    )


def test_an_input_the_action_does_not_have(cli: Cli) -> None:
    cli.write("greet.yaml", GREET)
    outcome = cli("run", "greet.yaml", "-i", "who=A", "-i", "tims=2", "--fresh")
    assert (outcome.code, outcome.out) == (1, "")
    # At `inputs:`, where the inputs it has are declared.
    assert outcome.err.splitlines()[1:] == [
        "greet.yaml:5:1: error[invalid-input]: greet has no input `tims`",
        "   5 | inputs:",
        "     | ^^^^^^",
        "     = hint: did you mean 'times'?",
        "failed (invalid-input) after 0 steps",
    ]


def test_json_output(cli: Cli) -> None:
    cli.write("greet.yaml", GREET)
    outcome = cli("run", "greet.yaml", "-i", "who=Bob", "--json")
    data = outcome.json()
    assert (outcome.code, outcome.err) == (0, "")
    assert sorted(data) == [
        "backend", "duration_ms", "outputs", "ran_on", "simulated", "status", "steps_run",
        "tool_calls",
    ]  # fmt: skip
    assert (data["status"], data["outputs"], data["steps_run"], data["backend"]) == (
        "succeeded",
        {"msg": "Hello Bob x1", "tags": []},
        1,
        "simulator",
    )
    assert data["simulated"] is True
    state = cli.home / "simulator-state.json"
    assert data["ran_on"] == {
        "kind": "simulator",
        "description": "the built-in simulator (no Keyboard Maestro server is configured); "
        f"its state is kept in {state}",
        "state": str(state),
    }


def test_a_failed_run_shows_where_and_why(cli: Cli) -> None:
    cli.write("boom.yaml", BOOM)
    outcome = cli("run", "boom.yaml", "-i", "n=7")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.splitlines()[1:] == [
        "boom.yaml:9:5: error[failed]: boom 7",
        '   9 |   - fail: "boom {{ vars.x }}"',
        "     |     ^^^^^^^^^^^^^^^^^^^^^^^^^",
        "failed (failed) after 2 steps",
    ]


CALLS_BOOM = action_text(
    "caller",
    """\
    permissions: [km_variable_manager:get]
    steps:
      - id: read
        tool: km_variable_manager
        with: {operation: get, name: Note}
      - id: call
        action: boom
        with: {n: 7}
    """,
)


@pytest.mark.parametrize("where", ["", "sub/"])
def test_an_error_in_a_called_action_shows_its_own_file_and_lines(cli: Cli, where: str) -> None:
    """The error of a step of the action called (a file next to the caller) is located
    in that file, with its line shown; the trace names the file of the called action's
    steps."""
    cli.write(f"{where}caller.yaml", CALLS_BOOM)
    cli.write(f"{where}boom.yaml", BOOM)
    outcome = cli("run", f"{where}caller.yaml", "--trace", "--fresh")
    assert (outcome.code, outcome.out) == (1, "")
    lines = outcome.err.splitlines()
    steps = [re.sub(r"  [0-9.]+ ms$", "", line) for line in lines[1:6]]
    assert steps == [
        "  succeeded read                         line 7",
        '            with {"operation": "get", "name": "Note"}',
        f"  succeeded set                          line 8 of {where}boom.yaml",
        f"  failed    fail                         line 9 of {where}boom.yaml",
        "  failed    call                         line 10",
    ]
    assert lines[6:] == [
        f"{where}boom.yaml:9:5: error[failed]: boom 7",
        '   9 |   - fail: "boom {{ vars.x }}"',
        "     |     ^^^^^^^^^^^^^^^^^^^^^^^^^",
        "failed (failed) after 4 steps",
    ]
    traced = cli("run", f"{where}caller.yaml", "--trace", "--json", "--fresh").json()["trace"]
    assert [(t["action"], t["kind"], t["file"], t["line"]) for t in traced] == [
        ("caller", "tool", f"{where}caller.yaml", 7),
        ("boom", "set", f"{where}boom.yaml", 8),
        ("boom", "fail", f"{where}boom.yaml", 9),
        ("caller", "action", f"{where}caller.yaml", 10),
    ]


def test_a_failed_run_as_json(cli: Cli) -> None:
    cli.write("boom.yaml", BOOM)
    outcome = cli("run", "boom.yaml", "--json", "--fresh")
    data = outcome.json()
    assert (outcome.code, data["status"], data["outputs"]) == (1, "failed", {})
    assert (data["error"]["kind"], data["error"]["message"], data["error"]["location"]) == (
        "failed",
        "boom 1",
        "boom.yaml:9:5",
    )


def test_trace(cli: Cli) -> None:
    cli.write("note.yaml", NOTE)
    outcome = cli("run", "note.yaml", "-i", "text=hi", "--trace", "--fresh")
    assert (outcome.code, json.loads(outcome.out)) == (0, {"got": "hi"})
    lines = outcome.err.splitlines()
    assert re.fullmatch(r"  succeeded km_variable_manager {10}line 9  [0-9.]+ ms", lines[1])
    assert lines[2] == '            with {"operation": "set", "name": "Note", "value": "hi"}'
    assert re.fullmatch(r"  succeeded read {25}line 12  [0-9.]+ ms", lines[3])
    assert lines[4] == '            with {"operation": "get", "name": "Note"}'
    traced = cli("run", "note.yaml", "--trace", "--json", "--fresh").json()["trace"]
    assert [(t["kind"], t["step"], t["status"], t["path"]) for t in traced] == [
        ("tool", None, "skipped", "$.steps[0]"),
        ("tool", "read", "succeeded", "$.steps[1]"),
    ]


def test_a_dry_run_records_calls_and_keeps_no_state(cli: Cli) -> None:
    cli.write("note.yaml", NOTE)
    outcome = cli("run", "note.yaml", "-i", "text=hi", "--dry-run")
    assert (outcome.code, json.loads(outcome.out)) == (0, {"got": "hi"})
    lines = outcome.err.splitlines(keepends=True)
    assert lines[:3] == [
        "Running note on a dry run on the simulator (nothing is sent anywhere).\n",
        "  km_variable_manager: recorded, not called; answered by the simulator\n",
        "  km_variable_manager: ran on the simulator (read-only)\n",
    ]
    found = SUCCEEDED.match(lines[3])
    assert found is not None
    assert found.groups() == ("2", "2", "dry run (simulator; nothing sent to Keyboard Maestro)")
    assert not (cli.home / "simulator-state.json").exists()
    data = cli("run", "note.yaml", "-i", "text=hi", "--dry-run", "--json").json()
    assert (data["dry_run"], [c["with"] for c in data["recorded_calls"]]) == (
        True,
        [{"operation": "set", "name": "Note", "value": "hi"}, {"operation": "get", "name": "Note"}],
    )


def test_the_simulator_state_is_kept_between_runs(cli: Cli) -> None:
    cli.write("note.yaml", NOTE)
    assert cli("run", "note.yaml", "-i", "text=kept").code == 0
    assert (cli.home / "simulator-state.json").is_file()
    again = cli("run", "note.yaml")
    assert (again.code, json.loads(again.out)) == (0, {"got": "kept"})


def test_fresh_starts_empty_and_keeps_nothing(cli: Cli) -> None:
    cli.write("note.yaml", NOTE)
    assert cli("run", "note.yaml", "-i", "text=kept").code == 0
    outcome = cli("run", "note.yaml", "--fresh")
    assert (outcome.code, json.loads(outcome.out)) == (0, {"got": ""})
    assert outcome.err.splitlines()[0] == (
        "Running note on the built-in simulator (no Keyboard Maestro server is configured); "
        "its state is not kept."
    )
    assert cli("run", "note.yaml", "-i", "text=fresh", "--fresh").code == 0
    assert json.loads(cli("run", "note.yaml").out) == {"got": "kept"}


def test_a_state_file_of_its_own(cli: Cli) -> None:
    cli.write("note.yaml", NOTE)
    state = cli.folder / "mine.json"
    first = cli("run", "note.yaml", "-i", "text=mine", "--state", str(state))
    assert f"its state is kept in {state}." in first.err
    assert state.is_file() and not (cli.home / "simulator-state.json").exists()
    assert json.loads(cli("run", "note.yaml", "--state", str(state)).out) == {"got": "mine"}


FORGET = action_text(
    "forget",
    """\
    permissions: [km_variable_manager:delete]
    steps:
      - tool: km_variable_manager
        with: {operation: delete, name: Greeting}
    """,
)


@pytest.mark.parametrize(
    ("profile", "code"),
    [
        pytest.param("sandbox", 1, id="sandbox"),
        pytest.param("strict", 1, id="strict"),
        pytest.param("standard", 0, id="standard"),
        pytest.param("none", 0, id="none"),
    ],
)
def test_profiles_decide_which_operations_may_run(cli: Cli, profile: str, code: int) -> None:
    cli.write("forget.yaml", FORGET)
    outcome = cli("run", "forget.yaml", "--fresh", "--profile", profile)
    assert outcome.code == code
    if code:
        allowed = "read-only" if profile == "sandbox" else "read-only, write"
        assert outcome.err.splitlines()[1:] == [
            "forget.yaml:7:5: error[permission-denied]: km_variable_manager:delete is a "
            f"destructive operation, and this security profile allows only: {allowed}",
            "   7 |   - tool: km_variable_manager",
            "     |     ^^^^^^^^^^^^^^^^^^^^^^^^^",
            "     = hint: run with a less strict profile (--profile standard) if you trust "
            "this action",
            "failed (permission-denied) after 1 step",
        ]


def test_the_sandbox_lets_an_action_read_a_variable_but_not_set_it(cli: Cli) -> None:
    """One tool, two classes: `get` is read-only, `set` writes."""
    cli.write("note.yaml", NOTE)
    assert cli("run", "note.yaml", "--fresh", "--profile", "sandbox").code == 0
    outcome = cli("run", "note.yaml", "-i", "text=a", "--fresh", "--profile", "sandbox")
    assert outcome.code == 1
    assert outcome.err.splitlines()[1] == (
        "note.yaml:9:5: error[permission-denied]: km_variable_manager:set is a write "
        "operation, and this security profile allows only: read-only"
    )


def test_an_invalid_action_is_not_run(cli: Cli) -> None:
    cli.write("bad.yaml", action_text("bad", "steps:\n  - set: {x: '{{ inputs.nope }}'}\n"))
    outcome = cli("run", "bad.yaml")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err == (
        "bad.yaml:6:18: error[unknown-input]: `inputs.nope` is not a declared input\n"
        "   6 |   - set: {x: '{{ inputs.nope }}'}\n"
        "     |                  ^^^^^^^^^^^\n"
        "     = hint: declare it under `inputs:`\n"
    )


def test_an_action_calls_the_actions_next_to_it(cli: Cli) -> None:
    cli.write(
        "lib/caller.yaml",
        action_text(
            "caller",
            "steps:\n  - id: c\n    action: boom\n    with: {n: 3}\n    continue_on_error: true\n"
            "outputs:\n  status: '{{ steps.c.status }}'\n",
        ),
    )
    cli.write("lib/boom.yaml", BOOM)
    outcome = cli("run", "lib/caller.yaml", "--json", "--fresh")
    assert (outcome.code, outcome.json()["outputs"]) == (0, {"status": "failed"})


@pytest.mark.parametrize(
    ("target", "message"),
    [
        pytest.param("missing.yaml", "km-actions run: no such file: missing.yaml", id="file"),
        pytest.param("dir/a/b", "km-actions run: no such file: dir/a/b", id="deep-path"),
    ],
)
def test_no_such_file(cli: Cli, target: str, message: str) -> None:
    outcome = cli("run", target)
    assert (outcome.code, outcome.err) == (2, message + "\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("clipboard-tools/sign", True, id="plugin-action"),
        pytest.param("a/b", True, id="short"),
        pytest.param("a.yaml", False, id="file"),
        pytest.param("dir/a.yaml", False, id="path-with-suffix"),
        pytest.param("a/b/c", False, id="deeper-path"),
        pytest.param("/abs", False, id="no-plugin"),
        pytest.param("plugin/", False, id="no-action"),
        pytest.param("plain", False, id="no-slash"),
    ],
)
def test_is_installed_name(text: str, expected: bool) -> None:
    assert is_installed_name(text) is expected


# -- action files in a plugin folder -------------------------------------------------------

CALLS_HELLO = action_text(
    "welcome",
    """\
    steps:
      - id: h
        action: hello
        with: {who: "{{ inputs.who }}"}
    inputs:
      who: {type: string, description: Who.}
    outputs:
      msg: "{{ steps.h.result.msg }}!"
    tests:
      - name: calls hello
        inputs: {who: Bo}
        expect: {outputs: {msg: Hello Bo!}}
    """,
)


def _plugin(cli: Cli) -> None:
    cli.write("demo/plugin.yaml", DEMO_PLUGIN)
    cli.write("demo/actions/hello.yaml", HELLO)
    cli.write("demo/actions/welcome.yaml", CALLS_HELLO)
    cli.write("demo/actions/boom.yaml", BOOM)


def test_an_action_in_a_plugin_folder_runs_with_the_default_settings(cli: Cli) -> None:
    _plugin(cli)
    outcome = cli("run", "demo/actions/welcome.yaml", "-i", "who=Cy")
    assert (outcome.code, json.loads(outcome.out)) == (0, {"msg": "Hello Cy!"})
    assert outcome.err.startswith(f"Running demo/welcome {_note(cli)}\n")


def test_a_failure_in_a_plugin_folder_shows_the_source(cli: Cli) -> None:
    _plugin(cli)
    outcome = cli("run", "demo/actions/boom.yaml", "--fresh")
    path = cli.folder / "demo/actions/boom.yaml"
    assert outcome.code == 1
    assert outcome.err.splitlines()[1:] == [
        f"{path}:9:5: error[failed]: boom 1",
        '   9 |   - fail: "boom {{ vars.x }}"',
        "     |     ^^^^^^^^^^^^^^^^^^^^^^^^^",
        "failed (failed) after 2 steps",
    ]


def test_a_bad_input_in_a_plugin_folder(cli: Cli) -> None:
    _plugin(cli)
    outcome = cli("run", "demo/actions/boom.yaml", "-i", "n=x")
    assert (outcome.code, outcome.err) == (
        2,
        'km-actions run: --input n: expected a whole number, got "x"\n',
    )


def test_a_file_that_is_not_one_of_the_plugin_actions(cli: Cli) -> None:
    cli.write("demo/plugin.yaml", DEMO_PLUGIN + "actions: [actions/*.yaml]\n")
    cli.write("demo/actions/hello.yaml", HELLO)
    cli.write("demo/extra/other.yaml", BOOM)
    outcome = cli("run", "demo/extra/other.yaml")
    assert outcome.code == 1
    assert outcome.err == (
        f"<input>: error[not-found]: demo/extra/other.yaml is not one of the actions of the "
        f"plugin in {cli.folder / 'demo'}\n"
        "     = hint: list it under `actions:` in plugin.yaml\n"
    )


def test_an_invalid_plugin_is_not_run(cli: Cli) -> None:
    _plugin(cli)
    cli.write(
        "demo/actions/bad.yaml", action_text("bad", "steps:\n  - set: {x: '{{ config.no }}'}\n")
    )
    outcome = cli("run", "demo/actions/hello.yaml", "-i", "who=A")
    assert (outcome.code, outcome.out) == (1, "")
    bad = cli.folder / "demo/actions/bad.yaml"
    assert f"{bad}:6:18: error[unknown-config]: `config.no` is not a setting of this plugin" in (
        outcome.err
    )
    assert "   6 |   - set: {x: '{{ config.no }}'}\n" in outcome.err


# -- installed actions ---------------------------------------------------------------------


def test_an_installed_action_runs_by_name(cli: Cli) -> None:
    _plugin(cli)
    assert cli("install", "demo", "--yes").code == 0
    outcome = cli("run", "demo/welcome", "-i", "who=Di", "--fresh")
    assert (outcome.code, json.loads(outcome.out)) == (0, {"msg": "Hello Di!"})
    assert outcome.err.startswith(
        "Running demo/welcome on the built-in simulator (no Keyboard Maestro server is "
        "configured); its state is not kept.\n"
    )
    assert cli("configure", "demo", "greeting=Hey").code == 0
    dry = cli("run", "demo/hello", "-i", "who=Di", "--dry-run", "--json").json()
    assert (dry["outputs"], dry["dry_run"]) == ({"msg": "Hey Di"}, True)


def test_an_installed_action_that_fails_shows_its_installed_source(cli: Cli) -> None:
    _plugin(cli)
    assert cli("install", "demo", "--yes").code == 0
    outcome = cli("run", "demo/boom", "-i", "n=4")
    assert outcome.code == 1
    assert outcome.err.splitlines()[1:] == [
        "demo/actions/boom.yaml:9:5: error[failed]: boom 4",
        '   9 |   - fail: "boom {{ vars.x }}"',
        "     |     ^^^^^^^^^^^^^^^^^^^^^^^^^",
        "failed (failed) after 2 steps",
    ]


@pytest.mark.parametrize(
    ("argv", "code", "err"),
    [
        pytest.param(
            ["demo/helo"],
            1,
            "km-actions run: no installed action is named `demo/helo`\n"
            "     = hint: did you mean 'demo/hello'?\n",
            id="misspelt",
        ),
        pytest.param(
            ["other/x"],
            1,
            "km-actions run: no installed action is named `other/x`\n"
            "     = hint: see the installed actions with `km-actions list`\n",
            id="unknown-plugin",
        ),
        pytest.param(
            ["demo/boom", "-i", "n=x"],
            2,
            'km-actions run: --input n: expected a whole number, got "x"\n',
            id="bad-input",
        ),
    ],
)
def test_installed_action_errors(cli: Cli, argv: list[str], code: int, err: str) -> None:
    _plugin(cli)
    assert cli("install", "demo", "--yes").code == 0
    outcome = cli("run", *argv)
    assert (outcome.code, outcome.out, outcome.err) == (code, "", err)


def test_the_store_cannot_be_opened(cli: Cli) -> None:
    cli.home.write_text("a file where the data folder should be")
    outcome = cli("run", "demo/hello")
    assert outcome.code == 1
    assert outcome.err.startswith(
        f"<input>: error[store-unavailable]: cannot open the plugin store at {cli.home}: "
    )


# -- the simulator's state file ------------------------------------------------------------


def test_a_corrupt_state_file_is_moved_aside_with_a_warning(cli: Cli) -> None:
    cli.write("note.yaml", NOTE)
    state = cli.home / "simulator-state.json"
    cli.write("home/simulator-state.json", "{not json")
    outcome = cli("run", "note.yaml")
    assert (outcome.code, json.loads(outcome.out)) == (0, {"got": ""})
    assert outcome.err.splitlines()[0] == (
        f"warning: the simulator state file {state} is corrupt (not valid JSON); it was moved "
        "to simulator-state.json.corrupt and the simulator starts from its example state"
    )
    assert (cli.home / "simulator-state.json.corrupt").read_text() == "{not json"


def test_a_state_file_from_a_newer_version_is_refused(cli: Cli) -> None:
    cli.write("note.yaml", NOTE)
    newer = '{"format": "km-actions-simulator-state", "version": 999}'
    cli.write("newer.json", newer)
    outcome = cli("run", "note.yaml", "--state", "newer.json")
    assert (outcome.code, outcome.out, outcome.err) == (
        1,
        "",
        "km-actions run: the simulator state file newer.json was written by a newer km-actions "
        "(state version 999; this one reads up to 2)\n"
        "     = hint: upgrade km-actions, or use another state file\n",
    )
    assert (cli.folder / "newer.json").read_text() == newer


def test_a_state_file_path_that_cannot_be_used(cli: Cli) -> None:
    cli.write("note.yaml", NOTE)
    cli.write("not-a-folder", "a file")
    outcome = cli("run", "note.yaml", "--state", "not-a-folder/state.json")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err == (
        "km-actions run: cannot read the simulator state file not-a-folder/state.json: "
        "[Errno 20] Not a directory: 'not-a-folder/state.json'\n"
        "     = hint: check the path and its permissions, or start without a state file\n"
    )


def test_an_action_in_a_plugin_folder_as_json(cli: Cli) -> None:
    _plugin(cli)
    outcome = cli("run", "demo/actions/hello.yaml", "-i", "who=Jo", "--json", "--fresh")
    assert (outcome.code, outcome.err, outcome.json()["outputs"]) == (
        0,
        "",
        {"msg": "Hello Jo"},
    )


def test_installed_sources_find_installed_files_only(cli: Cli) -> None:
    _plugin(cli)
    assert cli("install", "demo", "--yes").code == 0
    with Store.open(cli.home) as store:
        lookup = _installed_sources(store)
        assert lookup("demo/actions/hello.yaml") == HELLO
        assert lookup("demo/actions/gone.yaml") is None
        assert lookup("ghost/actions/hello.yaml") is None


def test_file_sources_read_what_exists(cli: Cli) -> None:
    _plugin(cli)
    lookup = _file_sources({"given.yaml": "as read"})
    assert lookup(str(cli.folder / "demo/actions/hello.yaml")) == HELLO
    assert lookup("given.yaml") == "as read"
    assert lookup("<input>") is None


def test_an_installed_action_runs_under_the_profile_its_plugin_was_installed_under(
    cli: Cli,
) -> None:
    """Issue 8: installed with --profile sandbox, a plugin's run made 150 tool calls (the
    sandbox allows 100): the profile only capped what it was granted."""
    cli.write(
        "busy/plugin.yaml",
        'api_version: "1.1"\nkind: plugin\nidentifier: busy\nname: Busy\nversion: 1.0.0\n'
        "description: Busy.\npermissions: [km_list_macros]\n",
    )
    cli.write(
        "busy/actions/loop.yaml",
        action_text(
            "loop",
            """\
            steps:
              - foreach: range(15)
                steps:
                  - foreach: range(10)
                    steps:
                      - tool: km_list_macros
                        with: {}
            """,
        ),
    )
    assert cli("install", "busy", "--yes", "--profile", "sandbox").code == 0
    outcome = cli("run", "busy/loop", "--profile", "none", "--fresh", "--json")
    assert outcome.code == 1
    assert outcome.json()["error"]["message"] == (
        "the run made more than 100 tool calls (limit max_tool_calls)"
    )
