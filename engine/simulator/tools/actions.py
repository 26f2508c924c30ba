"""km_action_builder, and the action XML the server writes for an action type and its settings.

Longer than 400 lines: the XML the server writes for each of its action types, one short
function each.

The server turns an ``action_type`` and its ``action_config`` into one action ``<dict>``
(pause, type_text, paste, set_variable, run_applescript, activate_application,
manipulate_window, execute_shell_script, plug_in, paste_xml, or a catalog identifier) and
appends it with ``make new action with properties {xml: …}``; Keyboard Maestro turns what
it cannot read, and any Execute Macro action, into a Log "Invalid XML From AppleScript"
action, so execute_macro goes through the rebuild (a new UUID) instead.

>>> action_xml("pause", {"seconds": 2})
'<dict><key>MacroActionType</key><string>Pause</string><key>Time</key><string>2</string></dict>'
>>> action_xml("set_variable", {"text": "no variable"}) is None
True
"""

from __future__ import annotations

import plistlib
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from engine.simulator.km import library, plist
from engine.simulator.tools._imports import fetch_snapshot, rebuild, rotated
from engine.simulator.tools._km import (
    KMProblem,
    append_action,
    caught,
    find_macro,
    list_macros,
    macro_selector,
    run_guarded,
)
from engine.simulator.tools._plistxml import escape, flag, string
from engine.simulator.tools.catalog import catalog
from engine.simulator.tools.context import (
    KM,
    Answer,
    ServerCrash,
    ToolContext,
    cant_get,
    engine_unreachable,
    failure,
    quoted,
)
from engine.simulator.tools.plugins import installed_plugins

__all__ = ["HANDLERS", "action_xml", "render_action"]

DISPLAY_KINDS = frozenset(
    {"None", "Variable", "Window", "Briefly", "Clipboard", "Typing", "Pasting"}
)
# Catalog identifiers the builder renders from a captured template (the action Keyboard
# Maestro's editor inserts, recorded in engine/data/km_action_catalog.json): the Keyboard
# Maestro action type and which plist key each configuration key sets (the server's catalog).
CATALOG_TEMPLATES: dict[str, tuple[str, dict[str, str]]] = {
    "speak_text": ("SpeakText", {"rate": "Rate", "text": "Text", "voice": "Voice"}),
}
UNSUPPORTED_HINT = (
    "Supported: pause, type_text, paste, set_variable (needs 'variable'), run_applescript, "
    "execute_macro (needs 'target_macro'), plug_in (needs 'plugin_identifier' matching a "
    "name returned by km_list_action_types; optional 'parameters' dict, 'display_kind' in "
    "None|Variable|Window|Briefly|Clipboard|Typing|Pasting, 'variable' for "
    "display_kind='Variable')."
)


def _key(name: str, value: str) -> str:
    return f"<key>{name}</key>{string(value)}"


def _flag(name: str, value: Any) -> str:
    return f"<key>{name}</key>{flag(value)}"


def _pause(config: dict[str, Any], ctx: ToolContext | None) -> str | None:
    time = _key("Time", str(config.get("seconds", 1)))
    return f"<dict><key>MacroActionType</key><string>Pause</string>{time}</dict>"


def _insert(how: str) -> Callable[[dict[str, Any], ToolContext | None], str | None]:
    def build(config: dict[str, Any], ctx: ToolContext | None) -> str | None:
        return (
            f"<dict><key>Action</key><string>{how}</string>"
            "<key>MacroActionType</key><string>InsertText</string>"
            f"{_key('Text', str(config.get('text', '')))}</dict>"
        )

    return build


def _set_variable(config: dict[str, Any], ctx: ToolContext | None) -> str | None:
    variable = config.get("variable")
    if not variable:
        return None
    return (
        "<dict><key>MacroActionType</key><string>SetVariableToText</string>"
        f"{_key('Variable', str(variable))}{_key('Text', str(config.get('text', '')))}</dict>"
    )


def _applescript(config: dict[str, Any], ctx: ToolContext | None) -> str | None:
    return (
        "<dict><key>IncludedVariables</key><array/>"
        "<key>MacroActionType</key><string>ExecuteAppleScript</string>"
        f"<key>StopOnFailure</key><true/>{_key('Text', str(config.get('source', '')))}"
        "<key>TextSource</key><string>Text</string><key>UseText</key><true/></dict>"
    )


def _execute_macro(config: dict[str, Any], ctx: ToolContext | None) -> str | None:
    uid = config.get("target_macro_uid")
    if not uid:
        return None
    return (
        "<dict><key>Asynchronously</key><false/>"
        "<key>MacroActionType</key><string>ExecuteMacro</string>"
        f"{_key('MacroUID', str(uid))}<key>TimeOutAbortsMacro</key><true/>"
        "<key>UseParameter</key><false/></dict>"
    )


