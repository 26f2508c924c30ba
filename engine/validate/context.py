"""What the validator knows beyond the manifest itself: tools, other actions, plugin."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.lang.limits import Profile
from engine.tools.catalog import ToolCatalog
from engine.validate.inputs import InputSpec
from engine.validate.tree import iter_steps

Found = TypeVar("Found")


def action_names(target: str, plugin: str | None) -> tuple[str, ...]:
    """The names ``action: target`` in an action of ``plugin`` may be known by, best
    first: the caller's own plugin's action, then the name as written (the one rule, for
    validating a call and for running it).

    >>> action_names("double", "math"), action_names("math/double", "app")
    (('math/double', 'double'), ('math/double',))
    """
    return (f"{plugin}/{target}", target) if plugin and "/" not in target else (target,)


def find_action(
    actions: Mapping[str, Found], target: str, plugin: str | None
) -> tuple[str, Found] | None:
    """What ``action: target`` in an action of ``plugin`` calls, as its key in
    ``actions`` and its value, by :func:`action_names`.

    >>> known = {"double": 1, "math/double": 2, "triple": 3}
    >>> find_action(known, "double", "math"), find_action(known, "triple", "math")
    (('math/double', 2), ('triple', 3))
    >>> find_action(known, "double", None), find_action(known, "app/x", "app")
    (('double', 1), None)
    """
    return next(
        ((key, actions[key]) for key in action_names(target, plugin) if key in actions), None
    )


class ValidationLevel(enum.Enum):
    """How much to check: ``basic`` is the schema only; ``strict`` adds descriptions."""

    NONE = "none"
    BASIC = "basic"
    STANDARD = "standard"
    STRICT = "strict"


@dataclass(frozen=True)
class ActionSignature:
    """What a caller needs to know of another action: its inputs, outputs and callees."""

    name: str
    plugin: str | None
    inputs: Mapping[str, InputSpec]
    outputs: tuple[str, ...]
    calls: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        return f"{self.plugin}/{self.name}" if self.plugin else self.name

    @classmethod
    def from_manifest(
        cls, data: Mapping[str, Any], *, plugin: str | None = None
    ) -> ActionSignature:
        """Read a (structurally valid) manifest's signature."""
        return cls(
            name=str(data.get("name", "")),
            plugin=plugin,
            inputs=readable_inputs(data.get("inputs")),
            outputs=tuple(data.get("outputs") or ())
            if isinstance(data.get("outputs"), dict)
            else (),
            calls=tuple(_called_actions(data.get("steps"))),
        )


def section(data: Any, key: str) -> Mapping[str, Any]:
    """The mapping under ``key`` of a manifest (empty when it is missing or not a mapping).

    >>> section({"inputs": {"a": {}}}, "inputs"), section({"inputs": [1]}, "inputs")
    ({'a': {}}, {})
    """
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def readable_inputs(raw: Any) -> dict[str, InputSpec]:
    """The input declarations that can be read, skipping broken ones (reported elsewhere).

    >>> sorted(readable_inputs({"a": {"type": "integer"}, "b": "integer", "c": {"items": 1}}))
    ['a']
    """
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, InputSpec] = {}
    for name, entry in raw.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("items", {}), Mapping):
            continue
        try:
            out[str(name)] = InputSpec.from_manifest(str(name), entry)
        except (TypeError, ValueError):
            continue
    return out


def _called_actions(steps: Any) -> list[str]:
    """The actions the steps call (each `action:` target), in document order."""
    return [
        step["action"] for step, _ in iter_steps(steps, ()) if isinstance(step.get("action"), str)
    ]


def secret_settings(schema: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """The settings of a configuration schema marked ``secret: true``, with their schemas.

    >>> list(secret_settings({"properties": {"a": {"secret": True}, "b": {}}}))
    ['a']
    """
    props = (schema or {}).get("properties")
    if not isinstance(props, Mapping):
        return {}
    return {
        str(k): v for k, v in props.items() if isinstance(v, Mapping) and v.get("secret") is True
    }


@dataclass(frozen=True)
class ValidationContext:
    """Everything outside the manifest that validation depends on.

    ``actions`` maps the names an ``action:`` step may use ("name" for the same plugin
    or folder, "plugin/name" for another plugin) to their signatures. ``permissions``
    is the enclosing plugin's declared permissions (``None`` for a lone action file).
    ``ceiling``: what the caller may grant (an MCP server's ``security.ceiling``), when
    the manifest comes from one who may not grant everything. ``profile``: the security
    profile a plugin manifest's ``resource_limits`` may only tighten (not compared when
    None). In a plugin an action's calls are granted the plugin's ``permissions`` only
    (what install asks for and records; the action's own list grants nothing), named in
    messages by ``plugin_file``; ``own_granted``: the action's own ``permissions:`` are
    added to the plugin's (an action created over MCP, whose plugin.yaml is written with
    them).
    """

    catalog: ToolCatalog = field(default_factory=ToolCatalog.builtin)
    actions: Mapping[str, ActionSignature] = field(default_factory=dict)
    plugin: str | None = None
    permissions: tuple[str, ...] | None = None
    config_schema: Mapping[str, Any] | None = None
    level: ValidationLevel = ValidationLevel.STANDARD
    ceiling: tuple[str, ...] | None = None
    profile: Profile | None = None
    plugin_file: str = "plugin.yaml"
    own_granted: bool = False

    @property
    def in_plugin(self) -> bool:
        return self.permissions is not None

    def resolve_action(self, target: str) -> ActionSignature | None:
        """The signature ``action: target`` refers to, if known."""
        found = find_action(self.actions, target, self.plugin)
        return found[1] if found is not None else None

    def secret_settings(self) -> dict[str, Mapping[str, Any]]:
        """The settings marked ``secret: true``, with their schemas."""
        return secret_settings(self.config_schema)

    def config_names(self) -> list[str] | None:
        """Declared setting names, or ``None`` when there is no configuration at all."""
        if self.config_schema is None:
            return None
        props = self.config_schema.get("properties")
        return list(props) if isinstance(props, Mapping) else []
