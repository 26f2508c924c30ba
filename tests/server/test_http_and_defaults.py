"""The server with no configuration file, over streamable HTTP, and how it starts and stops.

- With no configuration file, the built-in simulator answers (and every result says
  so), and MCP callers may grant read-only and writing tools only.
- ``km-actions serve --http 0 --config FILE`` serves streamable HTTP on a free loopback
  port to clients of both protocol generations; FILE switches per-action tools off,
  lets MCP callers add actions to plugins the user installed, and lowers a limit.
- SIGTERM stops the server cleanly, on stdio and on HTTP: exit status 0, and the built-in
  simulator's state saved.
- A server that cannot start (an invalid configuration file, an upstream that cannot be
  reached) says why and how to fix it, without a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from .conftest import (
    CLIPBOARD_TOOLS,
    ECOSYSTEM,
    KM_ACTIONS,
    PATIENCE,
    Served,
    action_yaml,
    envelope_of,
    install_paths,
    km_actions,
    serve,
    write_config,
    write_plugin,
)

pytestmark = pytest.mark.anyio

SECRET = "tok-kept-across-versions"

REMEMBER = action_yaml(
    "remember",
    """
inputs:
  value: {type: string, description: What to remember}
steps:
  - tool: km_variable_manager
    with: {operation: set, name: KmActionsRemembered, value: "{{ inputs.value }}", scope: global}
outputs:
  value: "{{ inputs.value }}"
""",
    description="Keep a value in a Keyboard Maestro variable.",
    permissions=("km_variable_manager",),
)

ADD = action_yaml(
    "add",
    """
inputs:
  a: {type: integer, description: A number}
  b: {type: integer, description: Another number}
steps:
  - id: sum
    tool: km_engine_control
    with: {operation: calculate, expression: "{{ inputs.a }}+{{ inputs.b }}"}
outputs:
  sum: "{{ steps.sum.result.data.result | int }}"
""",
    description="Add two numbers with Keyboard Maestro's calculator.",
    permissions=("km_engine_control:calculate",),
)


# -- no configuration file -----------------------------------------------------------


@pytest.fixture(scope="module")
async def defaults(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """A server with the default settings (no upstream, the default ceiling), but for
    the folders MCP callers may install from (every local install needs them)."""
    home = tmp_path_factory.mktemp("defaults-home")
    security = {"install_paths": install_paths(home.parent)}
    write_config(home / "config.toml", {"security": security})
    async with serve(home) as served:
        yield served


async def test_without_an_upstream_the_simulator_answers_and_says_so(defaults: Served) -> None:
    created = await defaults.ecosystem("create", plugin_source=ADD, validation_level="standard")
    assert created["success"] is True, created
    answer = await defaults.call("mcp-created__add", {"a": 2, "b": 3})
    assert answer["data"]["outputs"] == {"sum": 5}
    assert (answer["simulated"], answer["backend"]) == (True, "simulator")


KEEP = action_yaml(
    "keep",
    """
inputs:
  value: {type: string, description: What to keep}
steps:
  - tool: km_variable_manager
    with: {operation: set, name: KmActionsKept, value: "{{ inputs.value }}"}
  - id: read
    tool: km_variable_manager
    with: {operation: get, name: KmActionsKept}
outputs:
  kept: "{{ steps.read.result.data.value }}"
""",
    description="Keep a value in a Keyboard Maestro variable, and read it back.",
    permissions=("km_variable_manager:get", "km_variable_manager:set"),
)

FORGET = action_yaml(
    "forget",
    """
steps:
  - tool: km_variable_manager
    with: {operation: get, name: KmActionsKept}
  - tool: km_variable_manager
    with: {operation: delete, name: KmActionsKept}
