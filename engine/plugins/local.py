"""A plugin folder on disk, not installed: validated, compiled and runnable as it is.

``km-actions test`` and ``km-actions run`` use it for action files that sit in a plugin
folder (next to a ``plugin.yaml``): their ``config.x`` references, ``action:`` calls to
sibling actions and permissions are checked and run in the plugin's context, with the
settings' defaults (and a test's own ``config:``) as ``config``.

>>> import asyncio
>>> from pathlib import Path
>>> plugin = LocalPlugin.read(Path("actions/clipboard-tools"))
>>> [o.passed for o in asyncio.run(plugin.run_tests("sign-clipboard"))]
[True]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from engine.engine import Engine
from engine.plugins.manifest import PLUGIN_FILES, PluginManifest, read_plugin
from engine.plugins.settings import plugin_settings
from engine.run.library import ActionLibrary
from engine.run.model import Pipeline
from engine.run.testing import TestOutcome, run_tests
from engine.tools.grants import Grant
from engine.validate import ActionSignature


def enclosing_plugin(path: Path, *, levels: int = 4) -> Path | None:
    """The plugin folder a file belongs to (a folder above it with a plugin manifest)."""
    folder = path.resolve().parent
    for _ in range(levels):
        if any((folder / name).is_file() for name in PLUGIN_FILES):
            return folder
        if folder.parent == folder:
            return None
        folder = folder.parent
    return None


class LocalPlugin:
    """A plugin read from its folder, its actions compiled in its context."""

    def __init__(self, manifest: PluginManifest, engine: Engine) -> None:
        self.manifest = manifest
        self.engine = engine
        self.grant = Grant.from_permissions(manifest.permissions, engine.catalog)
        self.settings = plugin_settings(manifest.configuration_schema)  # the defaults
        # Its actions were validated when the plugin was read; calls into other plugins
        # are refused here (they are not read).
        self.library = ActionLibrary(engine, plugin=manifest.identifier)
        for action in manifest.actions:
            self.library.add(
                action.document,
                plugin=manifest.identifier,
                grant=self.grant,
                config=self.settings,
                checked=True,
            )

    @classmethod
    def read(
        cls,
        folder: Path,
        *,
        engine: Engine | None = None,
        others: Mapping[str, ActionSignature] | None = None,
    ) -> LocalPlugin:
        """Read and validate the plugin at ``folder`` (raises ``PluginError``)."""
        engine = engine or Engine()
        manifest = read_plugin(folder, label=str(folder), catalog=engine.catalog, others=others)
        return cls(manifest, engine)

    @property
    def identifier(self) -> str:
        return self.manifest.identifier

    def names(self) -> list[str]:
        return [a.name for a in self.manifest.actions]

    def name_of(self, path: Path) -> str | None:
        """The action defined in the file ``path`` (None if it is not one of the plugin's)."""
        wanted = path.resolve()
        for action in self.manifest.actions:
            if (self.manifest.root / action.path).resolve() == wanted:
                return action.name
        return None

    def pipeline(self, name: str) -> Pipeline:
        """The compiled action ``name`` of this plugin (validated when the plugin was read)."""
        return self.library.pipeline(f"{self.identifier}/{name}")

    def resolver(self) -> ActionLibrary:
        """Resolves `action:` steps to this plugin's actions, run with its defaults."""
        return self.library

    async def run_tests(self, name: str) -> list[TestOutcome]:
        """Run the ``tests:`` of one action, each with the defaults plus its ``config:``."""
        return await run_tests(
            self.pipeline(name),
            catalog=self.engine.catalog,
            resolver=self.resolver(),
            settings=self.settings,
        )
