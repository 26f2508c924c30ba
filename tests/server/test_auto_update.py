"""Automatic updates (issue 11.6): `km-actions serve` updates the plugins whose
`auto_update` is on from the marketplaces, at start and then periodically, by itself:
ranges honoured, settings kept, events sent, nothing new granted, the origin rule kept,
failures as warnings (stderr, and `stats`).

The marketplace is a real HTTP server on loopback; the last test drives a real
`km-actions serve` that updates a plugin while a client watches its tools."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.plugins.lifecycle import configure
from engine.plugins.marketplaces import Marketplaces
from engine.plugins.store import Store
from engine.plugins.updates import install_request
from engine.server import _start_updates
from engine.server.store_host import StoreHost
from engine.server.updating import AutoUpdates, check
from engine.simulator import Simulator
from engine.tools.config import Settings
from tests.plugins.test_marketplace_ops import (
    FAST,
    SETTINGS_V1,
    Market,
    Publisher,
    versions,
)
from tests.server.conftest import km_actions, serve, write_config
from tests.server.test_ownership import call

UPGRADED_HOOK = "  - on: upgraded\n    action: hello\n"


@pytest.fixture
def market() -> Iterator[Market]:
    running = Market()
    running.thread.start()
    try:
        yield running
    finally:
        running.server.shutdown()
        running.server.server_close()
        running.thread.join()


@pytest.fixture
def publisher(market: Market, tmp_path: Path) -> Publisher:
    """`lib` 1.0.0, 1.5.0 and 2.0.0; `app` 1.0.0 (needs lib ^1)."""
    pub = Publisher(market, tmp_path / "work")
    for version in ("1.0.0", "1.5.0", "2.0.0"):
        pub.publish("lib", version)
    pub.publish("app", "1.0.0", depends={"lib": ">=1.0,<2"})
    return pub


@pytest.fixture
def host(tmp_path: Path, publisher: Publisher) -> Iterator[StoreHost]:
    """A host on the simulator, its store's marketplace the publisher's."""
    store = Store.open(tmp_path / "home")
    Marketplaces(store.root).add(publisher.market.url("/index.json"), timeout=2)
    opened = StoreHost(store, Simulator(), Settings())
    opened.auto_updates = AutoUpdates(True, 3600.0)
    yield opened
    opened.close()
    store.close()


def _check(host: StoreHost) -> Any:
    assert host.auto_updates is not None
    return asyncio.run(check(host, host.auto_updates))


def test_plugins_with_auto_update_on_are_updated_as_far_as_the_ranges_allow(
    host: StoreHost, publisher: Publisher
) -> None:
    store = host.store
    publisher.publish("greeter", "1.0.0", settings=SETTINGS_V1)
    install_request(store, publisher.index(), "lib@1.0.0", auto_update=True, options=FAST)
    install_request(store, publisher.index(), "app@1.0.0", options=FAST)  # auto_update off
    install_request(store, publisher.index(), "greeter", auto_update=True, options=FAST)
    configure(store, "greeter", {"greeting": "Hi"})
    publisher.publish("greeter", "1.1.0", settings=SETTINGS_V1, hooks=UPGRADED_HOOK)
    publisher.publish("app", "1.1.0", depends={"lib": ">=1.0,<2"})
    asyncio.run(host.reload())
    report = _check(host)
    # lib goes no higher than app's ^1.0 allows; app is not updated (auto_update off).
    assert versions(store) == {"app": "1.0.0", "greeter": "1.1.0", "lib": "1.5.0"}
    assert store.settings("greeter") == {"greeting": "Hi"}
    assert [(r.identifier, r.plugin.version) for r in report.updated] == [
        ("greeter", "1.1.0"),
        ("lib", "1.5.0"),
    ]
    # The new version's hook heard both `upgraded` events, and its action is served.
    assert [(h["plugin"], h["action"]) for h in host.loaded.served.history()] == [
        ("greeter", "hello"),
        ("greeter", "hello"),
    ]
    assert "greeter/hello" in host.loaded.served.names()
    stats = asyncio.run(call(host, "stats"))["data"]["auto_update"]
    assert (stats["enabled"], stats["interval"], stats["failed"]) == (True, 3600.0, [])
    assert [(u["identifier"], u["from"], u["to"]) for u in stats["updated"]] == [
        ("greeter", "1.0.0", "1.1.0"),
        ("lib", "1.0.0", "1.5.0"),
    ]
    assert _check(host).updated == []  # up to date now


def test_an_update_asking_for_more_permissions_waits_for_the_user(
    host: StoreHost, publisher: Publisher, caplog: pytest.LogCaptureFixture
) -> None:
    publisher.publish("asker", "1.0.0")
    install_request(host.store, publisher.index(), "asker", auto_update=True, options=FAST)
    publisher.publish("asker", "1.1.0", permissions=("km_notifications",))
    caplog.set_level(logging.WARNING, logger="km_actions.server")
    report = _check(host)
    assert versions(host.store)["asker"] == "1.0.0"
    [(identifier, error)] = report.failed
    message = (
        "'asker' 1.1.0 asks for km_notifications, which was not granted: an automatic update "
        "grants nothing new"
    )
    hint = (
        "update it from the command line (`km-actions update`), which shows what it asks "
        "for and lets you grant it"
    )
    assert (identifier, error.code, error.message, error.hint) == (
        "asker",
        "permission-not-granted",
        message,
        hint,
    )
    assert f"automatic update of asker failed: {message} ({hint})" in caplog.messages
    assert host.auto_updates is not None
    [failed] = host.auto_updates.to_dict()["failed"]
    assert (failed["identifier"], failed["error"]["code"]) == ("asker", "permission-not-granted")


def test_a_plugin_an_mcp_caller_installed_keeps_its_origin_and_profile(
    host: StoreHost, publisher: Publisher
) -> None:
    """It is updated (its auto_update is its own), as who installed it, under its own
    profile; what it would replace of the user's stays as it is."""
    publisher.publish("solo", "1.0.0")
    install_request(host.store, publisher.index(), "lib@1.0.0", options=FAST)  # the user's
    for source in ("solo@1.0.0", "app@1.0.0"):
        asyncio.run(
            call(host, "install", plugin_source=source, auto_update=True, security_profile="strict")
        )
    publisher.publish("solo", "1.1.0")
    publisher.publish("app", "2.0.0", depends={"lib": ">=2.0,<3"})
    report = _check(host)
    solo = host.store.require("solo")
    assert (solo.version, solo.origin, solo.profile) == ("1.1.0", "mcp-install", "strict")
    assert report.skipped == [
        ("lib", "auto_update is off"),
        (
            "app",
            "the plugin `lib` was installed by the user (marketplace); MCP callers may not "
            "update it",
        ),
    ]
    assert versions(host.store) == {"app": "1.0.0", "lib": "1.0.0", "solo": "1.1.0"}


