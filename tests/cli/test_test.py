"""``km-actions test``: the ``tests:`` of files, folders, plugin folders and installed actions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import DEMO_PLUGIN, HELLO, Cli, action_text, plugin_text

DOUBLE = action_text(
    "double",
    """\
    inputs:
      n: {type: integer, description: A number.}
    steps:
      - set: {d: "{{ inputs.n * 2 }}"}
    outputs:
      d: "{{ vars.d }}"
    tests:
      - name: doubles
        inputs: {n: 2}
        expect: {outputs: {d: 4}}
      - name: wrong on purpose
        inputs: {n: 3}
        expect: {outputs: {d: 7}}
    """,
)
PASSING = DOUBLE.replace("{d: 7}", "{d: 6}")
NO_TESTS = action_text("plain", "steps:\n  - set: {x: 1}\noutputs:\n  x: '{{ vars.x }}'\n")
NO_TESTS_MESSAGE = (
    "km-actions test: no tests found (an action's tests go under `tests:`; "
    "`km-actions new` writes an action with one)\n"
)


def test_passing_and_failing_tests(cli: Cli) -> None:
    cli.write("double.yaml", DOUBLE)
    outcome = cli("test", "double.yaml")
    assert (outcome.code, outcome.err) == (1, "")
    assert outcome.out == (
        "double.yaml::double::doubles PASSED\n"
        "double.yaml::double::wrong on purpose FAILED\n"
        "\n"
        "___ double: wrong on purpose (double.yaml:15:5) ___\n"
        "  output `d` is 6, expected 7\n"
        "\n"
        "1 passed, 1 failed\n"
    )


def test_a_test_without_the_mock_it_needs_shows_how_to_add_one(cli: Cli) -> None:
    """Found by a tester: the header gave no file:line, and the missing mock no hint."""
    cli.write(
        "notify.yaml",
        action_text(
            "notify",
            """\
            permissions: [km_notifications]
            steps:
              - tool: km_notifications
                with: {notification_type: hud, title: A, message: B}
            tests:
              - name: missing mock
                expect: {outputs: {}}
            """,
        ),
    )
    outcome = cli("test", "notify.yaml")
    assert (outcome.code, outcome.out) == (
        1,
        "notify.yaml::notify::missing mock FAILED\n"
        "\n"
        "___ notify: missing mock (notify.yaml:10:5) ___\n"
        "  the action failed: [tool-unavailable] the test has no mock for km_notifications at "
        "notify.yaml:7:5\n"
        "  = hint: add its answers under the test's `mocks:`, one per call, in call order "
        "(`km-actions tools km_notifications` shows what it answers):\n"
        "          mocks:\n"
        "            km_notifications:\n"
        "              - {success: true, data: …}\n"
        "\n"
        "0 passed, 1 failed\n",
    )


def test_json_outcomes(cli: Cli) -> None:
    cli.write("double.yaml", DOUBLE)
    outcome = cli("test", "double.yaml", "--json")
    data = outcome.json()
    assert outcome.code == 1
    assert (data["passed"], data["failed"], data["errors"], data["problems"]) == (1, 1, 0, [])
    assert [
        {k: v for k, v in t.items() if k != "duration_ms"} for t in data["tests"]
    ] == [
        {"action": "double", "name": "doubles", "file": "double.yaml", "line": 12, "column": 5,
         "passed": True, "failures": [], "hint": None},
        {"action": "double", "name": "wrong on purpose", "file": "double.yaml", "line": 15,
         "column": 5, "passed": False, "failures": ["output `d` is 6, expected 7"], "hint": None},
    ]  # fmt: skip
    assert all(isinstance(t["duration_ms"], float) for t in data["tests"])


def test_all_passing(cli: Cli) -> None:
    cli.write("double.yaml", PASSING)
    outcome = cli("test", "double.yaml")
    assert (outcome.code, outcome.out.splitlines()[-1]) == (0, "2 passed, 0 failed")


def test_no_tests_found(cli: Cli) -> None:
    cli.write("plain.yaml", NO_TESTS)
    outcome = cli("test", "plain.yaml")
    assert (outcome.code, outcome.out, outcome.err) == (2, "", NO_TESTS_MESSAGE)
    as_json = cli("test", "plain.yaml", "--json")
    assert (as_json.code, as_json.json(), as_json.err) == (
        2,
        {"passed": 0, "failed": 0, "errors": 0, "tests": [], "problems": [], "warnings": []},
        NO_TESTS_MESSAGE,
    )


def test_a_folder_runs_every_action_and_skips_other_manifests(cli: Cli) -> None:
    cli.write("lib/double.yaml", PASSING)
    cli.write("lib/plain.yaml", NO_TESTS)
    cli.write("lib/data.json", '{"kind": "data", "values": [1, 2]}')
    cli.write("lib/list.yaml", "- just\n- a list\n")
    outcome = cli("test", "lib")
    assert (outcome.code, outcome.out) == (
        0,
        "lib/double.yaml::double::doubles PASSED\n"
        "lib/double.yaml::double::wrong on purpose PASSED\n"
        "\n"
        "2 passed, 0 failed\n",
    )


def test_tests_may_call_actions_next_to_them(cli: Cli) -> None:
    cli.write("lib/double.yaml", PASSING)
    cli.write(
        "lib/quad.yaml",
        action_text(
            "quad",
            """\
            steps:
              - id: a
                action: double
                with: {n: 2}
              - id: b
                action: double
                with: {n: "{{ steps.a.result.d }}"}
            outputs:
              q: "{{ steps.b.result.d }}"
            tests:
              - name: four times
                expect: {outputs: {q: 8}}
            """,
        ),
    )
    outcome = cli("test", "lib/quad.yaml")
    assert (outcome.code, outcome.out) == (
        0,
        "lib/quad.yaml::quad::four times PASSED\n\n1 passed, 0 failed\n",
    )


def test_files_that_do_not_load_or_validate_are_errors(cli: Cli) -> None:
    cli.write("broken.yaml", "a: [1,\n")
    cli.write("invalid.yaml", action_text("invalid", "steps:\n  - set: {x: '{{ vars.y }}'}\n"))
    cli.write("double.yaml", PASSING)
    outcome = cli("test", "broken.yaml", "invalid.yaml", "double.yaml")
    assert outcome.code == 1
    assert outcome.out.splitlines()[-1] == "2 passed, 0 failed, 2 errors"
    assert "broken.yaml:2:1: error[syntax]: " in outcome.out
    assert (
        "invalid.yaml:6:18: error[unknown-variable]: `vars.y` is never set\n"
        "   6 |   - set: {x: '{{ vars.y }}'}\n"
    ) in outcome.out
    data = cli("test", "broken.yaml", "invalid.yaml", "--json").json()
    assert (data["errors"], [p["code"] for p in data["problems"]]) == (
        2,
        ["syntax", "unknown-variable"],
    )
    assert data["problems"][1]["location"] == "invalid.yaml:6:18"


def test_a_missing_path_is_a_usage_error(cli: Cli) -> None:
    outcome = cli("test", "nope.yaml", "gone/missing.yaml", "some-plugin/action")
    assert (outcome.code, outcome.err) == (
        2,
        "km-actions test: no such file or folder: nope.yaml\n"
        "km-actions test: no such file or folder: gone/missing.yaml\n",
    )


# -- plugins -------------------------------------------------------------------------------


def _plugin(cli: Cli) -> None:
    cli.write("demo/plugin.yaml", DEMO_PLUGIN)
    cli.write("demo/actions/hello.yaml", HELLO)


def test_a_plugin_folder(cli: Cli) -> None:
    _plugin(cli)
    outcome = cli("test", "demo")
    shown = cli.folder / "demo/actions/hello.yaml"
    assert (outcome.code, outcome.out) == (
        0,
        f"{shown}::demo/hello::greets with the default PASSED\n"
        f"{shown}::demo/hello::greets with a setting PASSED\n"
        "\n"
        "2 passed, 0 failed\n",
    )


def test_one_file_of_a_plugin_folder(cli: Cli) -> None:
    _plugin(cli)
    cli.write("demo/actions/other.yaml", NO_TESTS)
    outcome = cli("test", "demo/actions/hello.yaml", "demo/actions/other.yaml")
    assert (outcome.code, outcome.out.splitlines()[-1]) == (0, "2 passed, 0 failed")


def test_an_invalid_plugin_folder_is_one_error(cli: Cli) -> None:
    _plugin(cli)
    cli.write(
        "demo/actions/bad.yaml", action_text("bad", "steps:\n  - set: {x: '{{ config.no }}'}\n")
    )
    outcome = cli("test", "demo")
    assert outcome.code == 1
    assert outcome.out.splitlines()[-1] == "0 passed, 0 failed, 1 error"
    assert "error[unknown-config]: `config.no` is not a setting of this plugin" in outcome.out


def test_installed_actions_by_name(cli: Cli) -> None:
    _plugin(cli)
    assert cli("install", "demo", "--yes").code == 0
    outcome = cli("test", "demo/hello", "demo/helo")
    assert outcome.code == 1
    assert outcome.out.endswith(
        "::demo/hello::greets with a setting PASSED\n"
        "\n"
        "demo/helo: no installed action is named `demo/helo`\n"
        "\n"
        "2 passed, 0 failed, 1 error\n"
    )


def test_installed_names_need_a_usable_store(cli: Cli) -> None:
    cli.home.write_text("a file where the data folder should be")
    outcome = cli("test", "demo/hello", "--json")
    data = outcome.json()
    assert (outcome.code, data["errors"], data["problems"][0]["code"]) == (
        1,
        1,
        "store-unavailable",
    )
    assert data["problems"][0]["message"].startswith(
        f"cannot open the plugin store at {cli.home}: "
    )


@pytest.mark.parametrize(
    "name",
    [pytest.param("demo/hello", id="name"), pytest.param("demo/hello.yaml", id="file-like")],
)
def test_an_existing_path_wins_over_an_installed_name(cli: Cli, name: str) -> None:
    cli.write(name, PASSING)
    outcome = cli("test", name)
    assert (outcome.code, outcome.out.splitlines()[0]) == (
        0,
        f"{name}::double::doubles PASSED",
    )


def test_installed_tests_never_see_the_users_settings(cli: Cli) -> None:
    """A test of an installed action that calls another plugin's action sees that
    plugin's defaults, never the token the user set, and its report names secrets."""
    clipboard = Path(__file__).resolve().parents[2] / "actions" / "clipboard-tools"
    assert cli("install", str(clipboard), "--yes").code == 0
    assert cli("configure", "clipboard-tools", "share_token=the-users-token-5150").code == 0
    cli.write("relay/plugin.yaml", plugin_text("relay", RELAY_PLUGIN))
    cli.write("relay/actions/share.yaml", RELAY)
    assert cli("install", "relay", "--yes").code == 0
    outcome = cli("test", "relay/share", "--json")
    [report] = outcome.json()["tests"]
    assert report["failures"] == [
        "the action failed: [template-error] `config.share_token` is undefined at "
        "clipboard-tools/actions/share-clipboard.yaml:22:14"
    ]
    assert "5150" not in outcome.out + outcome.err