def _activate(config: dict[str, Any], ctx: ToolContext | None) -> str | None:
    name, bundle = str(config.get("app_name", "")), str(config.get("bundle_id", ""))
    if not name and not bundle:
        return None
    path = str(config.get("app_path", ""))
    return (
        f"<dict>{_flag('AllWindows', config.get('all_windows', True))}"
        f"{_key('AlreadyActivatedActionType', str(config.get('already_activated', 'Normal')))}"
        f"<key>Application</key><dict>{_key('BundleIdentifier', bundle)}{_key('Name', name)}"
        f"{_key('NewFile', path) if path else ''}</dict>"
        "<key>MacroActionType</key><string>ActivateApplication</string>"
        f"{_flag('ReopenWindows', config.get('reopen_windows', False))}"
        "<key>TimeOutAbortsMacro</key><true/></dict>"
    )


def _window(config: dict[str, Any], ctx: ToolContext | None) -> str | None:
    targeting = str(config.get("targeting", "FrontWindow"))
    return (
        f"<dict>{_key('Action', str(config.get('action', 'MoveAndResize')))}"
        f"{_key('HeightExpression', str(config.get('height', '300')))}"
        f"{_key('HorizontalExpression', str(config.get('x', '125')))}"
        "<key>MacroActionType</key><string>ManipulateWindow</string>"
        f"<key>TargetApplication</key><dict/>{_key('Targeting', targeting)}"
        f"{_key('TargetingType', 'Front' if targeting == 'FrontWindow' else 'Specific')}"
        f"{_key('VerticalExpression', str(config.get('y', '125')))}"
        f"{_key('WidthExpression', str(config.get('width', '300')))}"
        f"{_key('WindowIndexExpression', str(config.get('window_index', '1')))}"
        f"{_key('WindowName', str(config.get('window_name', '')))}</dict>"
    )


def _shell(config: dict[str, Any], ctx: ToolContext | None) -> str | None:
    source = str(config.get("source", ""))
    if not source:
        return None
    variable = str(config.get("destination_variable", ""))
    return (
        f"<dict>{_key('DisplayKind', str(config.get('display', 'Nothing')))}"
        "<key>HonourFailureSettings</key><true/><key>IncludeStdErr</key><false/>"
        "<key>MacroActionType</key><string>ExecuteShellScript</string>"
        f"<key>Path</key><string></string>{_key('Text', source)}"
        "<key>TimeOutAbortsMacro</key><true/><key>TrimResults</key><true/>"
        "<key>TrimResultsNew</key><true/><key>UseText</key><true/>"
        f"{_key('Variable', variable) if variable else ''}</dict>"
    )


def _plug_in(config: dict[str, Any], ctx: ToolContext | None) -> str | None:
    identifier = config.get("plugin_identifier")
    if not identifier or not isinstance(identifier, str) or ctx is None:
        return None
    target = identifier.strip()
    folder = next(
        (
            PurePosixPath(spec["bundle_path"]).name
            for spec in installed_plugins(ctx)
            if target and target in (spec["identifier"], PurePosixPath(spec["bundle_path"]).name)
        ),
        None,
    )
    kind = config.get("display_kind", "None")
    if folder is None or kind not in DISPLAY_KINDS:
        return None
    parameters = "".join(
        _key(escape(str(k)), str(v)) for k, v in (config.get("parameters") or {}).items()
    )
    variable = _key("Variable", str(config.get("variable", ""))) if kind == "Variable" else ""
    return (
        f"<dict><key>DisplayKind</key><string>{kind}</string>"
        "<key>IncludeStdErr</key><true/><key>MacroActionType</key><string>PlugIn</string>"
        f"{_key('PlugInFolderName', folder)}<key>PlugInParameters</key><dict>{parameters}</dict>"
        "<key>TimeOutAbortsMacro</key><true/><key>TrimResultsNew</key><true/>"
        f"{variable}</dict>"
    )


def _paste_xml(config: dict[str, Any], ctx: ToolContext | None) -> str | None:
    raw = (config or {}).get("xml")
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("paste_xml requires action_config={'xml': '<dict>...</dict>'}")
    parsed = _parse_dict_body(raw)
    if "MacroActionType" not in parsed:
        raise ValueError("action <dict> must contain a MacroActionType key")
    return raw


