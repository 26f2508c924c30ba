"""A set of actions that can call each other: by name within a folder or plugin, or as
``plugin/action`` across plugins. It resolves `action:` steps at run time and gives the
validator the signatures it checks calls against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.diagnostics.errors import EngineError, ErrorKind, StepError
from engine.diagnostics.suggestions import did_you_mean
from engine.load.sourcemap import Document
from engine.run import default_grant
from engine.run.model import Pipeline, PluginSettings
from engine.tools.catalog import ToolCatalog
from engine.tools.grants import Grant
from engine.validate import ActionSignature, ValidationContext
from engine.validate.schema import is_manifest_name


@dataclass
class _Entry:
    document: Document
    plugin: str | None
    grant: Grant | None = None
    settings: PluginSettings = field(default_factory=PluginSettings)
    pipeline: Pipeline | None = None


class ActionLibrary:
    """Actions by name, compiled on first use (an ``ActionResolver`` for the runtime)."""

    def __init__(self, engine: Any, *, catalog: ToolCatalog | None = None) -> None:
        self.engine = engine
        self.catalog = catalog or engine.catalog
        self._entries: dict[str, _Entry] = {}

    def add(
        self,
        document: Document,
        *,
        plugin: str | None = None,
        grant: Grant | None = None,
        config: Mapping[str, Any] | PluginSettings | None = None,
    ) -> str | None:
        """Add a loaded manifest; returns its qualified name (None if it has no name).
        ``config``: the settings it runs with (:class:`PluginSettings` to say which are
        secret and which are the defaults a test sees)."""
        data = document.data
        name = data.get("name") if isinstance(data, Mapping) else None
        if not isinstance(name, str) or data.get("kind") == "plugin":
            return None
        qualified = f"{plugin}/{name}" if plugin else name
        settings = config if isinstance(config, PluginSettings) else PluginSettings(config or {})
        self._entries[qualified] = _Entry(document, plugin, grant, settings)
        return qualified

    def add_folder(self, folder: Path, *, plugin: str | None = None) -> list[EngineError]:
        """Add every action manifest in ``folder`` (not recursive); returns load errors."""
        errors: list[EngineError] = []
        for path in sorted(folder.iterdir()):
            if not is_manifest_name(path.name) or not path.is_file():
                continue
            try:
                self.add(self.engine.load_file(path), plugin=plugin)
            except EngineError as error:
                errors.append(error)
            except OSError:
                continue
        return errors

    def signatures(self) -> dict[str, ActionSignature]:
        out: dict[str, ActionSignature] = {}
        for qualified, entry in self._entries.items():
            data = entry.document.data
            if isinstance(data, Mapping):
                out[qualified] = ActionSignature.from_manifest(data, plugin=entry.plugin)
        return out

    def context(
        self,
        *,
        plugin: str | None = None,
        permissions: tuple[str, ...] | None = None,
        config_schema: Mapping[str, Any] | None = None,
    ) -> ValidationContext:
        """A validation context that knows every action of this library."""
        return ValidationContext(
            catalog=self.catalog,
            actions=self.signatures(),
            plugin=plugin,
            permissions=permissions,
            config_schema=config_schema,
        )

    def pipeline(self, qualified: str) -> Pipeline:
        """The compiled pipeline of an action of this library."""
        entry = self._entries[qualified]
        if entry.pipeline is None:
            entry.pipeline = self.engine.compile(
                entry.document,
                plugin=entry.plugin,
                catalog=self.catalog,
                context=self.context(plugin=entry.plugin),
            )
        return entry.pipeline

    def resolve(self, target: str, caller: Pipeline) -> tuple[Pipeline, Grant, PluginSettings]:
        """What an `action:` step in ``caller`` runs: pipeline, grant and settings."""
        qualified = target
        if "/" not in target and caller.plugin:
            qualified = f"{caller.plugin}/{target}"
        entry = self._entries.get(qualified) or self._entries.get(target)
        if entry is None:
            raise StepError(
                ErrorKind.NOT_FOUND,
                f"no action named `{target}` is available",
                hint=did_you_mean(target, self._entries, listing=False)
                or "put the action's file in the same folder (or install its plugin), "
                "and check its `name:`",
                details={"action": target},
            )
        key = qualified if qualified in self._entries else target
        try:
            pipeline = self.pipeline(key)
        except EngineError as error:
            raise StepError(
                ErrorKind.NOT_FOUND,
                f"the action `{target}` cannot run: {error.message}",
                hint=error.hint,
            ) from error
        grant = entry.grant or default_grant(pipeline, self.catalog)
        return pipeline, grant, entry.settings
