"""The catalog page: one static HTML page of plugins and their actions, for people.

Rendered from the documentation model of :mod:`engine.docs` (the facts the Markdown
shows, and the class of each call's operation), with a Jinja template that escapes
everything: a plugin's text is a stranger's, so a ``<script>`` in a description is shown
as text. The page runs no script (its Content-Security-Policy allows none), loads nothing
from elsewhere, and holds every plugin and action on one page after a table of contents,
so the browser's own Find searches all of it.

>>> from engine.docs import plugin_doc
>>> doc = plugin_doc({"identifier": "demo", "description": "<b>bold</b>"}, [{"name": "hi"}])
>>> page = catalog_html([doc], title="Demo", source="a test", generated="today")
>>> "&lt;b&gt;bold&lt;/b&gt;" in page, "<b>bold" in page
(True, False)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import jinja2

from engine import __version__
from engine._resources import data_text
from engine.docs import ActionDoc, PluginDoc
from engine.paths import write_atomically

PAGE_NAME = "index.html"


def plugin_anchor(plugin: PluginDoc) -> str:
    """The page's id of a plugin's section."""
    return f"plugin-{plugin.identifier}"


def action_anchor(plugin: PluginDoc, action: ActionDoc) -> str:
    """The page's id of an action's section."""
    return f"action-{plugin.identifier}-{action.name}"


@functools.cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        autoescape=True,  # every value is escaped, whatever the plugin's text holds
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return environment.from_string(data_text("catalog.html.j2"))


def catalog_html(plugins: Sequence[PluginDoc], *, title: str, source: str, generated: str) -> str:
    """The page of ``plugins`` (``source``: where they come from, said at the top)."""
    return _template().render(
        plugins=plugins,
        action_count=sum(len(p.actions) for p in plugins),
        title=title,
        source=source,
        generated=generated,
        version=__version__,
        plugin_anchor=plugin_anchor,
        action_anchor=action_anchor,
    )


def write_catalog(
    folder: Path, plugins: Sequence[PluginDoc], *, title: str, source: str, generated: str
) -> Path:
    """Write the page into ``folder`` (created if needed) as ``index.html``, replacing an
    older one in one rename; returns its path."""
    page = folder / PAGE_NAME
    html = catalog_html(plugins, title=title, source=source, generated=generated)
    write_atomically(page, html, mode=0o644)
    return page