def _parse_dict_body(xml: str) -> dict[str, Any]:
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST '
        '1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n'
    )
    try:
        parsed = plistlib.loads(f"{head}{xml}\n</plist>\n".encode())
    except Exception as problem:  # plistlib's parse errors (InvalidFileException, ExpatError)
        raise ValueError(f"malformed action XML: {problem}") from None
    if not isinstance(parsed, dict):
        raise ValueError("template XML must be a plist <dict>")
    return parsed


def _catalog(identifier: str, config: dict[str, Any]) -> str | None:
    found = CATALOG_TEMPLATES.get(identifier)
    if found is None:
        return None
    kind, paths = found
    action: dict[str, Any] = plist.from_json(catalog()["action_templates"][kind])
    for key, value in config.items():
        if key not in paths:
            raise ValueError(f"unknown parameter {key!r}")
        action[paths[key]] = value
    full = plistlib.dumps(action, fmt=plistlib.FMT_XML, sort_keys=False).decode("utf-8")
    return full[full.index("<dict>") : full.rindex("</dict>") + len("</dict>")]


EMITTERS: dict[str, Callable[[dict[str, Any], ToolContext | None], str | None]] = {
    "pause": _pause,
    "type_text": _insert("ByTyping"),
    "paste": _insert("ByPasting"),
    "set_variable": _set_variable,
    "run_applescript": _applescript,
    "execute_macro": _execute_macro,
    "activate_application": _activate,
    "manipulate_window": _window,
    "execute_shell_script": _shell,
    "plug_in": _plug_in,
    "paste_xml": _paste_xml,
}


def action_xml(kind: str, config: dict[str, Any], ctx: ToolContext | None = None) -> str | None:
    """The action ``<dict>`` the server writes, None when it has none for ``kind`` (or a
    required setting is missing); ``ValueError`` for settings it refuses."""
    emitter = EMITTERS.get(kind)
    if emitter is not None:
        return emitter(config, ctx)
    return _catalog(kind, config or {})


def render_action(ctx: ToolContext, kind: str, config: dict[str, Any]) -> str | None:
    """:func:`action_xml` as a tool call meets it: settings of the wrong kind (``parameters``
    a list, an unhashable ``display_kind``) fail in the server's code with an exception it
    does not catch, which FastMCP answers as an error result (:class:`ServerCrash`)."""
    try:
        return action_xml(kind, config, ctx)
    except (AttributeError, TypeError) as crash:
        raise ServerCrash(str(crash)) from None


# -- km_action_builder ------------------------------------------------------------------------


def handle_action_builder(ctx: ToolContext) -> Answer:
    """km_action_builder: list, append, delete and clear a macro's actions."""
    if not ctx.engine_running():
        return engine_unreachable()
    return _OPERATIONS[ctx.args["operation"]](ctx)


def _macro_id(ctx: ToolContext) -> str:
    raw = ctx.args["macro_id"]
    return raw.strip() if raw else ""


def _list(ctx: ToolContext) -> Answer:
    macro_id = _macro_id(ctx)
    if not macro_id:
        return failure("VALIDATION_ERROR", "macro_id is required.", "Pass macro_id.")

    def read() -> str:
        lines = []
        for action in find_macro(ctx.km, macro_id)[1]["actions"]:
            name, enabled = library.action_texts(ctx.km, action)
            lines.append(f"{name}␟{'true' if enabled else 'false'}\n")
        return "".join(lines)

    try:
        output = run_guarded(ctx, f"set actList to actions of ({macro_selector(macro_id)})", read)
        caught(output)
    except KMProblem as problem:
        return failure("LIST_FAILED", problem.error.message, "Verify the macro exists.")
    actions = []
    for index, line in enumerate([line for line in output.split("\n") if line], start=1):
        parts = line.split("␟")
        enabled = parts[1].strip().lower() == "true" if len(parts) > 1 else True
        actions.append({"index": index, "name": parts[0], "enabled": enabled})
    return {"success": True, "data": {"macro_id": ctx.args["macro_id"], "actions": actions}}


