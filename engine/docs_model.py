"""The facts of a plugin's documentation, gathered once for every renderer.

:func:`plugin_doc` and :func:`action_doc` read manifests (as data: an unreadable file's
placeholder works too) into frozen dataclasses: inputs, outputs, what each action calls
and the class of each call's operation, how to run it, examples from its tests (true by
construction: ``km-actions test`` checks them), settings (a secret's value never, nor its
default), dependencies. :mod:`engine.docs` renders them as Markdown, and
:mod:`engine.docs_html` as the catalog page.

>>> doc = action_doc({"name": "add", "steps": [{"tool": "km_calculator",
...                   "with": {"expression": "1+1"}}]}, run_as="demo/add")
>>> doc.calls, doc.run
((CallDoc(need='km_calculator', tool_class='read-only'),), 'km-actions run demo/add')
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.catalog import ToolCatalog
from engine.grants import class_of
from engine.inputs import InputSpec, parse_inputs
from engine.validate import manifest_needs
from engine.words import TYPE_WORDS


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class InputDoc:
    """One input of an action. Values are JSON text (``"Ann"``, ``3``); a secret's
    default is never kept, only that it has one."""

    name: str
    type: str
    required: bool
    default: str | None
    secret: bool
    description: str
    choices: tuple[str, ...] | None
    bounds: tuple[str, str] | None

    @property
    def default_text(self) -> str:
        """The default as shown: ``(secret)`` for a secret, empty when there is none."""
        if self.secret and self.default is not None:
            return "(secret)"
        return self.default if self.default is not None else ""


@dataclass(frozen=True)
class CallDoc:
    """What an action calls: a tool or ``tool:operation``, and its class (read-only,
    write, destructive), the permission it needs."""

    need: str
    tool_class: str


@dataclass(frozen=True)
class ExampleDoc:
    """One test that makes an example: its name, inputs given and outputs expected, as
    JSON text."""

    name: str
    inputs: str
    outputs: str


@dataclass(frozen=True)
class ActionDoc:
    """One action: what it takes, gives and calls, how to run it, and its examples."""

    name: str
    description: str
    inputs: tuple[InputDoc, ...]
    outputs: tuple[str, ...]
    tools: tuple[str, ...]
    calls: tuple[CallDoc, ...]
    run: str | None
    examples: tuple[ExampleDoc, ...]


@dataclass(frozen=True)
class SettingDoc:
    """One setting of a plugin; ``current`` is a secret's "set", never its value."""

    name: str
    type: str
    default: str | None
    secret: bool
    current: str | None
    description: str

    @property
    def default_text(self) -> str:
        if self.secret:
            return "(secret)"
        return self.default if self.default is not None else ""


@dataclass(frozen=True)
class PermissionDoc:
    """One permission the plugin asks for, and what it allows, operation by operation."""

    entry: str
    allows: str


@dataclass(frozen=True)
class PluginDoc:
    """A whole plugin: metadata, permissions, settings, dependencies and its actions."""

    identifier: str
    title: str
    version: str
    kind: str
    description: str
    permissions: tuple[PermissionDoc, ...]
    settings: tuple[SettingDoc, ...]
    dependencies: tuple[tuple[str, str], ...]
    actions: tuple[ActionDoc, ...]
    author: str = ""


def action_doc(
    manifest: Mapping[str, Any], *, run_as: str | None = None, catalog: ToolCatalog | None = None
) -> ActionDoc:
    """The facts of one action's documentation (see :func:`action_markdown`)."""
    raw = manifest.get("inputs")
    inputs: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    specs = parse_inputs({k: v for k, v in inputs.items() if isinstance(v, Mapping)})
    outputs = manifest.get("outputs")
    run = None
    if run_as is not None and manifest.get("steps"):  # an unreadable file's has none
        run = run_command(run_as, specs, manifest.get("tests"))
    return ActionDoc(
        name=str(manifest.get("name", "?")),
        description=str(manifest.get("description") or ""),
        inputs=tuple(_input_doc(spec) for spec in specs.values()),
        outputs=tuple(str(o) for o in outputs) if isinstance(outputs, Mapping) else (),
        tools=tuple(sorted(_tools(manifest.get("steps")))),
        calls=_calls(manifest, catalog or ToolCatalog.builtin()),
        run=run,
        examples=tuple(
            ExampleDoc(
                str(test.get("name", "")),
                _json(test.get("inputs") or {}),
                _json(test["expect"]["outputs"]),
            )
            for test in examples(manifest)[:3]
        ),
    )


