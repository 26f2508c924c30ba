"""Fixtures for the end-to-end tests of ``km-actions serve``: real processes, real MCP.

Every server under test is a ``km-actions serve`` child process, driven by a real
``mcp.Client`` over stdio (or streamable HTTP), with its data folder
(``KM_ACTIONS_HOME``) and configuration file in a temporary folder; its upstream, when
configured, is another real MCP server process (``km-actions simulator``). Starting one
costs a few seconds (``import mcp``, then the upstream), so each test module starts its
servers once, in module-scoped fixtures, and its tests share them: a test that changes
what is installed uses plugin and action names of its own.

- ``anyio_backend``: asyncio, for the whole module (async fixtures live as long as it).
- :func:`serve` starts a server and yields a :class:`Served`: its client, its process
  ids, and helpers that call tools and check the envelope of every answer.
- :class:`ProgressLog` keeps the progress notifications of a call.
- :class:`Changes` counts the tool-list changes a client hears: notifications/
  tools/list_changed on the legacy protocol, ToolsListChanged events on 2026-07-28.
- :func:`km_actions` runs the CLI in another process; :func:`write_config` and
  :func:`write_plugin` write a configuration file and a plugin folder;
  :func:`install_paths` is the ``security.install_paths`` of a server whose callers
  install the tests' plugin folders.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
import tomli_w
import yaml
from anyio.abc import TaskStatus
from mcp import Client, StdioServerParameters
from mcp.client.subscriptions import ToolsListChanged
from mcp.shared.dispatcher import ProgressFnT

ROOT = Path(__file__).resolve().parents[2]
CLIPBOARD_TOOLS = ROOT / "actions" / "clipboard-tools"
ECOSYSTEM = "km_plugin_ecosystem"
#: How long a test waits for something a server does on its own (a change noticed by
#: polling, a process exiting) before it fails: a bound, not a measurement.
PATIENCE = 30.0


def _km_actions_command() -> list[str]:
    script = Path(sys.executable).with_name("km-actions")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())"]


#: The ``km-actions`` command of the environment running the tests.
KM_ACTIONS = _km_actions_command()


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Every async test and fixture of a module runs on one asyncio loop."""
    return "asyncio"


def child_env(**values: str) -> dict[str, str]:
    """The variables for a server started by an MCP stdio client (which passes on only a
    safe few of its own): ``values``, plus coverage's settings when the suite is measured,
    so the child process is measured too."""
    measured = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_CORE")
    return {**{k: os.environ[k] for k in measured if k in os.environ}, **values}


