"""km_create_plugin_action, and the installed plug-in actions the server reads back.

The server writes a third-party plug-in action bundle (``<name>.kmactions``: its
``Keyboard Maestro Action.plist``, its script, an optional ``Icon.png``) into
``output_dir``, which must be an existing folder inside its working folder. In the
simulator the bundle is written into the model (:mod:`engine.simulator.km.files`), never
to a disk; one written into Keyboard Maestro's plug-in folder is installed: listed by
km_list_action_types and km_search_actions, usable by km_action_builder's ``plug_in``.

>>> from engine.simulator._state import SimulatorState
>>> from datetime import UTC, datetime
>>> ctx = ToolContext("km_create_plugin_action", {}, SimulatorState.seeded(), datetime.now(UTC))
>>> folder_name('Say "Hi": now?')
'Say Hi now'
>>> parameter({"Label": "On", "Type": "Checkbox", "Default": True}, 0)
{'Label': 'On', 'Type': 'Checkbox', 'Default': '1'}
"""

from __future__ import annotations

import base64
import binascii
import plistlib
import re
from collections.abc import Callable
from typing import Any

from engine.simulator.km import files
from engine.simulator.tools.context import Answer, ServerCrash, ToolContext, failure

__all__ = ["HANDLERS", "folder_name", "installed_plugins", "parameter"]

TOOL_NAME = "km_build_plugin_action"  # the name the server's answers still carry
RESULT_TARGETS = frozenset(
    {
        "None",
        "Variable",
        "Clipboard",
        "TypedString",
        "Pasting",
        "Typing",
        "Window",
        "Briefly",
        "Token",
        "Asynchronously",
    }
)
PARAMETER_TYPES = frozenset(
    {
        "String",
        "Text",
        "Password",
        "Calculation",
        "PopupMenu",
        "Checkbox",
        "Hidden",
        "TokenString",
        "TokenText",
    }
)
ON_EXISTING = frozenset({"error", "replace"})
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_UNFIT_IN_FOLDER_NAMES = re.compile(r'[/\\:?<>|"\x00-\x1f]')
_SCRIPT_FILENAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_WEB_URL = re.compile(r"^https?://")
INSTALL_HINT = (
    "Copy the bundle into ~/Library/Application Support/Keyboard Maestro/Keyboard Maestro "
    "Actions/ (create it if missing), then quit and reopen the Keyboard Maestro Editor — "
    "plug-ins are scanned at Editor launch; reloading the Engine alone does not refresh the "
    "action picker."
)


# -- reading installed plug-ins (the server's folder scan) -------------------------------------


def _parameters(raw: Any) -> list[dict[str, Any]]:
    """A plist's ``Parameters`` as the server reads them (entries without a Label dropped)."""
    found = []
    for entry in raw if isinstance(raw, list) else []:
        label = entry.get("Label") if isinstance(entry, dict) else None
        if not isinstance(label, str) or not label:
            continue
        menu = entry.get("Menu")
        found.append(
            {
                "label": label,
                "type": entry.get("Type", "String"),
                "default": entry.get("Default"),
                "menu_options": menu.split("|") if isinstance(menu, str) and menu else [],
            }
        )
    return found


def installed_plugins(ctx: ToolContext) -> list[dict[str, Any]]:
    """Every bundle in Keyboard Maestro's plug-in folder whose plist has a text Name and
    Title, by folder name: ``{identifier, title, help, help_url, author, keywords,
    parameters, result_targets, bundle_path}``."""
    found = []
    for path in files.bundles_in(ctx.km, files.plugin_folder(ctx.km)):
        if path.rsplit("/", 1)[1].startswith("."):
            continue
        spec = ctx.km.system["plugin_bundles"][path].get("plist", {})
        name, title = spec.get("Name"), spec.get("Title")
        if not isinstance(name, str) or not isinstance(title, str):
            continue
        keywords = spec.get("KeyWords") or spec.get("Keywords") or []
        results = spec.get("Results") or ""
        found.append(
            {
                "identifier": name,
                "title": title,
                "help": spec.get("Help"),
                "help_url": spec.get("HelpURL"),
                "author": spec.get("Author"),
                "keywords": [k for k in keywords if isinstance(k, str) and k],
                "parameters": _parameters(spec.get("Parameters") or []),
                "result_targets": [r for r in str(results).split("|") if r],
                "bundle_path": path,
            }
        )
    return found


