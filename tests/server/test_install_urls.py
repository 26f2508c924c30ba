"""MCP `install` from a URL goes only where the user allowed (issue 8, finding 4).

An MCP caller once made the engine send ``GET http://127.0.0.1:4490/action.html?macro=…``
(Keyboard Maestro's web server runs macros on such requests), followed loopback
redirects, and told open ports from closed ones by the errors. Loopback servers here
stand for the user's machine; each records the requests it got.
"""

from __future__ import annotations

import http.server
import io
import json
import socket
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.bridge.mock import MockBridge
from engine.catalog import ToolCatalog
from engine.config import Settings
from engine.plugins.marketplaces import FILE_NAME
from engine.plugins.store import Store
from engine.server.store_host import StoreHost
from tests.plugins.test_marketplace import Market
from tests.server.test_ownership import call

pytestmark = pytest.mark.anyio

MACRO = "/action.html?macro=5A1B-Delete-Everything"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def km_web() -> Iterator[Market]:
    """Keyboard Maestro's web server, as far as a request to it goes."""
    with Market() as running:
        yield running


@pytest.fixture
def marketplace() -> Iterator[Market]:
    """A marketplace on this machine that the user may add."""
    with Market() as running:
        yield running


def _host(home: Path, **settings: Any) -> StoreHost:
    return StoreHost(Store.open(home), MockBridge({}, ToolCatalog.builtin()), Settings(**settings))


@pytest.fixture
def host(tmp_path: Path) -> Iterator[StoreHost]:
    opened = _host(tmp_path / "home")
    yield opened
    opened.close()
    opened.store.close()


def add_marketplace(host: StoreHost, location: str) -> None:
    """What `km-actions marketplace add` records (written directly: the index need not
    be there for what these tests check)."""
    path = host.store.root / FILE_NAME
    path.write_text(json.dumps({"marketplaces": [{"location": location}]}), "utf-8")


def refused(url: str) -> dict[str, Any]:
    return {
        "code": "download-refused",
        "message": f"cannot download the plugin archive from {url}: it is not a place this "
        "server may download from for MCP callers, or it cannot be reached",
        "hint": "MCP callers may install over https from the marketplaces the user added "
        "(`km-actions marketplace add URL`) and from the hosts in security.allowed_hosts "
        "(`km-actions config set security.allowed_hosts '[\"plugins.example.org\"]'`), never "
        "from this machine or the local network",
    }


async def install(host: StoreHost, url: str) -> dict[str, Any]:
    envelope = await call(host, "install", plugin_source=url)
    assert envelope["success"] is False, envelope
    return {k: envelope["error"][k] for k in ("code", "message", "hint")}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_url_on_this_machine_is_never_requested(host: StoreHost, km_web: Market) -> None:
    url = km_web.url(MACRO)
    assert await install(host, url) == refused(url)
    assert km_web.requests == []


async def test_refused_and_unreachable_say_the_same(host: StoreHost, km_web: Market) -> None:
    """A port that is open and one that is closed cannot be told apart; nor can a
    refusal and a marketplace the user added that is down."""
    down = closed_port()
    add_marketplace(host, f"http://127.0.0.1:{down}/index.json")
    answers = {
        "open": await install(host, km_web.url("/x.zip")),
        "closed": await install(host, f"http://127.0.0.1:{closed_port()}/x.zip"),
        "allowed but down": await install(host, f"http://127.0.0.1:{down}/x.zip"),
        "unknown name": await install(host, "https://no-such-host.invalid/x.zip"),
    }
    shapes = {
        name: {**answer, "message": answer["message"].split(": it is")[1]}
        for name, answer in answers.items()
    }
    assert len({json.dumps(shape) for shape in shapes.values()}) == 1, shapes
    assert km_web.requests == []


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("localhost", id="localhost"),
        pytest.param("localhost.", id="trailing-dot"),
        pytest.param("127.1", id="short"),
        pytest.param("2130706433", id="decimal"),
        pytest.param("0177.0.0.1", id="octal"),
    ],
)
async def test_a_listed_host_that_is_this_machine_is_still_refused(
    tmp_path: Path, km_web: Market, name: str
) -> None:
    """The address a name resolves to is checked, not the text of the URL: listing a
    name in security.allowed_hosts never lets it reach this machine."""
    host = _host(tmp_path / "home", allowed_hosts=frozenset({name.rstrip(".")}))
    try:
        url = f"http://{name}:{km_web.server.server_address[1]}{MACRO}"
        assert await install(host, url) == refused(url)
    finally:
        host.close()
        host.store.close()
    assert km_web.requests == []


async def test_the_marketplace_the_user_added_is_reached_and_nothing_else(
    host: StoreHost, marketplace: Market, km_web: Market
) -> None:
    """Exactly the place the user added (scheme, host, port) is reached, even on this
    machine; a redirect from it to another place is refused, hop by hop."""
    add_marketplace(host, marketplace.url("/index.json"))
    marketplace.files["/index.json"] = json.dumps({"format_version": 1, "plugins": []}).encode()
    marketplace.files["/demo.zip"] = _plugin_zip()
    installed = await call(host, "install", plugin_source=marketplace.url("/demo.zip"))
    assert installed["success"] is True, installed

    def redirect(to: str) -> Any:
        def behave(handler: http.server.BaseHTTPRequestHandler) -> None:
            handler.send_response(302)
            handler.send_header("Location", to)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        return behave

    port = marketplace.server.server_address[1]
    for target in (km_web.url(MACRO), f"http://localhost:{port}/demo.zip"):
        marketplace.behaviours["/moved.zip"] = redirect(target)
        url = marketplace.url("/moved.zip")
        assert await install(host, url) == refused(url)
    assert km_web.requests == []
    assert [r for r in marketplace.requests if r != "/index.json"] == [
        "/demo.zip",
        "/moved.zip",
        "/moved.zip",
    ]


def _plugin_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "demo/plugin.yaml",
            'api_version: "1.1"\nkind: plugin\nidentifier: demo\nname: Demo\nversion: 1.0.0\n'
            "description: Demo.\nauthor: Ann\nplugin_type: utility\npermissions: []\n"
            "actions: [actions/*.yaml]\n",
        )
        archive.writestr(
            "demo/actions/hello.yaml",
            'api_version: "1.1"\nkind: action\nname: hello\ndescription: Hi.\n'
            'steps:\n  - set: {said: hi}\noutputs: {said: "{{ vars.said }}"}\n',
        )
    return buffer.getvalue()
