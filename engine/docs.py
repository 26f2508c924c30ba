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
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import EngineError
from engine.inputs import TYPE_WORDS, InputSpec, parse_inputs
from engine.loader import load_bytes
from engine.suggest import did_you_mean


def _code(value: Any) -> str:
    return "`" + json.dumps(value, ensure_ascii=False) + "`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def action_markdown(
    manifest: Mapping[str, Any], *, heading: str = "###", run_as: str | None = None
) -> str:
    """One action: description, inputs, outputs, tools, how to run it (as ``run_as``:
    ``plugin/action`` or a file), and examples from its tests."""
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
    if run_as is not None and manifest.get("steps"):  # an unreadable file's has none
        lines += [f"Run it: `{run_command(run_as, specs, manifest.get('tests'))}`", ""]
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
        lines.append(action_markdown(manifest, run_as=f"{ident}/{manifest.get('name', '?')}"))
    return "\n".join(lines).rstrip() + "\n"


def installed_action_markdown(store: Any, qualified: str) -> str:
    """The generated documentation of one installed action, ``plugin/action``."""
    identifier, _, name = qualified.partition("/")
    plugin = store.require(identifier)
    actions = {action.name: action for action in store.actions(plugin)}
    action = actions.get(name)
    if action is None:
        raise EngineError(
            f"the plugin '{identifier}' has no action '{name}'",
            code="not-found",
            hint=did_you_mean(name, actions),
        )
    manifest = load_bytes(store.file(plugin, action.path).read_bytes()).data
    return action_markdown(manifest, heading="#", run_as=qualified)


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
