"""A set of actions that can call each other: by name within a folder or plugin, or as
``plugin/action`` across plugins. It resolves `action:` steps at run time (the only
``ActionResolver``: a folder of files, a plugin folder and the installed plugins are each
one library) and gives the validator the signatures it checks calls against.

What a library says of a name it does not have depends on what it holds: a folder's
files, one plugin (a call into another plugin cannot run here), or the installed plugins
(a disabled or refused plugin says why).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
from engine.validate.context import action_names, find_action
from engine.validate.schema import is_manifest_name

#: Why an installed action cannot run although its name is known (its plugin disabled or
#: refused), or None when no plugin installed has it.
WhyMissing = Callable[[str], EngineError | None]


@dataclass
class _Entry:
    document: Document
    plugin: str | None
    grant: Grant | None = None
    settings: PluginSettings = field(default_factory=PluginSettings)
    checked: bool = False  # validated already (with its plugin): compiled without a check
    pipeline: Pipeline | None = None


class ActionLibrary:
    """Actions by name, compiled on first use (an ``ActionResolver`` for the runtime).

    ``plugin``: the one plugin this library holds (a local plugin folder): calls into
    another plugin are refused as not available here. ``installed``: this library holds
    the installed plugins; the function says why a name it does not have cannot run.
    """

    def __init__(
        self,
        engine: Any,
        *,
        catalog: ToolCatalog | None = None,
        plugin: str | None = None,
        installed: WhyMissing | None = None,
    ) -> None:
        self.engine = engine
        self.catalog = catalog or engine.catalog
        self.plugin = plugin
        self.installed = installed
        self._entries: dict[str, _Entry] = {}

    def add(
        self,
        document: Document,
        *,
        plugin: str | None = None,
        grant: Grant | None = None,
        config: Mapping[str, Any] | PluginSettings | None = None,
        checked: bool = False,
    ) -> str | None:
        """Add a loaded manifest; returns its qualified name (None if it has no name).
        ``config``: the settings it runs with (:class:`PluginSettings` to say which are
        secret and which are the defaults a test sees). ``checked``: it was validated
        already, with its plugin, so it is compiled without validating it again."""
        data = document.data
        name = data.get("name") if isinstance(data, Mapping) else None
        if not isinstance(name, str) or data.get("kind") == "plugin":
            return None
        qualified = f"{plugin}/{name}" if plugin else name
        settings = config if isinstance(config, PluginSettings) else PluginSettings(config or {})
        self._entries[qualified] = _Entry(document, plugin, grant, settings, checked)
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

    def names(self) -> list[str]:
        """Every action of this library, by its qualified name, in the order added."""
        return list(self._entries)

    def document(self, qualified: str) -> Document | None:
        """The manifest of an action of this library (None if it has no such action)."""
        entry = self._entries.get(qualified)
        return entry.document if entry is not None else None

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
        """The compiled pipeline of an action of this library (raises the error users see
        for a name it does not have, or an ``EngineError`` if the action does not compile)."""
        entry = self._entries.get(qualified)
        if entry is None:
            raise self._missing(qualified, qualified)
        if entry.pipeline is None:
            entry.pipeline = self.engine.compile(
                entry.document,
                plugin=entry.plugin,
                catalog=self.catalog,
                context=None if entry.checked else self.context(plugin=entry.plugin),
                check=not entry.checked,
            )
        return entry.pipeline

    def resolve(self, target: str, caller: Pipeline) -> tuple[Pipeline, Grant, PluginSettings]:
        """What an `action:` step in ``caller`` runs: pipeline, grant and settings."""
        found = find_action(self._entries, target, caller.plugin)
        try:
            if found is None:
                raise self._missing(target, action_names(target, caller.plugin)[0], caller)
            key, entry = found
            pipeline = self.pipeline(key)
        except StepError:
            raise
        except EngineError as error:  # it does not compile, or its plugin was refused
            raise StepError(
                ErrorKind.NOT_FOUND,
                f"the action `{target}` cannot run: {error.message}",
                hint=error.hint,
            ) from error
        grant = entry.grant or default_grant(pipeline, self.catalog)
        return pipeline, grant, entry.settings

    def _missing(self, target: str, qualified: str, caller: Pipeline | None = None) -> EngineError:
        """The error users see for a name this library does not have (the only place
        that words it): ``target`` as written, ``qualified`` with the caller's plugin."""
        owner = qualified.rpartition("/")[0]
        if self.plugin is not None and caller is not None and owner and owner != self.plugin:
            return StepError(
                ErrorKind.NOT_FOUND,
                f"`{target}` belongs to another plugin, which is not available here",
                hint="install both plugins, then run the installed action "
                f"(km-actions run {self.plugin}/{caller.name})",
                details={"action": target},
            )
        if self.plugin is not None:
            name = qualified.removeprefix(f"{self.plugin}/")
            return StepError(
                ErrorKind.NOT_FOUND,
                f"the plugin '{self.plugin}' has no action `{name}`",
                hint=did_you_mean(name, [n.rpartition("/")[2] for n in self._entries]),
            )
        if self.installed is not None:
            why = self.installed(qualified)
            if why is not None:
                return why
            shown, message = qualified, f"no installed action is named `{qualified}`"
            fallback = "see the installed actions with `km-actions list`"
        else:
            shown, message = target, f"no action named `{target}` is available"
            fallback = (
                "put the action's file in the same folder (or install its plugin), "
                "and check its `name:`"
            )
        return StepError(
            ErrorKind.NOT_FOUND,
            message,
            hint=did_you_mean(shown, self._entries, listing=False) or fallback,
            details={"action": shown},
        )
