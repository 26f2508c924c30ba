"""The plugin model: a manifest's metadata and actions, and the helpers that read files.

Shared by :mod:`engine.plugins.manifest` (``plugin.yaml`` and lone actions) and
:mod:`engine.plugins.action_files` (a plugin's action files).

>>> PluginType("utility"), display_name("demo", "plugin.yaml")
(<PluginType.UTILITY: 'utility'>, 'demo/plugin.yaml')
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from engine.diagnostics.errors import Diagnostic, ManifestError, PluginError, sort_diagnostics
from engine.load.loader import load_bytes
from engine.load.ranges import dependency_range, parse_version
from engine.load.sourcemap import Document
from engine.load.versions import SUPPORTED
from engine.validate import ActionSignature

# The api_versions this km-actions reads (older ones upgraded as they load).
API_VERSIONS = SUPPORTED
PLUGIN_FILES = ("plugin.yaml", "plugin.yml", "plugin.json")
DEFAULT_ACTIONS = ("actions/*.yaml", "actions/*.yml", "actions/*.json")
LONE_VERSION = "0.0.0"


class PluginType(enum.Enum):
    """What kind of plugin this is (lists filter on it)."""

    ACTION = "action"
    INTEGRATION = "integration"
    TRANSFORMATION = "transformation"
    TRIGGER = "trigger"
    INTERFACE = "interface"
    UTILITY = "utility"


@dataclass(frozen=True)
class PluginAction:
    """One validated action of a plugin."""

    name: str
    path: str
    document: Document
    signature: ActionSignature
    description: str = ""


@dataclass(frozen=True)
class PluginManifest:
    """A plugin's metadata and (after :func:`load_actions`) its validated actions."""

    identifier: str
    name: str
    version: str
    api_version: str
    root: Path
    label: str
    description: str = ""
    author: str | None = None
    plugin_type: PluginType = PluginType.ACTION
    dependencies: Mapping[str, str] = field(default_factory=dict)
    permissions: tuple[str, ...] = ()
    configuration_schema: Mapping[str, Any] | None = None
    hooks: tuple[Mapping[str, Any], ...] = ()
    action_patterns: tuple[str, ...] = DEFAULT_ACTIONS
    manifest_file: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)
    actions: tuple[PluginAction, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    lone_document: Document | None = field(default=None, repr=False)
    document: Document | None = field(default=None, repr=False)  # plugin.yaml, as read
    # The tools it was read against: its action files are loaded for them too (a 1.0
    # permission group becomes those of its tools they have).
    tools: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def resource_limits(self) -> dict[str, float]:
        """The limits the plugin declares for itself (checked: numbers, known names)."""
        declared = self.data.get("resource_limits")
        return dict(declared) if isinstance(declared, Mapping) else {}

    @property
    def semver(self) -> Version:
        return parse_version(self.version)

    @property
    def ranges(self) -> dict[str, SpecifierSet]:
        """The dependency ranges, parsed (they were checked when the manifest was read)."""
        return {
            dep: dependency_range(text, self.api_version) for dep, text in self.dependencies.items()
        }

    @property
    def is_lone_action(self) -> bool:
        return self.lone_document is not None

    def metadata(self) -> dict[str, Any]:
        """The JSON form the store records and ``describe`` shows."""
        out: dict[str, Any] = {
            "identifier": self.identifier,
            "name": self.name,
            "version": self.version,
            "api_version": self.api_version,
            "description": self.description,
            "author": self.author,
            "plugin_type": self.plugin_type.value,
            "dependencies": dict(self.dependencies),
            "permissions": list(self.permissions),
            "configuration_schema": self.configuration_schema,
            "hooks": [dict(h) for h in self.hooks],
            "actions": list(self.action_patterns),
        }
        for key in ("homepage", "license"):
            if isinstance(self.data.get(key), str):
                out[key] = self.data[key]
        if self.resource_limits:
            out["resource_limits"] = self.resource_limits
        return out


def invalid_plugin(label: str, diagnostics: list[Diagnostic], what: str) -> PluginError:
    """The error refusing a plugin, with every problem (best first) as diagnostics."""
    ordered = sort_diagnostics(diagnostics)
    first = ordered[0]
    more = f" (and {len(ordered) - 1} more problems)" if len(ordered) > 1 else ""
    return PluginError(
        f"{label}: {what} is not valid: {first.location}: {first.message}{more}",
        code="invalid-plugin",
        hint=first.hint or "fix the problems listed, then install again",
        diagnostics=ordered,
    )


def display_name(label: str | None, relative: str) -> str:
    """How a plugin's file is named in messages: ``label/relative``."""
    return f"{label}/{relative}" if label else relative


def load_file(path: Path, display: str, tools: Mapping[str, Any] | None = None) -> Document:
    """Read and parse one file of a plugin; problems become :class:`PluginError`
    (``tools``: the catalog it is checked against, which a 1.0 file is upgraded to)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PluginError(
            f"cannot read {display}: {exc.strerror}",
            code="plugin-unreadable",
            hint="check that the file exists and can be read",
            file=display,
        ) from exc
    try:
        return load_bytes(raw, file=display, catalog=tools)
    except ManifestError as exc:
        raise PluginError(
            f"{display}: {exc.message}",
            code="invalid-plugin",
            hint=exc.hint or exc.first.hint,
            diagnostics=exc.diagnostics,
        ) from exc
