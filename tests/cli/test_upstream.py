"""The command line on the Keyboard Maestro MCP server of ``[upstream]``: ``run`` (files,
plugin folders, installed actions), the hooks of store commands, ``tools``, and offline
checks against the tool list saved when connected.

Every test starts its own upstream (tests/tools/bridge/upstream_server.py over stdio, or the
simulator over HTTP), and checks that no server process is left behind.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.paths import saved_tools_path
from engine.tools.saved_tools import save_tool_list
from tests.cli.conftest import Cli, action_text, plugin_text
from tests.tools.bridge.test_upstream import TEST_UPSTREAM, children
from tests.tools.bridge.upstream_server import KM_DOWN

WHERE = shlex.join(TEST_UPSTREAM)
SERVER = f"the Keyboard Maestro MCP server at {WHERE}"
KM_DOWN_COMMAND = [*TEST_UPSTREAM, "--keyboard-maestro-down"]

NOTE = action_text(
    "note",
    """\
    permissions: [km_variable_manager, km_test_text]
    inputs:
      text: {type: string, description: What to keep.}
    steps:
      - tool: km_variable_manager
        with: {operation: set, name: Note, value: "{{ inputs.text }}"}
      - id: read
        tool: km_variable_manager
        with: {operation: get, name: Note}
      - id: echo
        tool: km_test_text
        with: {text: "{{ steps.read.result.data.value }}"}
    outputs:
      kept: "{{ steps.echo.result.data.text }}"
    """,
)
SET = action_text(
    "set",
    """\
    permissions: [km_variable_manager]
    steps:
      - tool: km_variable_manager
        with: {operation: set, name: Note, value: hi}
    """,
)
FAIL = action_text(
    "fail",
    """\
    permissions: [km_test_fail]
    steps:
      - tool: km_test_fail
        with: {text: no macro named Tidy}
    """,
)
SLOW = action_text(
    "slow",
    """\
    permissions: [km_test_sleep]
    steps:
      - tool: km_test_sleep
        with: {seconds: 60}
    """,
)


@pytest.fixture(autouse=True)
def no_server_left(cli: Cli) -> Iterator[None]:
    """Every server the command line started has been stopped and reaped."""
    before = children()
    yield
    assert children() - before == set()


def upstream(cli: Cli, command: list[str] | None = None, **keys: object) -> Path:
    """Write ``[upstream]`` into the default configuration file; its path."""
    lines = ["[upstream]"]
    if "url" not in keys:
        lines.append(f"command = {json.dumps(command or TEST_UPSTREAM)}")
    lines += [f"{key} = {json.dumps(value)}" for key, value in keys.items()]
    return cli.write("home/config.toml", "\n".join(lines) + "\n")


def day(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d")


# -- run on the upstream ---------------------------------------------------------------


def test_run_goes_to_the_configured_server_says_so_and_saves_its_tools(cli: Cli) -> None:
    config = upstream(cli)
    cli.write("note.yaml", NOTE)
    outcome = cli("run", "note.yaml", "-i", "text=hello")
    assert (outcome.code, json.loads(outcome.out)) == (0, {"kept": "hello"})
    first, second = outcome.err.splitlines()
    assert first == f"Running note on {SERVER}."
    assert re.fullmatch(
        rf"succeeded: 3 steps, 3 tool calls, [0-9.]+ ms \(Keyboard Maestro MCP server at "
        rf"{re.escape(WHERE)}\)",
        second,
    )
    assert not (cli.home / "simulator-state.json").exists()

    saved = json.loads(saved_tools_path().read_text("utf-8"))
    assert (saved["format"], saved["upstream"], saved["server"]) == (
        1,
        WHERE,
        "km-actions-test-upstream",
    )
    assert {"km_test_text", "km_variable_manager"} <= {t["name"] for t in saved["tools"]}
    assert abs(datetime.fromisoformat(saved["saved_at"]) - datetime.now(UTC)).total_seconds() < 60

    data = cli("run", "note.yaml", "-i", "text=again", "--json").json()
    assert (data["status"], data["outputs"], data["simulated"]) == (
        "succeeded",
        {"kept": "again"},
        False,
    )
    assert data["backend"] == f"Keyboard Maestro MCP server at {WHERE}"
    assert data["ran_on"] == {
        "kind": "upstream",
        "description": SERVER,
        "upstream": WHERE,
        "config": str(config),
    }


def test_a_server_answering_keyboard_maestro_is_down_fails_the_step_with_its_words(
    cli: Cli,
) -> None:
    upstream(cli, KM_DOWN_COMMAND)
    cli.write("set.yaml", SET)
    outcome = cli("run", "set.yaml")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.splitlines() == [
        f"Running set on the Keyboard Maestro MCP server at {shlex.join(KM_DOWN_COMMAND)}.",
        "set.yaml:7:5: error[tool-failed]: km_variable_manager failed: Cannot connect to "
        "Keyboard Maestro Engine (KM_CONNECTION_FAILED)",
        "   7 |   - tool: km_variable_manager",
        "     |     ^^^^^^^^^^^^^^^^^^^^^^^^^",
        "     = hint: Start Keyboard Maestro and ensure the Engine is running. Check "
        "accessibility permissions if needed.",
        "failed (tool-failed) after 1 step",
    ]
    error = cli("run", "set.yaml", "--json").json()["error"]
    assert (error["kind"], error["details"]["code"], error["details"]["result"]) == (
        "tool-failed",
        "KM_CONNECTION_FAILED",
        KM_DOWN,
    )
    assert (
        error["hint"]
        == error["details"]["recovery_suggestion"]
        == (
            "Start Keyboard Maestro and ensure the Engine is running. Check accessibility "
            "permissions if needed."
        )
    )


def test_an_error_result_of_the_server_fails_the_step_with_its_message(cli: Cli) -> None:
    upstream(cli)
    cli.write("fail.yaml", FAIL)
    outcome = cli("run", "fail.yaml")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.splitlines()[1:] == [
        "fail.yaml:7:5: error[tool-failed]: km_test_fail failed: no macro named Tidy "
        "(UPSTREAM_TOOL_ERROR)",
        "   7 |   - tool: km_test_fail",
        "     |     ^^^^^^^^^^^^^^^^^^",
        "     = hint: The Keyboard Maestro MCP server reported this error; check the "
        "arguments, and that Keyboard Maestro is running.",
        "failed (tool-failed) after 1 step",
    ]


def test_a_tool_call_past_the_timeout_fails_the_run(cli: Cli) -> None:
    upstream(cli, timeout=0.5)
    cli.write("slow.yaml", SLOW)
    outcome = cli("run", "slow.yaml")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.splitlines()[1:] == [
        f"slow.yaml:7:5: error[timeout]: km_test_sleep did not answer within 0.5 s (the "
        f"Keyboard Maestro MCP server at {WHERE} is slow or stuck)",
        "   7 |   - tool: km_test_sleep",
        "     |     ^^^^^^^^^^^^^^^^^^^",
        "     = hint: check that Keyboard Maestro is running and responsive, or allow more "
        "time with `timeout` under [upstream] in the configuration file",
        "failed (timeout) after 1 step",
    ]


NOT_THERE = ["km-actions-no-such-command-anywhere"]
EXITS = [sys.executable, "-c", "import sys; sys.exit('Keyboard Maestro is not installed')"]
# Never answers, and leaves once its input is closed, as an MCP server does: the command
# stops at the connect timeout, not the MCP client's grace period (2 s, then a kill)
# later. One that outstays its input is the bridge's own test
# (tests/tools/bridge/test_upstream.py, never-answers).
SILENT = [sys.executable, "-c", "import sys; sys.stdin.read()"]
STDIO_HINT = (
    "run the command yourself to see why it does not answer; it must be an MCP server "
    "speaking stdio"
)


@pytest.mark.parametrize(
    ("keys", "message", "hint"),
    [
        pytest.param(
            {"command": NOT_THERE},
            "cannot start the Keyboard Maestro MCP server: no command "
            "'km-actions-no-such-command-anywhere' was found",
            "check the upstream command; give its full path if it is not on PATH",
            id="no-such-command",
        ),
        pytest.param(
            {"command": EXITS},
            f"the Keyboard Maestro MCP server at {shlex.join(EXITS)} closed the connection "
            "before it finished the MCP handshake; it said on stderr: Keyboard Maestro is not "
            "installed",
            STDIO_HINT,
            id="exits-at-once",
        ),
        pytest.param(
            {"command": SILENT, "connect_timeout": 0.5},
            f"the Keyboard Maestro MCP server at {shlex.join(SILENT)} did not finish "
            "connecting within 0.5 s",
            f"{STDIO_HINT}; a server that is only slow to start gets more time with "
            "`connect_timeout` under [upstream] in the configuration file",
            id="handshake-timeout",
        ),
        pytest.param(
            {"url": "http://127.0.0.1:9/mcp"},
            "cannot reach the Keyboard Maestro MCP server at http://127.0.0.1:9/mcp: All "
            "connection attempts failed",
            "start the server, and check the URL, host and port",
            id="http-refused",
        ),
    ],
)
def test_a_server_that_cannot_be_reached_is_one_clear_error(
    cli: Cli, keys: dict[str, object], message: str, hint: str
) -> None:
    others = {k: v for k, v in keys.items() if k != "command"}
    command = keys.get("command")
    assert command is None or isinstance(command, list)
    config = upstream(cli, command, **others)
    cli.write("set.yaml", SET)
    full_hint = f"{hint}; the server is set under [upstream] in {config} (or run with --simulator)"
    outcome = cli("run", "set.yaml")
    assert (outcome.code, outcome.out, outcome.err) == (
        1,
        "",
        f"km-actions run: {message}\n     = hint: {full_hint}\n",
    )
    data = cli("run", "set.yaml", "--json").json()
    assert (data["status"], data["error"]["code"], data["error"]["message"]) == (
        "failed",
        "tool-unavailable",
        message,
    )
    assert (data["error"]["hint"], data["ran_on"]["kind"]) == (full_hint, "upstream")
    assert not saved_tools_path().exists()


def test_dry_run_never_contacts_the_server_and_simulator_forces_the_simulator(cli: Cli) -> None:
    upstream(cli, NOT_THERE)
    cli.write("set.yaml", SET)
    dry = cli("run", "set.yaml", "--dry-run")
    assert dry.code == 0
    assert dry.err.splitlines()[0] == (
        "Running set on a dry run on the simulator (nothing is sent anywhere)."
    )
    simulated = cli("run", "set.yaml", "--simulator", "--json")
    assert (simulated.code, simulated.json()["backend"]) == (0, "simulator")
    assert simulated.json()["ran_on"]["description"] == (
        "the built-in simulator (asked for with --simulator); its state is kept in "
        f"{cli.home / 'simulator-state.json'}"
    )
    assert (cli.home / "simulator-state.json").is_file()
    for option in (["--fresh"], ["--state", "s.json"]):
        refused = cli("run", "set.yaml", *option)
        assert (refused.code, refused.err) == (
            2,
            f"km-actions run: {option[0]} is an option of the built-in simulator, and this "
            f"run goes to the Keyboard Maestro MCP server at {NOT_THERE[0]}\n"
            "     = hint: add --simulator to run on the simulator\n",
        )


def test_a_configuration_that_is_not_valid_is_a_usage_error(cli: Cli) -> None:
    config = cli.write("home/config.toml", "[upstream]\ncommand = []\n")
    cli.write("set.yaml", SET)
    outcome = cli("run", "set.yaml")
    assert (outcome.code, outcome.err) == (
        2,
        f"km-actions run: {config}: upstream.command is empty\n"
        "     = hint: see docs/mcp.md for every setting\n",
    )
    other = cli.write("other.toml", "[upstream]\nurl = 'http://127.0.0.1:9/mcp'\n")
    elsewhere = cli("run", "set.yaml", "--config", str(other), "--dry-run")
    assert elsewhere.code == 0


# -- plugins and hooks on the upstream -------------------------------------------------

HOOKED = plugin_text(
    "hk",
    """\
    permissions: [km_variable_manager]
    hooks:
      - on: installed
        action: set
      - on: upgraded
        action: set
      - on: action_succeeded
        if: event.action == "hello"
        action: set
    """,
)
HELLO = action_text("hello", "steps:\n  - set: {x: 1}\noutputs: {x: '{{ vars.x }}'}\n")
KM_DOWN_HOOK = (
    "hook {n} of `hk` (on {event} → hk/set) failed: km_variable_manager failed: Cannot "
    "connect to Keyboard Maestro Engine (KM_CONNECTION_FAILED)"
)


def _hooked(cli: Cli) -> None:
    cli.write("hk/plugin.yaml", HOOKED)
    cli.write("hk/actions/set.yaml", SET)
    cli.write("hk/actions/hello.yaml", HELLO)


def test_hooks_of_store_commands_and_installed_runs_go_to_the_server(cli: Cli) -> None:
    upstream(cli, KM_DOWN_COMMAND)
    server = f"the Keyboard Maestro MCP server at {shlex.join(KM_DOWN_COMMAND)}"
    _hooked(cli)
    installed = cli("install", "hk", "--yes")
    assert (installed.code, installed.out) == (0, "Installed hk 1.0.0.\n")
    assert installed.err == (
        f"  1 hook ran on {server}\n  warning: {KM_DOWN_HOOK.format(n=1, event='installed')}\n"
    )
    ran = cli("run", "hk/hello")
    assert (ran.code, json.loads(ran.out)) == (0, {"x": 1})
    assert ran.err.splitlines()[:2] == [
        f"Running hk/hello on {server}.",
        f"warning: {KM_DOWN_HOOK.format(n=3, event='action_succeeded')}",
    ]
    folder = cli("run", "hk/actions/set.yaml")  # a plugin folder's action, on the server too
    assert folder.code == 1
    assert "(KM_CONNECTION_FAILED)" in folder.err
    cli.write("hk/plugin.yaml", HOOKED.replace("version: 1.0.0", "version: 1.0.1"))
    simulated = cli("install", "hk", "--yes", "--simulator")
    assert (simulated.code, simulated.err) == (
        0,
        "  1 hook ran on the built-in simulator (asked for with --simulator); its state is "
        f"kept in {cli.home / 'simulator-state.json'}\n",
    )


def test_hooks_that_cannot_reach_the_server_are_skipped_with_a_warning(cli: Cli) -> None:
    config = upstream(cli, NOT_THERE)
    _hooked(cli)
    outcome = cli("install", "hk", "--yes")
    assert (outcome.code, outcome.out) == (0, "Installed hk 1.0.0.\n")
    assert outcome.err == (
        "  warning: the hooks on `installed` of 'hk' did not run: cannot start the Keyboard "
        "Maestro MCP server: no command 'km-actions-no-such-command-anywhere' was found\n"
        "     = hint: check the upstream command; give its full path if it is not on PATH; the "
        f"server is set under [upstream] in {config} (or run with --simulator)\n"
    )
    cli.write("home/config.toml", "[upstream]\ncommand = 3\n")
    cli.write("hk/plugin.yaml", HOOKED.replace("version: 1.0.0", "version: 1.0.1"))
    broken = cli("install", "hk", "--yes")
    assert (broken.code, broken.out) == (0, "Upgraded hk 1.0.0 → 1.0.1.\n")
    assert broken.err == (  # install checks against the configured tools: it says it cannot
        f"warning: {config}: upstream.command must be a list of text values; checking "
        "against the current server's tools\n"
        f"  warning: the hooks on `upgraded` of 'hk' did not run: {config}: "
        "upstream.command must be a list of text values\n"
        "     = hint: see docs/mcp.md for every setting\n"
    )
    assert cli("uninstall", "hk").err == ""  # no hook listens: the configuration is not read


# -- the saved tool list, offline -------------------------------------------------------

TEXT_ONLY = action_text(
    "echo",
    """\
    permissions: [km_test_text]
    steps:
      - tool: km_test_text
        with: {text: hi}
    """,
)
UNKNOWN = action_text("unknown", "steps:\n  - tool: km_test_txt\n    with: {text: hi}\n")
SAVED_AT = datetime(2026, 5, 3, 12, 0, tzinfo=UTC)
LISTED = [
    {"name": "km_test_text", "inputSchema": {"type": "object", "properties": {
        "text": {"type": "string"}}}},
]  # fmt: skip


def test_validate_and_dry_runs_check_against_the_saved_tool_list(cli: Cli) -> None:
    cli.write("echo.yaml", TEXT_ONLY)
    cli.write("unknown.yaml", UNKNOWN)
    before = cli("validate", "echo.yaml")
    assert before.code == 1
    assert "there is no tool named `km_test_text` in the catalog" in before.out

    save_tool_list(LISTED, upstream="uv run km-mcp", server="KM", now=SAVED_AT)
    server = f"the Keyboard Maestro server you connected to on {day('2026-05-03T12:00:00Z')}"
    assert cli("validate", "echo.yaml").code == 0
    unknown = cli("validate", "unknown.yaml")
    assert unknown.code == 1
    assert unknown.out.splitlines()[:4] == [
        f"unknown.yaml:6:11: error[unknown-tool]: there is no tool named `km_test_txt` in "
        f"{server} (uv run km-mcp)",
        "   6 |   - tool: km_test_txt",
        "     |           ^^^^^^^^^^^",
        "     = hint: did you mean 'km_test_text'?",
    ]
    dry = cli("run", "echo.yaml", "--dry-run")
    assert dry.code == 0
    assert dry.err.splitlines()[0] == (
        "Running echo on a dry run on the simulator (nothing is sent anywhere), with the "
        f"tools of {server} (uv run km-mcp)."
    )
    listed = cli("schema", "--tools")
    assert [t["name"] for t in json.loads(listed.out)] == ["km_test_text"]


def test_a_saved_list_that_cannot_be_used_is_a_warning(cli: Cli) -> None:
    cli.write("home/upstream-tools.json", "{not json")
    cli.write("set.yaml", SET)
    outcome = cli("validate", "set.yaml")
    assert outcome.code == 0
    assert outcome.err == (
        f"warning: the saved tool list {saved_tools_path()} cannot be used (it is not valid "
        "JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)); "
        "checking against the tools km-actions ships instead (`km-actions tools --refresh` "
        "lists them again from the server)\n"
    )
    dry = cli("run", "set.yaml", "--dry-run")
    assert (dry.code, dry.err.splitlines()[0]) == (0, outcome.err.rstrip("\n"))


# -- km-actions tools --------------------------------------------------------------------


def test_tools_lists_refreshes_and_forgets(cli: Cli) -> None:
    shipped = cli("tools")
    assert shipped.code == 0
    assert shipped.out.splitlines()[0] == (
        "The tools km-actions ships, the current Keyboard Maestro MCP server's (no server's "
        "tool list is saved: `km-actions tools --refresh` saves that of the server under "
        "[upstream]):"
    )
    assert cli("tools", "--json").json()["source"] == {"kind": "shipped"}
    config = cli.home / "config.toml"
    assert (cli("tools", "--refresh").code, cli("tools", "--refresh").err) == (
        2,
        "km-actions tools: no Keyboard Maestro server is configured: there is no tool list "
        f"to refresh\n     = hint: name it under [upstream] in {config} (see docs/mcp.md)\n",
    )

    upstream(cli)
    refreshed = cli("tools", "--refresh")
    assert refreshed.code == 0
    saved = json.loads(saved_tools_path().read_text("utf-8"))
    names, stamp = [t["name"] for t in saved["tools"]], saved["saved_at"]
    count, width = len(names), max(len(name) for name in names)
    assert refreshed.err == f"Saved the {count} tools of {SERVER}.\n"
    lines = refreshed.out.splitlines()
    assert lines[0] == (
        f"The tools of the Keyboard Maestro server you connected to on {day(stamp)} ({WHERE}), "
        f"saved in {saved_tools_path()}:"
    )
    assert [line for line in lines if "km_test_text" in line] == [
        f"  {'km_test_text':<{width}}  destructive  test tool km_test_text"
    ]
    assert lines[-1] == f"{count} tools."
    data = cli("tools", "--json").json()
    assert data["source"] == {
        "kind": "saved",
        "file": str(saved_tools_path()),
        "saved_at": stamp,
        "upstream": WHERE,
        "server": "km-actions-test-upstream",
    }
    assert "km_test_pid" in {t["name"] for t in data["tools"]}

    forgot = cli("tools", "--forget")
    assert (forgot.code, forgot.err) == (0, f"Forgot the saved tool list ({saved_tools_path()}).\n")
    assert not saved_tools_path().exists()
    assert cli("tools", "--forget").err == "No tool list was saved.\n"


def test_tools_refresh_fails_clearly(cli: Cli) -> None:
    config = upstream(cli, NOT_THERE)
    outcome = cli("tools", "--refresh")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err == (
        "km-actions tools: cannot start the Keyboard Maestro MCP server: no command "
        "'km-actions-no-such-command-anywhere' was found\n"
        "     = hint: check the upstream command; give its full path if it is not on PATH; the "
        f"server is set under [upstream] in {config}\n"
    )
    cli.write("home/config.toml", "[upstream]\ncommand = 3\n")
    assert cli("tools", "--refresh").code == 2
    saved_tools_path().mkdir(parents=True)
    (saved_tools_path() / "in-the-way").write_text("")
    stuck = cli("tools", "--forget")
    assert (stuck.code, stuck.out) == (1, "")
    assert stuck.err.startswith(f"km-actions tools: cannot delete {saved_tools_path()}: ")
    shutil.rmtree(saved_tools_path())
    cli.write("home/upstream-tools.json", "[]")
    broken = cli("tools")
    assert (broken.code, broken.err) == (
        1,
        f"km-actions tools: the saved tool list {saved_tools_path()} cannot be used (it is not "
        "a JSON object)\n     = hint: `km-actions tools --refresh` saves it again, "
        "`km-actions tools --forget` deletes it\n",
    )


def test_a_tool_list_that_cannot_be_saved_is_a_warning_and_refresh_fails(cli: Cli) -> None:
    upstream(cli)
    saved_tools_path().mkdir(parents=True)  # a folder where the file should be
    outcome = cli("tools", "--refresh")
    label = f"Keyboard Maestro MCP server at {WHERE}"
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.startswith(
        f"warning: the tool list of the {label} could not be saved for offline checks: "
    )
    cli.write("set.yaml", SET)
    ran = cli("run", "set.yaml")
    assert ran.code == 0
    assert ran.err.startswith(f"warning: the tool list of the {label} could not be saved")


# -- over HTTP ---------------------------------------------------------------------------


@pytest.fixture
def simulator_over_http(tmp_path: Path) -> Iterator[str]:
    """``python -m engine.simulator --http 0``: its URL; stopped afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.simulator", "--http", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        url = None
        for line in process.stderr:
            found = re.search(r"(http://127\.0\.0\.1:\d+/mcp)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, "the simulator did not announce its URL"
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_run_over_http(cli: Cli, simulator_over_http: str) -> None:
    upstream(cli, url=simulator_over_http)
    cli.write("set.yaml", SET)
    outcome = cli("run", "set.yaml", "--json")
    data = outcome.json()
    assert (outcome.code, data["backend"], data["simulated"]) == (
        0,
        f"km-actions simulator over MCP at {simulator_over_http}",
        True,
    )
    assert data["ran_on"]["description"] == (
        f"the km-actions simulator over MCP at {simulator_over_http}"
    )
