"""What an MCP caller is shown of this machine's paths: never an absolute one.

Where the user installed a plugin from, where km-actions keeps its store, where the user's
marketplace indexes and folders are: an MCP caller needs none of it, and each tells it
something of the machine (the user's name, how their disk is laid out). The command
line shows them; answers over MCP show instead

- a plugin's source as its last part (``clipboard-tools``, ``notes.zip``), a URL without
  its user and password;
- a plugin's folder relative to the store (``plugins/notes/1.0.0-d9225389``);
- and, in any text of a store operation's answer (an error, a hint, a warning, an
  index's location), every path :class:`HostPaths` knows spelt shorter: the store as
  ``$KM_ACTIONS_HOME``, a plugin's source, an allowed folder or a marketplace's folder as
  its last part, the home folder as ``~``.

>>> paths = HostPaths.of(Path("/home/ann/.km"), ["/home/ann/src/notes"], [Path("/srv/market")])
>>> paths.text("reinstall it with `km-actions install /home/ann/src/notes`")
'reinstall it with `km-actions install notes`'
>>> paths.text("file:///srv/market/notes-1.0.0.zip; /home/ann/.km/plugins/notes")
'market/notes-1.0.0.zip; $KM_ACTIONS_HOME/plugins/notes'
>>> shown_source({"kind": "folder", "ref": "/home/ann/src/notes"})["ref"]
'notes'
"""

from __future__ import annotations

import contextlib
import os
import re
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from engine.tools.config import shown_url

STORE_MARK = "$KM_ACTIONS_HOME"
#: The kinds of source recorded as a path on this machine (the others are URLs).
LOCAL_KINDS = frozenset({"folder", "archive", "file"})
# A run of text that may be an absolute path (or a file:// URL), not inside a word: each
# is looked up part by part, so the cost grows with the text, not with how many paths are
# known (one alternation of a thousand sources took seconds on a long text).
_TOKEN = re.compile(r"(?<![\w.~$-])(?:file://)?(/[^\s'\"`),;:\]}>]*)")


@dataclass(frozen=True)
class HostPaths:
    """The paths an answer over MCP must not show, each with what it shows instead."""

    shorter: Mapping[str, str]
    longest: int = 0  # the length of the longest path in ``shorter``

    @classmethod
    def of(cls, store_root: Path, sources: Iterable[str], folders: Iterable[Path]) -> HostPaths:
        """Know the store at ``store_root``, the local ``sources`` plugins were installed
        from, ``folders`` (allowed folders, marketplaces' folders) and the home folder."""
        shorter: dict[str, str] = {}
        for form in _spellings(store_root):
            shorter[form] = STORE_MARK
        for source in sources:
            for form in _spellings(Path(source)):
                shorter.setdefault(form, _last_part(source))
        for folder in folders:
            for form in _spellings(folder):
                shorter.setdefault(form, folder.name or "/")
        home = Path.home()
        if len(home.parts) > 2:  # not "/" or "/root"-like short homes that match too much
            for form in _spellings(home):
                shorter.setdefault(form, "~")
        known = {k: v for k, v in shorter.items() if len(PurePosixPath(k).parts) > 1}
        return cls(known, max(map(len, known), default=0))

    def text(self, text: str) -> str:
        """``text`` with every known path spelt shorter."""
        if not self.shorter or "/" not in text:
            return text
        return _TOKEN.sub(self._shorter_path, text)

    def _shorter_path(self, match: re.Match[str]) -> str:
        """The path ``match`` holds, its longest known beginning (a whole part: "/srv/km"
        does not begin "/srv/kms") spelt shorter; as it was when none is known. Only
        beginnings as long as the longest known path are looked up, so a long path costs
        no more than a short one."""
        path = match.group(1)
        whole = path.rstrip(".")  # the end of a sentence: "… from /srv/km."
        longest = self.longest
        end = len(whole) if len(whole) <= longest else whole.rfind("/", 0, longest + 1)
        while end > 0:
            known = self.shorter.get(whole[:end])
            if known is not None:
                return known + path[end:]
            end = whole.rfind("/", 0, end)
        return match.group(0)

    def answer(self, value: Any) -> Any:
        """A copy of ``value`` (an answer: dicts, lists, text) with every text shortened."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.answer(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.answer(v) for v in value]
        return value


def shown_source(source: Mapping[str, Any]) -> dict[str, Any]:
    """A plugin's recorded ``source`` (origin, kind, ref, detail) as an MCP caller sees
    it: the ref of a local source as its last part, a URL without credentials, a
    ``file://`` URL as its file's name."""
    ref = str(source.get("ref", ""))
    if source.get("kind") not in LOCAL_KINDS and not ref.lower().startswith("file:"):
        shown = shown_url(ref)
    else:
        shown = _last_part(ref)
    return {**source, "ref": shown}


def _last_part(ref: str) -> str:
    """The name of the file or folder a path or ``file://`` URL names."""
    if ref.lower().startswith("file:"):
        ref = urllib.request.url2pathname(urllib.parse.urlsplit(ref).path)
    return PurePosixPath(ref).name or ref


def _spellings(path: Path) -> set[str]:
    """``path`` as given, normalised and with its links followed (a store under /var
    is /private/var on macOS): any of them may appear in a message."""
    forms = {str(path), os.path.normpath(path)}
    with contextlib.suppress(OSError, ValueError):
        forms.add(os.path.realpath(path))
    return {f.rstrip("/") for f in forms if os.path.isabs(f) and f.rstrip("/")}