def write_config(path: Path, data: Mapping[str, Any]) -> Path:
    """Write a km-actions configuration file (TOML) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(dict(data)), "utf-8")
    return path


def install_paths(base: Path) -> list[str]:
    """``security.install_paths`` for a server under test: MCP callers install local
    sources only from the folders the user allows, here the shipped plugins' folder and
    ``base``, where the tests write their plugins (``tmp_path_factory.getbasetemp()``)."""
    return [str(CLIPBOARD_TOOLS.parent), str(base)]


def upstream_simulator() -> dict[str, Any]:
    """The ``[upstream]`` table naming ``km-actions simulator`` (stdio) as the upstream."""
    return {"command": [*KM_ACTIONS, "simulator"], "timeout": 30}


def write_plugin(folder: Path, identifier: str, actions: Mapping[str, str], **fields: Any) -> Path:
    """A plugin folder: ``plugin.yaml`` (with ``fields``) and ``actions/<name>.yaml``
    holding each YAML text of ``actions``."""
    (folder / "actions").mkdir(parents=True, exist_ok=True)
    manifest = {
        "api_version": "1.1",
        "kind": "plugin",
        "identifier": identifier,
        "name": identifier.replace("-", " ").capitalize(),
        "version": "1.0.0",
        "description": f"The {identifier} test plugin.",
        **fields,
    }
    (folder / "plugin.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), "utf-8")
    for name, text in actions.items():
        (folder / "actions" / f"{name}.yaml").write_text(text, "utf-8")
    return folder


def km_actions(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run ``km-actions ARGS`` in another process, on the data folder ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in ("KM_ACTIONS_CONFIG",)}
    env["KM_ACTIONS_HOME"] = str(home)
    return subprocess.run(
        [*KM_ACTIONS, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def children(pid: int) -> list[tuple[int, str]]:
    """The child processes of ``pid``: (pid, command line), with ``ps`` (Linux, macOS)."""
    listing = subprocess.run(
        ["ps", "-ww", "-A", "-o", "pid=,ppid=,command="], capture_output=True, text=True, check=True
    ).stdout
    found = []
    for line in listing.splitlines():
        child, parent, command = [*line.split(None, 2), ""][:3]
        if int(parent) == pid:
            found.append((int(child), command))
    return found


def envelope_of(result: types.CallToolResult) -> dict[str, Any]:
    """The envelope of a km-actions answer, after checking that the answer is consistent:
    structured content, the same JSON as text, ``is_error`` exactly when it failed."""
    envelope = result.structured_content
    assert envelope is not None, result
    assert [block.type for block in result.content] == ["text"]
    text = result.content[0]
    assert isinstance(text, types.TextContent)
    assert json.loads(text.text) == envelope
    assert result.is_error is (not envelope["success"])
    assert isinstance(envelope["warnings"], list)
    if envelope["success"]:
        assert "error" not in envelope
    else:
        error = envelope["error"]
        assert error["code"] and error["message"], error
    return dict(envelope)


class ProgressLog:
    """A progress callback that keeps what it hears: (progress, total, message)."""

    def __init__(self) -> None:
        self.heard: list[tuple[float, float | None, str | None]] = []
        self.started = anyio.Event()

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.heard.append((progress, total, message))
        self.started.set()


class Changes:
    """The tool-list changes one client has heard, counted."""

    def __init__(self) -> None:
        self.count = 0
        self._heard = anyio.Event()

    def record(self) -> None:
        self.count += 1
        self._heard.set()
        self._heard = anyio.Event()

    async def on_message(self, message: Any) -> None:
        """A legacy client's message handler: counts notifications/tools/list_changed."""
        if isinstance(message, types.ToolListChangedNotification):
            self.record()

    async def listen(
        self, client: Client, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """A 2026-07-28 client's subscriptions/listen stream: counts ToolsListChanged."""
        async with client.listen(tools_list_changed=True) as subscription:
            task_status.started()
            async for event in subscription:
                if isinstance(event, ToolsListChanged):
                    self.record()

    async def wait_past(self, mark: int) -> None:
        """Wait until a change beyond the first ``mark`` ones has been heard."""
        with anyio.fail_after(PATIENCE):
            while self.count <= mark:
                await self._heard.wait()


@dataclass
class Served:
    """A running ``km-actions serve`` and the client connected to it."""

    client: Client
    home: Path
    pid: int
    changes: Changes = field(default_factory=Changes)

    async def ecosystem(
        self, operation: str, *, progress: ProgressFnT | None = None, **arguments: Any
    ) -> dict[str, Any]:
        """Call ``km_plugin_ecosystem``; its (checked) envelope."""
        return await self.call(ECOSYSTEM, {"operation": operation, **arguments}, progress=progress)

    async def call(
        self, tool: str, arguments: Mapping[str, Any], *, progress: ProgressFnT | None = None
    ) -> dict[str, Any]:
        """Call any km-actions tool; its (checked) envelope."""
        result = await self.client.call_tool(
            tool, dict(arguments), read_timeout_seconds=120, progress_callback=progress
        )
        return envelope_of(result)

    async def tools(self) -> dict[str, types.Tool]:
        """The tools the server lists now, by name."""
        listing = await self.client.list_tools()
        return {tool.name: tool for tool in listing.tools}

    async def tools_after_change(self, mark: int, wanted: Callable[[set[str]], bool]) -> set[str]:
        """Wait for tool-list changes past ``mark`` until the listed names satisfy
        ``wanted``; those names."""
        while True:
            await self.changes.wait_past(mark)
            mark = self.changes.count
            names = set(await self.tools())
            if wanted(names):
                return names

    def upstream_pid(self) -> int:
        """The process id of the server's upstream (its ``km-actions simulator`` child)."""
        found = [pid for pid, command in children(self.pid) if "simulator" in command]
        assert len(found) == 1, children(self.pid)
        return found[0]


@asynccontextmanager
async def serve(
    home: Path, *, config: Path | None = None, mode: str = "auto"
) -> AsyncIterator[Served]:
    """Start ``km-actions serve`` on stdio with ``KM_ACTIONS_HOME=home`` (and
    ``--config config``), connect a client in ``mode`` ("auto": protocol 2026-07-28,
    listening for tool-list changes; "legacy": the initialize handshake), and stop both
    on exit."""
    args = ["serve", *(["--config", str(config)] if config is not None else [])]
    params = StdioServerParameters(
        command=KM_ACTIONS[0],
        args=[*KM_ACTIONS[1:], *args],
        env=child_env(KM_ACTIONS_HOME=str(home)),
    )
    changes = Changes()
    before = {pid for pid, _ in children(os.getpid())}
    handler = changes.on_message if mode == "legacy" else None
    async with Client(params, mode=mode, cache=None, message_handler=handler) as client:
        started = [
            pid
            for pid, command in children(os.getpid())
            if pid not in before and " serve" in command
        ]
        assert len(started) == 1, started
        served = Served(client, home, started[0], changes)
        async with anyio.create_task_group() as group:
            if mode != "legacy":
                await group.start(changes.listen, client)
            yield served
            group.cancel_scope.cancel()


def action_yaml(
    name: str, body: str, *, description: str | None = None, permissions: tuple[str, ...] = ()
) -> str:
    """The YAML text of an action: the header lines, then ``body`` (inputs, steps, …)."""
    head = ['api_version: "1.1"', "kind: action", f"name: {name}"]
    if description is not None:
        head.append(f"description: {description}")
    if permissions:
        head.append(f"permissions: [{', '.join(permissions)}]")
    return "\n".join(head) + "\n" + body.strip("\n") + "\n"


#: An action that waits ``seconds`` (after a first step, so a client hears progress
#: before the wait), then adds two numbers on the calculator.
SLOW_SUM = action_yaml(
    "slow-sum",
    """
inputs:
  seconds: {type: number, default: 0, description: How long to wait first}
steps:
  - set: {started: true}
  - if: inputs.seconds > 0
    wait: "{{ inputs.seconds }}"
  - id: sum
    tool: km_engine_control
    with: {operation: calculate, expression: "20+22"}
outputs:
  sum: "{{ steps.sum.result.data.result | int }}"
""",
    description="Wait, then add two numbers with Keyboard Maestro's calculator.",
    permissions=("km_engine_control:calculate",),
)
