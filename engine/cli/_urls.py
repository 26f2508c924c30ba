"""``km-actions install URL``: a plugin archive on the web, fetched as MCP's install does.

``install`` is the store's command; this module adds to it a SOURCE that is an http(s)
URL, downloaded by :func:`engine.plugins.remote.download_source` (the path MCP's install
takes too): over https, or from a marketplace the user added; then installed as any
archive, its permissions asked for as usual.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.cli import _plugins

Handler = Callable[[argparse.Namespace], int]


def add_parsers(sub: Any) -> None:
    """Extend ``install`` (and the marketplace's extension of it) to take a URL."""
    install = sub.choices["install"]
    install.description += (
        " A SOURCE that is an https:// URL is downloaded and installed as an archive "
        "(plain http and addresses on this machine or the local network only at a "
        "marketplace you added)."
    )
    install.set_defaults(handler=_install_or_url(install.get_default("handler")))


def _install_or_url(other: Handler) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        from engine.plugins.remote import is_url

        if not is_url(args.source):
            return other(args)
        if args.index or args.auto_update:
            print(
                "km-actions install: --index and --auto-update apply to plugin ids, not to a URL",
                file=sys.stderr,
            )
            return 2
        return _plugins._guard(cmd_install_url)(args)

    return handler


def cmd_install_url(args: argparse.Namespace) -> int:
    from engine import paths
    from engine.plugins.remote import download_source

    with tempfile.TemporaryDirectory(prefix="km-install-") as scratch:
        source = download_source(
            args.source,
            paths.home(),  # the store's folder, where the marketplaces added are listed
            Path(scratch),
            stranger=False,
            timeout=args.timeout,
            allow_http=args.allow_http,
        )
        return _plugins.install_from(args, source, sources=None)
