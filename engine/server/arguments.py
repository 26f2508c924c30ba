"""The arguments of a `km_plugin_ecosystem` call, checked before any operation runs.

Every unknown parameter is named with what was probably meant, every one that does not
apply to the operation is named too, all in one answer. The seed's calling convention
works as written: a parameter the operation does not use is dropped at its default
(:data:`engine.server.ecosystem.SEED_DEFAULTS`), ``dependency_resolution`` takes the
seed's booleans, and ``validation_level`` and ``timeout`` get their defaults where they
apply.

>>> check_arguments({"operation": "list", "timeout": 60, "auto_update": False})
('list', {'operation': 'list'})
>>> check_arguments({"operation": "list", "api_version": "1.1"})
('list', {'operation': 'list'})
>>> check_arguments({"operation": "validate", "plugin_source": "…"})[1]["validation_level"]
'strict'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.diagnostics.errors import EngineError
from engine.diagnostics.suggestions import did_you_mean
from engine.diagnostics.words import TYPE_WORDS
from engine.load.versions import version_problem
from engine.server.ecosystem import (
    APPLIED_DEFAULTS,
    DEPENDENCY_BOOLEANS,
    OPERATIONS,
    PARAMETERS,
    SEED_DEFAULTS,
)
from engine.validate.names import NameKind, check_action_reference, check_name


class ParameterError(EngineError):
    """A parameter is missing, not allowed for the operation, or of the wrong kind."""

    code = "invalid-parameter"


def check_arguments(arguments: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The operation and its arguments, or :class:`ParameterError` saying what is wrong."""
    operation = arguments.get("operation")
    if not isinstance(operation, str) or operation not in OPERATIONS:
        # The list is in the message (in the order the tool's description gives):
        # the hint is a close name, or an example, never the list again in another order.
        close = did_you_mean(str(operation), OPERATIONS, listing=False) if operation else None
        raise ParameterError(
            f"`operation` must be one of: {', '.join(OPERATIONS)}",
            hint=close or 'pass operation, e.g. {"operation": "list"}',
            path=("operation",),
        )
    spec = OPERATIONS[operation]
    given = _at_defaults_dropped(operation, _seed_booleans(arguments))
    _check_names(operation, given)
    missing = sorted(k for k in spec.required if k not in given)
    if missing:
        raise ParameterError(
            f"`{operation}` needs `{missing[0]}`",
            hint=example(missing[0], operation),
            path=(missing[0],),
        )
    if spec.one_of and not any(k in given for k in spec.one_of):
        names = " or ".join(f"`{k}`" for k in sorted(spec.one_of))
        raise ParameterError(
            f"`{operation}` needs {names}",
            hint="; or ".join(example(k, operation) for k in sorted(spec.one_of)),
            path=(sorted(spec.one_of)[0],),
        )
    for name, value in given.items():
        _check_type(name, value, operation)
    if "plugin_identifier" in given:
        _check_name("plugin_identifier", _plugin_identifier, given["plugin_identifier"])
    if "action_name" in given:
        _check_name("action_name", check_action_reference, given["action_name"])
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
    if name == "api_version" and isinstance(value, str) and version_problem(value) is None:
        return True  # the seed's "1.0", or any other version read: as harmless to drop
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
        raise ParameterError(
            "; ".join(messages), hint="; ".join(hints), path=((unknown or extra)[0],)
        )


_PYTHON: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "object": dict,
    "boolean": bool,
    "number": (int, float),
    "integer": int,
}


#: A value of each parameter, as a caller writes it (``parameters``: by operation).
_SHAPES: Mapping[str, str] = {
    "plugin_identifier": '"clipboard-tools"',
    "plugin_source": '"/Users/me/km-plugins/clipboard-tools"',
    "action_name": '"mcp-created/shout"',
    "plugin_config": '{"share_token": "…"}',
    "security_profile": '"strict"',
    "api_version": '"1.1"',
    "auto_update": "true",
    "dependency_resolution": '"installed"',
    "validation_level": '"standard"',
    "timeout": "120",
}
_PARAMETERS_SHAPES: Mapping[str, str] = {
    "execute": '{"text": "hi"}}: the action\'s inputs, by name',
    "create": '{"api_version": "1.1", "kind": "action", "name": "…", …}}: the manifest',
    "validate": '{"api_version": "1.1", "kind": "action", "name": "…", …}}: the manifest',
    "list": '{"enabled": true}}',
    "search": '{"query": "clipboard"}}',
    "uninstall": '{"remove_dependents": true}}',
    "stats": '{"recent": 10}}',
}


def example(name: str, operation: str) -> str:
    """A short example of the parameter ``name`` for ``operation``, as the hint of an
    error about it.

    >>> print(example("parameters", "execute"))
    e.g. {"parameters": {"text": "hi"}}: the action's inputs, by name
    >>> print(example("action_name", "execute"))
    e.g. {"action_name": "mcp-created/shout"}
    """
    if name == "parameters":
        return f'e.g. {{"parameters": {_PARAMETERS_SHAPES.get(operation, "{…}}")}'
    if name == "plugin_source" and operation in ("create", "validate"):
        return 'e.g. {"plugin_source": "api_version: \'1.1\'\\nkind: action\\n…"}: the manifest'
    return f'e.g. {{"{name}": {_SHAPES[name]}}}'


def _check_type(name: str, value: Any, operation: str) -> None:
    schema = PARAMETERS[name]
    expected = schema["type"]
    if isinstance(expected, list):  # dependency_resolution: its booleans are modes by now
        expected = expected[0]
    if not isinstance(value, _PYTHON[expected]) or (
        expected == "number" and isinstance(value, bool)
    ):
        raise ParameterError(
            f"`{name}` must be {TYPE_WORDS[expected]}",
            hint=example(name, operation),
            path=(name,),
        )
    if "enum" in schema and value not in schema["enum"]:
        words = [str(v) for v in schema["enum"] if isinstance(v, str)]
        raise ParameterError(
            f"`{name}` cannot be {value!r}", hint=did_you_mean(str(value), words), path=(name,)
        )
    if expected == "number" and isinstance(value, int | float) and not 0 < value <= 3600:
        raise ParameterError(
            "`timeout` must be more than 0 and at most 3600 seconds",
            hint=example(name, operation),
            path=(name,),
        )


def _check_name(parameter: str, check: Callable[[str], object], value: str) -> None:
    """A plugin identifier or an action's name names folders and files of the store:
    checked here (``check``), before any operation sees it (and again where paths are
    built), and refused at the parameter."""
    try:
        check(value)
    except EngineError as error:
        raise ParameterError(
            f"`{parameter}` {error.message}",
            code=error.code,
            hint=error.hint,
            path=(parameter,),
        ) from None


def _plugin_identifier(value: str) -> None:
    check_name(value, NameKind.PLUGIN)


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
            path=("parameters", unknown[0]),
        )
    for key, value in options.items():
        expected = known[key]
        if value is not None and (
            not isinstance(value, _PYTHON[expected])
            or (expected != "boolean" and isinstance(value, bool))
        ):
            raise ParameterError(
                f"`parameters.{key}` must be {TYPE_WORDS[expected]}",
                hint=f'e.g. {{"{key}": ' + _EXAMPLES.get(expected, '"…"}'),
                path=("parameters", key),
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
    problem = None if wanted is None else version_problem(wanted, "the manifest")
    if problem is not None:
        raise EngineError(
            problem[0], code="unsupported-api-version", hint=problem[1], path=("api_version",)
        )
