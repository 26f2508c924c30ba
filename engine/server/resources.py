"""MCP resources: the schemas, the km_* catalog, the user guide, and each plugin's docs.

Everything a caller is pointed to (by the tool's description, the prompt, a hint) is one
of these: the guide's pages are served as ``km-actions://docs/<page>``, their links to
each other rewritten to those addresses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from engine._resources import guide_folder, guide_pages, load_schema
from engine.answers import AnswerBook, ToolAnswers
from engine.catalog import Coverage, Need
from engine.errors import EngineError
from engine.schema_tools import language_schema
from engine.shapes import compact

GUIDE = "km-actions://docs/"
PLUGIN_DOCS = "km-actions://plugins/{identifier}/docs"


@dataclass(frozen=True)
class ResourceItem:
    uri: str
    name: str
    description: str
    mime_type: str


def list_resources(host: Any) -> list[ResourceItem]:
    """Every resource the server offers: the two schemas, the catalog, each plugin's docs."""
    items = [
        ResourceItem(
            "km-actions://schemas/action",
            "action.schema.json",
            "JSON Schema of action manifests (api_version 1.1; 1.0 is read too).",
            "application/json",
        ),
        ResourceItem(
            "km-actions://schemas/plugin",
            "plugin.schema.json",
            "JSON Schema of plugin.yaml.",
            "application/json",
        ),
        ResourceItem(
            "km-actions://catalog",
            "km_* tools",
            "The Keyboard Maestro tools actions can call, with their input schemas, "
            "classes (read-only, write, destructive), what MCP callers may be granted of "
            "each on this server (mcp_may_grant) and what each answers (as recorded from "
            "the real server).",
            "application/json",
        ),
    ]
    for page in guide_pages():
        items.append(
            ResourceItem(
                f"{GUIDE}{page}",
                f"{page}.md",
                f"The user guide: {_title(page)}.",
                "text/markdown",
            )
        )
    for plugin in host.plugin_ids():
        status = host.plugin_state(plugin).status.value
        items.append(
            ResourceItem(
                f"km-actions://plugins/{plugin}/docs",
                f"{plugin} docs",
                f"Generated documentation of the plugin {plugin} (status: {status}).",
                "text/markdown",
            )
        )
    return items


def read_resource(host: Any, uri: str) -> tuple[str, str]:
    """The text and MIME type of a resource."""
    if uri == "km-actions://schemas/action":
        return json.dumps(language_schema(), indent=1), "application/json"
    if uri == "km-actions://schemas/plugin":
        return json.dumps(load_schema("plugin"), indent=1), "application/json"
    if uri == "km-actions://catalog":
        listing = catalog_listing(host.catalog(), host.ceiling())
        return json.dumps(listing, indent=1), "application/json"
    if uri.startswith(GUIDE) and uri[len(GUIDE) :] in guide_pages():
        return guide_page(uri[len(GUIDE) :]), "text/markdown"
    prefix, suffix = "km-actions://plugins/", "/docs"
    if uri.startswith(prefix) and uri.endswith(suffix):
        plugin = uri[len(prefix) : -len(suffix)]
        return host.plugin_docs(plugin), "text/markdown"
    raise EngineError(
        f"no resource {uri}", code="not-found", hint="list the resources with resources/list"
    )


def catalog_listing(catalog: Any, ceiling: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every tool with its class; a tool with several operations also with the class of
    each (``operations``: the argument that names them and each value's class), so a
    caller can ask for exactly the operations it uses (``km_variable_manager:get``); what
    MCP callers may be granted of it under ``ceiling`` (``mcp_may_grant``: true or false,
    or the operations); and what it answers, where the recordings of the real server
    tell: ``answer`` (one line, see :func:`engine.answers.compact`), or ``answers`` by the
    value of the argument ``answers_by`` names (the operation, or a mode such as
    ``preview_only``)."""
    book = AnswerBook.builtin()
    allowed = catalog.coverage(ceiling)
    out = []
    for tool in catalog.values():
        item: dict[str, Any] = {"name": tool.name, "class": tool.tool_class.value}
        if tool.operations is not None:
            item["operations"] = tool.operations.to_data()
        item["mcp_may_grant"] = _grantable(tool, allowed)
        item["description"] = tool.description
        item["inputSchema"] = tool.input_schema
        answers = book.for_tool(tool.name, tool.input_schema)
        if answers is not None and answers.selector is None:
            item["answer"] = _answer_line(answers, "")
        elif answers is not None:
            item["answers_by"] = answers.selector
            item["answers"] = {key: _answer_line(answers, key) for key in answers.answers}
        out.append(item)
    return out


def _answer_line(answers: ToolAnswers, key: str, **shown: Any) -> str:
    answer = answers.answers[key]
    if answer.schema is None:
        return f"unknown: {answer.note}" if answer.note else "unknown"
    return compact(answer.schema, **shown)


def _grantable(tool: Any, allowed: Coverage) -> bool | list[str]:
    """Whether MCP callers may be granted the tool, or which of its operations."""
    if tool.operations is None:
        return allowed.covers(Need(tool.name))
    return [op for op in tool.operations.classes if allowed.covers(Need(tool.name, op))]


_LINK = re.compile(r"\]\(([a-z0-9-]+)\.md(#[^)\s]*)?\)")


def guide_page(page: str) -> str:
    """A page of the user guide, its links to other pages as resource addresses."""
    text = (guide_folder() / f"{page}.md").read_text("utf-8")
    return _LINK.sub(lambda m: f"]({GUIDE}{m.group(1)}{m.group(2) or ''})", text)


def _title(page: str) -> str:
    """The page's title (its first heading)."""
    with (guide_folder() / f"{page}.md").open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("# "):
                return line[2:].strip()
    return page