def test_without_a_marketplace_there_is_nothing_to_check(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "home")
    host = StoreHost(store, Simulator(), Settings())
    try:
        assert asyncio.run(check(host, AutoUpdates(True, 60.0))) is None
    finally:
        host.close()
        store.close()


def test_automatic_updates_can_be_turned_off(host: StoreHost) -> None:
    async def started(settings: Settings) -> Any:
        task = _start_updates(host, settings)
        if task is not None:
            task.cancel()
        return task

    assert asyncio.run(started(Settings(automatic_updates=False))) is None
    assert host.auto_updates is not None and host.auto_updates.to_dict()["enabled"] is False
    assert asyncio.run(started(Settings(update_interval=5))) is not None
    assert host.auto_updates.interval == 5


@pytest.mark.anyio
async def test_a_running_server_updates_a_plugin_by_itself(
    publisher: Publisher, tmp_path: Path
) -> None:
    """The issue's check: `auto_update: true`, a newer version in a loopback marketplace,
    and a running `serve` updates it without anyone asking (its new action is offered)."""
    home = tmp_path / "serving"
    publisher.publish("tracker", "1.0.0")
    url = publisher.market.url("/index.json")
    assert km_actions("marketplace", "add", url, home=home).returncode == 0
    installed = km_actions("install", "tracker@1.0.0", "--auto-update", "--yes", home=home)
    assert installed.returncode == 0, installed.stderr
    config = write_config(home / "config.toml", {"updates": {"interval": 0.5}})
    async with serve(home, config=config) as served:
        assert {"tracker__hello"} <= set(await served.tools())
        mark = served.changes.count
        publisher.publish("tracker", "1.1.0", actions=("hello", "goodbye"))
        names = await served.tools_after_change(mark, lambda names: "tracker__goodbye" in names)
        assert "tracker__hello" in names
        described = await served.ecosystem("describe", plugin_identifier="tracker")
        assert (described["data"]["version"], described["data"]["status"]["status"]) == (
            "1.1.0",
            "active",
        )
        stats = (await served.ecosystem("stats"))["data"]["auto_update"]
        assert [(u["identifier"], u["from"], u["to"]) for u in stats["updated"]] == [
            ("tracker", "1.0.0", "1.1.0")
        ]
