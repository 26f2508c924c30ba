"""The `km_plugin_ecosystem` tool: its parameters, which apply to which operation, and
the envelope every answer comes in.

The seed's calling convention works as written: a caller may fill in every parameter
with its default (:data:`SEED_DEFAULTS`), and a parameter an operation does not use is
no error at its default; ``validation_level`` and ``timeout`` default to ``strict`` and
60 s where they apply.

>>> spec = OPERATIONS["execute"]
>>> sorted(spec.required), "auto_update" in spec.allowed
(['action_name'], False)
>>> check_arguments({"operation": "list", "timeout": 60, "auto_update": False})
('list', {'operation': 'list'})
>>> check_arguments({"operation": "validate", "plugin_source": "…"})[1]["validation_level"]
'strict'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import EngineError
from engine.limits import Profile
from engine.names import NameKind, check_name
from engine.server import hints
from engine.suggest import did_you_mean
from engine.validate import SUPPORTED_API_VERSIONS, ValidationLevel

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
        '("1.0"); refused if this km-actions does not read it.',
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
    "api_version": "1.0",
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


class ParameterError(EngineError):
    """A parameter is missing, not allowed for the operation, or of the wrong kind."""

    code = "invalid-parameter"


def check_arguments(arguments: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The operation and its arguments, or :class:`ParameterError` saying what is wrong."""
    operation = arguments.get("operation")
    if not isinstance(operation, str) or operation not in OPERATIONS:
        raise ParameterError(
            f"`operation` must be one of: {', '.join(OPERATIONS)}",
            hint=did_you_mean(str(operation), OPERATIONS)
            if operation
            else 'pass operation, e.g. {"operation": "list"}',
        )
    spec = OPERATIONS[operation]
    given = _at_defaults_dropped(operation, _seed_booleans(arguments))
    _check_names(operation, given)
    missing = sorted(k for k in spec.required if k not in given)
    if missing:
        raise ParameterError(
            f"`{operation}` needs `{missing[0]}`", hint=PARAMETERS[missing[0]]["description"]
        )
    if spec.one_of and not any(k in given for k in spec.one_of):
        names = " or ".join(f"`{k}`" for k in sorted(spec.one_of))
        raise ParameterError(
            f"`{operation}` needs {names}", hint=PARAMETERS[sorted(spec.one_of)[0]]["description"]
        )
    for name, value in given.items():
        _check_type(name, value)
    if "plugin_identifier" in given:
        _check_identifier(given["plugin_identifier"])
    if operation in OPTIONS and "parameters" in given:
        _check_options(operation, given["parameters"])
    for name, value in APPLIED_DEFAULTS.items():
        if name in spec.allowed:
            given.setdefault(name, value)
    return operation, given