# -- km_create_plugin_action ------------------------------------------------------------------


class _Unfit(ValueError):
    """A value km_create_plugin_action refuses (VALIDATION_FAILED)."""


def _member(value: Any, allowed: frozenset[str]) -> bool:
    """``value in allowed``, which the server's code evaluates for any JSON value: an
    unhashable one (a list, an object) raises TypeError there, which it does not catch."""
    try:
        return value in allowed
    except TypeError as crash:
        raise ServerCrash(str(crash)) from None


def parameter(entry: dict[str, Any], index: int) -> dict[str, Any]:
    """One parameter field as the plist holds it: Label, Type, Menu (``|``-joined), Default
    (text; ``1``/``0`` for a checkbox). (The schema lets only objects through.)"""
    label, kind = entry.get("Label"), entry.get("Type")
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        raise _Unfit(f"parameters[{index}].Label must be a non-empty string ≤200 chars")
    if not _member(kind, PARAMETER_TYPES):
        raise _Unfit(
            f"parameters[{index}].Type must be one of {sorted(PARAMETER_TYPES)}; got {kind!r}"
        )
    cleaned: dict[str, Any] = {"Label": label, "Type": kind}
    menu, default = entry.get("Menu"), entry.get("Default")
    if kind == "PopupMenu":
        if (
            not isinstance(menu, list)
            or not menu
            or not all(isinstance(m, str) and m for m in menu)
        ):
            raise _Unfit(
                f"parameters[{index}].Menu must be a non-empty list of non-empty strings "
                "when Type='PopupMenu'"
            )
        cleaned["Menu"] = "|".join(menu)
    elif menu is not None:
        raise _Unfit(
            f"parameters[{index}].Menu is only valid when Type='PopupMenu'; remove it for "
            f"Type={kind!r}"
        )
    if default is not None:
        if kind == "Checkbox":
            cleaned["Default"] = "1" if _checked(default) else "0"
        else:
            cleaned["Default"] = str(default)
    return cleaned


def _checked(default: Any) -> bool:
    """The server's ``default in (True, "1", 1, "true", "True")`` (Python equality: 1.0 too)."""
    return any(default == value for value in (True, "1", 1, "true", "True"))


def _results(results: list[str]) -> list[str]:
    """The result targets, each one Keyboard Maestro knows (an empty list never gets here:
    it means the default)."""
    for index, target in enumerate(results):
        if target not in RESULT_TARGETS:
            raise _Unfit(
                f"results[{index}] = {target!r} is not a known KM result target; expected "
                f"one of {sorted(RESULT_TARGETS)}"
            )
    return list(results)


def _icon(text: str) -> bytes:
    try:
        png = base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as problem:
        raise _Unfit(f"icon_base64 is not valid base64: {problem}") from None
    if not png.startswith(PNG_MAGIC):
        raise _Unfit("icon_base64 must decode to a PNG (magic bytes mismatch)")
    return png


def _plist(
    args: dict[str, Any], parameters: list[dict[str, Any]], results: list[str], icon: bool
) -> dict[str, Any]:
    """The bundle's plist, keys in the server's order."""
    plist: dict[str, Any] = {
        "Name": args["name"],
        "Title": args["title"],
        "Script": args["script_filename"],
        "Results": "|".join(results),
        "Parameters": parameters,
    }
    if args["author"]:
        plist["Author"] = args["author"]
    if args["help_text"]:
        plist["Help"] = args["help_text"]
    url = args["help_url"]
    if url:
        if not _WEB_URL.match(url):
            raise _Unfit(f"help_url must start with http:// or https://; got {url!r}")
        plist["HelpURL"] = url
    keywords = args["keywords"]
    if keywords:
        if not all(isinstance(k, str) and k for k in keywords):
            raise _Unfit("keywords must be a list of non-empty strings")
        plist["KeyWords"] = list(keywords)
    if icon:
        plist["Icon"] = files.ICON_NAME
    return plist