""",
    description="Forget the kept value.",
    permissions=("km_variable_manager:get", "km_variable_manager:delete"),
)


async def test_at_the_default_ceiling_an_ai_may_read_and_set_a_variable_but_not_delete_it(
    defaults: Served,
) -> None:
    """Issue 9, item 5: the class belongs to the operation, so the default ceiling
    (read-only, write) lets an MCP caller create an action that reads and sets a
    variable, and refuses one that deletes it, pointing at the call."""
    created = await defaults.ecosystem("create", plugin_source=KEEP, validation_level="standard")
    assert created["success"] is True, created
    kept = await defaults.call("mcp-created__keep", {"value": "one"})
    assert kept["data"]["outputs"] == {"kept": "one"}

    refused = await defaults.ecosystem("create", plugin_source=FORGET, validation_level="standard")
    assert refused["success"] is False
    assert refused["error"]["code"] == "permission-not-allowed"
    assert [
        (d["code"], f"{d['file']}:{d['line']}:{d['column']}", d["message"], d["hint"])
        for d in refused["error"]["diagnostics"]
    ] == [
        (
            "permission-not-allowed",
            "manifest.yaml:5:40",
            "`km_variable_manager:delete` (destructive) is beyond what MCP callers may grant "
            "on this server (read-only, write): only the user can grant it",
            "leave out the calls that need it and remove it here, or ask the user to install "
            "the action with `km-actions install`",
        ),
        (
            "permission-not-allowed",
            "manifest.yaml:10:23",
            "only the user can grant destructive operations: `km_variable_manager:delete` is "
            "beyond what MCP callers may grant on this server (read-only, write)",
            "leave the call out, or ask the user to install the action with `km-actions install`",
        ),
    ]
    assert "mcp-created__forget" not in set(await defaults.tools())


async def test_the_default_ceiling_keeps_destructive_operations_from_mcp_installs(
    defaults: Served, tmp_path: Path
) -> None:
    """A plugin asking for a whole tool asks for its destructive operations too."""
    folder = write_plugin(
        tmp_path / "remember",
        "remember",
        {"remember": REMEMBER},
        permissions=["km_engine_control:calculate", "km_variable_manager"],
    )
    install = await defaults.ecosystem("install", plugin_source=str(folder))
    assert install["error"] == {
        **install["error"],
        "code": "permission-not-allowed",
        "message": "remember asks for km_variable_manager:delete (destructive), beyond what "
        "MCP callers may grant on this server (read-only, write): only the user can grant it",
    }
    assert "km_variable_manager:get" in install["error"]["hint"]
    assert "km-actions install" in install["error"]["hint"]
    assert "km-actions config set security.ceiling" in install["error"]["hint"]

    create = await defaults.ecosystem("create", plugin_source=REMEMBER, validation_level="standard")
    assert create["error"]["code"] == "permission-not-allowed"
    [problem] = create["error"]["diagnostics"]
    where = f"{problem['file']}:{problem['line']}:{problem['column']}"
    assert (where, problem["message"], problem["hint"]) == (
        "manifest.yaml:5:15",
        "`km_variable_manager` asks for km_variable_manager:delete (destructive), beyond what "
        "MCP callers may grant on this server (read-only, write): only the user can grant it",
        "ask only for what the action uses: km_variable_manager:set",
    )
    names = set(await defaults.tools())
    assert not {n for n in names if n.startswith("remember") or "remember" in n}


# -- HTTP ------------------------------------------------------------------------------


class HttpServer:
    """``km-actions serve --http 0`` in a child process, and the URL it listens at."""

    def __init__(self, home: Path, config: Path) -> None:
        self.home = home
        env = {**os.environ, "KM_ACTIONS_HOME": str(home)}
        self.process = subprocess.Popen(
            [*KM_ACTIONS, "serve", "--http", "0", "--config", str(config)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        self.said: list[str] = []
        for line in self.process.stderr:
            self.said.append(line)
            if "listening at " in line:
                self.url = line.split("listening at ")[1].split()[0]
                break
        else:
            raise AssertionError("".join(self.said))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` (unless it has stopped already); the exit status."""
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(sig)
        status = self.process.wait(timeout=PATIENCE)
        assert self.process.stderr is not None
        self.said.extend(self.process.stderr)
        self.process.stderr.close()
        return status


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    """The HTTP server; its configuration: ceiling all, per-action tools off, MCP callers
    may change user-installed plugins, at most 1 s of `wait` in the standard profile."""
    home = tmp_path_factory.mktemp("http-home")
    config = write_config(
        home.parent / "http.toml",
        {
            "security": {
                "ceiling": ["all"],
                "allow_mcp_overwrite": True,
                "install_paths": install_paths(home.parent),
            },
            "tools": {"per_action": False},
            "limits": {"standard": {"max_wait": 1}},
        },
    )
    server = HttpServer(home, config)
    yield server
    server.stop(signal.SIGKILL)


async def ecosystem(client: Client, operation: str, **arguments: Any) -> dict[str, Any]:
    return envelope_of(await client.call_tool(ECOSYSTEM, {"operation": operation, **arguments}))


@pytest.mark.parametrize(
    "mode", [pytest.param("legacy", id="legacy"), pytest.param("auto", id="2026-07-28")]
)
async def test_http_serves_clients_of_both_protocols(http: HttpServer, mode: str) -> None:
    assert http.url.startswith("http://127.0.0.1:")
    async with Client(http.url, mode=mode, cache=None) as client:
        assert client.server_info is not None and client.server_info.name == "km-actions"
        listing = await client.list_tools()
        assert [tool.name for tool in listing.tools] == [ECOSYSTEM]
        envelope = await ecosystem(client, "list")
        assert envelope["success"] is True


async def test_with_per_action_tools_off_actions_run_through_the_ecosystem(
    http: HttpServer,
) -> None:
    async with Client(http.url, cache=None) as client:
        created = await ecosystem(client, "create", plugin_source=ADD, validation_level="standard")
        assert created["success"] is True
        assert [t.name for t in (await client.list_tools()).tools] == [ECOSYSTEM]
        listed = await ecosystem(client, "list")
        assert listed["data"]["plugins"][0]["actions"] == [{"name": "add", "tool": None}]
        answer = await ecosystem(
            client, "execute", action_name="mcp-created/add", parameters={"a": 40, "b": 2}
        )
        assert answer["data"]["outputs"] == {"sum": 42}


