"""Certifying a plugin: what a user installing it relies on, checked in one report.

Five checks, in this order (each passed, warned, failed, or skipped when the plugin is
not valid enough to run it):

1. **validation**: ``plugin.yaml`` and every action, at the strict level (descriptions
   of the plugin, its settings, every action and input), in the plugin's context;
2. **tests**: every action has at least one test, and every test passes (mocked tools,
   the settings' defaults);
3. **permissions**: what each action calls (tools, with their operations and class,
   and other plugins' actions); ``permissions:`` must cover what is used (a tool used
   and not covered fails), and an entry no action needs, or a group granting more than
   is used, is a warning;
4. **docs**: the generated documentation (:mod:`engine.plugins.docs`); an action without an
   example is a warning;
5. **package**: packed twice as ``km-actions pack`` packs it (zip), the same bytes; its
   sha256 names the package.

The plugin is **certified** when no check failed or was skipped (warnings allowed).
``km-actions certify FOLDER`` prints the report (exit status 0 certified, 1 not, 2 a
usage error); every install certifies what it installs and keeps the result, with the
package's sha256, for ``describe``.

>>> from pathlib import Path
>>> report = certify_folder(Path("actions/clipboard-tools"))
>>> report.certified, [c.outcome.value for c in report.checks]
(True, ['passed', 'passed', 'passed', 'passed', 'passed'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import __version__
from engine.diagnostics.errors import PluginError
from engine.diagnostics.words import counted
from engine.engine import Engine
from engine.plugins._certify_checks import (
    Check,
    Outcome,
    check_docs,
    check_package,
    check_permissions,
    check_tests,
    check_validation,
)
from engine.plugins._db import now
from engine.plugins._model import PluginManifest
from engine.plugins.manifest import load_actions, read_manifest
from engine.tools.catalog import ToolCatalog
from engine.validate import ActionSignature

__all__ = ["Certification", "certify_folder", "certify_manifest"]

CHECKS = ("validation", "tests", "permissions", "docs", "package")


@dataclass(frozen=True)
class Certification:
    """The report: each check, the package's sha256, by which km-actions and when."""

    identifier: str | None
    version: str | None
    checks: tuple[Check, ...]
    sha256: str | None
    km_actions: str
    at: str

    @property
    def certified(self) -> bool:
        return all(c.outcome in (Outcome.PASSED, Outcome.WARNED) for c in self.checks)

    @property
    def exit_status(self) -> int:
        return 0 if self.certified else 1

    def reasons(self) -> list[str]:
        """Why it is not certified: one line per check that failed or was skipped."""
        return [
            f"{c.name}: {c.summary}"
            for c in self.checks
            if c.outcome in (Outcome.FAILED, Outcome.SKIPPED)
        ]

    def to_dict(self) -> dict[str, Any]:
        """The whole report (``km-actions certify --json``)."""
        return {
            "identifier": self.identifier,
            "version": self.version,
            "certified": self.certified,
            "sha256": self.sha256,
            "km_actions": self.km_actions,
            "at": self.at,
            "checks": [c.to_dict() for c in self.checks],
        }

    def summary(self) -> dict[str, Any]:
        """What an install keeps and ``describe`` shows: the outcome of each check, the
        reasons it is not certified, and the first problems (at most 10)."""
        problems = [p for c in self.checks for p in c.problems]
        return {
            "certified": self.certified,
            "sha256": self.sha256,
            "km_actions": self.km_actions,
            "at": self.at,
            "checks": {c.name: c.outcome.value for c in self.checks},
            "reasons": self.reasons(),
            "problems": [str(p) for p in problems[:10]],
            "more_problems": max(0, len(problems) - 10),
        }


def certify_folder(
    folder: Path,
    *,
    catalog: ToolCatalog | None = None,
    others: Mapping[str, ActionSignature] | None = None,
    output: Path | None = None,
) -> Certification:
    """Certify the plugin folder ``folder`` (``others``: installed plugins' actions its
    actions may call; ``output``: where to keep the package). Raises ``PluginError``
    (``plugin-manifest-missing``) when the folder has no plugin manifest."""
    catalog = catalog or ToolCatalog.builtin()
    try:
        manifest = read_manifest(folder, label=str(folder), catalog=catalog)
    except PluginError as error:
        if error.code == "plugin-manifest-missing":
            raise
        return _not_valid(None, error)
    return certify_manifest(manifest, catalog=catalog, others=others, output=output)


def certify_manifest(
    manifest: PluginManifest,
    *,
    catalog: ToolCatalog | None = None,
    others: Mapping[str, ActionSignature] | None = None,
    output: Path | None = None,
) -> Certification:
    """Certify a plugin read with :func:`~engine.plugins.manifest.read_manifest` (its
    actions loaded or not yet), whose files are in ``manifest.root``."""
    catalog = catalog or ToolCatalog.builtin()
    if not manifest.actions:
        try:
            manifest = load_actions(manifest, catalog=catalog, others=others)
        except PluginError as error:
            return _not_valid(manifest, error)
    engine = Engine(catalog=catalog)
    checks = (
        check_validation(manifest, catalog, others),
        check_tests(manifest, engine),
        check_permissions(manifest, catalog),
        check_docs(manifest),
        check_package(manifest, output),
    )
    return Certification(
        manifest.identifier,
        manifest.version,
        checks,
        checks[-1].details.get("sha256"),
        __version__,
        now(),
    )


def _not_valid(manifest: PluginManifest | None, error: PluginError) -> Certification:
    """The report of a plugin that is not valid even at the standard level: the other
    checks cannot run."""
    problems = tuple(error.diagnostics)
    failed = Check(
        "validation",
        Outcome.FAILED,
        f"not valid: {counted(len(problems), 'problem')} (the plugin cannot be installed as it is)",
        problems,
    )
    skipped = tuple(
        Check(name, Outcome.SKIPPED, "not run: the plugin is not valid") for name in CHECKS[1:]
    )
    return Certification(
        manifest.identifier if manifest else None,
        manifest.version if manifest else None,
        (failed, *skipped),
        None,
        __version__,
        now(),
    )
