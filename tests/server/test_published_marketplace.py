"""A marketplace written by ``index add`` (engine.plugins.publish) and served on 127.0.0.1
serves MCP callers too: the user adds it the way `km-actions marketplace add` does (its
place is then the one loopback place the download gate lets MCP downloads reach), and a
caller searches, installs and updates from it; the archive's URL installs as well."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.bridge.mock import MockBridge
from engine.catalog import ToolCatalog
from engine.config import Settings
from engine.plugins.archives import create_archive
from engine.plugins.marketplaces import Marketplaces
from engine.plugins.publish import add_archives
from engine.plugins.store import Store
from engine.server.store_host import StoreHost
from tests.cli.test_publish import Folder
from tests.server.test_ownership import call

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def host(tmp_path: Path) -> Iterator[StoreHost]:
    opened = StoreHost(
        Store.open(tmp_path / "home"), MockBridge({}, ToolCatalog.builtin()), Settings()
    )
    yield opened
    opened.close()
    opened.store.close()


def publish(site: Path, version: str, said: str) -> Path:
    """Pack ``greeter`` at ``version`` into ``site`` and add it to ``site/index.json``."""
    source = site.parent / f"src-{version}"
    (source / "actions").mkdir(parents=True)
    (source / "plugin.yaml").write_text(
        f'api_version: "1.0"\nidentifier: greeter\nname: Greeter\nversion: {version}\n'
        "author: Ann\nplugin_type: utility\ndescription: Greets.\n"
    )
    (source / "actions" / "greet.yaml").write_text(
        'api_version: "1.0"\nkind: action\nname: greet\ndescription: Greet.\n'
        f'steps:\n  - set: {{said: {said}}}\noutputs: {{said: "{{{{ vars.said }}}}"}}\n'
    )
    archive = site / f"greeter-{version}.zip"
    create_archive(source, archive, fmt="zip")
    assert [p.version for p in add_archives(site / "index.json", [archive]).added] == [version]
    return archive


async def test_an_mcp_caller_installs_and_updates_from_it(host: StoreHost, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    publish(site, "1.0.0", "hello")
    with Folder(site) as served:
        Marketplaces(host.store.root).add(served.url("index.json"))
        found = await call(host, "search", parameters={"query": "greeter"})
        assert found["success"] is True, found
        assert [p["id"] for p in found["data"]["plugins"]] == ["greeter"]
        installed = await call(host, "install", plugin_source="greeter")
        assert installed["success"] is True, installed
        assert installed["data"]["installed"] == ["greeter@1.0.0"]

        publish(site, "1.1.0", "hi")
        updated = await call(host, "update", plugin_identifier="greeter")
        assert updated["success"] is True, updated
        assert host.store.require("greeter").version == "1.1.0"

        url = served.url("greeter-1.0.0.zip")
        assert (await call(host, "uninstall", plugin_identifier="greeter"))["success"] is True
        by_url = await call(host, "install", plugin_source=url)
        assert by_url["success"] is True, by_url
    installed_by_url = host.store.require("greeter")
    assert (installed_by_url.source_kind, installed_by_url.source_ref) == ("url", url)
