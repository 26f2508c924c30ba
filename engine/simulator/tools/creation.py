"""km_create_macro (a template imported as a new macro) and km_list_templates.

Every template is imported as a .kmmacros document into the named group (Keyboard Maestro
11 has no ``make new macro``), then enabled when asked (imports arrive disabled). The
template list is the server's static answer, recorded in ``engine/data/km_macro_templates.json``.

>>> from engine.simulator._state import SimulatorState
>>> from datetime import UTC, datetime
>>> state, now = SimulatorState.seeded(), datetime(2026, 5, 4, tzinfo=UTC)
>>> args = {"name": "Sig", "template": "text_expansion", "group_name": "examples",
...     "enabled": True, "parameters": {"text": "Best"}}
>>> answer = handle_create_macro(ToolContext("km_create_macro", args, state, now))
>>> answer["data"]["group_name"], answer["data"]["hotkey_attached"]
('Examples', False)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from functools import cache
from typing import Any

from engine.resources import data_text
from engine.simulator.km import plist
from engine.simulator.tools._imports import import_new_macro
from engine.simulator.tools._km import KMProblem, set_macro_enabled
from engine.simulator.tools.actions import action_xml
from engine.simulator.tools.context import Answer, ToolContext, failure
from engine.simulator.tools.triggers import trigger_config_xml

__all__ = ["HANDLERS"]

Actions = list[dict[str, Any]]
HotKeySpec = dict[str, Any] | None


class _Unsupported(ValueError):
    """A template asked for an action type the server's builder has no XML for."""


def _app_launcher(parameters: dict[str, Any]) -> tuple[Actions, HotKeySpec]:
    name, bundle = parameters.get("app_name", ""), parameters.get("bundle_id", "")
    if not name and not bundle:
        raise ValueError("app_launcher needs 'app_name' or 'bundle_id'")
    action = {
        "type": "activate_application",
        "app_name": name or "",
        "bundle_id": bundle or "",
        "all_windows": parameters.get("all_windows", True),
        "reopen_windows": parameters.get("reopen_windows", False),
    }
    return [action], None


def _text_expansion(parameters: dict[str, Any]) -> tuple[Actions, HotKeySpec]:
    text = parameters.get("expansion_text") or parameters.get("text")
    if not text:
        raise ValueError("text_expansion needs 'expansion_text' (or 'text')")
    return [{"type": "type_text", "text": text}], None


def _file_processor(parameters: dict[str, Any]) -> tuple[Actions, HotKeySpec]:
    script = parameters.get("script") or parameters.get("source")
    if not script:
        raise ValueError(
            "file_processor needs 'script' — the shell script to run against the file. "
            "Use %TriggerValue% to reference the file path."
        )
    display = parameters.get("display", "Nothing")
    return [{"type": "execute_shell_script", "source": script, "display": display}], None


WINDOW_OPERATIONS = {"move": "MoveAndResize", "resize": "Resize", "arrange": "MoveAndResize"}


def _window_manager(parameters: dict[str, Any]) -> tuple[Actions, HotKeySpec]:
    requested = str(parameters.get("operation", "MoveAndResize"))
    action = {
        "type": "manipulate_window",
        "action": WINDOW_OPERATIONS.get(requested.lower(), requested),
        "x": str(parameters.get("x", "0")),
        "y": str(parameters.get("y", "0")),
        "width": str(parameters.get("width", "800")),
        "height": str(parameters.get("height", "600")),
        "targeting": parameters.get("targeting", "FrontWindow"),
    }
    return [action], None


def _hotkey_action(parameters: dict[str, Any]) -> tuple[Actions, HotKeySpec]:
    inner = parameters.get("action", "type_text")
    if inner == "open_app":
        actions: Actions = [
            {
                "type": "activate_application",
                "app_name": parameters.get("app_name", ""),
                "bundle_id": parameters.get("bundle_id", ""),
            }
        ]
    elif inner in ("type_text", "run_script"):
        field = "text" if inner == "type_text" else "script"
        value = parameters.get(field, "")
        if not value:
            raise ValueError(f"hotkey_action action='{inner}' needs '{field}'")
        actions = (
            [{"type": "type_text", "text": value}]
            if inner == "type_text"
            else [{"type": "execute_shell_script", "source": value}]
        )
    else:
        raise _Unsupported(
            f"hotkey_action inner action {inner!r} not supported. "
            "Use 'open_app' / 'type_text' / 'run_script'."
        )
    spec = None
    if parameters.get("hotkey"):
        spec = {"key": parameters["hotkey"], "modifiers": parameters.get("modifiers", [])}
    return actions, spec


