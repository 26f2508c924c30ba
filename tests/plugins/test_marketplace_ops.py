"""Installing, updating and searching from marketplace indexes into a real store.

Plugins are packed with the engine's own archiver and served, with their index, by a
real HTTP server on loopback started for each test.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.diagnostics.errors import EngineError
from engine.load.ranges import RangeError
from engine.plugins.download import DownloadError, DownloadPolicy
from engine.plugins.hooked import StoreHooks
from engine.plugins.marketplace import MarketplaceError, MarketplaceIndex
from engine.plugins.marketplaces import Marketplaces
from engine.plugins.packing import create_archive
from engine.plugins.resolver import DependencyError
from engine.plugins.serving import ServedPlugins
from engine.plugins.store import Store
from engine.plugins.updates import (
    Options,
    install_request,
    parse_request,
    set_auto_update,
    update,
)
from engine.server.store_host import StoreHost
from engine.simulator import Simulator
from engine.tools.bridge.mock import MockBridge
from engine.tools.catalog import ToolCatalog
from engine.tools.config import Settings
from tests.server.test_ownership import call

FAST = Options(download=DownloadPolicy(timeout=2))


class Market:
    """Files served over HTTP on 127.0.0.1 (port chosen by the system)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        market = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                market.requests.append(self.path)
                body = market.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture
