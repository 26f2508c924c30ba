"""The tool list of the Keyboard Maestro MCP server km-actions last connected to, kept in
the data folder, so that offline checks (``validate``, ``run --dry-run``) use the tools the
user really has rather than the catalog km-actions ships.

``km-actions run``, ``serve`` and ``tools --refresh`` save it whenever they connect
(atomically, with when and from which server); :func:`offline_catalog` reads it back, or
gives the shipped catalog when there is none, or (with a warning) when it is unreadable.

>>> import tempfile
>>> from pathlib import Path
>>> from datetime import UTC, datetime
>>> path = Path(tempfile.mkdtemp()) / "upstream-tools.json"
>>> tools = [{"name": "km_demo", "inputSchema": {"type": "object"}}]
>>> _ = save_tool_list(tools, upstream="km-mcp", server="KM", path=path,
...                    now=datetime(2026, 5, 3, 12, tzinfo=UTC))
>>> catalog, warning = offline_catalog(path)
>>> list(catalog), warning
(['km_demo'], None)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.paths import saved_tools_path, write_atomically
from engine.tools.catalog import ToolCatalog

#: The version of the file's format this km-actions writes and reads.
FORMAT = 1
#: How the catalog of a saved list is named in its tools' ``source``.
ORIGIN = "saved tool list"
_REFRESH = "`km-actions tools --refresh` lists them again from the server"


class SavedToolsError(ValueError):
    """The saved tool list cannot be used (unreadable, not a tool list, a newer format)."""


@dataclass(frozen=True)
class SavedTools:
    """A saved tool list: the ``tools/list`` entries, when, and from which server."""

    path: Path
    saved_at: datetime
    upstream: str
    server: str | None
    tools: tuple[Mapping[str, Any], ...]

    @property
    def day(self) -> str:
        """The day it was saved, in local time (``2026-05-03``)."""
        return self.saved_at.astimezone().strftime("%Y-%m-%d")

    @property
    def described(self) -> str:
        """``"the Keyboard Maestro server you connected to on 2026-05-03 (km-mcp)"``."""
        return f"the Keyboard Maestro server you connected to on {self.day} ({self.upstream})"

    def catalog(self) -> ToolCatalog:
        """The tools as a catalog (annotations the server does not publish: the shipped ones)."""
        return ToolCatalog.from_tool_list(
            self.tools,
            origin=ORIGIN,
            where=self.described,
            listing_hint=f"`km-actions tools` lists its tools; {_REFRESH} after a change",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "saved_at": _stamp(self.saved_at),
            "upstream": self.upstream,
            "server": self.server,
        }


def save_tool_list(
    tools: Sequence[Mapping[str, Any]],
    *,
    upstream: str,
    server: str | None,
    path: Path | None = None,
    now: datetime | None = None,
) -> Path:
    """Keep ``tools`` (``tools/list`` entries, wire form) as listed by the server at
    ``upstream`` (its command or URL) named ``server``; raises OSError."""
    target = path or saved_tools_path()
    data = {
        "format": FORMAT,
        "saved_at": _stamp(now or datetime.now(UTC)),
        "upstream": upstream,
        "server": server,
        "tools": list(tools),
    }
    write_atomically(target, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return target


def read_saved_tools(path: Path | None = None) -> SavedTools | None:
    """The saved tool list, or None when there is none; raises :class:`SavedToolsError`."""
    source = path or saved_tools_path()
    try:
        text = source.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as problem:
        raise SavedToolsError(f"cannot read it: {problem}") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as problem:
        raise SavedToolsError(f"it is not valid JSON: {problem}") from None
    return _parse(source, data)


def offline_catalog(
    path: Path | None = None, *, shipped: ToolCatalog | None = None
) -> tuple[ToolCatalog, str | None]:
    """The catalog offline checks use: the saved tool list, else ``shipped`` (the catalog
    km-actions ships with the tools the configuration chooses,
    :meth:`engine.tools.config.Settings.shipped_catalog`; by default the current server's); and a
    warning to show when a saved list exists but cannot be used."""
    fallback = shipped if shipped is not None else ToolCatalog.builtin()
    try:
        saved = read_saved_tools(path)
    except SavedToolsError as problem:
        where = path or saved_tools_path()
        return fallback, (
            f"the saved tool list {where} cannot be used ({problem}); checking against the "
            f"tools km-actions ships instead ({_REFRESH})"
        )
    return (saved.catalog() if saved is not None else fallback), None


def forget_tool_list(path: Path | None = None) -> bool:
    """Delete the saved tool list; True if there was one. Raises OSError."""
    try:
        (path or saved_tools_path()).unlink()
    except FileNotFoundError:
        return False
    return True


def _parse(source: Path, data: Any) -> SavedTools:
    if not isinstance(data, Mapping):
        raise SavedToolsError("it is not a JSON object")
    version = data.get("format")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SavedToolsError("it has no format number")
    if version > FORMAT:
        raise SavedToolsError(f"it was written by a newer km-actions (format {version})")
    tools, upstream, server = data.get("tools"), data.get("upstream"), data.get("server")
    if not isinstance(tools, list) or not all(_is_tool(t) for t in tools):
        raise SavedToolsError("its `tools` are not a list of tools with a name each")
    if not isinstance(upstream, str) or not (server is None or isinstance(server, str)):
        raise SavedToolsError("it does not say which server it came from")
    try:
        saved_at = datetime.fromisoformat(str(data.get("saved_at")))
    except ValueError:
        raise SavedToolsError("it does not say when it was saved") from None
    if saved_at.tzinfo is None:
        raise SavedToolsError("its time has no time zone")
    return SavedTools(source, saved_at, upstream, server, tuple(tools))


def _is_tool(entry: Any) -> bool:
    return (
        isinstance(entry, Mapping)
        and isinstance(entry.get("name"), str)
        and isinstance(entry.get("inputSchema", {}), Mapping)
        and isinstance(entry.get("description", ""), str)
        and isinstance(entry.get("annotations") or {}, Mapping)
    )


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