TRANSLATORS: dict[str, Callable[[dict[str, Any]], tuple[Actions, HotKeySpec]]] = {
    "app_launcher": _app_launcher,
    "text_expansion": _text_expansion,
    "file_processor": _file_processor,
    "window_manager": _window_manager,
    "hotkey_action": _hotkey_action,
}


def _render(template: str, parameters: dict[str, Any]) -> tuple[Actions, Actions]:
    """The template's actions and triggers as plist dicts (the server renders XML and
    parses it back into the import document)."""
    if template == "custom":
        return [], []
    actions, hotkey = TRANSLATORS[template](parameters)
    dicts = []
    for action in actions:
        kind = action.get("type")
        xml = action_xml(str(kind), {k: v for k, v in action.items() if k != "type"})
        if xml is None:
            raise _Unsupported(
                f"Template {template!r} requested action_type {kind!r} which is not in the "
                "action_builder emitter set."
            )
        dicts.append(plist.parse(xml))
    triggers = []
    if hotkey:
        try:
            triggers.append(plist.parse(trigger_config_xml("hotkey", hotkey)))
        except KMProblem as problem:
            raise ValueError(problem.error.message) from None
    return dicts, triggers


def _failure(ctx: ToolContext, code: str, message: str, suggestion: str) -> Answer:
    metadata = {"timestamp": ctx.utc_timestamp(), "template_type": ctx.args["template"]}
    return {**failure(code, message, suggestion), "metadata": metadata}


def handle_create_macro(ctx: ToolContext) -> Answer:
    """km_create_macro: the template rendered, imported into the group, enabled if asked."""
    args = ctx.args
    template, group = args["template"], args["group_name"]
    if not group:
        return _failure(
            ctx,
            "VALIDATION_ERROR",
            "group_name is required for kmmacros template creation.",
            "Pass group_name; list groups with km_macro_group_manager operation='list'.",
        )
    try:
        actions, triggers = _render(template, args["parameters"] or {})
    except _Unsupported as problem:
        return _failure(
            ctx,
            "UNSUPPORTED_TEMPLATE_ACTION",
            str(problem),
            "Use template='custom' and chain km_action_builder for unsupported action types.",
        )
    except ValueError as problem:
        return _failure(
            ctx,
            "VALIDATION_ERROR",
            str(problem),
            "Check the parameters dict against the template's required fields.",
        )
    try:
        made = import_new_macro(ctx, group, args["name"], actions, triggers)
    except KMProblem as problem:
        message = problem.error.message
        return _failure(
            ctx,
            "GROUP_NOT_FOUND" if "not found" in message.lower() else "IMPORT_FAILED",
            message,
            "Verify the group exists and KM is running; first-time imports may show a "
            "permission prompt.",
        )
    if args["enabled"]:
        with suppress(KMProblem):  # the server only logs a failed toggle
            set_macro_enabled(ctx, made["macro_id"], True)
    return {
        "success": True,
        "data": {
            "macro_id": made["macro_id"],
            "macro_name": made["name"],
            "template_used": template,
            "group_id": made["group_id"],
            "group_name": made["group_name"],
            "enabled": args["enabled"],
            "hotkey_attached": bool(triggers),
            "creation_timestamp": ctx.utc_timestamp(),
        },
        "metadata": {
            "timestamp": ctx.utc_timestamp(),
            "creation_method": "kmmacros_import",
            "template_type": template,
        },
    }


@cache
def macro_templates() -> dict[str, Any]:
    """The server's template descriptions (what km_list_templates answers)."""
    templates: dict[str, Any] = json.loads(data_text("km_macro_templates.json"))["templates"]
    return templates


def handle_list_templates(ctx: ToolContext) -> Answer:
    """km_list_templates: the server's six templates, described."""
    templates = json.loads(json.dumps(macro_templates()))  # a fresh copy per answer
    return {
        "success": True,
        "data": {
            "templates": templates,
            "total_templates": len(templates),
            "template_names": list(templates),
        },
        "metadata": {
            "timestamp": ctx.utc_timestamp(),
            "template_version": "1.0.0",
            "security_validated": True,
        },
    }


HANDLERS: dict[str, Callable[[ToolContext], Answer]] = {
    "km_create_macro": handle_create_macro,
    "km_list_templates": handle_list_templates,
}