def market() -> Iterator[Market]:
    """A loopback HTTP server, stopped after the test."""
    running = Market()
    running.thread.start()
    try:
        yield running
    finally:
        running.server.shutdown()
        running.server.server_close()
        running.thread.join()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty store in a temporary folder."""
    with Store.open(tmp_path / "home") as opened:
        yield opened


SETTINGS_V1 = {
    "type": "object",
    "properties": {
        "greeting": {"type": "string", "default": "Hello"},
        "count": {"type": "integer", "default": 1},
    },
}
SETTINGS_V2 = {
    "type": "object",
    "properties": {
        "greeting": {"type": "string", "default": "Hello"},
        "count": {"type": "string", "enum": ["one", "two"]},
    },
}


class Publisher:
    """Writes plugins, packs them, and serves them with an index built as it goes."""

    def __init__(self, market: Market, work: Path) -> None:
        self.market = market
        self.work = work
        self.plugins: dict[str, list[dict[str, Any]]] = {}
        self.hooks: dict[tuple[str, str], str] = {}

    def publish(
        self,
        id: str,
        version: str,
        *,
        depends: dict[str, str] | None = None,
        settings: dict[str, Any] | None = None,
        hooks: str = "",
        tamper: bool = False,
        permissions: tuple[str, ...] = (),
        actions: tuple[str, ...] = ("hello",),
    ) -> None:
        folder = self.work / f"{id}-{version}"
        (folder / "actions").mkdir(parents=True)
        lines = [
            'api_version: "1.1"',
            f"identifier: {id}",
            f"name: {id.title()}",
            f"version: {version}",
            f"description: The {id} plugin.",
            "author: Ann",
            "plugin_type: utility",
            f"permissions: [{', '.join(permissions)}]",
            f"dependencies: {json.dumps(depends or {})}",
        ]
        if settings is not None:
            lines.append(f"configuration_schema: {json.dumps(settings)}")
        if hooks:
            lines.append("hooks:\n" + hooks)
        (folder / "plugin.yaml").write_text("\n".join(lines) + "\n")
        for action in actions:
            (folder / "actions" / f"{action}.yaml").write_text(
                f'api_version: "1.1"\nkind: action\nname: {action}\n'
                f"description: Says which {id} it is.\n"
                f'steps:\n  - set: {{said: "{id} {version}"}}\n'
                'outputs: {said: "{{ vars.said }}"}\n'
            )
        archive = self.work / f"{id}-{version}.zip"
        digest = create_archive(folder, archive, fmt="zip")
        body = archive.read_bytes()
        served = body[:-1] + bytes([body[-1] ^ 1]) if tamper else body  # same size
        self.market.files[f"/files/{id}-{version}.zip"] = served
        self.plugins.setdefault(id, []).append(
            {
                "version": version,
                "api_version": "1.1",
                "archive": f"files/{id}-{version}.zip",
                "sha256": digest,
                "size": len(body),
                "dependencies": depends or {},
            }
        )
        assert digest == hashlib.sha256(body).hexdigest()
        self.market.files["/index.json"] = json.dumps(
            {
                "format_version": 1,
                "name": "Test market",
                "plugins": [
                    {
                        "id": pid,
                        "name": pid.title(),
                        "description": f"The {pid} plugin.",
                        "plugin_type": "utility",
                        "author": "Ann",
                        "tags": ["test"],
                        "versions": versions,
                    }
                    for pid, versions in self.plugins.items()
                ],
            }
        ).encode()

    def index(self) -> MarketplaceIndex:
        return MarketplaceIndex.load(self.market.url("/index.json"), timeout=2)


@pytest.fixture
def publisher(market: Market, tmp_path: Path) -> Publisher:
    """A marketplace being filled: `lib` 1.0.0, 1.5.0 and 2.0.0, `app` 1.0.0 (needs lib
    ^1) and 2.0.0 (needs lib ^2)."""
    pub = Publisher(market, tmp_path / "work")
    for version in ("1.0.0", "1.5.0", "2.0.0"):
        pub.publish("lib", version)
    pub.publish("app", "1.0.0", depends={"lib": ">=1.0,<2"})
    pub.publish("app", "2.0.0", depends={"lib": ">=2.0,<3"})
    return pub


def versions(store: Store) -> dict[str, str]:
    return {p.identifier: p.version for p in store.plugins()}


def staging_is_empty(store: Store) -> bool:
    return not any(store.staging_dir.iterdir())


# -- install ---------------------------------------------------------------------------


def test_install_resolves_the_highest_fit_and_installs_dependencies_first(
    store: Store, publisher: Publisher
) -> None:
    result = install_request(store, publisher.index(), "app@>=1,<2", options=FAST)
    assert [(p.identifier, p.version) for p in result.installed] == [
        ("lib", "1.5.0"),
        ("app", "1.0.0"),
    ]
    app = store.require("app")
    assert (app.source_kind, app.origin) == ("marketplace", "marketplace")
    assert app.source_ref == publisher.market.url("/files/app-1.0.0.zip")
    assert app.source_detail["sha256"] == publisher.plugins["app"][0]["sha256"]
    assert store.require("lib").source_kind == "marketplace"
    assert staging_is_empty(store)


def test_install_without_a_range_takes_the_highest(store: Store, publisher: Publisher) -> None:
    install_request(store, publisher.index(), "app", options=FAST)
    assert versions(store) == {"app": "2.0.0", "lib": "2.0.0"}
    again = install_request(store, publisher.index(), "app", options=FAST)
    assert again.unchanged and again.plugin.version == "2.0.0"


def test_install_keeps_what_installed_plugins_need(store: Store, publisher: Publisher) -> None:
    install_request(store, publisher.index(), "app@1.0.0", options=FAST)
    with pytest.raises(DependencyError) as caught:
        install_request(store, publisher.index(), "lib@>=2,<3", options=FAST)
    assert caught.value.code == "dependency-conflict"
    assert caught.value.message == (
        "'lib' >=2,<3 cannot be installed: the installed 'app' 1.0.0 needs 'lib' >=1.0,<2"
    )
    assert versions(store) == {"app": "1.0.0", "lib": "1.5.0"}


@pytest.mark.parametrize(
    ("request_text", "code"),
    [
        pytest.param("ap", "not-in-index", id="unknown-id"),
        pytest.param("app@>=9,<10", "dependency-no-version", id="no-version"),
        pytest.param("app@^^1", "invalid-range", id="bad-range"),
        pytest.param("App", "invalid-value", id="not-an-id"),
    ],
)
def test_install_refusals_change_nothing(
    store: Store, publisher: Publisher, request_text: str, code: str
) -> None:
    with pytest.raises(EngineError) as caught:
        install_request(store, publisher.index(), request_text, options=FAST)
    assert caught.value.code == code
    assert versions(store) == {}


def test_a_tampered_archive_installs_nothing(store: Store, publisher: Publisher) -> None:
    publisher.publish("evil", "1.0.0", tamper=True)
    with pytest.raises(MarketplaceError) as caught:
        install_request(store, publisher.index(), "evil", options=FAST)
    assert caught.value.code == "integrity-mismatch"
    assert versions(store) == {} and staging_is_empty(store)
    assert not any(store.plugins_dir.iterdir())


def test_a_tampered_dependency_installs_nothing(store: Store, publisher: Publisher) -> None:
    publisher.publish("base", "1.0.0", tamper=True)
    publisher.publish("top", "1.0.0", depends={"base": "*"})
    with pytest.raises(MarketplaceError) as caught:
        install_request(store, publisher.index(), "top", options=FAST)
    assert caught.value.code == "integrity-mismatch"
    assert "base 1.0.0" in caught.value.message
    assert versions(store) == {} and staging_is_empty(store)


def test_a_missing_archive_installs_nothing(store: Store, publisher: Publisher) -> None:
    del publisher.market.files["/files/lib-2.0.0.zip"]
    with pytest.raises(DownloadError) as caught:
        install_request(store, publisher.index(), "lib", options=FAST)
    assert caught.value.message.endswith("answered 404 Not Found")
    assert versions(store) == {}


# -- update ----------------------------------------------------------------------------


def test_update_goes_as_high_as_every_dependent_allows(store: Store, publisher: Publisher) -> None:
    install_request(store, publisher.index(), "app@1.0.0", options=FAST)
    publisher.publish("lib", "1.6.0")
    report = update(store, publisher.index(), "lib", options=FAST)
    assert [(r.identifier, r.plugin.version) for r in report.updated] == [("lib", "1.6.0")]
    assert versions(store) == {"app": "1.0.0", "lib": "1.6.0"}
    again = update(store, publisher.index(), "lib", options=FAST)
    assert again.current == [("lib", "1.6.0")] and not again.updated


def test_updating_a_dependent_updates_its_dependencies(store: Store, publisher: Publisher) -> None:
    install_request(store, publisher.index(), "app@1.0.0", options=FAST)
    report = update(store, publisher.index(), "app", options=FAST)
    [result] = report.updated
    assert result.upgraded == {"lib": "1.5.0", "app": "1.0.0"}
    assert versions(store) == {"app": "2.0.0", "lib": "2.0.0"}


def test_update_without_an_id_honours_auto_update(store: Store, publisher: Publisher) -> None:
    index = publisher.index()
    install_request(store, index, "lib@1.0.0", auto_update=True, options=FAST)
    publisher.publish("solo", "1.0.0")
    install_request(store, publisher.index(), "solo", options=FAST)
    publisher.publish("solo", "1.1.0")
    report = update(store, publisher.index(), options=FAST)
    assert [r.identifier for r in report.updated] == ["lib"]
    assert report.skipped == [("solo", "auto_update is off")]
    assert versions(store) == {"lib": "2.0.0", "solo": "1.0.0"}
    everything = update(store, publisher.index(), everything=True, options=FAST)
    assert [r.identifier for r in everything.updated] == ["solo"]
    assert everything.current == [("lib", "2.0.0")]
    assert store.require("lib").auto_update and not store.require("solo").auto_update
    assert set_auto_update(store, "solo", True) and not set_auto_update(store, "solo", True)
    assert store.require("solo").auto_update


def test_update_keeps_settings_and_reports_those_dropped(
    store: Store, publisher: Publisher
) -> None:
    from engine.plugins.lifecycle import configure

    publisher.publish("greeter", "1.0.0", settings=SETTINGS_V1)
    install_request(store, publisher.index(), "greeter", options=FAST)
    configure(store, "greeter", {"greeting": "Hi", "count": 3})
    publisher.publish("greeter", "2.0.0", settings=SETTINGS_V2)
    report = update(store, publisher.index(), "greeter", options=FAST)
    [result] = report.updated
    assert [str(d) for d in result.dropped_settings["greeter"]] == [
        "count: 3 is not of type 'string'"
    ]
    assert store.settings("greeter") == {"greeting": "Hi"}
    assert report.to_dict()["updated"][0]["dropped_settings"] == {
        "greeter": ["count: 3 is not of type 'string'"]
    }


def test_a_failed_update_leaves_the_others_going(store: Store, publisher: Publisher) -> None:
    install_request(store, publisher.index(), "lib@1.0.0", auto_update=True, options=FAST)
    publisher.publish("solo", "1.0.0")
    install_request(store, publisher.index(), "solo", auto_update=True, options=FAST)
    publisher.publish("solo", "1.1.0", tamper=True)
    report = update(store, publisher.index(), options=FAST)
    assert [r.identifier for r in report.updated] == ["lib"]
    assert [(i, e.code) for i, e in report.failed] == [("solo", "integrity-mismatch")]
    assert not report.ok and versions(store)["solo"] == "1.0.0"


# -- configured marketplaces -----------------------------------------------------------


def test_marketplaces_are_checked_when_added_and_combined(
    store: Store, publisher: Publisher, tmp_path: Path
) -> None:
    configured = Marketplaces(store.root)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format_version": 1}')
    with pytest.raises(MarketplaceError) as caught:
        configured.add(str(bad))
    assert caught.value.code == "index-invalid" and configured.entries() == []
    configured.add(publisher.market.url("/index.json"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/index.json"
    loaded = configured.load([dead], timeout=1)
    assert sorted(loaded.index.plugins) == ["app", "lib"]
    assert [p.code for p in loaded.problems] == ["download-failed"]
    with pytest.raises(MarketplaceError) as unknown:
        configured.remove("https://nowhere.example/index.json")
    assert unknown.value.code == "marketplace-unknown"
    configured.remove(publisher.market.url("/index.json"))
    assert configured.entries() == []


def test_requests_are_ids_with_ranges() -> None:
    assert parse_request("lib").range == "*"
    assert str(parse_request("lib@>=1.0,<2").spec) == "<2,>=1.0"
    assert str(parse_request("lib@1.2.0").spec) == "==1.2.0"
    with pytest.raises(RangeError) as caught:
        parse_request("lib@^1.2")
    assert caught.value.hint == "write '>=1.2,<2'"


# -- hooks set off by marketplace installs ---------------------------------------------


def test_installed_hooks_run_after_the_install_and_are_recorded(
    store: Store, publisher: Publisher
) -> None:
    hooks = '  - on: installed\n    action: hello\n    if: event.plugin == "watcher"\n'
    publisher.publish("watcher", "1.0.0", hooks=hooks)
    listener = StoreHooks(store, bridge=Simulator())
    install_request(store, publisher.index(), "watcher", options=Options(events=listener))
    [outcome] = listener.outcomes
    assert outcome.error is None
    assert (outcome.action, outcome.ok, outcome.outputs) == (
        "watcher/hello",
        True,
        {"said": "watcher 1.0.0"},
    )
    runtime = ServedPlugins.load(store)
    try:
        assert [(h["plugin"], h["action"], h["status"]) for h in runtime.history()] == [
            ("watcher", "hello", "succeeded")
        ]
    finally:
        runtime.close()


# -- the command line --------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """KM_ACTIONS_HOME pointing at a temporary folder."""
    folder = tmp_path / "cli-home"
    monkeypatch.setenv("KM_ACTIONS_HOME", str(folder))
    return folder


def test_cli_search_install_update(
    home: Path, publisher: Publisher, capsys: pytest.CaptureFixture[str]
) -> None:
    url = publisher.market.url("/index.json")
    assert main(["marketplace", "add", url]) == 0
    assert capsys.readouterr().out == f"Added {url} (Test market): 2 plugins.\n"
    assert main(["search", "lib", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [(p["id"], p["latest"], p["installed"]) for p in found] == [("lib", "2.0.0", None)]
    assert main(["install", "app@>=1,<2", "--yes"]) == 0
    assert capsys.readouterr().out == (
        "Installed lib 1.5.0 (a dependency).\nInstalled app 1.0.0.\n"
    )
    assert main(["update", "app", "--yes", "--auto-update", "on", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(u["identifier"], u["from"], u["to"]) for u in report["updated"]] == [
        ("app", "1.0.0", "2.0.0")
    ]
    with Store.open(home) as opened:
        assert opened.require("app").auto_update
    assert main(["marketplace", "list"]) == 0
    assert capsys.readouterr().out == f"{url}\n"


def test_cli_install_from_an_invalid_index_installs_nothing(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "index.json"
    bad.write_text('{"format_version": 1, "plugins": [{"id": "x"}]}')
    assert main(["install", "x", "--index", str(bad), "--yes"]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:1:" in err and "error[missing-key]" in err
    with Store.open(home) as opened:
        assert opened.plugins() == []


def test_cli_usage_errors(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "plugin"
    folder.mkdir()
    assert main(["install", str(folder), "--index", "x.json"]) == 2
    assert "--index and --auto-update apply to plugin ids" in capsys.readouterr().err
    assert main(["update", "--auto-update", "on"]) == 2
    assert main(["search", "x"]) == 1
    assert "no marketplace is configured" in capsys.readouterr().err


def test_cli_human_output(
    home: Path, publisher: Publisher, capsys: pytest.CaptureFixture[str]
) -> None:
    url = publisher.market.url("/index.json")
    assert main(["search", "--index", url]) == 0
    assert capsys.readouterr().out == (
        "app 2.0.0  [utility]  App\n    The app plugin.\n    tags: test\n"
        "lib 2.0.0  [utility]  Lib\n    The lib plugin.\n    tags: test\n"
    )
    assert main(["search", "nothing-like-it", "--index", url]) == 0
    assert capsys.readouterr().out == "No plugin matches.\n"
    assert main(["install", "lib@1.0.0", "--index", url, "--yes", "--auto-update"]) == 0
    assert capsys.readouterr().out == "Installed lib 1.0.0.\n"
    assert main(["search", "lib", "--index", url]) == 0
    assert "lib 2.0.0  [utility]  Lib  (installed: 1.0.0)\n" in capsys.readouterr().out
    assert main(["update", "--index", url, "--yes"]) == 0
    assert capsys.readouterr().out == "Upgraded lib 1.0.0 → 2.0.0.\n"
    assert main(["update", "lib", "--index", url, "--auto-update", "off"]) == 0
    assert capsys.readouterr().out == "lib 2.0.0 is up to date.\nauto_update of lib is off.\n"
    assert main(["update", "--index", url]) == 0
    assert capsys.readouterr().out == (
        "Nothing to update (no plugin has auto_update on; use --all, or "
        "`km-actions update ID --auto-update on`).\n"
    )
    assert main(["marketplace", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["marketplace", "list"]) == 0
    assert "No marketplace is configured" in capsys.readouterr().out
    assert main(["marketplace", "remove", url]) == 1
    assert "error[marketplace-unknown]" in capsys.readouterr().err


def test_cli_reports_failed_updates_and_hooks(
    home: Path, publisher: Publisher, capsys: pytest.CaptureFixture[str]
) -> None:
    url = publisher.market.url("/index.json")
    hooks = (
        "  - on: configured\n    action: hello\n    if: event.data.nope.x > 1\n"
        "  - on: action_succeeded\n    action: hello\n    if: event.data.missing.deeper\n"
    )
    publisher.publish("noisy", "1.0.0", hooks=hooks, settings=SETTINGS_V1)
    assert main(["install", "noisy", "--index", url, "--yes", "--auto-update"]) == 0
    capsys.readouterr()
    assert main(["configure", "noisy", "greeting=Hey"]) == 0
    assert "warning: hook 1 of `noisy` (on configured → noisy/hello) failed: " in (
        capsys.readouterr().err
    )
    assert main(["run", "noisy/hello", "--fresh"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"said": "noisy 1.0.0"}
    assert "warning: hook 2 of `noisy` (on action_succeeded → noisy/hello) failed: " in (
        captured.err
    )
    publisher.publish("noisy", "1.1.0", tamper=True)
    assert main(["update", "--index", url, "--yes"]) == 1
    assert "noisy: not updated: the archive of noisy 1.1.0 does not match the index" in (
        capsys.readouterr().err
    )
    assert main(["uninstall", "noisy"]) == 0
    assert capsys.readouterr().out == "Removed noisy.\n"


def test_mcp_updates_leave_what_the_user_installed_alone(
    store: Store, publisher: Publisher
) -> None:
    """Issue 8: `update` over MCP skips the user's plugins (auto_update on or not), and an
    MCP install's `dependency_resolution: upgrade` does not upgrade the user's
    dependencies: only what MCP callers installed is theirs to change."""
    install_request(store, publisher.index(), "lib@1.0.0", auto_update=True, options=FAST)
    Marketplaces(store.root).add(publisher.market.url("/index.json"), timeout=2)
    host = StoreHost(store, MockBridge({}, ToolCatalog.builtin()), Settings())
    try:
        updated = asyncio.run(call(host, "update"))
        installed = asyncio.run(
            call(host, "install", plugin_source="app@1.0.0", dependency_resolution="upgrade")
        )
    finally:
        host.close()
    assert updated["data"]["skipped"] == [
        {
            "identifier": "lib",
            "reason": "the plugin `lib` was installed by the user (marketplace); MCP callers "
            "may not update it",
        }
    ]
    assert installed["data"]["dependencies_updated"]["skipped"] == [
        {"identifier": "lib", "reason": "the user installed it: MCP callers may not update it"}
    ]
    assert versions(store) == {"lib": "1.0.0", "app": "1.0.0"}
    assert store.require("app").origin == "mcp-install"
