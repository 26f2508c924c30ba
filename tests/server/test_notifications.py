"""tools/list_changed reaches clients of both protocol generations.

Two ``km-actions serve`` processes share one data folder (no configuration file: the
defaults, the built-in simulator): one has a legacy client (the initialize handshake,
which hears notifications/tools/list_changed), the other a 2026-07-28 client listening
with ``client.listen(tools_list_changed=True)`` (which hears ToolsListChanged events).
Each hears of its own installs, creates and uninstalls at once, and of what the other
server or the CLI changed in the store by polling it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    Served,
    action_yaml,
    install_paths,
    km_actions,
    serve,
    write_config,
    write_plugin,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Served, Served]]:
    """(legacy, modern): two servers on one data folder, each with its client."""
    home = tmp_path_factory.mktemp("notifications-home")
    write_config(home / "config.toml", {"security": {"install_paths": install_paths(home.parent)}})
    async with serve(home, mode="legacy") as legacy, serve(home) as modern:
        assert legacy.client.protocol_version < "2026-07-28"
        assert modern.client.protocol_version == "2026-07-28"
        yield legacy, modern


def plugin_folder(base: Path, identifier: str) -> Path:
    """A one-action plugin whose action is offered as the tool ``<identifier>__ping``."""
    return write_plugin(
        base / identifier,
        identifier,
        {
            "ping": action_yaml(
                "ping",
                "steps:\n  - set: {pong: true}\noutputs:\n  pong: '{{ vars.pong }}'\n",
                description="Answer pong.",
            )
        },
    )


def has(name: str) -> Callable[[set[str]], bool]:
    return lambda names: name in names


def lacks(name: str) -> Callable[[set[str]], bool]:
    return lambda names: name not in names


async def install_create_uninstall(tmp_path: Path, actor: Served, other: Served, tag: str) -> None:
    """Install, create and uninstall through ``actor``: its client hears each change at
    once, and ``other`` (another process on the same store) ends up listing the same."""
    other_mark = other.changes.count
    steps: list[tuple[str, dict[str, Any], Callable[[set[str]], bool]]] = [
        (
            "install",
            {"plugin_source": str(plugin_folder(tmp_path, f"heard-{tag}"))},
            has(f"heard-{tag}__ping"),
        ),
        (
            "create",
            {
                "plugin_source": action_yaml(
                    "made", "steps:\n  - set: {x: 1}\n", description="Made over MCP."
                ),
                "plugin_identifier": f"made-{tag}",
                "validation_level": "standard",
            },
            has(f"made-{tag}__made"),
        ),
        ("uninstall", {"plugin_identifier": f"heard-{tag}"}, lacks(f"heard-{tag}__ping")),
    ]
    for operation, arguments, wanted in steps:
        mark = actor.changes.count
        envelope = await actor.ecosystem(operation, **arguments)
        assert envelope["success"] is True, envelope
        await actor.tools_after_change(mark, wanted)
    final = set(await actor.tools())
    await other.tools_after_change(other_mark, lambda names: names == final)


async def test_a_legacy_client_hears_of_installs_creates_and_uninstalls(
    servers: tuple[Served, Served], tmp_path: Path
) -> None:
    legacy, modern = servers
    await install_create_uninstall(tmp_path, legacy, modern, "legacy")


async def test_a_listening_2026_client_hears_of_installs_creates_and_uninstalls(
    servers: tuple[Served, Served], tmp_path: Path
) -> None:
    legacy, modern = servers
    await install_create_uninstall(tmp_path, modern, legacy, "modern")


async def test_both_hear_of_a_plugin_the_cli_installs_from_another_process(
    servers: tuple[Served, Served], tmp_path: Path
) -> None:
    marks = [served.changes.count for served in servers]
    installed = km_actions(
        "install", str(plugin_folder(tmp_path, "from-cli")), "--yes", home=servers[0].home
    )
    assert installed.returncode == 0, installed.stderr
    for served, mark in zip(servers, marks, strict=True):
        await served.tools_after_change(mark, has("from-cli__ping"))
        answer = await served.call("from-cli__ping", {})
        assert answer["data"]["outputs"] == {"pong": True}

    marks = [served.changes.count for served in servers]
    removed = km_actions("uninstall", "from-cli", home=servers[0].home)
    assert removed.returncode == 0, removed.stderr
    for served, mark in zip(servers, marks, strict=True):
        await served.tools_after_change(mark, lacks("from-cli__ping"))