async def test_the_configured_limit_applies(http: HttpServer) -> None:
    waits = action_yaml("waits", "steps:\n  - wait: 2\n", description="Wait two seconds.")
    async with Client(http.url, cache=None) as client:
        assert (
            await ecosystem(client, "create", plugin_source=waits, validation_level="standard")
        )["success"] is True
        answer = await ecosystem(client, "execute", action_name="mcp-created/waits")
    assert answer["error"] == {
        **answer["error"],
        "code": "limit-exceeded",
        "message": "the step waits 2 s (limit max_wait: 1 s)",
        "location": "mcp-created/actions/waits.yaml:6:5",
    }


async def test_when_allowed_create_adds_to_a_user_plugin_and_keeps_its_settings(
    http: HttpServer,
) -> None:
    async with Client(http.url, cache=None) as client:
        installed = await ecosystem(
            client,
            "install",
            plugin_source=str(CLIPBOARD_TOOLS),
            plugin_config={"share_token": SECRET, "signature": "-- A"},
        )
        assert installed["data"]["needs_configuration"] == {}
        created = await ecosystem(
            client,
            "create",
            plugin_source=ADD,
            plugin_identifier="clipboard-tools",
            validation_level="standard",
        )
        assert created["success"] is True, created
        assert (created["data"]["action"], created["data"]["version"]) == (
            "clipboard-tools/add",
            "1.0.1",
        )

        described = (await ecosystem(client, "describe", plugin_identifier="clipboard-tools"))[
            "data"
        ]
        assert [a["name"] for a in described["actions"]] == [
            "add",
            "clean-clipboard",
            "preview-clipboard",
            "share-clipboard",
            "sign-clipboard",
        ]
        settings = described["settings"]
        assert [s["name"] for s in settings["declared"]] == [
            "preview_length",
            "result_variable",
            "share_macro",
            "share_token",
            "signature",
        ]
        assert (
            settings["values"]["share_token"],
            settings["values"]["signature"],
            settings["missing"],
        ) == ("••••••", "-- A", [])
        assert described["permissions"]["requested"] == [
            "km_engine_control:calculate",
            "km_engine_control:process_tokens",
            "km_execute_macro",
            "km_notifications",
            "km_variable_manager:set",
        ]
        tested = await ecosystem(client, "test", plugin_identifier="clipboard-tools")
        assert (tested["data"]["passed"], tested["data"]["failed"]) == (7, 0)
        answer = await ecosystem(
            client, "execute", action_name="clipboard-tools/add", parameters={"a": 1, "b": 1}
        )
        assert answer["data"]["outputs"] == {"sum": 2}
        remembered = await ecosystem(
            client, "create", plugin_source=REMEMBER, validation_level="standard"
        )
        assert remembered["success"] is True
        answer = await ecosystem(
            client,
            "execute",
            action_name="mcp-created/remember",
            parameters={"value": "kept-in-the-state-file"},
        )
        assert answer["success"] is True
        assert SECRET not in json.dumps([installed, created, described, tested, answer])


def test_sigterm_stops_the_http_server_cleanly(http: HttpServer) -> None:
    assert http.stop(signal.SIGTERM) == 0, "".join(http.said)
    state = (http.home / "simulator-state.json").read_text("utf-8")
    assert "kept-in-the-state-file" in state


def test_sigterm_stops_a_stdio_server_cleanly_while_its_client_is_connected(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "KM_ACTIONS_HOME": str(tmp_path)}
    process = subprocess.Popen(
        [*KM_ACTIONS, "serve"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None and process.stdin is not None
    assert process.stderr.readline().startswith("km-actions serve: serving km-actions")
    process.send_signal(signal.SIGTERM)  # stdin stays open: the client is still there
    try:
        assert process.wait(timeout=PATIENCE) == 0
    finally:
        process.kill()
        process.communicate()
    assert (tmp_path / "simulator-state.json").exists()


# -- starting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "status", "said"),
    [
        pytest.param(
            {"security": {"ceiling": ["read_only"]}},
            2,
            "km-actions serve: {config}: security.ceiling: 'read_only' is neither a tool group "
            "nor a km_* tool\n     = hint: did you mean 'read-only'?\n",
            id="invalid-configuration",
        ),
        pytest.param(
            {"upstream": {"command": ["{home}/no-such-server"]}},
            1,
            "km-actions serve: cannot start the Keyboard Maestro MCP server: no command "
            "'{home}/no-such-server' was found\n     = hint: check the upstream command; give its "
            "full path if it is not on PATH\n",
            id="unreachable-upstream",
        ),
    ],
)
def test_a_server_that_cannot_start_says_why_and_how_to_fix_it(
    tmp_path: Path, config: dict[str, Any], status: int, said: str
) -> None:
    path = tmp_path / "config.toml"
    text = json.dumps(config).replace("{home}", str(tmp_path))
    write_config(path, json.loads(text))
    done = km_actions("serve", home=tmp_path)
    assert (done.returncode, done.stderr) == (status, said.format(config=path, home=tmp_path))
