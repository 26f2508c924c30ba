"""Generated documentation: the Markdown of a plugin and each of its actions.

Inputs, outputs, permissions, settings and dependencies come from the manifests; the
examples come from the actions' own tests (inputs given, outputs expected), so they are
true by construction: ``km-actions test`` checks them. The facts are gathered once by
:mod:`engine.docs_model` (re-exported here); the Markdown here and
the HTML catalog page (:mod:`engine.docs_html`) are both rendered from them.

>>> print(action_markdown({"name": "hello", "description": "Say hello.",
...     "inputs": {"who": {"type": "string", "description": "Whom to greet"}},
...     "outputs": {"text": "{{ vars.t }}"},
...     "tests": [{"name": "greets", "inputs": {"who": "Ann"},
...                "expect": {"outputs": {"text": "Hello Ann"}}}]}).splitlines()[0])
### hello
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.docs_model import (
    ActionDoc,
    CallDoc,
    ExampleDoc,
    InputDoc,
    PermissionDoc,
    PluginDoc,
    SettingDoc,
    action_doc,
    examples,
    plugin_doc,
    run_command,
)
from engine.errors import EngineError
from engine.loader import load_bytes
from engine.suggest import did_you_mean

__all__ = [
    "ActionDoc",
    "CallDoc",
    "ExampleDoc",
    "InputDoc",
    "PermissionDoc",
    "PluginDoc",
    "SettingDoc",
    "action_doc",
    "action_markdown",
    "examples",
    "installed_action_markdown",
    "installed_plugin_doc",
    "plugin_doc",
    "plugin_markdown",
    "plugin_markdown_from",
    "plugin_markdown_of",
    "run_command",
]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# -- Markdown --------------------------------------------------------------------------------


def action_markdown(
    manifest: Mapping[str, Any], *, heading: str = "###", run_as: str | None = None
) -> str:
    """One action: description, inputs, outputs, tools, how to run it (as ``run_as``:
    ``plugin/action`` or a file), and examples from its tests."""
    return _action_markdown(action_doc(manifest, run_as=run_as), heading)


def _action_markdown(doc: ActionDoc, heading: str) -> str:
    lines = [f"{heading} {doc.name}", ""]
    if doc.description:
        lines += [doc.description, ""]
    if doc.inputs:
        lines += ["| Input | Type | Required | Default | Description |", "|---|---|---|---|---|"]
        for spec in doc.inputs:
            default = spec.default_text
            if default and not spec.secret:
                default = f"`{default}`"
            rules = []
            if spec.choices is not None:
                rules.append("one of " + ", ".join(f"`{v}`" for v in spec.choices))
            if spec.bounds is not None:
                rules.append(f"from {spec.bounds[0]} to {spec.bounds[1]}")
            described = "; ".join([spec.description, *rules] if spec.description else rules)
            lines.append(
                f"| `{spec.name}` | {spec.type} | {'yes' if spec.required else 'no'} | "
                f"{default} | {_cell(described)} |"
            )
        lines.append("")
    else:
        lines += ["Takes no inputs.", ""]
    if doc.outputs:
        lines += ["Outputs: " + ", ".join(f"`{o}`" for o in doc.outputs), ""]
    if doc.tools:
        lines += ["Calls: " + ", ".join(f"`{t}`" for t in doc.tools), ""]
    if doc.run is not None:
        lines += [f"Run it: `{doc.run}`", ""]
    if doc.examples:
        lines += ["Examples (from its tests):", ""]
        for example in doc.examples:
            lines.append(f"- {example.name}: inputs `{example.inputs}` give `{example.outputs}`")
        lines.append("")
    return "\n".join(lines)


def plugin_markdown_from(
    metadata: Mapping[str, Any],
    actions: Iterable[Mapping[str, Any]],
    *,
    version: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> str:
    """A whole plugin: metadata, permissions, settings, dependencies, every action."""
    return plugin_markdown_of(plugin_doc(metadata, actions, version=version, settings=settings))


def plugin_markdown_of(doc: PluginDoc) -> str:
    """The Markdown of a plugin's documentation model."""
    lines = [f"# {doc.title}", "", f"`{doc.identifier}` version {doc.version}"]
    if doc.kind:
        article = "an" if doc.kind[0] in "aeio" else "a"  # not u: "a utility plugin"
        lines[-1] += f", {article} {doc.kind} plugin"
    lines.append("")
    if doc.description:
        lines += [doc.description, ""]
    lines += [
        "## Permissions",
        "",
        ", ".join(f"`{p.entry}`" for p in doc.permissions) if doc.permissions else "None.",
        "",
    ]
    if doc.settings:
        lines += [
            "## Settings",
            "",
            "| Setting | Type | Default | Description |",
            "|---|---|---|---|",
        ]
        for setting in doc.settings:
            default = setting.default_text
            if setting.default is not None:
                default = f"`{default}`"
            current = ""
            if setting.current is not None:
                current = " (set)" if setting.secret else f" (now `{setting.current}`)"
            lines.append(
                f"| `{setting.name}` | {setting.type} | {default}{current} | "
                f"{_cell(setting.description)} |"
            )
        lines.append("")
    if doc.dependencies:
        lines += ["## Dependencies", ""]
        lines += [f"- `{dep}` {rng}" for dep, rng in doc.dependencies]
        lines.append("")
    lines += ["## Actions", ""]
    for action in doc.actions:
        lines.append(_action_markdown(action, "###"))
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
    return plugin_markdown_of(installed_plugin_doc(store, identifier, settings=True))


def installed_plugin_doc(store: Any, identifier: str, *, settings: bool) -> PluginDoc:
    """The documentation model of an installed plugin; ``settings``: say which settings
    are set (a secret only as set, never its value)."""
    plugin = store.require(identifier)
    manifests = []
    for action in store.actions(plugin):
        try:
            manifests.append(load_bytes(store.file(plugin, action.path).read_bytes()).data)
        except (OSError, EngineError) as error:
            manifests.append({"name": action.name, "description": f"(unreadable: {error})"})
    current = None
    if settings:
        # Secrets live apart from the other settings: pass which are set, never their values.
        current = {**store.settings(identifier), **dict.fromkeys(store.secrets(identifier), "")}
    return plugin_doc(plugin.metadata, manifests, version=plugin.version, settings=current)
