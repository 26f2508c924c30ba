"""The km-actions MCP server: `km_plugin_ecosystem`, one tool per action, resources and a
prompt, with tools/list_changed announced to new (subscriptions) and older clients.

Built on the low-level ``mcp.server.Server`` because action tools carry raw JSON
Schemas. Every answer is structured (``structured_content``) in one envelope.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import mcp_types as types
from mcp import MCPError
from mcp.server import Server
from mcp.server.lowlevel import NotificationOptions
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged

from engine import __version__
from engine.errors import EngineError, ErrorKind, StepError
from engine.server import arguments, ecosystem, prompt, resources
from engine.server.host import ActionEntry, ClientProgress
from engine.server.store_host import StoreHost

logger = logging.getLogger("km_actions.server")

INSTRUCTIONS = (
    "km-actions runs custom actions for Keyboard Maestro. Each installed action is a tool; "
    "km_plugin_ecosystem installs, creates, configures, tests and runs them. To write a new "
    "action, read the prompt `write-action` or the resource km-actions://schemas/action, then "
    "call km_plugin_ecosystem with operation `create`."
)


#: Operations whose store work runs on the store's thread, where a timeout or a
#: cancellation cannot stop it: it completes, and the tool list is brought up to date.
STORE_OPERATIONS = frozenset(
    {"install", "uninstall", "create", "configure", "update", "enable", "disable"}
)


def _result(envelope: dict[str, Any]) -> types.CallToolResult:
    text = json.dumps(envelope, ensure_ascii=False, default=str)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=envelope,
        is_error=not envelope.get("success", False),
    )


class KmActionsServer:
    """One server instance: its host (store, engine, bridge) and its MCP handlers."""

    def __init__(self, host: StoreHost) -> None:
        self.host = host
        self.bus = InMemorySubscriptionBus()
        self._connections: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._tools_cache: tuple[int, list[types.Tool], dict[str, ActionEntry]] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.server: Server[Any] = Server(
            "km-actions",
            version=__version__,
            title="km-actions",
            description="Custom actions for Keyboard Maestro, as MCP tools.",
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_resource_templates,
            on_read_resource=self._read_resource,
            on_list_prompts=self._list_prompts,
            on_get_prompt=self._get_prompt,
            on_subscriptions_listen=ListenHandler(self.bus),
        )
        host.on_tools_changed(self.notify_tools_changed)

    def initialization_options(self) -> Any:
        return self.server.create_initialization_options(NotificationOptions(tools_changed=True))

    # -- tools -----------------------------------------------------------------------

    def _tools(self) -> tuple[list[types.Tool], dict[str, ActionEntry]]:
        generation = self.host.generation()
        cached = self._tools_cache
        if cached is not None and cached[0] == generation:
            return cached[1], cached[2]
        tools = [
            types.Tool(
                name=ecosystem.TOOL_NAME,
                description=ecosystem.description(self.host.ceiling()),
                input_schema=ecosystem.INPUT_SCHEMA,
                annotations=types.ToolAnnotations(title="km-actions plugins"),
            )
        ]
        by_name: dict[str, ActionEntry] = {}
        for entry in self.host.action_tools():
            by_name[entry.tool_name] = entry
            tools.append(
                types.Tool(
                    name=entry.tool_name,
                    title=entry.title,
                    description=entry.description,
                    input_schema=dict(entry.input_schema),
                    annotations=types.ToolAnnotations(
                        title=entry.title,
                        read_only_hint=entry.read_only,
                        destructive_hint=entry.destructive,
                    ),
                )
            )
        self._tools_cache = (generation, tools, by_name)
        return tools, by_name

    async def _list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        self._remember(ctx)
        return types.ListToolsResult(tools=self._tools()[0])

    async def _call_tool(
        self, ctx: Any, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        self._remember(ctx)
        given = dict(params.arguments or {})
        progress = _progress_reporter(ctx)
        if params.name == ecosystem.TOOL_NAME:
            return _result(await self.ecosystem(given, progress))
        entry = self._tools()[1].get(params.name)
        if entry is None:
            error = EngineError(
                f"no tool named {params.name}",
                code="not-found",
                hint="call tools/list; actions appear as <plugin>__<action>",
            )
            return _result(ecosystem.failure(None, error))
        envelope = await self.host.execute(
            entry.qualified, given, timeout=None, profile=None, progress=progress
        )
        return _result(envelope)

    async def ecosystem(
        self, call: dict[str, Any], progress: ClientProgress | None
    ) -> dict[str, Any]:
        """Run one `km_plugin_ecosystem` call and return its envelope."""
        try:
            operation, args = arguments.check_arguments(call)
        except EngineError as error:
            return ecosystem.failure(call.get("operation"), error)
        timeout = args.get("timeout")
        try:
            if timeout is None or operation in ("execute",):
                return await self.host.operation(operation, args, progress)
            async with asyncio.timeout(timeout):
                return await self.host.operation(operation, args, progress)
        except TimeoutError:
            if operation not in STORE_OPERATIONS:
                return ecosystem.failure(
                    operation,
                    StepError(
                        ErrorKind.TIMEOUT,
                        f"`{operation}` took longer than {timeout:g} s and was stopped",
                        hint="raise `timeout`, or try again",
                    ),
                )
            self._settle_later()
            return ecosystem.failure(
                operation,
                StepError(
                    ErrorKind.TIMEOUT,
                    f"`{operation}` took longer than {timeout:g} s; the answer stopped "
                    "waiting; a change it had begun in the store completes (never half-done), "
                    "one not yet begun is not made",
                    hint="call `list` to see the outcome (the tool list announces it), or raise "
                    "`timeout`",
                ),
            )
        except asyncio.CancelledError:
            if operation in STORE_OPERATIONS:
                self._settle_later()
            raise
        except EngineError as error:
            return ecosystem.failure(operation, error)

    def _settle_later(self) -> None:
        """After a timeout or a cancellation: once the store work in flight has finished,
        bring the tool list up to date (and announce it), in the background."""
        task = asyncio.create_task(self.host.settle())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- change notifications --------------------------------------------------------

    def _remember(self, ctx: Any) -> None:
        session = ctx.session
        connection = getattr(session, "_connection", session)
        try:
            self._connections[connection] = session
        except TypeError:
            return

    async def notify_tools_changed(self) -> None:
        """Tell every client the tool list changed: subscribers on the 2026-07-28 protocol
        through the bus, older clients with notifications/tools/list_changed."""
        self._tools_cache = None
        await self.bus.publish(ToolsListChanged())
        for connection, session in list(self._connections.items()):
            version = getattr(session, "protocol_version", "")
            if version and version >= "2026-07-28":
                continue
            try:
                await session.send_tool_list_changed()
            except Exception as exc:  # a client that went away must not break the others
                logger.debug("could not notify %r: %s", connection, exc)
                self._connections.pop(connection, None)

    # -- resources and prompts ---------------------------------------------------------

    async def _list_resources(self, ctx: Any, params: Any) -> types.ListResourcesResult:
        # Plugin docs read the store: on the store's thread, like every store access.
        items = await self.host.in_worker(resources.list_resources, self.host)
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    uri=item.uri,
                    name=item.name,
                    description=item.description,
                    mime_type=item.mime_type,
                )
                for item in items
            ]
        )

    async def _list_resource_templates(
        self, ctx: Any, params: Any
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=resources.PLUGIN_DOCS,
                    name="plugin docs",
                    description="The generated documentation of an installed plugin, "
                    "under a line with its status (identifier: as `list` shows it).",
                    mime_type="text/markdown",
                )
            ]
        )

    async def _read_resource(
        self, ctx: Any, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            text, mime = await self.host.in_worker(resources.read_resource, self.host, uri)
        except EngineError as error:
            raise _protocol_error(error) from None
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type=mime, text=text)]
        )

    async def _list_prompts(self, ctx: Any, params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(
            prompts=[
                types.Prompt(
                    name=prompt.NAME,
                    title="Write a km-actions action",
                    description=prompt.DESCRIPTION,
                    arguments=[
                        types.PromptArgument(
                            name="goal",
                            description="What the action should do, in plain words.",
                            required=False,
                        )
                    ],
                )
            ]
        )

    async def _get_prompt(
        self, ctx: Any, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        if params.name != prompt.NAME:
            raise _protocol_error(
                EngineError(
                    f"no prompt named {params.name!r}",
                    code="not-found",
                    hint=f"the prompt is {prompt.NAME!r}; list them with prompts/list",
                )
            )
        goal = (params.arguments or {}).get("goal", "")
        return types.GetPromptResult(
            description=prompt.DESCRIPTION,
            messages=[
                types.PromptMessage(
                    role="user",
                    content=types.TextContent(
                        type="text", text=prompt.authoring_prompt(self.host, goal)
                    ),
                )
            ],
        )


def _protocol_error(error: EngineError) -> MCPError:
    """A request km-actions cannot answer (an unknown resource or prompt), as the
    JSON-RPC error the client sees: the message and the hint, not "Internal error"."""
    message = f"{error.message}; {error.hint}" if error.hint else error.message
    return MCPError(types.INVALID_PARAMS, message, data=error.to_dict())


def _progress_reporter(ctx: Any) -> ClientProgress | None:
    """A progress callback, when the client asked for progress (a progress token)."""
    session = getattr(ctx, "session", None)
    meta = getattr(ctx, "meta", None) or {}
    token = (
        meta.get("progress_token", meta.get("progressToken"))
        if isinstance(meta, dict)
        else getattr(meta, "progress_token", None)
    )
    if session is None or token is None:
        return None
    report: Callable[..., Awaitable[None]] = session.report_progress

    async def progress(done: float, total: float | None, message: str | None) -> None:
        try:
            await report(done, total, message)
        except Exception as exc:  # progress is best effort: never fail the work for it
            logger.debug("progress not delivered: %s", exc)

    return progress
