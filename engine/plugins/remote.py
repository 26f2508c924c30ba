"""Installing from a URL: the one way the command line and MCP fetch a plugin archive.

A URL is fetched over https (plain http only with the user's leave, and never to another
machine for an MCP caller) through the download gate of the marketplaces the user added
(:meth:`~engine.plugins.marketplaces.Marketplaces.gate`): an address on this machine or
the local network is reached only at one of those marketplaces' own places. An MCP
caller is also held to ``security.allowed_hosts``, and is told a refused place and an
unreachable one alike; the user, on the command line, is told why.

>>> is_url("https://plugins.example.org/demo-1.0.0.zip"), is_url("demo-1.0.0.zip")
(True, False)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine.plugins._stage import InstallSource
from engine.plugins.download import MB, DownloadPolicy, download_to
from engine.plugins.marketplaces import Marketplaces

MAX_ARCHIVE_BYTES = 50 * MB


def is_url(source: str) -> bool:
    """True for an http(s) URL (what :func:`download_source` takes), not a path."""
    return source.lower().startswith(("http://", "https://"))


def download_source(
    url: str,
    store_root: Path,
    scratch: Path,
    *,
    stranger: bool,
    allowed_hosts: Iterable[str] | None = None,
    timeout: float = 30.0,
    allow_http: bool = False,
    origin: str = "file",
) -> InstallSource:
    """Download the archive at ``url`` into the folder ``scratch`` and return it as an
    install source that records ``url``. ``stranger``: an MCP caller asked (see the
    module docs). Raises :class:`~engine.plugins.download.DownloadError`."""
    gate = Marketplaces(store_root).gate(allowed_hosts, stranger=stranger)
    policy = DownloadPolicy(timeout=timeout, allow_http=allow_http and not stranger, gate=gate)
    target = scratch / "download"
    with target.open("wb") as out:
        download_to(url, out, policy, limit=MAX_ARCHIVE_BYTES, what="the plugin archive")
    return InstallSource.downloaded(target, url, origin=origin)