RELAY_PLUGIN = """\
dependencies: {clipboard-tools: "*"}
permissions: [km_engine_control:process_tokens, km_variable_manager, km_execute_macro]
"""
RELAY = action_text(
    "share",
    """\
    steps:
      - action: clipboard-tools/share-clipboard
    tests:
      - name: shares
        mocks:
          km_engine_control: [{success: true, data: {processed: hi}}]
          km_variable_manager: [{success: true}]
          km_execute_macro: [{success: true}]
        expect:
          calls: [{tool: km_engine_control}, {tool: km_variable_manager, with: {value: x}}]
    """,
)


def test_a_hook_given_files_without_tests_passes(cli: Cli) -> None:
    """pre-commit's km-actions-test hook gets whatever changed: a plugin.yaml, an action
    with no tests yet. That is no failure; a failing test or a missing file still is."""
    cli.write("plain.yaml", NO_TESTS)
    cli.write("double.yaml", DOUBLE)
    outcome = cli("test", "--allow-no-tests", "plain.yaml")
    assert (outcome.code, outcome.out, outcome.err) == (0, "", NO_TESTS_MESSAGE)
    assert cli("test", "--allow-no-tests", "plain.yaml", "double.yaml").code == 1
    assert cli("test", "--allow-no-tests", "gone.yaml").code == 2


