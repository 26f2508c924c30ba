"""The km-actions MCP server (``km-actions serve``) and embedding in another server.

Importing this package imports the ``mcp`` SDK (about a second): the CLI imports it
only for ``serve``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import anyio

from engine.plugins.store import Store
from engine.server._stop import Stop
from engine.tools.backend import BackendKind, choose_backend
from engine.tools.bridge import ToolBridge
from engine.tools.config import Settings

logger = logging.getLogger("km_actions.server")
LOOPBACK = "127.0.0.1"
HTTP_PATH = "/mcp"


async def open_bridge(settings: Settings) -> ToolBridge:
    """The upstream Keyboard Maestro MCP server the configuration names (connected; its
    tool list saved for offline checks), or the simulator when there is none."""
    backend = choose_backend(settings)
    if backend.kind is BackendKind.UPSTREAM:
        bridge = backend.upstream_bridge()
        await bridge.start()
        return bridge
    from engine.simulator import Simulator

    return Simulator(state_path=backend.state)


async def run_server(
    settings: Settings,
    *,
    http_port: int | None = None,
    store_root: Path | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve MCP on stdio (or streamable HTTP on loopback) until the client goes away."""
    from engine.server.app import KmActionsServer
    from engine.server.store_host import StoreHost

    bridge = await open_bridge(settings)
    store = Store.open(store_root)
    host = StoreHost(store, bridge, settings)
    app = KmActionsServer(host)
    watcher = asyncio.create_task(host.watch_store())
    updater = _start_updates(host, settings)
    stop = Stop()
    try:
        with stop.signals(), stop.scope:
            _announce(
                f"serving km-actions over MCP; tools from {bridge.label}"
                + (
                    " (simulated: no Keyboard Maestro server is configured)"
                    if bridge.simulated
                    else ""
                )
            )
            if http_port is None:
                await _serve_stdio(app)
            else:
                await _serve_http(app, http_port, on_ready, stop)
    finally:
        watcher.cancel()
        if updater is not None:
            updater.cancel()
        host.close()
        store.close()
        close = getattr(bridge, "close", None)
        if close is not None:
            await close()
        save = getattr(bridge, "save", None)
        if save is not None and getattr(bridge, "state_path", None) is not None:
            save()


def _start_updates(host: Any, settings: Settings) -> asyncio.Task[None] | None:
    """The automatic updates, in the background (see :mod:`engine.server.updating`)."""
    from engine.server.updating import AutoUpdates, keep_updated

    host.auto_updates = AutoUpdates(settings.automatic_updates, settings.update_interval)
    if not settings.automatic_updates:
        return None
    return asyncio.create_task(keep_updated(host, host.auto_updates))


async def _serve_stdio(app: Any) -> None:
    from mcp.server.stdio import stdio_server

    from engine.server._stdio import Answered, StdinLines, StdoutWire

    stdin = StdinLines()
    stdout = await StdoutWire.open()
    try:
        async with stdio_server(stdin=cast(Any, stdin), stdout=cast(Any, stdout)) as streams:
            read, write = streams
            reading = Answered(read, stdin, write)
            await app.server.run(cast(Any, reading), write, app.initialization_options())
    finally:
        if stdout is not None:
            stdout.close()
        stdin.close()


async def _serve_http(
    app: Any, port: int, on_ready: Callable[[str], None] | None, stop: Stop
) -> None:
    import socket

    import uvicorn

    class Uvicorn(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the signals go to `stop`, which shuts uvicorn down gracefully

        def shut_down(self) -> None:
            self.force_exit = self.should_exit  # a second signal: do not wait any more
            self.should_exit = True

    starlette = app.server.streamable_http_app(streamable_http_path=HTTP_PATH, host=LOOPBACK)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, port))
    listener.listen(128)
    url = f"http://{LOOPBACK}:{listener.getsockname()[1]}{HTTP_PATH}"
    _announce(f"listening at {url} (loopback only)")
    if on_ready is not None:
        on_ready(url)
    config = uvicorn.Config(starlette, log_level="warning", lifespan="on", access_log=False)
    server = Uvicorn(config)
    stop.graceful = server.shut_down
    try:
        await server.serve(sockets=[listener])
    finally:
        listener.close()


def serve(settings: Settings, *, http_port: int | None = None) -> None:
    """Blocking entry point of ``km-actions serve``: returns when the client goes away, or
    after Ctrl-C or SIGTERM."""
    anyio.run(lambda: run_server(settings, http_port=http_port), backend="asyncio")


def _announce(text: str) -> None:
    print(f"km-actions serve: {text}", file=sys.stderr, flush=True)
