"""UpstreamBridge: the ``km_*`` tools of a Keyboard Maestro MCP server, over stdio or HTTP.

Longer than 400 lines: the only module that imports ``mcp`` on the bridge side (below),
so the connection's task and the calls over it stay in it.

The only module that imports ``mcp`` on the bridge side (it costs about a second), so
``validate``, ``run`` and ``test`` never pay for it unless an upstream is configured.

One dedicated task owns each connection (``anyio`` requires a client to be entered and
exited in the same task); callers share it through its session, so any number of
calls run at once and none waits for another. A connection that drops fails the calls
in flight with ``tool-unavailable``; the next call reconnects.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import shlex
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio
import httpx2
import mcp.types as types
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from engine import __version__
from engine.diagnostics.errors import BridgeError, ConfigError, ErrorKind, StepError
from engine.diagnostics.suggestions import did_you_mean
from engine.tools.bridge.results import UPSTREAM_TOOL_ERROR, ToolResult, answer_from_result
from engine.tools.catalog import ToolCatalog
from engine.tools.config import shown_url

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_CONNECT_TIMEOUT",
    "SIMULATOR_SERVER_NAME",
    "UPSTREAM_TOOL_ERROR",
    "UpstreamBridge",
    "answer_from_mcp",
    "tool_result",
]

logger = logging.getLogger(__name__)

#: The ``serverInfo`` name of km-actions' own simulator served over MCP.
SIMULATOR_SERVER_NAME = "km-actions-simulator"
DEFAULT_CALL_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 20.0
CLOSE_TIMEOUT = 10.0

_STDERR_LINES = 20
_STDERR_LINE_CHARS = 500
_STDERR_DRAIN_SECONDS = 0.5
_LIST_PAGE_CAP = 100
_STOPPED = "the Keyboard Maestro MCP server stopped responding"


class UpstreamBridge:
    """The ``km_*`` tools of a Keyboard Maestro MCP server reached over MCP.

    Give either ``command`` (an argv list: the server is started as a child process
    and spoken to over stdio; it inherits only ``HOME``, ``LOGNAME``, ``PATH``,
    ``SHELL``, ``TERM`` and ``USER`` plus ``env``) or ``url`` (streamable HTTP).
    ``start()`` connects and lists the upstream's tools, which become :meth:`catalog`
    (and, as listed, :attr:`tool_list`; ``on_listed(bridge)`` is called after every
    connection's listing, e.g. to keep it); a call before ``start()`` (or after the
    connection dropped) connects lazily, within ``connect_timeout`` seconds. Each call
    may take ``call_timeout`` seconds.

    >>> import anyio, sys
    >>> async def demo() -> tuple[bool, int]:
    ...     command = [sys.executable, "-m", "engine.simulator"]
    ...     async with UpstreamBridge(command) as bridge:
    ...         answer = await bridge.call_tool(
    ...             "km_engine_control", {"operation": "calculate", "expression": "6 * 7"})
    ...         return bridge.simulated, answer["data"]["result"]
    >>> anyio.run(demo)
    (True, '42')
    """

    def __init__(
        self,
        command: Sequence[str] | None = None,
        *,
        url: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        on_listed: Callable[[UpstreamBridge], None] | None = None,
    ) -> None:
        self._command = _checked_command(command, url)
        self._url = _checked_url(url) if url is not None else None
        if self._url is not None and (env is not None or cwd is not None):
            raise ConfigError(
                "env and cwd apply to a command, not to a URL",
                hint="remove env/cwd, or give the command that starts the server instead of a URL",
            )
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._call_timeout = _checked_seconds("call_timeout", call_timeout)
        self._connect_timeout = _checked_seconds("connect_timeout", connect_timeout)
        self._where = shlex.join(self._command) if self._command else shown_url(str(self._url))
        self._link: _Link | None = None
        self._links: set[_Link] = set()
        self._connecting: asyncio.Task[_Link] | None = None
        self._catalog: ToolCatalog | None = None
        self._tool_list: list[dict[str, Any]] = []
        self._on_listed = on_listed
        self._server_name: str | None = None
        self._closed = False

    # -- what the bridge is ----------------------------------------------------------

    @property
    def label(self) -> str:
        """``"Keyboard Maestro MCP server at <command or URL>"`` (or the simulator's name)."""
        if self.simulated:
            return f"km-actions simulator over MCP at {self._where}"
        return f"Keyboard Maestro MCP server at {self._where}"

    @property
    def simulated(self) -> bool:
        """True when the upstream is km-actions' own simulator (its serverInfo says so)."""
        return self._server_name == SIMULATOR_SERVER_NAME

    @property
    def server_name(self) -> str | None:
        """The upstream's ``serverInfo`` name, once connected (None before, or if it gave none)."""
        return self._server_name

    @property
    def where(self) -> str:
        """The command (as a shell reads it) or the URL (without any password)."""
        return self._where

    @property
    def tool_list(self) -> list[dict[str, Any]]:
        """The ``tools/list`` entries (wire form) of the last connection; empty before."""
        return self._tool_list

    @property
    def connected(self) -> bool:
        """True while a connection is up (it may still drop before the next call)."""
        return self._link is not None and self._link.usable

    def catalog(self) -> ToolCatalog:
        """The tools the upstream listed when it last connected, with their schemas."""
        if self._catalog is None:
            raise BridgeError(
                f"the tools of the {self.label} are not known yet: it has not been connected",
                hint="await bridge.start() first, or use the bridge as an async context manager",
            )
        return self._catalog

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and list the upstream's tools; raises :class:`BridgeError` on failure."""
        self._closed = False
        try:
            await self._usable_link()
        except _ConnectFailed as failure:
            raise BridgeError(failure.message, hint=failure.hint) from failure.__cause__

    async def close(self) -> None:
        """Disconnect: calls in flight fail, the child process (if any) is stopped and reaped."""
        self._closed = True
        connecting, self._connecting = self._connecting, None
        if connecting is not None:
            connecting.cancel()
            await asyncio.gather(connecting, return_exceptions=True)
        self._link = None
        links = list(self._links)
        for link in links:
            link.stop()
        tasks = [link.task for link in links if link.task is not None]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
        for link in links:
            if link.task in pending:
                link.abort()
        if pending:
            await asyncio.wait(pending)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- calls -----------------------------------------------------------------------

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call ``name`` on the upstream; its answer (the ``km_*`` envelope) or a StepError."""
        details = {"tool": name, "upstream": self._where}
        try:
            link = await self._usable_link()
        except _ConnectFailed as failure:
            raise StepError(
                ErrorKind.TOOL_UNAVAILABLE,
                f"{name} cannot be called: {failure.message}",
                hint=failure.hint,
                details=details,
            ) from failure.__cause__
        if name not in link.catalog:
            raise StepError(
                ErrorKind.TOOL_UNAVAILABLE,
                f"the {self.label} has no tool '{name}'",
                hint=did_you_mean(name, link.catalog)
                or "the server lists no tools: check that it is the Keyboard Maestro MCP server",
                details=details,
            )
        try:
            result = await link.client.call_tool(
                name, arguments, read_timeout_seconds=self._call_timeout
            )
        except MCPError as problem:
            raise self._call_error(link, name, problem, details) from problem
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as problem:
            link.drop(f"{type(problem).__name__}: {problem}")
            raise self._unavailable(name, details, problem) from problem
        except (ValidationError, RuntimeError) as problem:
            if not link.usable:  # the connection ended under this call
                raise self._unavailable(name, details, problem) from problem
            raise StepError(
                ErrorKind.TOOL_FAILED,
                f"the {self.label} answered {name} with something that is not a valid "
                f"MCP tool result: {_first_line(problem)}",
                hint="the server broke the MCP protocol; check its version and its log",
                details=details,
            ) from problem
        return answer_from_mcp(result)

    def _call_error(
        self, link: _Link, name: str, problem: MCPError, details: dict[str, Any]
    ) -> StepError:
        if problem.code == types.REQUEST_TIMEOUT:
            return StepError(
                ErrorKind.TIMEOUT,
                f"{name} did not answer within {self._call_timeout:g} s "
                f"(the {self.label} is slow or stuck)",
                hint="check that Keyboard Maestro is running and responsive, or allow more "
                "time with `timeout` under [upstream] in the configuration file",
                details={**details, "timeout": self._call_timeout},
            )
        if problem.code == types.CONNECTION_CLOSED:
            link.drop(problem.error.message)
            return self._unavailable(name, details, problem)
        return StepError(
            ErrorKind.TOOL_FAILED,
            f"the {self.label} refused the call to {name}: {problem.error.message} "
            f"(MCP error {problem.code})",
            hint="check the arguments against the tool's inputSchema",
            details={**details, "mcp_error": problem.code},
        )

    def _unavailable(self, name: str, details: dict[str, Any], problem: BaseException) -> StepError:
        if self._closed:
            return StepError(
                ErrorKind.TOOL_UNAVAILABLE,
                f"{name} was cut short: the bridge to the {self.label} was closed",
                hint="close the bridge only after the runs that use it have finished",
                details=details,
            )
        return StepError(
            ErrorKind.TOOL_UNAVAILABLE,
            f"{_STOPPED} while {name} was running ({self._where}); "
            "the call may or may not have taken effect",
            hint="the next call reconnects; if this repeats, check the server's log "
            "and that Keyboard Maestro is running",
            details=details,
        )

    # -- connections -----------------------------------------------------------------

    async def _usable_link(self) -> _Link:
        link = self._link
        if link is not None and link.usable:
            return link
        if self._closed:
            raise _ConnectFailed(
                f"the bridge to the {self.label} is closed",
                "start it again with await bridge.start()",
            )
        attempt = self._connecting
        if attempt is None:
            attempt = self._connecting = asyncio.create_task(
                self._connect(), name=f"km-actions: connecting to {self._where}"
            )
            attempt.add_done_callback(_retrieve)
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if attempt.cancelled() and me is not None and not me.cancelling():
                # close() gave up on the attempt; this caller was not cancelled itself
                raise _ConnectFailed(
                    f"the bridge to the {self.label} was closed while it was connecting",
                    "close the bridge only after the runs that use it have finished",
                ) from None
            raise
        finally:
            if attempt.done() and self._connecting is attempt:
                self._connecting = None

    async def _connect(self) -> _Link:
        link = _Link()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._links.add(link)
        link.task = asyncio.create_task(self._own(link, ready), name=f"km-actions: {self._where}")
        link.task.add_done_callback(lambda _: self._links.discard(link))
        try:
            async with asyncio.timeout(self._connect_timeout):
                await asyncio.shield(ready)
        except TimeoutError:
            ready.cancel()
            link.abort()
            raise _ConnectFailed(
                f"the {self.label} did not finish connecting within "
                f"{self._connect_timeout:g} s{link.said()}",
                f"{self._connect_hint()}; a server that is only slow to start gets more time "
                "with `connect_timeout` under [upstream] in the configuration file",
            ) from None
        except BaseException:
            ready.cancel()
            link.abort()
            raise
        self._catalog = link.catalog
        self._tool_list = link.listing
        self._link = link
        if self._on_listed is not None:
            try:
                self._on_listed(self)
            except Exception as problem:  # what follows a listing never fails the connection
                logger.warning(
                    "after listing the tools of the %s: %s: %s",
                    self.label,
                    type(problem).__name__,
                    problem,
                )
        return link

    async def _own(self, link: _Link, ready: asyncio.Future[None]) -> None:
        """The connection's owner task: enters the client, waits, exits it (same task)."""
        try:
            with link.scope:
                async with AsyncExitStack() as stack:
                    transport = self._transport(link)
                    try:
                        client = await stack.enter_async_context(
                            Client(transport, cache=None, client_info=_client_info())
                        )
                    finally:
                        link.release_stderr_writer()
                    listing = await _list_tools(client)
                    info = client.server_info
                    self._server_name = info.name if info is not None else None
                    link.connected(
                        client, listing, ToolCatalog.from_tool_list(listing, origin=self.label)
                    )
                    if not ready.done():
                        ready.set_result(None)
                    await link.ended.wait()
        except Exception as problem:  # every failure to connect becomes one clear error
            if not ready.done():
                await link.stderr_drained()
                failure = self._connect_failure(problem, link)
                if not ready.done():
                    ready.set_exception(failure)
            else:
                logger.debug("the connection to the %s ended: %s", self.label, _root_cause(problem))
        finally:
            link.close()
            if not ready.done():
                ready.set_exception(
                    _ConnectFailed(f"the connection to the {self.label} was closed", None)
                )

    @asynccontextmanager
    async def _transport(self, link: _Link) -> AsyncIterator[tuple[_WatchedReadStream, Any]]:
        if self._command is not None:
            params = StdioServerParameters(
                command=self._command[0],
                args=list(self._command[1:]),
                env=self._env,
                cwd=self._cwd,
            )
            source = stdio_client(params, errlog=await link.capture_stderr(self._where))
        else:
            source = streamable_http_client(str(self._url))
        async with AsyncExitStack() as stack:
            with link.starting():
                read_stream, write_stream = await stack.enter_async_context(source)
            yield _WatchedReadStream(read_stream, link), write_stream

    def _connect_failure(self, problem: BaseException, link: _Link) -> _ConnectFailed:
        cause = _root_cause(problem)
        said = link.said()
        if isinstance(cause, FileNotFoundError) and self._command is not None:
            failure = _ConnectFailed(
                f"cannot start the Keyboard Maestro MCP server: no command "
                f"'{self._command[0]}' was found",
                "check the upstream command; give its full path if it is not on PATH",
            )
        elif isinstance(cause, PermissionError) and self._command is not None:
            failure = _ConnectFailed(
                f"cannot start the Keyboard Maestro MCP server: '{self._command[0]}' "
                "is not executable",
                "check the upstream command and the file's permissions",
            )
        elif isinstance(cause, MCPError) and cause.code == types.CONNECTION_CLOSED:
            failure = _ConnectFailed(
                f"the {self.label} closed the connection before it finished the MCP "
                f"handshake{said}",
                self._connect_hint(),
            )
        elif isinstance(cause, httpx2.TransportError | OSError):
            failure = _ConnectFailed(
                f"cannot reach the {self.label}: {_first_line(cause)}",
                "start the server, and check the URL, host and port",
            )
        else:
            failure = _ConnectFailed(
                f"cannot connect to the {self.label}: {type(cause).__name__}: "
                f"{_first_line(cause)}{said}",
                self._connect_hint(),
            )
        failure.__cause__ = cause
        return failure

    def _connect_hint(self) -> str:
        if self._command is not None:
            return (
                "run the command yourself to see why it does not answer; it must be an MCP "
                "server speaking stdio"
            )
        return "check that the URL is the server's streamable HTTP endpoint (often …/mcp)"


class _ConnectFailed(Exception):
    """Connecting failed; callers turn this into a BridgeError or a StepError."""

    def __init__(self, message: str, hint: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class _Link:
    """One connection: its client, its catalog, its owner task and how it ends."""

    def __init__(self) -> None:
        self.scope = anyio.CancelScope()
        self.ended = anyio.Event()
        self.task: asyncio.Task[None] | None = None
        self._client: Client | None = None
        self.listing: list[dict[str, Any]] = []
        self.catalog: ToolCatalog = ToolCatalog(())
        self._stderr: _StderrTail | None = None
        self._closed = False
        self._starting = False
        self._aborting = False

    @property
    def usable(self) -> bool:
        return self._client is not None and not self.ended.is_set()

    @property
    def client(self) -> Client:
        assert self._client is not None  # only usable links are handed to callers
        return self._client

    def connected(
        self, client: Client, listing: list[dict[str, Any]], catalog: ToolCatalog
    ) -> None:
        self._client = client
        self.listing = listing
        self.catalog = catalog

    def drop(self, reason: str) -> None:
        """The connection is gone: the owner task exits and the next call reconnects."""
        if self._client is not None and not self.ended.is_set() and not self._closed:
            logger.warning("%s (%s); the next call reconnects", _STOPPED, reason)
        self.ended.set()

    def stop(self) -> None:
        self._closed = True
        self.ended.set()

    def abort(self) -> None:
        """Cancel the owner's work now, or as soon as the child process has been started."""
        self._aborting = True
        if not self._starting:
            self.scope.cancel()

    @contextmanager
    def starting(self) -> Iterator[None]:
        """While the transport starts: cancelling mid-spawn would leave an unreaped child."""
        self._starting = True
        try:
            yield
        finally:
            self._starting = False
            if self._aborting:
                self.scope.cancel()

    async def capture_stderr(self, where: str) -> Any:
        self._stderr = _StderrTail(where)
        return await self._stderr.open()

    def release_stderr_writer(self) -> None:
        if self._stderr is not None:
            self._stderr.release_writer()

    async def stderr_drained(self) -> None:
        """Give a child that has exited a moment to have its last words read."""
        if self._stderr is not None:
            with anyio.move_on_after(_STDERR_DRAIN_SECONDS):
                await self._stderr.ended.wait()

    def said(self) -> str:
        """``"; it said on stderr: …"`` with the child's last lines, or ``""``."""
        tail = self._stderr.tail() if self._stderr is not None else ""
        return f"; it said on stderr: {tail}" if tail else ""

    def close(self) -> None:
        self._closed = True
        self.ended.set()
        if self._stderr is not None:
            self._stderr.close()


class _WatchedReadStream:
    """The transport's read stream; its end marks the connection as dropped."""

    def __init__(self, inner: Any, link: _Link) -> None:
        self._inner = inner
        self._link = link

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        try:
            item: SessionMessage | Exception = await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._link.drop("the connection was closed")
            raise
        return item

    def __aiter__(self) -> _WatchedReadStream:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _StderrTail(asyncio.Protocol):
    """The child's stderr: every line logged (INFO), the last few kept for error messages."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._lines: deque[str] = deque(maxlen=_STDERR_LINES)
        self._buffer = b""
        self._writer: Any = None
        self._transport: asyncio.BaseTransport | None = None
        self.ended = asyncio.Event()

    async def open(self) -> Any:
        """A pipe for the child's stderr; the parent reads it without blocking."""
        read_fd, write_fd = os.pipe()
        self._writer = os.fdopen(write_fd, "w")
        reader = os.fdopen(read_fd, "rb", buffering=0)
        try:
            loop = asyncio.get_running_loop()
            self._transport, _ = await loop.connect_read_pipe(lambda: self, reader)
        except BaseException:
            reader.close()
            self.release_writer()
            raise
        return self._writer

    def release_writer(self) -> None:
        """The child has its own copy now; without ours, its exit ends the pipe."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > _STDERR_LINE_CHARS * 4:
            lines.append(self._buffer)
            self._buffer = b""
        for raw in lines:
            line = raw.decode("utf-8", "replace").rstrip()[:_STDERR_LINE_CHARS]
            if line:
                self._lines.append(line)
                logger.info("%s: %s", self._where, line)

    def eof_received(self) -> bool:
        if self._buffer:
            self.data_received(b"\n")
        self.ended.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended.set()

    def tail(self, lines: int = 3) -> str:
        return " / ".join(list(self._lines)[-lines:])

    def close(self) -> None:
        self.release_writer()
        if self._transport is not None:
            self._transport.close()
            self._transport = None


async def _list_tools(client: Client) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(_LIST_PAGE_CAP):
        page = await client.list_tools(cursor=cursor)
        entries.extend(
            tool.model_dump(by_alias=True, mode="json", exclude_none=True) for tool in page.tools
        )
        cursor = page.next_cursor
        if cursor is None:
            break
    return entries


def tool_result(result: types.CallToolResult) -> ToolResult:
    """The SDK's ``CallToolResult`` as plain data (text blocks joined by line breaks)."""
    text = "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))
    others = tuple(
        block.model_dump(by_alias=True, mode="json", exclude_none=True)
        for block in result.content
        if not isinstance(block, types.TextContent)
    )
    return ToolResult(text, result.structured_content, bool(result.is_error), others)


def answer_from_mcp(result: types.CallToolResult) -> Any:
    """A tool's answer as the runtime expects it, from an MCP ``CallToolResult``.

    The one conversion every backend uses (:func:`engine.tools.bridge.results.answer_from_result`):
    ``structured_content`` when present, else the text parsed as JSON, else the text;
    ``isError`` becomes a failure envelope.

    >>> text = types.TextContent(type="text", text="no such macro")
    >>> answer_from_mcp(types.CallToolResult(content=[text], is_error=True))["error"]["code"]
    'UPSTREAM_TOOL_ERROR'
    >>> answer_from_mcp(types.CallToolResult(content=[text]))
    {'success': True, 'data': {'text': 'no such macro'}}
    """
    return answer_from_result(tool_result(result))


def _client_info() -> types.Implementation:
    return types.Implementation(name="km-actions", version=__version__)


def _root_cause(problem: BaseException) -> BaseException:
    while isinstance(problem, BaseExceptionGroup) and problem.exceptions:
        problem = problem.exceptions[0]
    return problem


def _first_line(problem: BaseException) -> str:
    text = str(problem).strip()
    return text.splitlines()[0] if text else type(problem).__name__


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a connect attempt's outcome as seen, even if every waiter gave up on it."""
    if not task.cancelled():
        task.exception()


def _checked_command(command: Sequence[str] | None, url: str | None) -> list[str] | None:
    if (command is None) == (url is None):
        raise ConfigError(
            "give the Keyboard Maestro MCP server as either a command or a URL (exactly one)",
            hint='e.g. UpstreamBridge(["keyboard-maestro-mcp"]) or '
            'UpstreamBridge(url="http://127.0.0.1:8000/mcp")',
        )
    if command is None:
        return None
    if isinstance(command, str) or not command or not all(isinstance(a, str) for a in command):
        raise ConfigError(
            f"the upstream command must be a non-empty list of strings, not {command!r}",
            hint='split it into its words, e.g. ["uv", "run", "keyboard-maestro-mcp"]',
        )
    return list(command)


def _checked_url(url: str) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"the upstream URL must start with http:// or https://, not {url!r}",
            hint="give the server's streamable HTTP endpoint, e.g. http://127.0.0.1:8000/mcp",
        )
    return url


def _checked_seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigError(
            f"{name} must be a positive number of seconds, not {value!r}",
            hint=f"e.g. {name}=30",
        )
    return float(value)