def _output_folder(ctx: ToolContext, output_dir: str) -> str:
    """``output_dir`` resolved: absolute, inside the working folder, an existing folder."""
    if not output_dir or not output_dir.startswith("/"):
        raise _Unfit(f"output_dir must be an absolute path; got {output_dir!r}")
    resolved, cwd = files.resolve(output_dir), files.working_folder(ctx.km)
    if resolved != cwd and not resolved.startswith(cwd.rstrip("/") + "/"):
        raise _Unfit(
            f"output_dir {resolved} is outside the working directory {cwd}; path traversal blocked"
        )
    if not files.is_folder(ctx.km, resolved) and not files.is_file(ctx.km, resolved):
        raise _Unfit(f"output_dir {resolved} does not exist")
    if not files.is_folder(ctx.km, resolved):
        raise _Unfit(f"output_dir {resolved} is not a directory")
    return resolved


def folder_name(name: str) -> str:
    """The bundle's folder name: characters file systems dislike removed, at most 200."""
    return (_UNFIT_IN_FOLDER_NAMES.sub("", name).strip() or "Untitled")[:200]


def _failure(ctx: ToolContext, code: str, message: str, field: str | None = None) -> Answer:
    extra = {"field": field} if field else {}
    answer = failure(code, message, "Adjust the failing field and retry.", **extra)
    return {**answer, "metadata": {"tool": TOOL_NAME, "timestamp": ctx.utc_timestamp()}}


def handle_create_plugin_action(ctx: ToolContext) -> Answer:
    """km_create_plugin_action: check everything, then write the bundle (into the model)."""
    args = ctx.args
    try:
        if not _member(args["on_existing"], ON_EXISTING):
            raise _Unfit(
                f"on_existing must be one of {sorted(ON_EXISTING)}; got {args['on_existing']!r}"
            )
        if not _SCRIPT_FILENAME.match(args["script_filename"]):
            raise _Unfit(
                "script_filename must match [A-Za-z0-9._-]{1,128}; got "
                f"{args['script_filename']!r}"
            )
        results = _results(args["results"] or ["Variable"])
        parameters = [parameter(entry, i) for i, entry in enumerate(args["parameters"] or [])]
        icon = _icon(args["icon_base64"]) if args["icon_base64"] else None
        plist = _plist(args, parameters, results, icon is not None)
        folder = _output_folder(ctx, args["output_dir"])
    except _Unfit as problem:
        return _failure(ctx, "VALIDATION_FAILED", str(problem))
    bundle = f"{folder.rstrip('/')}/{folder_name(args['name'])}.kmactions"
    if files.is_folder(ctx.km, bundle) or files.is_file(ctx.km, bundle):
        if args["on_existing"] == "error":
            message = f"{bundle} already exists; pass on_existing='replace' to overwrite."
            return _failure(ctx, "BUNDLE_EXISTS", message, field="output_dir")
        files.remove_tree(ctx.km, bundle)
    files.write_bundle(
        ctx.km, bundle, plist, args["script_filename"], args["script_source"], icon=icon is not None
    )
    size = len(plistlib.dumps(plist, fmt=plistlib.FMT_XML, sort_keys=False))
    return {
        "success": True,
        "data": {
            "bundle_path": bundle,
            "plist_path": f"{bundle}/{files.PLIST_NAME}",
            "script_path": f"{bundle}/{args['script_filename']}",
            "icon_path": f"{bundle}/{files.ICON_NAME}" if icon is not None else None,
            "plist_size_bytes": size,
            "parameter_count": len(parameters),
            "results": results,
        },
        "metadata": {
            "tool": TOOL_NAME,
            "timestamp": ctx.utc_timestamp(),
            "duration_ms": 0,  # the model writes at once
            "install_hint": INSTALL_HINT,
        },
    }


HANDLERS: dict[str, Callable[[ToolContext], Answer]] = {
    "km_create_plugin_action": handle_create_plugin_action,
}
