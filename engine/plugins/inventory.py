"""What is installed: lists (with filters and search) and full descriptions of a plugin.

Both read only the database (and, for a description, the files to report the lock's
status); no manifest is parsed. Secret settings are always shown masked.

>>> import tempfile
>>> from pathlib import Path
>>> from engine.plugins.installer import install
>>> from engine.plugins.store import Store
>>> with Store.open(Path(tempfile.mkdtemp())) as store:
...     _ = install(store, "actions/clipboard-tools")
...     [p.identifier for p in list_plugins(store, search="sign")]
...     info = describe(store, "clipboard-tools")
...     info["settings"]["missing"], [a["name"] for a in info["actions"]][:2], info["intact"]
['clipboard-tools']
(['share_token'], ['clean-clipboard', 'preview-clipboard'], True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.diagnostics.errors import PluginError
from engine.diagnostics.suggestions import did_you_mean
from engine.lang.secrets import MASK
from engine.load.ranges import dependency_range, parse_version
from engine.plugins.lock import check_files
from engine.plugins.manifest import PluginType
from engine.plugins.records import (
    ActionRecord,
    InstalledPlugin,
    read_all_actions,
    read_certification,
)
from engine.plugins.settings import effective, masked, missing, properties
from engine.plugins.status import PluginState, state_of
from engine.plugins.store import Store
from engine.tools.catalog import Coverage, ToolCatalog
from engine.validate.context import readable_inputs


@dataclass(frozen=True)
class PluginSummary:
    """One line of ``km-actions list``."""

    identifier: str
    name: str
    version: str
    plugin_type: str
    enabled: bool
    description: str
    actions: tuple[str, ...]
    origin: str
    state: PluginState

    def to_dict(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "name": self.name,
            "version": self.version,
            "plugin_type": self.plugin_type,
            "enabled": self.enabled,
            **self.state.to_dict(),
            "description": self.description,
            "actions": list(self.actions),
            "origin": self.origin,
        }


def _check_type(plugin_type: str | None) -> None:
    names = [t.value for t in PluginType]
    if plugin_type is not None and plugin_type not in names:
        raise PluginError(
            f"there is no plugin type {plugin_type!r}",
            code="invalid-value",
            hint=did_you_mean(plugin_type, names),
        )


def _matches(plugin: InstalledPlugin, actions: list[ActionRecord], words: list[str]) -> bool:
    haystack = " ".join(
        [plugin.identifier, plugin.name, plugin.description, *(a.name for a in actions)]
    ).casefold()
    return all(word in haystack for word in words)


def list_plugins(
    store: Store,
    *,
    plugin_type: str | None = None,
    enabled: bool | None = None,
    search: str | None = None,
    states: Mapping[str, PluginState] | None = None,
) -> list[PluginSummary]:
    """Installed plugins, by identifier: of one ``plugin_type``, only enabled (or only
    disabled) ones, and those whose id, name, description or action names contain every
    word of ``search`` (case-insensitive). ``states``: each plugin's status, as a
    runtime loading the store found it (see :mod:`engine.plugins.status`); a plugin no
    runtime has loaded is ``unloaded``."""
    _check_type(plugin_type)
    words = (search or "").casefold().split()
    actions = read_all_actions(store.conn)
    out = []
    for plugin in store.plugins():
        own = actions.get(plugin.identifier, [])
        if plugin_type is not None and plugin.plugin_type != plugin_type:
            continue
        if enabled is not None and plugin.enabled != enabled:
            continue
        if words and not _matches(plugin, own, words):
            continue
        out.append(
            PluginSummary(
                plugin.identifier,
                plugin.name,
                plugin.version,
                plugin.plugin_type,
                plugin.enabled,
                plugin.description,
                tuple(a.name for a in own),
                plugin.origin,
                state_of(states or {}, plugin.identifier, plugin.enabled),
            )
        )
    return out


def _action_view(identifier: str, action: ActionRecord) -> dict[str, Any]:
    inputs = {}
    for name, spec in readable_inputs(action.inputs).items():
        entry = spec.json_schema()
        entry["required"] = spec.required
        if spec.secret and spec.has_default:
            entry["default"] = MASK  # it has one, which is never shown
        inputs[name] = entry
    return {
        "name": action.name,
        "qualified": f"{identifier}/{action.name}",
        "description": action.description,
        "file": action.path,
        "inputs": inputs,
        "outputs": list(action.outputs),
        "calls": list(action.calls),
    }


def _settings_view(
    plugin: InstalledPlugin, values: Mapping[str, Any], secrets: Mapping[str, Any]
) -> dict[str, Any]:
    schema = plugin.configuration_schema
    required = set((schema or {}).get("required") or ())
    declared = []
    for name, spec in properties(schema).items():
        secret = spec.get("secret") is True
        entry: dict[str, Any] = {
            "name": name,
            "type": spec.get("type"),
            "description": spec.get("description", ""),
            "secret": secret,
            "required": name in required,
        }
        if "default" in spec:
            entry["default"] = MASK if secret else spec["default"]
        declared.append(entry)
    view = effective(schema, values, secrets)
    return {
        "declared": declared,
        "values": masked(schema, view),
        "missing": missing(schema, view),
    }


def _dependencies_view(store: Store, plugin: InstalledPlugin) -> dict[str, Any]:
    out = {}
    for dep, text in sorted(plugin.dependencies.items()):
        found = store.get(dep)
        satisfied = found is not None and dependency_range(text, plugin.api_version).contains(
            parse_version(found.version), prereleases=True
        )
        out[dep] = {
            "range": text,
            "installed": found.version if found else None,
            "satisfied": satisfied,
        }
    return out


def _permissions_view(
    store: Store, plugin: InstalledPlugin, catalog: ToolCatalog
) -> dict[str, Any]:
    granted = []
    for entry in store.grant(plugin.identifier):
        granted.append(
            {
                "entry": entry.entry,
                "explicit": entry.explicit,
                "tools": _covered(catalog.coverage((entry.entry,)), catalog),
            }
        )
    return {
        "requested": list(plugin.permissions),
        "granted": granted,
        "profile": plugin.profile,
        "resource_limits": plugin.resource_limits,
    }


def _covered(coverage: Coverage, catalog: ToolCatalog) -> list[dict[str, Any]]:
    """What a grant entry covers, tool by tool: the class of each (of each operation)."""
    out: list[dict[str, Any]] = []
    for tool in sorted(coverage.tools):
        spec = catalog.get(tool)
        item: dict[str, Any] = {"name": tool, "class": spec.tool_class.value if spec else None}
        if spec is not None and spec.operations is not None:
            item["operations"] = {op: c.value for op, c in spec.operations.classes.items()}
        out.append(item)
    for tool, operation in sorted(coverage.operations):
        spec = catalog.get(tool)
        tool_class = spec.class_of(operation).value if spec is not None else None
        out.append({"name": tool, "operation": operation, "class": tool_class})
    return out


def describe(
    store: Store, identifier: str, *, catalog: ToolCatalog | None = None
) -> dict[str, Any]:
    """Everything about one installed plugin, as JSON-ready data (secrets masked)."""
    catalog = catalog or ToolCatalog.builtin()
    plugin = store.require(identifier)
    lock = store.lock(plugin)
    problems = {p.path: p.problem.value for p in check_files(store.folder(plugin), lock)}
    meta = plugin.metadata
    return {
        "identifier": plugin.identifier,
        "name": plugin.name,
        "version": plugin.version,
        "description": plugin.description,
        "author": meta.get("author"),
        "homepage": meta.get("homepage"),
        "license": meta.get("license"),
        "plugin_type": plugin.plugin_type,
        "api_version": plugin.api_version,
        "enabled": plugin.enabled,
        "auto_update": plugin.auto_update,
        "installed_at": plugin.installed_at,
        "updated_at": plugin.updated_at,
        "source": {
            "origin": plugin.origin,
            "kind": plugin.source_kind,
            "ref": plugin.source_ref,
            "detail": dict(plugin.source_detail),
        },
        "folder": str(store.folder(plugin)),
        "actions": [_action_view(identifier, a) for a in store.actions(plugin)],
        "permissions": _permissions_view(store, plugin, catalog),
        "settings": _settings_view(plugin, store.settings(identifier), store.secrets(identifier)),
        "dependencies": _dependencies_view(store, plugin),
        "dependents": store.dependents(identifier),
        "hooks": list(meta.get("hooks") or ()),
        "files": [
            {
                "path": f.path,
                "size": f.size,
                "sha256": f.sha256,
                "status": problems.get(f.path, "ok"),
            }
            for f in lock
        ],
        "unexpected_files": sorted(p for p in problems if p not in {f.path for f in lock}),
        "intact": not problems,
        "certification": read_certification(store.conn, identifier, plugin.version),
    }