MISSHAPEN_MOCK = action_text(
    "greeting",
    """\
    permissions: [km_variable_manager]
    steps:
      - id: get
        tool: km_variable_manager
        with: {operation: get, name: Greeting}
    outputs:
      text: "{{ steps.get.result.data.value }}"
    tests:
      - name: reads the greeting
        mocks: {km_variable_manager: [{data: {value: Hi}}]}
        expect: {outputs: {text: Hi}}
    """,
)


def test_a_mock_the_real_server_never_answers_is_a_warning(cli: Cli) -> None:
    """The test passes on a mock without `success`, so `km-actions test` says, where the
    mock is, that the real server answers otherwise (the run and exit code unchanged)."""
    cli.write("greeting.yaml", MISSHAPEN_MOCK)
    outcome = cli("test", "greeting.yaml")
    assert (outcome.code, outcome.err) == (0, "")
    first, rest = outcome.out.split("\n", 1)
    assert first == (
        "greeting.yaml:14:35: warning[mock-answer-shape]: the test's mock of "
        "km_variable_manager is not shaped as the real server answers: an answer of "
        "km_variable_manager get always has `success`, and the mock has none"
    )
    assert "= hint: add `success: true`" in rest
    assert rest.endswith(
        "greeting.yaml::greeting::reads the greeting PASSED\n\n1 passed, 0 failed, 1 warning\n"
    )
    data = cli("test", "greeting.yaml", "--json").json()
    assert [(w["code"], w["severity"], w["line"]) for w in data["warnings"]] == [
        ("mock-answer-shape", "warning", 14)
    ]


def test_a_mock_of_an_installed_action_is_checked_too(cli: Cli) -> None:
    """By name, the installed action's tests get the same warning, shown in its file."""
    cli.write("greet/plugin.yaml", plugin_text("greet", "permissions: [km_variable_manager]\n"))
    cli.write("greet/actions/greeting.yaml", MISSHAPEN_MOCK)
    assert cli("install", "greet", "--yes").code == 0
    outcome = cli("test", "greet/greeting")
    assert (outcome.code, outcome.err) == (0, "")
    first, rest = outcome.out.split("\n", 1)
    assert first == (
        "greet/actions/greeting.yaml:14:35: warning[mock-answer-shape]: the test's mock of "
        "km_variable_manager is not shaped as the real server answers: an answer of "
        "km_variable_manager get always has `success`, and the mock has none"
    )
    assert "  14 |     mocks: {km_variable_manager: [{data: {value: Hi}}]}" in rest
    assert rest.endswith(
        "::greet/greeting::reads the greeting PASSED\n\n1 passed, 0 failed, 1 warning\n"
    )