def _input_doc(spec: InputSpec) -> InputDoc:
    bounds = None
    if spec.minimum is not None or spec.maximum is not None:
        bounds = (
            str(spec.minimum) if spec.minimum is not None else "…",
            str(spec.maximum) if spec.maximum is not None else "…",
        )
    return InputDoc(
        name=spec.name,
        type=TYPE_WORDS.get(spec.type, spec.type),
        required=spec.required,
        default=None if not spec.has_default else ("" if spec.secret else _json(spec.default)),
        secret=spec.secret,
        description=spec.description or "",
        choices=tuple(_json(v) for v in spec.enum) if spec.enum is not None else None,
        bounds=bounds,
    )


def _calls(manifest: Mapping[str, Any], catalog: ToolCatalog) -> tuple[CallDoc, ...]:
    needs = manifest_needs(manifest, catalog)
    return tuple(CallDoc(str(need), class_of(need, catalog).value) for need in needs)


def plugin_doc(
    metadata: Mapping[str, Any],
    actions: Iterable[Mapping[str, Any]],
    *,
    version: str | None = None,
    settings: Mapping[str, Any] | None = None,
    catalog: ToolCatalog | None = None,
) -> PluginDoc:
    """The facts of a plugin's documentation (see :func:`plugin_markdown_from`)."""
    catalog = catalog or ToolCatalog.builtin()
    ident = str(metadata.get("identifier", "?"))
    schema = metadata.get("configuration_schema")
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    return PluginDoc(
        identifier=ident,
        title=str(metadata.get("name") or ident),
        version=str(version or metadata.get("version", "?")),
        kind=str(metadata.get("plugin_type") or ""),
        description=str(metadata.get("description") or ""),
        permissions=tuple(
            PermissionDoc(str(entry), _allows(str(entry), catalog))
            for entry in metadata.get("permissions") or []
        ),
        settings=tuple(
            _setting_doc(str(name), prop, settings)
            for name, prop in (properties.items() if isinstance(properties, Mapping) else ())
        ),
        dependencies=tuple(
            (str(d), str(r)) for d, r in (metadata.get("dependencies") or {}).items()
        ),
        actions=tuple(
            action_doc(m, run_as=f"{ident}/{m.get('name', '?')}", catalog=catalog) for m in actions
        ),
        author=str(metadata.get("author") or ""),
    )


def _allows(entry: str, catalog: ToolCatalog) -> str:
    from engine.plugins.permissions import show_coverage

    return show_coverage(catalog.coverage((entry,)), catalog)


def _setting_doc(name: str, prop: Any, settings: Mapping[str, Any] | None) -> SettingDoc:
    prop = prop if isinstance(prop, Mapping) else {}
    secret = bool(prop.get("secret"))
    current = None
    if settings is not None and name in settings:
        current = "set" if secret else _json(settings[name])
    return SettingDoc(
        name=name,
        type=str(prop.get("type", "any")),
        default=_json(prop["default"]) if "default" in prop and not secret else None,
        secret=secret,
        current=current,
        description=str(prop.get("description", "")),
    )


def examples(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The tests of an action that make examples: those that expect outputs."""
    return [
        t
        for t in manifest.get("tests") or []
        if isinstance(t, Mapping) and isinstance((t.get("expect") or {}).get("outputs"), Mapping)
    ]


def run_command(run_as: str, specs: Mapping[str, InputSpec], tests: Any) -> str:
    """``km-actions run`` with the inputs of the action's first test that gives some (a
    secret one as ``…``), and ``…`` for each other input it needs.

    >>> specs = parse_inputs({"who": {"type": "string"}, "times": {"type": "integer"}})
    >>> run_command("demo/greet", specs, [{"inputs": {"who": "Ann Lee", "times": 2}}])
    "km-actions run demo/greet --input 'who=Ann Lee' --input times=2"
    >>> run_command("greet.yaml", specs, None)
    'km-actions run greet.yaml --input who=… --input times=…'
    """
    given: Mapping[str, Any] = next(
        (
            t["inputs"]
            for t in tests or ()
            if isinstance(t, Mapping) and isinstance(t.get("inputs"), Mapping) and t["inputs"]
        ),
        {},
    )
    words = ["km-actions", "run", shlex.quote(run_as)]
    for name, spec in specs.items():
        if name in given and not spec.secret:
            value = given[name]
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            words += ["--input", shlex.quote(f"{name}={text}")]
        elif spec.required:
            words += ["--input", f"{name}=…"]  # to fill in
    return " ".join(words)


def _tools(steps: Any) -> set[str]:
    out: set[str] = set()
    stack = [steps]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, Mapping):
            if isinstance(node.get("tool"), str):
                out.add(node["tool"])
            stack.extend(node.values())
    return out