def _seed_booleans(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments given (none that is null), ``dependency_resolution`` as a mode."""
    given = {k: v for k, v in arguments.items() if v is not None}
    resolution = given.get("dependency_resolution")
    if isinstance(resolution, bool):
        given["dependency_resolution"] = DEPENDENCY_BOOLEANS[resolution]
    return given


def _at_defaults_dropped(operation: str, given: dict[str, Any]) -> dict[str, Any]:
    """Without the parameters ``operation`` does not use that are at their default."""
    allowed = OPERATIONS[operation].allowed
    return {
        name: value
        for name, value in given.items()
        if name in allowed or not _is_default(name, value)
    }


def _is_default(name: str, value: Any) -> bool:
    default = SEED_DEFAULTS.get(name, _NO_DEFAULT)
    # `False == 0` and `1 == 1.0` in Python: a default must match in kind too.
    return bool(value == default and isinstance(value, bool) is isinstance(default, bool))


_NO_DEFAULT = object()


def _check_names(operation: str, given: Mapping[str, Any]) -> None:
    """Report every unknown parameter and every one that does not apply, all at once."""
    unknown = [k for k in given if k not in PARAMETERS]
    extra = sorted(k for k in given if k in PARAMETERS and k not in OPERATIONS[operation].allowed)
    messages: list[str] = []
    hints: list[str] = []
    if unknown:
        messages.append(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} "
            + ", ".join(f"`{k}`" for k in unknown)
        )
        hints.append(_unknown_hint(unknown, PARAMETERS))
    if extra:
        messages.append(
            f"{', '.join(f'`{k}`' for k in extra)} "
            f"do{'es' if len(extra) == 1 else ''} not apply to `{operation}`"
        )
        accepted = ", ".join(sorted(OPERATIONS[operation].allowed - {"operation"}))
        hints.append(f"`{operation}` takes: {accepted or 'no other parameters'}")
    if messages:
        raise ParameterError("; ".join(messages), hint="; ".join(hints))


_PYTHON: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "object": dict,
    "boolean": bool,
    "number": (int, float),
    "integer": int,
}


def _check_type(name: str, value: Any) -> None:
    schema = PARAMETERS[name]
    expected = schema["type"]
    if isinstance(expected, list):  # dependency_resolution: its booleans are modes by now
        expected = expected[0]
    if not isinstance(value, _PYTHON[expected]) or (
        expected == "number" and isinstance(value, bool)
    ):
        raise ParameterError(f"`{name}` must be {_WORDS[expected]}", hint=schema["description"])
    if "enum" in schema and value not in schema["enum"]:
        words = [str(v) for v in schema["enum"] if isinstance(v, str)]
        raise ParameterError(f"`{name}` cannot be {value!r}", hint=did_you_mean(str(value), words))
    if expected == "number" and isinstance(value, int | float) and not 0 < value <= 3600:
        raise ParameterError(
            "`timeout` must be more than 0 and at most 3600 seconds", hint=schema["description"]
        )


def _check_identifier(value: str) -> None:
    """A plugin identifier names folders and files of the store: checked here, before
    any operation sees it (and again where paths are built)."""
    try:
        check_name(value, NameKind.PLUGIN)
    except EngineError as error:
        raise ParameterError(
            f"`plugin_identifier` {error.message}",
            code=error.code,
            hint=error.hint,
            path=("plugin_identifier",),
        ) from None


_WORDS = {
    "string": "text",
    "object": "an object",
    "boolean": "true or false",
    "number": "a number",
    "integer": "a whole number",
}

#: The keys `parameters` holds for the operations that take options (not a manifest or
#: an action's inputs), with their types.
OPTIONS: dict[str, dict[str, str]] = {
    "list": {"plugin_type": "string", "enabled": "boolean", "search": "string"},
    "search": {"query": "string", "plugin_type": "string"},
    "uninstall": {"remove_dependents": "boolean"},
    "stats": {"since": "string", "recent": "integer", "run": "integer"},
}


_EXAMPLES = {"boolean": "true}", "integer": "10}"}


def _check_options(operation: str, options: Mapping[str, Any]) -> None:
    """Refuse an option `operation` does not know, or one of the wrong kind."""
    known = OPTIONS[operation]
    unknown = [k for k in options if k not in known]
    if unknown:
        raise ParameterError(
            f"`parameters` of `{operation}` cannot hold " + ", ".join(f"`{k}`" for k in unknown),
            hint=_unknown_hint(unknown, known),
        )
    for key, value in options.items():
        expected = known[key]
        if value is not None and (
            not isinstance(value, _PYTHON[expected])
            or (expected != "boolean" and isinstance(value, bool))
        ):
            raise ParameterError(
                f"`parameters.{key}` must be {_WORDS[expected]}",
                hint=f'e.g. {{"{key}": ' + _EXAMPLES.get(expected, '"…"}'),
            )


def _unknown_hint(unknown: list[str], known: Mapping[str, Any]) -> str:
    """Did-you-mean for each unknown name that is close to a known one, else the list."""
    guesses = [(name, did_you_mean(name, known, listing=False)) for name in unknown]
    close = [f"`{name}`: {guess}" for name, guess in guesses if guess]
    if len(unknown) == 1 and close:
        return str(guesses[0][1])
    listing = "expected one of: " + ", ".join(sorted(known))
    return "; ".join([*close, listing])


def check_api_version(args: Mapping[str, Any]) -> None:
    """Refuse an ``api_version`` this km-actions does not read."""
    wanted = args.get("api_version")
    if wanted is not None and wanted not in SUPPORTED_API_VERSIONS:
        raise EngineError(
            f"this km-actions reads api_version {', '.join(SUPPORTED_API_VERSIONS)}, not "
            f"{wanted!r}",
            code="unsupported-api-version",
            hint='write the manifest for api_version "1.0", or upgrade km-actions',
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
