"""``km-actions search, update, marketplace add/remove/list``, and ``install ID[@RANGE]``.

``install`` is the store's command; this module adds to it: a SOURCE that is not an
existing path and looks like ``id`` or ``id@range`` is installed from the marketplace
indexes (the configured ones, or those given with ``--index``). Exit status: 0 success,
1 a refusal or failure the command reports, 2 a usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from engine.cli import _plugins
from engine.cli._hooks import CommandHooks
from engine.cli._offline import offline_tools
from engine.cli._say import HINT
from engine.diagnostics.words import counted
from engine.lang.limits import Profile
from engine.plugins.download import DownloadPolicy
from engine.plugins.marketplace import PLUGIN_TYPES, MarketplaceIndex
from engine.plugins.marketplaces import Marketplaces
from engine.plugins.progress import ProgressBar
from engine.plugins.store import Store
from engine.plugins.updates import (
    Options,
    UpdateReport,
    install_request,
    looks_like_request,
    set_auto_update,
    update,
)

Handler = Callable[[argparse.Namespace], int]


def add_parsers(sub: Any) -> None:
    """Add ``search``, ``update`` and ``marketplace``; extend ``install`` (added before)."""
    p = sub.add_parser(
        "search",
        help="search the marketplaces for plugins",
        description="Find plugins in the marketplace indexes: every word must appear in the "
        "id, name, tags or description; matches in the id or name come first.",
    )
    p.add_argument("text", nargs="?", default="", metavar="TEXT", help="words to look for")
    p.add_argument("--type", choices=PLUGIN_TYPES, help="only plugins of this type")
    _index_options(p)
    _plugins._json(p)
    p.set_defaults(handler=_plugins._guard(cmd_search))

    p = sub.add_parser(
        "update",
        help="update plugins from the marketplaces",
        description="Update a plugin to the highest version the marketplace has that every "
        "installed plugin depending on it accepts. Without ID, update the plugins whose "
        "auto_update is on (--all: every plugin a marketplace lists). Settings are kept; "
        "those the new version does not accept are reported.",
    )
    p.add_argument("identifier", nargs="?", metavar="ID")
    p.add_argument("--all", action="store_true", help="update every plugin, not only auto_update")
    p.add_argument(
        "--auto-update",
        choices=["on", "off"],
        help="also turn automatic updates of ID on or off",
    )
    _install_options(p)
    _index_options(p)
    _plugins._hooks_option(p)
    _plugins._json(p)
    p.set_defaults(handler=_plugins._guard(cmd_update))

    p = sub.add_parser("marketplace", help="add, remove or list marketplace indexes")
    actions = p.add_subparsers(dest="marketplace_command", metavar="ACTION")
    actions.required = True
    a = actions.add_parser("add", help="use a marketplace index (checked first)")
    a.add_argument("location", metavar="URL_OR_FILE")
    a.add_argument("--allow-http", action="store_true", help="allow plain http for this index")
    a.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default 30)")
    a.set_defaults(handler=_plugins._guard(cmd_marketplace_add))
    r = actions.add_parser("remove", help="stop using a marketplace index")
    r.add_argument("location", metavar="URL_OR_FILE")
    r.set_defaults(handler=_plugins._guard(cmd_marketplace_remove))
    lst = actions.add_parser("list", help="the marketplace indexes in use")
    _plugins._json(lst)
    lst.set_defaults(handler=_plugins._guard(cmd_marketplace_list))

    install = sub.choices["install"]
    install.description += (
        " A SOURCE that is a plugin id, or id@range (e.g. 'clipboard-tools@>=1.2,<2'; "
        "clipboard-tools@1.2.0 for one version), is installed from the marketplaces, with "
        "its dependencies."
    )
    install.add_argument(
        "--auto-update",
        action="store_true",
        help="turn auto_update on: `km-actions update` (no ID) keeps it up to date",
    )
    _index_options(install)
    install.set_defaults(handler=_install_or_request(install.get_default("handler")))


def _index_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--index",
        action="append",
        metavar="URL_OR_FILE",
        help="use this marketplace index instead of the configured ones (repeatable)",
    )
    p.add_argument("--allow-http", action="store_true", help="allow plain http to other machines")
    p.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for a server (default 30)"
    )


def _install_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yes", "-y", action="store_true", help="grant what the plugins ask for")
    p.add_argument("--grant", action="append", metavar="PERMISSION", help="grant a tool or group")
    _plugins._profile(p, "the security profile it is installed and runs under")


def _indexes(args: argparse.Namespace, store: Store) -> MarketplaceIndex:
    loaded = Marketplaces(store.root).load(
        args.index or (), only_extra=bool(args.index), timeout=args.timeout,
        allow_http=args.allow_http,
    )  # fmt: skip
    for problem in loaded.problems:
        print(f"warning: {problem.message} (skipped)", file=sys.stderr)
    return loaded.index


def _options(args: argparse.Namespace, events: CommandHooks) -> Options:
    catalog = offline_tools()  # the tools `validate` checks against
    return Options(
        catalog=catalog,
        grant=args.grant,
        confirm=_plugins._confirm(args, catalog),
        profile=Profile(args.profile),
        events=events,
        progress=ProgressBar("installing", unit="files"),
        download=DownloadPolicy(timeout=args.timeout, allow_http=args.allow_http),
    )


def _install_or_request(store_handler: Handler) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        if looks_like_request(args.source):
            return _plugins._guard(cmd_install_request)(args)
        if args.index or args.auto_update:
            print(
                f"km-actions install: --index and --auto-update apply to plugin ids, and "
                f"{args.source!r} is not one",
                file=sys.stderr,
            )
            return 2
        return store_handler(args)

    return handler


def cmd_install_request(args: argparse.Namespace) -> int:
    with Store.open() as store:
        index = _indexes(args, store)
        hooks = CommandHooks(store, args.profile, simulator=args.simulator)
        try:
            result = install_request(
                store, index, args.source, auto_update=args.auto_update or None,
                options=_options(args, hooks),
            )  # fmt: skip
        finally:
            hooks.finish()
    if args.json:
        _plugins._print_json(_plugins._install_json(result))
    else:
        _plugins._print_install(result)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    with Store.open() as store:
        index = _indexes(args, store)
        installed = {p.identifier: p.version for p in store.plugins()}
    found = index.search(args.text, plugin_type=args.type)
    if args.json:
        _plugins._print_json([{**p.to_dict(), "installed": installed.get(p.id)} for p in found])
        return 0
    if not found:
        print("No plugin matches." if args.text else "The marketplaces list no plugins.")
        return 0
    for listing in found:
        have = installed.get(listing.id)
        mark = f"  (installed: {have})" if have else ""
        print(f"{listing.id} {listing.latest.version_text}  [{listing.plugin_type}]  "
              f"{listing.name}{mark}")  # fmt: skip
        print(f"    {listing.description}")
        if listing.tags:
            print(f"    tags: {', '.join(listing.tags)}")
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    if args.auto_update and not args.identifier:
        print("km-actions update: --auto-update needs a plugin ID", file=sys.stderr)
        return 2
    with Store.open() as store:
        if args.identifier:
            store.require(args.identifier)
        index = _indexes(args, store)
        hooks = CommandHooks(store, args.profile, simulator=args.simulator)
        try:
            report = update(
                store, index, args.identifier, everything=args.all, options=_options(args, hooks)
            )
        finally:
            hooks.finish()
        if args.auto_update:
            set_auto_update(store, args.identifier, args.auto_update == "on")
    if args.json:
        _plugins._print_json(report.to_dict())
    else:
        _print_update(report, args)
    return 0 if report.ok else 1


def _print_update(report: UpdateReport, args: argparse.Namespace) -> None:
    for result in report.updated:
        _plugins._print_install(result)
    for identifier, version in report.current:
        print(f"{identifier} {version} is up to date.")
    if args.identifier is None and not (report.updated or report.current or report.failed):
        print("Nothing to update" + ("." if args.all else " (no plugin has auto_update on; "
              "use --all, or `km-actions update ID --auto-update on`)."))  # fmt: skip
    for identifier, error in report.failed:
        print(f"{identifier}: not updated: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"{HINT}{error.hint}", file=sys.stderr)
    if args.auto_update:
        print(f"auto_update of {args.identifier} is {args.auto_update}.")


def cmd_marketplace_add(args: argparse.Namespace) -> int:
    with Store.open() as store:
        index = Marketplaces(store.root).add(
            args.location, allow_http=args.allow_http, timeout=args.timeout
        )
    title = f" ({index.name})" if index.name else ""
    count = len(index.plugins)
    print(f"Added {index.location}{title}: {counted(count, 'plugin')}.")
    return 0


def cmd_marketplace_remove(args: argparse.Namespace) -> int:
    with Store.open() as store:
        Marketplaces(store.root).remove(args.location)
    print(f"Removed {args.location}.")
    return 0


def cmd_marketplace_list(args: argparse.Namespace) -> int:
    with Store.open() as store:
        entries = Marketplaces(store.root).entries()
    if args.json:
        _plugins._print_json([e.to_dict() for e in entries])
        return 0
    if not entries:
        print("No marketplace is configured (add one with `km-actions marketplace add URL`).")
    for entry in entries:
        print(entry.location + ("  (plain http allowed)" if entry.allow_http else ""))
    return 0
