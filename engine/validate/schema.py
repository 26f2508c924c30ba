"""The manifest schemas, and the jsonschema validators derived from them.

``schemas/action.schema.json`` is the contract (editors, AI callers and docs read it).
Validating it as published costs ~7 ms per manifest with jsonschema (``$ref`` lookups
and eleven ``if``/``then`` branches per step), so this module derives, once, an
equivalent set of validators: ``$ref``s inlined, the top level with steps left opaque,
and one validator per step kind built from the step ``allOf`` rules. The validator
walks the steps itself and picks each step's kind validator, which also gives
kind-specific messages ("a `tool` step has no key `steps`").

>>> schemas = ManifestSchemas.load()
>>> schemas.step_kinds["wait"]
('catch', 'continue_on_error', 'id', 'if', 'name', 'retry', 'timeout', 'wait')
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema

from engine.resources import load_schema

_additional_properties = jsonschema.Draft202012Validator.VALIDATORS["additionalProperties"]


def _additional_in_order(validator: Any, extra: Any, instance: Any, schema: Any) -> Any:
    """``additionalProperties`` with a schema, checked in the instance's key order:
    jsonschema collects the extra keys in a set, so their errors came in an order that
    changed from one process to the next (Python's string hashes are seeded per
    process), and so did the order of their diagnostics (a manifest given as data has
    no lines to sort them by)."""
    if not (validator.is_type(extra, "object") and validator.is_type(instance, "object")):
        yield from _additional_properties(validator, extra, instance, schema)
        return
    known = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    for key in instance:
        if key not in known and not any(re.search(pattern, key) for pattern in patterns):
            yield from validator.descend(instance[key], extra, path=key)


Validator = jsonschema.Draft202012Validator
# The class the manifest validators are made of (typed as the one it extends).
_Ordered: type[Validator] = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    Validator, {"additionalProperties": _additional_in_order}
)

# Keys whose value is a list of steps, wherever they appear in a step.
NESTED_STEP_KEYS = ("steps", "catch", "otherwise")
# What a manifest file's name ends with, and what a JSON Schema saved next to the
# actions for editors (`km-actions schema > action.schema.json`) ends with.
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
SCHEMA_FILE_SUFFIX = ".schema.json"
_OPAQUE_STEPS_DEF = "steps"


def _inline(node: Any, defs: Mapping[str, Any], opaque: Mapping[str, Any]) -> Any:
    """Replace ``$ref``s with their targets; ``opaque`` ones with a stand-in schema."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.rsplit("/", 1)[1]
            target = opaque[name] if name in opaque else _inline(defs[name], defs, opaque)
            rest = {k: _inline(v, defs, opaque) for k, v in node.items() if k != "$ref"}
            return {**target, **rest}
        return {k: _inline(v, defs, opaque) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(item, defs, opaque) for item in node]
    return node


def _step_kinds(step: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each kind's allowed keys, read from the step's ``if``/``then`` rules."""
    kinds: dict[str, tuple[str, ...]] = {}
    for rule in step.get("allOf", ()):
        if "if" in rule:
            kind = rule["if"]["required"][0]
            kinds[kind] = tuple(sorted(rule["then"]["propertyNames"]["enum"]))
    return kinds


def _step_required(step: Mapping[str, Any]) -> dict[str, list[str]]:
    """Keys a kind needs besides its own (a `foreach` needs `steps`)."""
    return {
        rule["if"]["required"][0]: list(rule["then"]["required"])
        for rule in step.get("allOf", ())
        if "if" in rule and "required" in rule["then"]
    }


def is_manifest_name(name: str) -> bool:
    """A file name that may hold a manifest: .yaml, .yml or .json, but not a JSON Schema
    (the docs tell people to save ``action.schema.json`` next to their actions).

    >>> [is_manifest_name(n) for n in ("greet.yaml", "a.JSON", "action.schema.json", "a.txt")]
    [True, True, False, False]
    """
    lowered = name.lower()
    return lowered.endswith(MANIFEST_SUFFIXES) and not lowered.endswith(SCHEMA_FILE_SUFFIX)


@dataclass(frozen=True)
class ManifestSchemas:
    """Published schemas plus the validators derived from them (built once)."""

    action: Mapping[str, Any]
    plugin: Mapping[str, Any]
    top: Validator
    steps: Mapping[str, Validator]
    step_kinds: Mapping[str, tuple[str, ...]]
    step_properties: Mapping[str, Any]
    plugin_validator: Validator

    @classmethod
    def load(cls) -> ManifestSchemas:
        """The shipped schemas (built once per process)."""
        return _load()


@cache
def _load() -> ManifestSchemas:
    action = load_schema("action")
    plugin = load_schema("plugin")
    defs = action["$defs"]
    opaque_steps = {
        "type": "array",
        "minItems": 1,
        "items": {"type": "object"},
        "title": defs["steps"]["title"],
        "description": defs["steps"]["description"],
    }
    opaque = {_OPAQUE_STEPS_DEF: opaque_steps}
    top_schema = _inline({k: v for k, v in action.items() if k != "$defs"}, defs, opaque)
    step = defs["step"]
    kinds = _step_kinds(step)
    props = _inline(step["properties"], defs, opaque)
    required = _step_required(step)
    step_validators = {}
    for kind, allowed in kinds.items():
        # A kind's validator only ever sees a mapping holding that kind's key (a step is of
        # a kind only then), where `type: object` and an empty `required` cannot fail:
        # left out, since jsonschema runs every keyword of every step (~1.5 us a step).
        schema: dict[str, Any] = {
            "title": f"{kind} step",
            "properties": {key: copy.deepcopy(props[key]) for key in allowed},
            "additionalProperties": False,
        }
        if required.get(kind):
            schema["required"] = required[kind]
        step_validators[kind] = _Ordered(schema)
    plugin_schema = _inline({k: v for k, v in plugin.items() if k != "$defs"}, plugin["$defs"], {})
    return ManifestSchemas(
        action=action,
        plugin=plugin,
        top=_Ordered(top_schema),
        steps=step_validators,
        step_kinds=kinds,
        step_properties=props,
        plugin_validator=_Ordered(plugin_schema),
    )
