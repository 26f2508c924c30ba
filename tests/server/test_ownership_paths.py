"""An MCP caller is never shown a path of this machine: where the user installed a plugin
from, where the store is, where the user's marketplaces and folders are (found in the
third attack: `describe` showed `folder` and `source.ref` as absolute paths, and a
tampered plugin's hint named the folder it came from). The command line still shows them.

The host runs in-process on a store where the user installed ``clipboard-tools`` from its
folder (see :mod:`tests.server.test_ownership`).
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.plugins.installer import install
from engine.plugins.inventory import describe
from engine.plugins.marketplaces import Marketplaces
from engine.plugins.store import Store
from engine.server.shown import HostPaths
from engine.server.store_host import StoreHost
from engine.tools.bridge.inprocess import InProcessBridge
from engine.tools.config import Settings, UpstreamConfig
from tests.server.test_ownership import CLIPBOARD_TOOLS, ROOT, _error, _host, call
from tests.server.test_published_marketplace import publish

pytestmark = pytest.mark.anyio

TAMPERED_HINT = (
    "installed files must not be edited: reinstall it with `km-actions install "
    "clipboard-tools`, or uninstall it (`km-actions uninstall clipboard-tools`); to change "
    "it, change its source and install it again"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def host(tmp_path: Path) -> Iterator[StoreHost]:
    """A host on a store where the user installed clipboard-tools; MCP callers may install
    from ``allowed/``, and the user added the marketplace ``site/index.json``."""
    with Store.open(tmp_path / "home") as store:
        install(store, CLIPBOARD_TOOLS)
    (tmp_path / "allowed").mkdir()
    (tmp_path / "site").mkdir()
    publish(tmp_path / "site", "1.0.0", "hello")
    opened = _host(tmp_path / "home", install_paths=(tmp_path / "allowed",))
    Marketplaces(opened.store.root).add(str(tmp_path / "site" / "index.json"))
    yield opened
    opened.close()
    opened.store.close()


def _no_host_path(answer: dict[str, Any], tmp_path: Path) -> None:
    text = json.dumps(answer)
    assert str(tmp_path) not in text
    assert str(ROOT) not in text
    assert "file://" not in text


async def test_describe_shows_the_source_by_name_and_the_folder_in_the_store(
    host: StoreHost, tmp_path: Path
) -> None:
    # Before: "ref": "/…/actions/clipboard-tools", "folder": "/…/home/plugins/…".
    envelope = await call(host, "describe", plugin_identifier="clipboard-tools")
    data = envelope["data"]
    assert data["source"] == {
        "origin": "file",
        "kind": "folder",
        "ref": "clipboard-tools",
        "detail": {},
    }
    installed = host.store.folder(host.store.require("clipboard-tools"))
    assert data["folder"] == f"plugins/clipboard-tools/{installed.name}"
    _no_host_path(envelope, tmp_path)
    # The command line (the user) still sees where it is.
    mine = describe(host.store, "clipboard-tools")
    assert (mine["folder"], mine["source"]["ref"]) == (str(installed), str(CLIPBOARD_TOOLS))


async def test_a_marketplace_on_this_machine_is_shown_by_name(
    host: StoreHost, tmp_path: Path
) -> None:
    found = await call(host, "search", parameters={"query": "greeter"})
    assert [p["index"] for p in found["data"]["plugins"]] == ["site/index.json"]
    installed = await call(host, "install", plugin_source="greeter")
    assert installed["success"] is True, installed
    envelope = await call(host, "describe", plugin_identifier="greeter")
    source = envelope["data"]["source"]
    assert (source["kind"], source["ref"]) == ("marketplace", "greeter-1.0.0.zip")
    assert source["detail"]["index"] == "site/index.json"
    for answer in (found, installed, envelope):
        _no_host_path(answer, tmp_path)


async def test_a_tampered_plugin_s_hint_names_its_source_by_name(
    host: StoreHost, tmp_path: Path
) -> None:
    # Before: "reinstall it with `km-actions install /…/actions/clipboard-tools`".
    plugin = host.store.require("clipboard-tools")
    manifest = host.store.folder(plugin) / "plugin.yaml"
    manifest.chmod(0o644)
    manifest.write_text(manifest.read_text("utf-8") + "# edited\n", "utf-8")
    await host.reload()
    listed = await call(host, "list")
    (problem,) = [p["problem"] for p in listed["data"]["plugins"]]
    assert problem["hint"] == TAMPERED_HINT
    described = await call(host, "describe", plugin_identifier="clipboard-tools")
    assert described["data"]["status"]["problem"]["hint"] == TAMPERED_HINT
    executed = await call(host, "execute", action_name="clipboard-tools/clean-clipboard")
    as_tool = await host.execute(
        "clipboard-tools/clean-clipboard", {}, timeout=None, profile=None, progress=None
    )
    for answer in (listed, described, executed, as_tool):
        _no_host_path(answer, tmp_path)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing", "cannot install 'allowed/missing': there is no such file or folder"),
        ("missing.zip", "cannot read the archive 'allowed/missing.zip': No such file or directory"),
    ],
)
async def test_an_install_error_names_the_file_without_its_folders(
    host: StoreHost, tmp_path: Path, name: str, message: str
) -> None:
    envelope = await call(host, "install", plugin_source=str(tmp_path / "allowed" / name))
    assert _error(envelope)["message"] == message
    _no_host_path(envelope, tmp_path)


async def test_the_upstream_server_is_named_without_its_folders(tmp_path: Path) -> None:
    # Before: every `execute` answered "backend": "Keyboard Maestro MCP server at
    # /opt/km-mcp/.venv/bin/python -m src.main_dynamic", the user's command as written.
    command = ("/opt/km-mcp/.venv/bin/python", "-m", "src.main_dynamic")
    settings = Settings(upstream=UpstreamConfig(command=command, cwd="/opt/km-mcp"))
    bridge = InProcessBridge(label=f"Keyboard Maestro MCP server at {shlex.join(command)}")
    host = StoreHost(Store.open(tmp_path / "home"), bridge, settings)
    try:
        created = await call(
            host,
            "create",
            plugin_source='api_version: "1.1"\nkind: action\nname: where\ndescription: Where.'
            '\nsteps:\n  - set: {at: /opt/km-mcp/notes}\noutputs: {at: "{{ vars.at }}"}\n',
            validation_level="standard",
        )
        assert created["success"] is True, created
        for answer in (
            await call(host, "execute", action_name="where"),
            await host.execute("mcp-created/where", {}, timeout=None, profile=None, progress=None),
        ):
            assert answer["backend"] == "Keyboard Maestro MCP server at python -m src.main_dynamic"
            # What the action gives back is its own: not changed.
            assert answer["data"]["outputs"] == {"at": "/opt/km-mcp/notes"}
    finally:
        host.close()
        host.store.close()


def test_paths_are_shortened_in_time_whatever_the_text() -> None:
    """A thousand known sources and a megabyte of paths: the cost follows the text (one
    alternation of every known path took seconds, and a long path minutes)."""
    sources = [f"/Users/ann/src/plugin-{i}/folder" for i in range(1000)]
    paths = HostPaths.of(Path("/Users/ann/Library/km"), sources, [Path("/srv/market")])
    assert paths.text("at /Users/ann/src/plugin-3/folder.") == "at folder."
    assert paths.text("file:///srv/market/x.zip, /srv/marketx/y") == "market/x.zip, /srv/marketx/y"
    for text in (" /a" * 300_000, "/a" * 500_000, " /Users/ann/src/plugin-3/folder/x" * 30_000):
        started = time.process_time()
        paths.text(text)
        assert time.process_time() - started < 3


async def test_a_name_too_long_in_an_allowed_folder_is_an_io_error(
    host: StoreHost, tmp_path: Path
) -> None:
    # Before: OSError [Errno 36] escaped `InstallSource.of`: "Internal server error".
    envelope = await call(host, "install", plugin_source=str(tmp_path / "allowed" / ("a" * 300)))
    shown = "a" * 24 + "…" + "a" * 16
    assert _error(envelope) == {
        "code": "io-error",
        "message": f"cannot read allowed/{shown}: the name '{shown}' is 300 bytes long, "
        "longer than a file or folder name can be (255 bytes)",
        "hint": "check the path: no file or folder name can be longer than 255 bytes",
    }
    _no_host_path(envelope, tmp_path)
