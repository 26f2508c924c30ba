"""Action inputs: their declarations, their JSON Schema, and checking given values.

One :class:`InputSpec` per declared input. The same spec gives the MCP tool's
``inputSchema``, checks values a caller passes (with the engine's own words for what
is wrong), and turns command-line text (``--input count=3``) into typed values.

>>> spec = InputSpec.from_manifest("count", {"type": "integer", "minimum": 1, "default": 2})
>>> spec.required, spec.problems(0), spec.from_text("7")
(False, ['must be at least 1 (got 0)'], 7)
"""

from __future__ import annotations

import builtins
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import regex

from engine.diagnostics.words import EXACT_TYPES, TYPE_WORDS, described, fits_type, type_word
from engine.lang.secrets import show
from engine.load.jsonparse import LONE_SURROGATE, JSONValueError, int_digits_problem, loads_value

_MISSING: Any = object()

# The types whose values need no check beyond their type (inputs with no constraint).
_PLAIN_PYTHON_TYPES: dict[str, frozenset[type]] = {
    **{kind: EXACT_TYPES[kind] for kind in ("string", "integer", "number", "boolean")},
    "any": frozenset().union(*EXACT_TYPES.values()),
}

_TRUE_TEXT = frozenset({"true", "yes", "on", "1"})
_FALSE_TEXT = frozenset({"false", "no", "off", "0"})


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One declared input of an action."""

    name: str
    type: str = "string"
    description: str = ""
    title: str | None = None
    default: Any = _MISSING
    required: bool = True
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    item_type: str | None = None
    secret: bool = False
    plain_types: frozenset[builtins.type] = frozenset()

    def __post_init__(self) -> None:
        # Exact Python types a value may have to pass with no further check: only when
        # the type is the whole rule (no enum, bounds, lengths, pattern or item type).
        unconstrained = (
            self.enum is None
            and self.minimum is None
            and self.maximum is None
            and self.min_length is None
            and self.max_length is None
            and self.pattern is None
            and self.item_type is None
        )
        types = _PLAIN_PYTHON_TYPES.get(self.type, frozenset()) if unconstrained else frozenset()
        object.__setattr__(self, "plain_types", types)

    @classmethod
    def from_manifest(cls, name: str, spec: Mapping[str, Any]) -> InputSpec:
        """Build from a validated manifest entry."""
        has_default = "default" in spec
        return cls(
            name=name,
            type=spec.get("type", "string"),
            description=spec.get("description", ""),
            title=spec.get("title"),
            default=spec["default"] if has_default else _MISSING,
            required=spec.get("required", not has_default),
            enum=tuple(spec["enum"]) if "enum" in spec else None,
            minimum=spec.get("minimum"),
            maximum=spec.get("maximum"),
            min_length=spec.get("min_length"),
            max_length=spec.get("max_length"),
            pattern=spec.get("pattern"),
            item_type=(spec.get("items") or {}).get("type"),
            secret=bool(spec.get("secret", False)),
        )

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING

    def json_schema(self) -> dict[str, Any]:
        """This input as a JSON Schema property (for MCP ``inputSchema``)."""
        schema: dict[str, Any] = {}
        if self.type != "any":
            schema["type"] = self.type
        if self.title:
            schema["title"] = self.title
        if self.description:
            schema["description"] = self.description
        if self.has_default and not self.secret:  # a secret default is never shown
            schema["default"] = self.default
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        length_keys = (
            ("minItems", "maxItems") if self.type == "array" else ("minLength", "maxLength")
        )
        if self.min_length is not None:
            schema[length_keys[0]] = self.min_length
        if self.max_length is not None:
            schema[length_keys[1]] = self.max_length
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        if self.item_type and self.item_type != "any":
            schema["items"] = {"type": self.item_type}
        if self.secret:
            schema["writeOnly"] = True
        return schema

    def takes(self) -> str:
        """What this input takes, in words.

        >>> InputSpec.from_manifest("mode", {"enum": ["a", "b"]}).takes()
        'one of "a", "b"'
        """
        if self.enum is not None:
            return "one of " + ", ".join(show(v) for v in self.enum)
        return TYPE_WORDS.get(self.type, self.type)

    def how_to_give(self, where: str, *, about: str = "") -> str:
        """The hint for this input not given, or given a value that does not fit: what it
        takes (and its description, else ``about``), and ``where`` to give it.

        >>> InputSpec.from_manifest("who", {"type": "string", "description": "Who."}).how_to_give(
        ...     "give it as --input who=…")
        '`who` takes text (Who): give it as --input who=…'
        """
        said = f" ({self.description.rstrip('.')})" if self.description else about
        return f"`{self.name}` takes {self.takes()}{said}: {where}"

    def _shown(self, value: Any) -> str:
        """``value`` as a message quotes it: a secret input's value is never shown."""
        return show(value, secret=f"the secret input `{self.name}`" if self.secret else None)

    def problems(self, value: Any) -> list[str]:
        """What is wrong with ``value`` for this input (empty when it fits)."""
        got = self._shown(value)
        if not fits_type(value, self.type):
            return [f"must be {TYPE_WORDS[self.type]}, not {described(value, got)}"]
        out: list[str] = []
        if self.enum is not None and value not in self.enum:
            allowed = ", ".join(show(v) for v in self.enum)
            out.append(f"must be one of {allowed} (got {got})")
        if isinstance(value, int | float) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                out.append(f"must be at least {_number(self.minimum)} (got {got})")
            if self.maximum is not None and value > self.maximum:
                out.append(f"must be at most {_number(self.maximum)} (got {got})")
        if isinstance(value, str | list):
            unit = "characters" if isinstance(value, str) else "items"
            if self.min_length is not None and len(value) < self.min_length:
                out.append(f"must have at least {self.min_length} {unit} (has {len(value)})")
            if self.max_length is not None and len(value) > self.max_length:
                out.append(f"must have at most {self.max_length} {unit} (has {len(value)})")
        if isinstance(value, str) and self.pattern is not None:
            try:
                matched = regex.search(self.pattern, value, timeout=0.1) is not None
            except (regex.error, TimeoutError):
                matched = False
            if not matched:
                out.append(f"must match the pattern {self.pattern!r} (got {got})")
        if isinstance(value, list) and self.item_type:
            for index, item in enumerate(value):
                if not fits_type(item, self.item_type):
                    word = TYPE_WORDS[self.item_type]
                    out.append(f"item {index + 1} must be {word}, not {type_word(item)}")
                    break
        return out

    def normalize(self, value: Any) -> Any:
        """``value`` with a whole-number float turned into an int for integer inputs."""
        if self.type == "integer" and isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def from_text(self, text: str) -> Any:
        """Turn command-line text into a value of this input's type.

        Raises ``ValueError`` with a message for the user when it cannot.
        """
        if LONE_SURROGATE.search(text):  # command-line bytes that are not UTF-8 arrive so
            raise ValueError("the value is not UTF-8 text")
        kind = self.type
        if kind == "string":
            return text
        got = self._shown(text)
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered in _TRUE_TEXT:
                return True
            if lowered in _FALSE_TEXT:
                return False
            raise ValueError(f"expected true or false, got {got}")
        if kind == "integer":
            digits = len(text.strip().lstrip("+-").replace("_", ""))
            problem = int_digits_problem(digits)
            if problem is not None:
                raise ValueError(problem)
            try:
                return int(text.strip())
            except ValueError:
                raise ValueError(f"expected a whole number, got {got}") from None
        if kind == "number":
            try:
                number = float(text.strip())
            except ValueError:
                raise ValueError(f"expected a number, got {got}") from None
            if not math.isfinite(number):  # "nan", "inf": not numbers JSON can carry
                raise ValueError(f"expected a number, got {got}")
            return int(number) if number.is_integer() and "." not in text else number
        try:
            value = loads_value(text)
        except JSONValueError as exc:
            raise ValueError(str(exc)) from None
        except json.JSONDecodeError:
            if kind == "any":
                return text
            value = _MISSING
        if kind == "any" or (value is not _MISSING and fits_type(value, kind)):
            return value
        raise ValueError(
            f"expected {TYPE_WORDS[kind]} written as JSON, e.g. "
            + ('["a", "b"]' if kind == "array" else '{"key": "value"}')
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def parse_inputs(spec: Mapping[str, Any] | None) -> dict[str, InputSpec]:
    """All input specs of a manifest's ``inputs:`` mapping."""
    return {name: InputSpec.from_manifest(name, entry) for name, entry in (spec or {}).items()}


def declared_inputs_schema(declarations: Mapping[str, Any]) -> dict[str, Any]:
    """The ``inputSchema`` of a manifest's raw ``inputs:`` mapping, before validation (an
    entry that is not a mapping has no spec to give and is left out).

    >>> declared_inputs_schema({"name": {"type": "string"}, "odd": 3})["properties"]
    {'name': {'type': 'string'}}
    """
    entries = {name: spec for name, spec in declarations.items() if isinstance(spec, Mapping)}
    return inputs_json_schema(parse_inputs(entries))


def inputs_json_schema(specs: Mapping[str, InputSpec]) -> dict[str, Any]:
    """The whole ``inputSchema`` of an action (an object with its inputs)."""
    return {
        "type": "object",
        "properties": {name: spec.json_schema() for name, spec in specs.items()},
        "required": [name for name, spec in specs.items() if spec.required],
        "additionalProperties": False,
    }
