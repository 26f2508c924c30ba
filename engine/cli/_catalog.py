"""``km-actions docs --html FOLDER [--index URL_OR_FILE]``: the catalog page.

One static page (``FOLDER/index.html``) of every installed plugin, or of the newest
version of every plugin a marketplace index lists (read from their archives, checked
against the index as an install checks them), rendered by :mod:`engine.plugins.docs_html`.
"""

from __future__ import annotations

import argparse
import datetime
from typing import TYPE_CHECKING

from engine.cli._say import failed, say
from engine.diagnostics.errors import EngineError
from engine.diagnostics.words import counted

if TYPE_CHECKING:
    from engine.plugins.docs import PluginDoc


def cmd_html(args: argparse.Namespace) -> int:
    if args.html is None:
        say("docs", "--index is for the catalog page", "add --html FOLDER")
        return 2
    if args.plugin is not None:
        say(
            "docs",
            "--html writes every installed plugin (or those --index lists), not one",
            f"drop {args.plugin!r}, or print its Markdown with `km-actions docs {args.plugin}`",
        )
        return 2
    from engine.plugins.docs_html import write_catalog

    try:
        docs, title, source = _index_docs(args) if args.index else _installed_docs()
        generated = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        page = write_catalog(args.html, docs, title=title, source=source, generated=generated)
    except EngineError as error:
        return failed("docs", error)
    except OSError as error:
        say("docs", f"cannot write {args.html}: {error.strerror or error}", "check the folder")
        return 1
    count = len(docs)
    print(f"Wrote the catalog of {counted(count, 'plugin')} to {page}.")
    return 0


def _installed_docs() -> tuple[list[PluginDoc], str, str]:
    from engine.plugins.docs import installed_plugin_doc
    from engine.plugins.store import Store

    with Store.open() as store:
        # No current settings: the page may be shared, and settings are the user's own.
        docs = [installed_plugin_doc(store, p.identifier, settings=False) for p in store.plugins()]
    return docs, "Installed plugins", "the plugins installed here"


def _index_docs(args: argparse.Namespace) -> tuple[list[PluginDoc], str, str]:
    from engine.plugins.download import DownloadPolicy
    from engine.plugins.marketplace import MarketplaceIndex
    from engine.plugins.marketplaces import normalize
    from engine.plugins.publish import listed_plugin_docs

    location = normalize(args.index)
    policy = DownloadPolicy(timeout=args.timeout, allow_http=args.allow_http)
    index = MarketplaceIndex.load(location, policy=policy)
    docs = listed_plugin_docs(index, policy=policy)
    return docs, index.name or "Plugin catalog", f"the marketplace index {location}"
