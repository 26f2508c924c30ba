"""The few folders and files of the Mac the model knows: the home folder, the working folder
of the MCP server, Keyboard Maestro's plug-in folder, and plug-in action bundles.

Nothing here touches a real disk: a bundle "written" is an entry of the state
(``system.plugin_bundles``: bundle path → its plist, its script and whether it has an
icon). A folder exists when it is the root, the home or working folder, Keyboard Maestro's
plug-in folder, one listed in ``system.folders``, a bundle, or a folder holding one of
these; a file exists when it is one of a bundle's files.

>>> from engine.simulator.km.state import KMState
>>> state = KMState()
>>> is_folder(state, "/Users/kmuser/Library"), is_folder(state, "/Users/kmuser/Movies")
(True, False)
>>> bundle = f"{plugin_folder(state)}/Hi.kmactions"
>>> write_bundle(state, bundle, {"Name": "Hi", "Title": "Hi"}, "script", "#!/bin/sh\\n")
>>> is_file(state, f"{bundle}/script"), bundles_in(state, plugin_folder(state)) == [bundle]
(True, True)
"""

from __future__ import annotations

import posixpath
from typing import Any

from engine.simulator.km.state import KMState

__all__ = [
    "PLIST_NAME",
    "bundle_files",
    "bundles_in",
    "home",
    "is_file",
    "is_folder",
    "plugin_folder",
    "remove_tree",
    "resolve",
    "working_folder",
    "write_bundle",
]

DEFAULT_HOME = "/Users/kmuser"
PLUGIN_FOLDER = "Library/Application Support/Keyboard Maestro/Keyboard Maestro Actions"
PLIST_NAME = "Keyboard Maestro Action.plist"
ICON_NAME = "Icon.png"

Bundle = dict[str, Any]


def resolve(path: str) -> str:
    """An absolute path made canonical as ``Path.resolve`` makes it (no symbolic links in
    the model): ``.`` and ``..`` worked out, repeated and trailing slashes gone."""
    normal = posixpath.normpath(path)
    return "/" + normal.lstrip("/") if normal.startswith("//") else normal


def home(state: KMState) -> str:
    return resolve(str(state.system.get("home") or DEFAULT_HOME))


def working_folder(state: KMState) -> str:
    """The MCP server's working folder (the home folder unless the state says otherwise)."""
    return resolve(str(state.system.get("cwd") or home(state)))


def plugin_folder(state: KMState) -> str:
    """Where Keyboard Maestro's editor reads third-party plug-in actions from."""
    return f"{home(state)}/{PLUGIN_FOLDER}"


def _bundles(state: KMState) -> dict[str, Bundle]:
    bundles: dict[str, Bundle] = state.system.get("plugin_bundles", {})
    return bundles


def _with_ancestors(path: str) -> set[str]:
    found = {path}
    while path not in ("/", ""):
        path = posixpath.dirname(path)
        found.add(path)
    return found


def _folders(state: KMState) -> set[str]:
    roots = [home(state), working_folder(state), plugin_folder(state)]
    roots += [resolve(str(f)) for f in state.system.get("folders", []) if str(f).startswith("/")]
    roots += list(_bundles(state))
    folders: set[str] = set()
    for root in roots:
        folders |= _with_ancestors(root)
    return folders


def is_folder(state: KMState, path: str) -> bool:
    return resolve(path) in _folders(state)


def bundle_files(path: str, bundle: Bundle) -> list[str]:
    """The files a bundle holds: its plist, its script and (if it has one) its icon."""
    names = [PLIST_NAME, str(bundle.get("script", {}).get("name", "script"))]
    if bundle.get("icon"):
        names.append(ICON_NAME)
    return [f"{path}/{name}" for name in names]


def is_file(state: KMState, path: str) -> bool:
    wanted = resolve(path)
    return any(wanted in bundle_files(p, b) for p, b in _bundles(state).items())


def remove_tree(state: KMState, path: str) -> None:
    """Delete a folder and everything in it (``shutil.rmtree``)."""
    inside = f"{path}/"
    bundles = _bundles(state)
    for bundle in [b for b in bundles if b == path or b.startswith(inside)]:
        del bundles[bundle]
    folders = state.system.get("folders")
    if isinstance(folders, list):
        folders[:] = [f for f in folders if f != path and not str(f).startswith(inside)]


def write_bundle(
    state: KMState,
    path: str,
    plist: dict[str, Any],
    script_name: str,
    script_text: str,
    *,
    icon: bool = False,
) -> None:
    """A plug-in action bundle at ``path``: its plist, its script (executable) and icon."""
    state.system.setdefault("plugin_bundles", {})[path] = {
        "plist": plist,
        "script": {"name": script_name, "text": script_text},
        "icon": icon,
    }


def bundles_in(state: KMState, folder: str) -> list[str]:
    """The bundles directly inside ``folder``, by name (as a folder listing sorts them)."""
    return sorted(p for p in _bundles(state) if posixpath.dirname(p) == folder)