def _append(ctx: ToolContext) -> Answer:
    macro_id, kind = _macro_id(ctx), ctx.args["action_type"]
    if not macro_id or not kind:
        return failure(
            "VALIDATION_ERROR",
            "macro_id and action_type are required for operation='append'.",
            "Pass both, plus action_config with type-appropriate fields.",
        )
    config = dict(ctx.args["action_config"] or {})
    if kind == "execute_macro":
        return _append_execute_macro(ctx, macro_id, config.get("target_macro"))
    try:
        xml = render_action(ctx, kind, config)
    except ValueError as problem:
        return failure(
            "VALIDATION_ERROR",
            f"action_config invalid for action_type '{kind}': {problem}",
            "Check parameter names against km_list_action_types output for this type.",
        )
    if xml is None:
        return failure(
            "UNSUPPORTED_ACTION_TYPE",
            f"action_type '{kind}' not supported, missing required config field, or (for "
            "plug_in) the plugin_identifier is not installed.",
            UNSUPPORTED_HINT,
        )
    try:
        append_action(ctx, macro_id, xml)
    except KMProblem as problem:
        return failure("APPEND_FAILED", problem.error.message, "Verify macro exists.")
    data = {"macro_id": ctx.args["macro_id"], "action_type": kind, "appended": True}
    return {"success": True, "data": data}


def _target(ctx: ToolContext, target: Any) -> tuple[str, str] | None:
    """``(name, uid)`` of the macro ``target`` names exactly (name or UUID)."""
    if not target or not isinstance(target, str) or not target.strip():
        return None
    try:
        macros = list_macros(ctx, enabled_only=False)
    except KMProblem:
        return None
    for record in macros:
        uid, name = str(record.get("id") or ""), str(record.get("name") or "")
        if uid and name and target.strip() in (uid, name):
            return name, uid
    return None


def _append_execute_macro(ctx: ToolContext, macro_id: str, target: Any) -> Answer:
    resolved = _target(ctx, target)
    if resolved is None:
        return failure(
            "EXECUTE_MACRO_TARGET_NOT_FOUND",
            f"target_macro {target!r} did not resolve to a known macro. KM's ExecuteMacro "
            "action requires a real MacroUID.",
            "Pass an existing macro name or UUID; list with km_list_macros.",
        )
    action = plist.parse_dict(_execute_macro({"target_macro_uid": resolved[1]}, None) or "")
    try:
        snapshot = fetch_snapshot(ctx, macro_id)
    except KMProblem as problem:
        code = (
            "EXECUTE_MACRO_MACRO_NOT_FOUND"
            if problem.error.code == "NOT_FOUND_ERROR"
            else "EXPORT_FAILED"
        )
        return failure(code, problem.error.message, "Verify the macro UID/name via km_list_macros.")
    new_plist = dict(snapshot.plist)
    new_plist["Actions"] = [*new_plist.get("Actions", []), action]
    try:
        rebuilt = rebuild(ctx, snapshot, new_plist)
    except KMProblem as problem:
        return failure(
            "IMPORT_FAILED",
            problem.error.message,
            "Inspect KM Editor for import dialogs or naming conflicts.",
        )
    return rotated(rebuilt, action_type="execute_macro", appended=True)


def _delete(ctx: ToolContext) -> Answer:
    macro_id, index = _macro_id(ctx), ctx.args["action_index"]
    if not macro_id or index is None:
        return failure(
            "VALIDATION_ERROR",
            "macro_id and action_index are required.",
            "Use operation='list' first to find the 1-indexed position.",
        )

    def delete() -> str:
        macro = find_macro(ctx.km, macro_id)[1]
        if not 1 <= index <= len(macro["actions"]):
            raise cant_get(f"action {index} of macro id {quoted(macro['uid'])}", KM, index=True)
        del macro["actions"][index - 1]
        library.touch(ctx.km, macro)
        return "deleted"

    try:
        caught(run_guarded(ctx, f"delete action {index} of ({macro_selector(macro_id)})", delete))
    except KMProblem as problem:
        return failure("DELETE_FAILED", problem.error.message, "Verify the index is valid.")
    return {"success": True, "data": {"macro_id": ctx.args["macro_id"], "action_index": index}}


def _clear(ctx: ToolContext) -> Answer:
    macro_id = _macro_id(ctx)
    if not macro_id:
        return failure("VALIDATION_ERROR", "macro_id is required.", "Pass macro_id.")

    def clear() -> str:
        macro = find_macro(ctx.km, macro_id)[1]
        macro["actions"].clear()
        library.touch(ctx.km, macro)
        return "cleared"

    try:
        caught(run_guarded(ctx, f"delete every action of ({macro_selector(macro_id)})", clear))
    except KMProblem as problem:
        return failure("CLEAR_FAILED", problem.error.message, "Verify the macro exists.")
    return {"success": True, "data": {"macro_id": ctx.args["macro_id"], "cleared": True}}


_OPERATIONS: dict[str, Callable[[ToolContext], Answer]] = {
    "list": _list,
    "append": _append,
    "delete": _delete,
    "clear": _clear,
}

HANDLERS: dict[str, Callable[[ToolContext], Answer]] = {
    "km_action_builder": handle_action_builder,
}
