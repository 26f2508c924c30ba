"""Rendered values checked and coerced: tool arguments, action inputs, wait seconds.

Tool arguments are checked against the tool's inputSchema: each argument gets a checker
compiled once from its property schema. A value of an allowed type passes (further
keywords checked by jsonschema only when the schema has them); otherwise the checker
coerces where the schema is clear ("3" → 3 only where it says integer, 3 → "3" where it
says string) or raises ``invalid-arguments``. The inputs an `action:` step passes are
coerced the same way (:func:`coerce_to`), and a `wait` value must be a number of seconds
(:func:`wait_seconds`).

>>> check = compile_checker("km_x", "count", {"type": "integer"})
>>> check("3"), check(4)
(3, 4)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import jsonschema

from engine.diagnostics.errors import ErrorKind, StepError
from engine.diagnostics.words import EXACT_TYPES, TYPE_WORDS, described
from engine.lang.secrets import schema_message, show
from engine.run.model import Site

Checker = Callable[[Any], Any]
# isinstance wants a tuple of types.
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    kind: tuple(types) for kind, types in EXACT_TYPES.items()
}
_ANNOTATIONS = frozenset(
    {
        "type",
        "description",
        "title",
        "default",
        "examples",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)


def _options(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return [o for o in schema[key] if isinstance(o, Mapping)]
    return [schema]


def _types(option: Mapping[str, Any]) -> list[str]:
    """The JSON types an option allows (``any`` when it says nothing about type)."""
    t = option.get("type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [str(x) for x in t]
    return ["any"]


@lru_cache(maxsize=1024)
def _validator(schema_json: str) -> Any:
    return jsonschema.Draft202012Validator(json.loads(schema_json))


def _has_type(value: Any, json_type: str) -> bool:
    if json_type in ("integer", "number") and isinstance(value, bool):
        return False
    if json_type == "integer" and isinstance(value, float):
        return False
    return isinstance(value, _PYTHON_TYPES.get(json_type, object))


def _coerce(value: Any, json_type: str) -> Any:
    """``value`` converted to ``json_type`` when that is unambiguous; else raise ValueError."""
    if json_type == "integer":
        if isinstance(value, str):
            return int(value.strip())
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif json_type == "number" and isinstance(value, str):
        number = float(value.strip())
        if math.isfinite(number):
            return int(number) if number.is_integer() and "." not in value else number
    elif json_type == "boolean" and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    elif json_type == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(json_type)


def coerce_to(json_type: str, value: Any) -> Any:
    """``value`` as ``json_type`` when it is not one yet and the conversion is the same
    as for tool arguments ("3" → 3 for integer, 3 → "3" for string, "true" → True);
    otherwise ``value`` unchanged, for the caller's own check to report.

    >>> coerce_to("integer", "3"), coerce_to("string", 3), coerce_to("integer", "x")
    (3, '3', 'x')
    """
    if json_type not in _PYTHON_TYPES or _has_type(value, json_type):
        return value
    try:
        return _coerce(value, json_type)
    except (ValueError, TypeError):
        return value


def fast_types(schema: Mapping[str, Any]) -> frozenset[type] | None:
    """Exact Python types that pass the schema with no further check (None: always check).

    >>> sorted(t.__name__ for t in fast_types({"anyOf": [{"type": "string"}, {"type": "null"}]}))
    ['NoneType', 'str']
    """
    if _needs_full(schema):
        return None
    allowed = [t for o in _options(schema) for t in _types(o)]
    if not allowed or "any" in allowed:
        return None
    out: set[type] = set()
    for json_type in allowed:
        out |= EXACT_TYPES.get(json_type, frozenset())
    return frozenset(out)


def _needs_full(schema: Mapping[str, Any]) -> bool:
    extra = [o for o in _options(schema) if set(o) - _ANNOTATIONS]
    return bool(extra) or any(k in schema for k in ("enum", "const", "not", "allOf"))


def compile_checker(
    tool: str,
    name: str,
    schema: Mapping[str, Any],
    *,
    source: str = "",
    site: Site | None = None,
) -> Checker:
    """A function that returns the value checked (and coerced) or raises StepError,
    located at ``site`` (where the argument was written) when given; ``source`` is the
    template that gave the value (``{{ inputs.n }}``), named in the message.

    >>> check = compile_checker("km_x", "n", {"type": "integer"}, source="{{ inputs.n }}")
    >>> try:
    ...     check("four")
    ... except StepError as error:
    ...     print(error.message)
    argument `n` of km_x must be a whole number, but `{{ inputs.n }}` gave text ("four")
    """
    options = _options(schema)
    allowed = [t for o in options for t in _types(o)]
    needs_full = _needs_full(schema)
    full = _validator(json.dumps(dict(schema), sort_keys=True)) if needs_full else None
    words = " or ".join(dict.fromkeys(TYPE_WORDS.get(t, t) for t in allowed if t != "null"))

    description = str(schema.get("description") or "") or None

    def fail(value: Any, detail: str, hint: str | None = description) -> StepError:
        error = StepError(
            ErrorKind.INVALID_ARGUMENTS,
            f"argument `{name}` of {tool}{detail}",
            hint=hint,
            details={"tool": tool, "argument": name},
        )
        return site.locate(error, None) if site is not None else error

    def check(value: Any) -> Any:
        if "any" not in allowed and not any(_has_type(value, t) for t in allowed):
            for target in allowed:
                try:
                    value = _coerce(value, target)
                    break
                except (ValueError, TypeError):
                    continue
            else:
                raise fail(
                    value,
                    f" must be {words or 'a different value'}{_gave(value, source)}",
                    _filter_hint(value, schema, source, name, description) or description,
                )
        if full is not None and not full.is_valid(value):
            error = jsonschema.exceptions.best_match(full.iter_errors(value))
            message = (
                schema_message(error) if error is not None else "does not fit the tool's schema"
            )
            # The message shows the value; say where it came from.
            given = f", given by `{source}`," if source else ""
            raise fail(value, f"{given} is not valid: {message}")
        return value

    return check


def _gave(value: Any, source: str) -> str:
    """``, but `{{ x }}` gave text ("a")`` (a template), or ``, not text ("a")``."""
    shown = described(value, show(value))
    return f", but `{source}` gave {shown}" if source else f", not {shown}"


#: What `| default(…)` gives in place of null, for an argument of each type.
_FALLBACKS = {"string": "''", "integer": "0", "number": "0", "boolean": "false", "array": "[]"}


def _filter_hint(
    value: Any, schema: Mapping[str, Any], source: str, name: str, description: str | None
) -> str | None:
    """How to fix a template that gave null or a list where the tool wants something else:
    the template with a filter added (``| default('')``, ``| join(', ')``); None when
    there is no template, or no filter to suggest.

    >>> _filter_hint(None, {"type": "string"}, "{{ inputs.who }}", "message", "The text")
    "give a value for when it is null: `{{ inputs.who | default('') }}` (`message`: The text)"
    """
    body = source.strip()
    if not (body.startswith("{{") and body.endswith("}}")):
        return None
    expression = body[2:-2].strip()
    allowed = [t for o in _options(schema) for t in _types(o)]
    fallback = next((_FALLBACKS[t] for t in allowed if t in _FALLBACKS), None)
    if value is None and fallback is not None:
        need = ""
        if fallback == "''" and any(o.get("minLength", 0) for o in _options(schema)):
            fallback, need = "'…'", " (a text the tool accepts: it cannot be empty)"
        fix = (
            f"give a value for when it is null{need}: "
            f"`{{{{ {expression} | default({fallback}) }}}}`"
        )
    elif isinstance(value, list) and "string" in allowed:
        fix = f"join the items into one text: `{{{{ {expression} | join(', ') }}}}`"
    else:
        return None
    return f"{fix} (`{name}`: {description})" if description else fix
