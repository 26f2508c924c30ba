"""The folders MCP callers may install from (``security.install_paths``), as the user
writes them: absolute paths, ``~`` and ``~/…`` for the user's home only (``~user`` is not
looked up, here as for MCP callers' own paths, :mod:`engine.server.sources`), and never a
folder that holds km-actions' own store.

>>> folder("~root/x").message.split("; ")[0]
"security.install_paths: '~root/x' names another user's home"
>>> folder("/srv/plugins/../km-plugins")
PosixPath('/srv/km-plugins')
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """Why a folder is refused, and what to write instead."""

    message: str
    hint: str


def folder(entry: str) -> Path | Problem:
    """The folder ``entry`` names: absolute once ``~`` is expanded (relative to what would
    a server's folder be?), ``..`` folded away."""
    if entry.startswith("~") and entry != "~" and not entry.startswith("~/"):
        return Problem(
            f"security.install_paths: {entry!r} names another user's home; only `~` "
            "(your home) and `~/…` are expanded",
            'write the whole path, e.g. "/Users/ann/km-plugins", or "~/km-plugins" for '
            "a folder in your home",
        )
    expanded = os.path.expanduser(entry)
    if "\0" in expanded or not os.path.isabs(expanded):
        return Problem(
            f"security.install_paths: {entry!r} is not an absolute folder path",
            'write whole paths, e.g. "~/km-plugins" or "/Users/ann/km-plugins"',
        )
    return Path(os.path.normpath(expanded))


def holding_the_store(folders: Iterable[Path], store: Path) -> Problem | None:
    """Why a folder that holds km-actions' own store (the installed plugins, their
    settings and secrets) is refused: MCP callers may never install from the store, and
    the server refuses it in any folder; allowing it would only mislead. By spelling and
    with links followed."""
    stores = (Path(os.path.normpath(store)), Path(os.path.realpath(store)))
    for allowed in folders:
        spellings = (allowed, Path(os.path.realpath(allowed)))
        if any(s == f or f in s.parents for s in stores for f in spellings):
            return Problem(
                f"security.install_paths: {str(allowed)!r} holds km-actions' own store "
                f"({store}), which MCP callers may never install from",
                "allow a folder that holds plugins only, beside the store (e.g. "
                f"{str(allowed / 'km-plugins')!r}), or move the store out of it "
                "(KM_ACTIONS_HOME)",
            )
    return None
