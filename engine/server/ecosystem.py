"""The `km_plugin_ecosystem` tool: its parameters, which apply to which operation, and
the envelope every answer comes in.

The seed's calling convention works as written: a caller may fill in every parameter
with its default (:data:`SEED_DEFAULTS`), and a parameter an operation does not use is
no error at its default; ``validation_level`` and ``timeout`` default to ``strict`` and
60 s where they apply.

>>> spec = OPERATIONS["execute"]
>>> sorted(spec.required), "auto_update" in spec.allowed
(['action_name'], False)

The arguments of a call are checked against these in :mod:`engine.server.arguments`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import EngineError
from engine.limits import Profile
from engine.server import hints
from engine.validate import ValidationLevel
from engine.versions import CURRENT

TOOL_NAME = "km_plugin_ecosystem"

DEPENDENCY_MODES = ("auto", "installed", "upgrade")
#: The seed's booleans for `dependency_resolution`: resolve dependencies, or not.
DEPENDENCY_BOOLEANS = {True: "auto", False: "installed"}


@dataclass(frozen=True)
class Operation:
    """One operation: what it does, the parameters it requires and those it accepts."""

    summary: str
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    one_of: frozenset[str] = frozenset()

    @property
    def allowed(self) -> frozenset[str]:
        return self.required | self.optional | self.one_of | {"operation"}


def _op(
    summary: str,
    required: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
    one_of: tuple[str, ...] = (),
) -> Operation:
    return Operation(summary, frozenset(required), frozenset(optional), frozenset(one_of))


OPERATIONS: dict[str, Operation] = {
    "install": _op(
        "Install a plugin from a folder, an archive (.zip/.tar.gz), an action file, a URL, or "
        "the marketplace (id or id@range).",
        required=("plugin_source",),
        # No validation_level: whatever is installed is checked in full, always.
        optional=(
            "security_profile",
            "api_version",
            "auto_update",
            "dependency_resolution",
            "timeout",
            "plugin_config",
        ),
    ),
    "uninstall": _op(
        "Remove an installed plugin (refused while others depend on it, unless "
        "parameters.remove_dependents is true).",
        required=("plugin_identifier",),
        optional=("parameters",),
    ),
    "list": _op(
        "List installed plugins and their actions (parameters: plugin_type, enabled, search).",
        optional=("parameters",),
    ),
    "create": _op(
        "Create an action from a manifest (an object in `parameters`, or YAML/JSON text in "
        "`plugin_source`) and install it. On failure every problem is returned.",
        one_of=("parameters", "plugin_source"),
        optional=(
            "plugin_identifier",
            "security_profile",
            "api_version",
            "validation_level",
            "timeout",
        ),
    ),
    "execute": _op(
        "Run an installed action with `parameters` as its inputs.",
        required=("action_name",),
        optional=("plugin_identifier", "parameters", "security_profile", "timeout"),
    ),
    "configure": _op(
        "Change a plugin's settings (validated against its configuration_schema).",
        required=("plugin_identifier", "plugin_config"),
    ),
    "enable": _op(
        "Serve a disabled plugin's actions (and hooks) again.", required=("plugin_identifier",)
    ),
    "disable": _op(
        "Keep a plugin installed, its actions (and hooks) unavailable.",
        required=("plugin_identifier",),
    ),
    "validate": _op(
        "Check a manifest as `create` would (the same checks, tests at strict), without "
        "installing it; returns every problem.",
        one_of=("parameters", "plugin_source"),
        optional=("plugin_identifier", "api_version", "validation_level"),
    ),
    "describe": _op(
        "Describe a plugin (metadata, actions, permissions, settings, dependencies), or "
        "one action (its inputs, outputs, the tools it calls, its permissions).",
        one_of=("plugin_identifier", "action_name"),
    ),
    "test": _op(
        "Run the tests written in a plugin's actions (mocked tools).",
        required=("plugin_identifier",),
        optional=("action_name", "timeout"),
    ),
    "search": _op(
        "Search the marketplace (parameters: query, plugin_type).", optional=("parameters",)
    ),
    "update": _op(
        "Update one plugin, or every plugin with auto_update on, to the highest "
        "version its dependents allow.",
        optional=(
            "plugin_identifier",
            "dependency_resolution",
            "security_profile",
            "timeout",
            "auto_update",
        ),
    ),
    "stats": _op(
        "Execution statistics per action: runs, error rate, failure kinds, p50/p95/max "
        "duration, slowest steps (of a plugin or action, or of everything), and the recent "
        "runs (parameters: since, e.g. 1h or 7d; recent; run, a run's id for its trace).",
        optional=("plugin_identifier", "action_name", "parameters"),
    ),
}

PARAMETERS: dict[str, dict[str, Any]] = {
    "operation": {
        "type": "string",
        "enum": list(OPERATIONS),
        "description": "What to do: "
        + "; ".join(f"{name}: {op.summary}" for name, op in OPERATIONS.items()),
    },
    "plugin_identifier": {
        "type": "string",
        "description": "The plugin to act on (e.g. clipboard-tools).",
    },
    "plugin_source": {
        "type": "string",
        "description": "install: a folder, archive, action file, URL or "
        "marketplace id[@range]; create/validate: manifest text (YAML or JSON).",
    },
    "action_name": {
        "type": "string",
        "description": "An action: plugin/action, or its name alone (with "
        "plugin_identifier, or when only one installed action has it).",
    },
    "parameters": {
        "type": "object",
        "description": "execute: the action's inputs; create/validate: the manifest "
        "as an object; list/search: filters; uninstall: {remove_dependents}; stats: "
        "{since, recent, run}.",
    },
    "plugin_config": {"type": "object", "description": "configure/install: settings, by name."},
    "security_profile": {
        "type": "string",
        "enum": [p.value for p in Profile],
        "description": "Limits and allowed tool classes for this operation "
        "(sandbox: read-only operations only). Cannot be looser than the server's default.",
    },
    "api_version": {
        "type": "string",
        "description": "The manifest language version the caller writes "
        f'("{CURRENT}"; "1.0" is read too); refused if this km-actions does not read it.',
    },
    "auto_update": {
        "type": "boolean",
        "description": "install: keep the plugin updated (by the server on its own, and by "
        "`update`); update: only plugins with auto_update on (default).",
    },
    "dependency_resolution": {
        "type": ["string", "boolean"],
        "enum": [*DEPENDENCY_MODES, True, False],
        "default": "auto",
        "description": "auto (or true): install missing dependencies; installed (or "
        "false): use only installed plugins; upgrade: also upgrade dependencies.",
    },
    "validation_level": {
        "type": "string",
        "enum": [v.value for v in ValidationLevel],
        "default": "strict",
        "description": "create/validate: how much to check; strict (the default) also "
        "requires descriptions and `tests:`, and runs them.",
    },
    "timeout": {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 3600,
        "default": 60,
        "description": "Seconds the operation may take (60 unless told).",
    },
}

#: Every parameter's default in the seed's calling convention (``dependency_resolution``
#: as the mode its ``true`` means). A call may give them all: one an operation does not
#: use is dropped when it is at its default, and refused otherwise.
SEED_DEFAULTS: Mapping[str, Any] = {
    "security_profile": "standard",
    "api_version": "1.0",  # the seed's own default (1.0 is still read)
    "auto_update": False,
    "dependency_resolution": "auto",
    "validation_level": "strict",
    "timeout": 60,
}

#: What an operation that takes these parameters gets when the caller leaves them out.
APPLIED_DEFAULTS: Mapping[str, Any] = {"validation_level": "strict", "timeout": 60}

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": PARAMETERS,
    "required": ["operation"],
    "additionalProperties": False,
}

DESCRIPTION = (
    "Manage and run km-actions custom actions: YAML/JSON manifests that compose km_* "
    "Keyboard Maestro tools. Operations: " + ", ".join(OPERATIONS) + ". To add an action, "
    "read the prompt write-action (rules, templates and expressions, an example, the tools "
    "you may use and what each answers), then `create` it; `validate` answers exactly what "
    "`create` would. validation_level is strict unless told: the action and each input need "
    "a description, and `tests:` (with the tools' answers mocked) must pass. A refusal lists "
    "every problem with its JSON path, line and a hint. Run an action with `execute` "
    "(action_name: its name, or plugin/action). Every parameter may be given at its "
    "default, even where an operation does not use it."
)


def description(ceiling: tuple[str, ...]) -> str:
    """The tool's description on a server whose MCP callers may grant ``ceiling``.

    >>> description(("read-only", "write")).endswith("only the user can grant more.")
    True
    """
    return f"{DESCRIPTION} {ceiling_sentence(ceiling)}"


def ceiling_sentence(ceiling: tuple[str, ...]) -> str:
    """What an action created or installed over MCP may be granted, in one sentence.

    >>> ceiling_sentence(("read-only", "write"))  # doctest: +NORMALIZE_WHITESPACE
    'Permissions: an action created or installed over MCP here may be granted what the
    ceiling allows (read-only, write), operation by operation: km_variable_manager get and
    list are read-only, set writes, delete is destructive (km-actions://catalog gives every
    class), so name the operations an action uses, e.g. `permissions:
    [km_variable_manager:get, km_variable_manager:set]`; only the user can grant more.'
    """
    return (
        "Permissions: an action created or installed over MCP here may be granted what the "
        f"ceiling allows ({', '.join(ceiling)}), operation by operation: km_variable_manager "
        "get and list are read-only, set writes, delete is destructive (km-actions://catalog "
        "gives every class), so name the operations an action uses, e.g. `permissions: "
        "[km_variable_manager:get, km_variable_manager:set]`; only the user can grant more."
    )


def success(
    operation: str, data: Any, *, warnings: list[Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """The envelope of a successful operation."""
    return {
        "success": True,
        "operation": operation,
        "data": data,
        "warnings": hints.rewrite(warnings or []),
        **extra,
    }


def failure(
    operation: str | None, error: EngineError, *, warnings: list[Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """The envelope of a failed operation: code, message, location and hint."""
    return {
        "success": False,
        "operation": operation,
        "error": hints.rewrite(error.to_dict()),
        "warnings": hints.rewrite(warnings or []),
        **extra,
    }
