"""Plugin manifests: ``plugin.yaml`` and the action files it names, read and validated.

A plugin is a folder with ``plugin.yaml`` (or ``plugin.yml``/``plugin.json``) at its
root and action files (by default ``actions/*.yaml``, ``*.yml``, ``*.json``). A lone
action file is a plugin too: one action, its name as identifier. Reading happens in
two phases, because checking the actions needs to know the plugins they call, which
dependency resolution decides: :func:`read_manifest` reads the metadata,
:func:`load_actions` loads and validates every action in the plugin's context.
:func:`read_plugin` does both.

>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> _ = (root / "plugin.yaml").write_text(
...     'api_version: "1.1"\\nidentifier: demo\\nname: Demo\\nversion: 1.2.0\\n'
...     'permissions: [km_engine_control:calculate]\\n')
>>> (root / "actions").mkdir()
>>> _ = (root / "actions" / "add.yaml").write_text(
...     'api_version: "1.1"\\nkind: action\\nname: add\\nsteps:\\n'
...     '  - tool: km_engine_control\\n    with: {operation: calculate, expression: "1 + 1"}\\n')
>>> plugin = read_plugin(root, label="demo")
>>> plugin.identifier, plugin.version, [a.name for a in plugin.actions]
('demo', '1.2.0', ['add'])
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.diagnostics.errors import Diagnostic, PluginError
from engine.load.sourcemap import Document
from engine.load.versions import version_problem
from engine.plugins._model import (
    API_VERSIONS,
    DEFAULT_ACTIONS,
    LONE_VERSION,
    PLUGIN_FILES,
    PluginManifest,
    PluginType,
    display_name,
    invalid_plugin,
    load_file,
)
from engine.plugins.action_files import (
    ActionFiles,
    load_action_files,
    load_actions,
    undeclared_dependencies,
)
from engine.tools.catalog import ToolCatalog
from engine.validate import (
    ActionSignature,
    ValidationContext,
    manifest_needs,
    validate,
    validate_plugin,
)
from engine.validate.tree import iter_steps

__all__ = [
    "API_VERSIONS",
    "PLUGIN_FILES",
    "ActionFiles",
    "PluginManifest",
    "PluginType",
    "check_api_version",
    "find_manifest_file",
    "load_action_files",
    "load_actions",
    "read_action_file",
    "read_manifest",
    "read_plugin",
    "undeclared_dependencies",
]


def check_api_version(value: Any, document: Document, what: str) -> Diagnostic | None:
    """A diagnostic when ``value`` is an api_version this km-actions does not read.

    >>> from engine.load.sourcemap import Document
    >>> print(check_api_version("2.0", Document.from_data({}), "'demo'").message[:63])
    'demo' is written for api_version 2.0, which needs a km-actions
    """
    problem = version_problem(value, what)
    if problem is None:
        return None
    message, hint = problem
    return document.diagnostic("unsupported-api-version", message, ("api_version",), hint=hint)


def find_manifest_file(root: Path) -> Path | None:
    """The plugin manifest at the root of a folder, if it has one."""
    for name in PLUGIN_FILES:
        candidate = root / name
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


def read_manifest(
    root: Path, *, label: str | None = None, catalog: ToolCatalog | None = None
) -> PluginManifest:
    """Read and check the ``plugin.yaml`` of the folder ``root`` (phase one).

    Raises :class:`PluginError` (``invalid-plugin``, every problem in ``diagnostics``),
    or ``plugin-manifest-missing`` when the folder has no plugin manifest.
    """
    label = label if label is not None else root.name
    found = find_manifest_file(root)
    if found is None:
        raise PluginError(
            f"{label}: no plugin manifest ({', '.join(PLUGIN_FILES)}) at the top of the folder",
            code="plugin-manifest-missing",
            hint="add a plugin.yaml (see docs/plugins.md), or install a single action file",
        )
    document = load_file(found, display_name(label, found.name), catalog)
    data = document.data if isinstance(document.data, Mapping) else {}
    ident = data.get("identifier")
    what = f"the plugin '{ident}'" if isinstance(ident, str) else "the plugin"
    too_new = check_api_version(data.get("api_version"), document, what)
    if too_new is not None:
        raise PluginError(
            f"{label}: {too_new.message}",
            code=too_new.code,
            hint=too_new.hint,
            diagnostics=[too_new],
        )
    context = ValidationContext(catalog=catalog or ToolCatalog.builtin())
    problems = [d for d in validate_plugin(document, context) if d.is_error]
    if problems:
        raise invalid_plugin(label, problems, what)
    schema = data.get("configuration_schema")
    return PluginManifest(
        identifier=str(data["identifier"]),
        name=str(data["name"]),
        version=str(data["version"]),
        api_version=str(data["api_version"]),
        root=root,
        label=label,
        description=str(data.get("description") or ""),
        author=str(data["author"]) if isinstance(data.get("author"), str) else None,
        plugin_type=PluginType(data.get("plugin_type", "action")),
        dependencies=dict(data.get("dependencies") or {}),
        permissions=tuple(data.get("permissions") or ()),
        configuration_schema=schema if isinstance(schema, Mapping) else None,
        hooks=tuple(data.get("hooks") or ()),
        action_patterns=tuple(data.get("actions") or DEFAULT_ACTIONS),
        manifest_file=found.name,
        data=data,
        warnings=document.notes,  # plugin.yaml of an older api_version, upgraded
        document=document,
        tools=catalog,
    )


def read_action_file(
    path: Path, *, label: str | None = None, catalog: ToolCatalog | None = None
) -> PluginManifest:
    """A lone action file as a one-action plugin (phase one).

    Identifier: the action's name (``_`` becomes ``-``); version: its ``version`` or
    0.0.0; permissions: its ``permissions``, else what its tool steps need (the
    operation when it is literal, else the whole tool); plugins it calls
    (``plugin/action``) become dependencies on any version.
    """
    label = label if label is not None else path.name
    document = load_file(path, label, catalog)
    data = document.data
    if not isinstance(data, Mapping) or data.get("kind") != "action":
        diagnostic = document.diagnostic(
            "not-a-mapping" if not isinstance(data, Mapping) else "invalid-value",
            "a single file installs only if it is an action (`kind: action`)",
            ("kind",) if isinstance(data, Mapping) else (),
            hint="install the plugin's folder or archive instead",
        )
        raise invalid_plugin(label, [diagnostic], "the action")
    too_new = check_api_version(data.get("api_version"), document, f"the action {label}")
    name = data.get("name")
    if too_new is not None or not isinstance(name, str):
        problems = (
            [too_new]
            if too_new is not None
            else [d for d in validate(document) if d.is_error]
            or [
                document.diagnostic("missing-key", "the action has no name", (), hint="add `name:`")
            ]
        )
        raise invalid_plugin(label, problems, "the action")
    steps = data.get("steps")
    own = data.get("permissions")
    needs = sorted(str(n) for n in manifest_needs(data, catalog or ToolCatalog.builtin()))
    calls = sorted(
        {
            str(s["action"]).split("/")[0]
            for s, _ in iter_steps(steps, ("steps",))
            if isinstance(s.get("action"), str) and "/" in s["action"]
        }
    )
    version = data.get("version")
    return PluginManifest(
        identifier=name.replace("_", "-"),
        name=name,
        version=version if isinstance(version, str) else LONE_VERSION,
        api_version=str(data.get("api_version")),
        root=path.parent,
        label=label,
        description=str(data.get("description") or ""),
        author=str(data["author"]) if isinstance(data.get("author"), str) else None,
        plugin_type=PluginType.ACTION,
        dependencies={dep: "*" for dep in calls},
        permissions=tuple(own) if isinstance(own, list) else tuple(needs),
        action_patterns=(path.name,),
        data={},
        lone_document=document,
        tools=catalog,
    )


def read_plugin(
    path: Path,
    *,
    label: str | None = None,
    catalog: ToolCatalog | None = None,
    others: Mapping[str, ActionSignature] | None = None,
) -> PluginManifest:
    """Read a plugin folder or a lone action file, and validate all of it."""
    if path.is_dir():
        manifest = read_manifest(path, label=label, catalog=catalog)
    else:
        manifest = read_action_file(path, label=label, catalog=catalog)
    return load_actions(manifest, catalog=catalog, others=others)
