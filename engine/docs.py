"""Generated documentation: Markdown for a plugin and each of its actions.

Inputs, outputs, permissions, settings and dependencies come from the manifests; the
examples come from the actions' own tests (inputs given, outputs expected), so they are
true by construction: ``km-actions test`` checks them.

>>> print(action_markdown({"name": "hello", "description": "Say hello.",
...     "inputs": {"who": {"type": "string", "description": "Whom to greet"}},
...     "outputs": {"text": "{{ vars.t }}"},
...     "tests": [{"name": "greets", "inputs": {"who": "Ann"},
...                "expect": {"outputs": {"text": "Hello Ann"}}}]}).splitlines()[0])
### hello
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import EngineError
from engine.inputs import TYPE_WORDS, parse_inputs
from engine.loader import load_bytes


def _code(value: Any) -> str:
    return "`" + json.dumps(value, ensure_ascii=False) + "`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def action_markdown(manifest: Mapping[str, Any], *, heading: str = "###") -> str:
    """One action: description, inputs, outputs, tools, and examples from its tests."""
    name = str(manifest.get("name", "?"))
    lines = [f"{heading} {name}", ""]
    if manifest.get("description"):
        lines += [str(manifest["description"]), ""]
    raw = manifest.get("inputs")
    inputs: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    specs = parse_inputs({k: v for k, v in inputs.items() if isinstance(v, Mapping)})
    if specs:
        lines += ["| Input | Type | Required | Default | Description |", "|---|---|---|---|---|"]
        for spec in specs.values():
            default = _code(spec.default) if spec.has_default else ""
            if spec.secret and spec.has_default:
                default = "(secret)"
            rules = []
            if spec.enum is not None:
                rules.append("one of " + ", ".join(_code(v) for v in spec.enum))
            if spec.minimum is not None or spec.maximum is not None:
                rules.append(
                    f"from {spec.minimum if spec.minimum is not None else '…'} to "
                    f"{spec.maximum if spec.maximum is not None else '…'}"
                )
            described = (
                "; ".join([spec.description, *rules]) if spec.description else "; ".join(rules)
            )
            lines.append(
                f"| `{spec.name}` | {TYPE_WORDS.get(spec.type, spec.type)} | "
                f"{'yes' if spec.required else 'no'} | {default} | "
                f"{_cell(described)} |"
            )
        lines.append("")
    else:
        lines += ["Takes no inputs.", ""]
    outputs = manifest.get("outputs")
    if isinstance(outputs, Mapping) and outputs:
        lines += ["Outputs: " + ", ".join(f"`{o}`" for o in outputs), ""]
    tools = sorted(_tools(manifest.get("steps")))
    if tools:
        lines += ["Calls: " + ", ".join(f"`{t}`" for t in tools), ""]
    shown = examples(manifest)
    if shown:
        lines += ["Examples (from its tests):", ""]
        for test in shown[:3]:
            given = test.get("inputs") or {}
            expected = test["expect"]["outputs"]
            lines.append(f"- {test.get('name', '')}: inputs {_code(given)} give {_code(expected)}")
        lines.append("")
    return "\n".join(lines)


def examples(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The tests of an action that make examples: those that expect outputs."""
    return [
        t
        for t in manifest.get("tests") or []
        if isinstance(t, Mapping) and isinstance((t.get("expect") or {}).get("outputs"), Mapping)
    ]


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


def plugin_markdown_from(
    metadata: Mapping[str, Any],
    actions: Iterable[Mapping[str, Any]],
    *,
    version: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> str:
    """A whole plugin: metadata, permissions, settings, dependencies, every action."""
    ident = metadata.get("identifier", "?")
    title = metadata.get("name") or ident
    lines = [f"# {title}", "", f"`{ident}` version {version or metadata.get('version', '?')}"]
    kind = str(metadata.get("plugin_type") or "")
    if kind:
        article = "an" if kind[0] in "aeio" else "a"  # not u: "a utility plugin"
        lines[-1] += f", {article} {kind} plugin"
    lines.append("")
    if metadata.get("description"):
        lines += [str(metadata["description"]), ""]
    permissions = metadata.get("permissions") or []
    lines += [
        "## Permissions",
        "",
        ", ".join(f"`{p}`" for p in permissions) if permissions else "None.",
        "",
    ]
    schema = metadata.get("configuration_schema")
    if isinstance(schema, Mapping) and schema.get("properties"):
        lines += [
            "## Settings",
            "",
            "| Setting | Type | Default | Description |",
            "|---|---|---|---|",
        ]
        for name, prop in schema["properties"].items():
            prop = prop if isinstance(prop, Mapping) else {}
            secret = bool(prop.get("secret"))
            default = (
                "(secret)" if secret else (_code(prop["default"]) if "default" in prop else "")
            )
            current = ""
            if settings is not None and name in settings:
                current = " (set)" if secret else f" (now {_code(settings[name])})"
            lines.append(
                f"| `{name}` | {prop.get('type', 'any')} | {default}{current} | "
                f"{_cell(str(prop.get('description', '')))} |"
            )
        lines.append("")
    dependencies = metadata.get("dependencies") or {}
    if dependencies:
        lines += ["## Dependencies", ""]
        lines += [f"- `{dep}` {rng}" for dep, rng in dependencies.items()]
        lines.append("")
    lines += ["## Actions", ""]
    for manifest in actions:
        lines.append(action_markdown(manifest))
    return "\n".join(lines).rstrip() + "\n"


def plugin_markdown(store: Any, identifier: str) -> str:
    """The generated documentation of an installed plugin (settings' secrets masked)."""
    plugin = store.require(identifier)
    manifests = []
    for action in store.actions(plugin):
        try:
            manifests.append(load_bytes(store.file(plugin, action.path).read_bytes()).data)
        except (OSError, EngineError) as error:
            manifests.append({"name": action.name, "description": f"(unreadable: {error})"})
    # Secrets live apart from the other settings: pass which are set, never their values.
    settings = {**store.settings(identifier), **dict.fromkeys(store.secrets(identifier), "")}
    return plugin_markdown_from(
        plugin.metadata, manifests, version=plugin.version, settings=settings
    )
