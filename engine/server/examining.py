"""The one check behind `create` and `validate` over MCP: every problem a manifest has,
at the level asked for (at ``strict``, its tests run and must pass), before anything is
installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from engine.diagnostics.errors import Diagnostic, EngineError, Severity
from engine.load.loader import load_text
from engine.load.sourcemap import Document
from engine.load.versions import upgraded
from engine.plugins.manifest import undeclared_dependencies
from engine.plugins.plan import installed_signatures
from engine.plugins.settings import plugin_settings
from engine.run.testing import TestOutcome, run_tests
from engine.server.ecosystem import APPLIED_DEFAULTS
from engine.tools.catalog import ToolCatalog
from engine.validate import ValidationContext, ValidationLevel, validate

if TYPE_CHECKING:  # the host runs these operations: it imports this module
    from engine.server.store_host import StoreHost


def read_manifest(args: Mapping[str, Any], catalog: ToolCatalog | None = None) -> Document:
    """The manifest given as an object (``parameters``) or as text (``plugin_source``),
    a 1.0 one upgraded for ``catalog`` (the tools it is checked against)."""
    if "parameters" in args and "plugin_source" in args:
        raise EngineError(
            "give the manifest once: as `parameters` or as `plugin_source`",
            code="invalid-parameter",
            hint="remove one of them",
        )
    if "parameters" in args:
        return upgraded(Document.from_data(dict(args["parameters"]), file="manifest"), catalog)
    text = str(args["plugin_source"])
    form = "json" if text.lstrip().startswith("{") else "yaml"
    return load_text(text, file=f"manifest.{form}", format=form, catalog=catalog)


def _context(host: StoreHost, plugin: str, level: ValidationLevel, data: Any) -> ValidationContext:
    """Validation as the install into ``plugin`` will check the action: against the
    installed actions, within the server's ceiling (every call, operation by operation:
    only the user can grant more), and, when the action declares permissions, as an
    action of the plugin, whose grant will be its permissions and the action's."""
    return ValidationContext(
        catalog=host.catalog(),
        actions=installed_signatures(host.store),
        plugin=plugin,
        permissions=_plugin_grant(host, plugin, data),
        own_granted=True,  # _write_plugin_yaml adds the action's permissions to the plugin's
        level=level,
        ceiling=host.ceiling(),
    )


def _plugin_grant(host: StoreHost, plugin: str, data: Any) -> tuple[str, ...] | None:
    """What ``plugin`` is granted besides the action's own ``permissions:`` once the
    action is in it (see :func:`_write_plugin_yaml`), or None when the action declares
    none (the plugin is then widened to what it uses)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("permissions"), list):
        return None
    installed = host.store.get(plugin)
    previous = installed.metadata.get("permissions") if installed is not None else None
    return tuple(str(entry) for entry in previous or ())


@dataclass(frozen=True)
class Verdict:
    """What `create` finds in a manifest, and `validate` answers: the manifest read,
    every problem, and the outcome of its tests (run at ``strict`` when it is valid)."""

    document: Document | None
    diagnostics: list[Diagnostic]
    tests: list[TestOutcome] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.document is not None and not any(d.is_error for d in self.diagnostics)


async def examine(host: StoreHost, args: Mapping[str, Any], plugin: str) -> Verdict:
    """Every problem `create` would find in the manifest of ``args`` for ``plugin``: the
    one check behind both `create` and `validate`."""
    level = ValidationLevel(args.get("validation_level", APPLIED_DEFAULTS["validation_level"]))
    try:
        document = read_manifest(args, host.catalog())
    except EngineError as error:
        return Verdict(None, list(error.diagnostics))
    data = document.data
    if isinstance(data, str) and _names_a_file(data):
        problem = document.diagnostic(
            "not-a-mapping",
            "`plugin_source` holds the action itself (its YAML or JSON text), not the name "
            "of a file",
            (),
            hint="send the file's contents as `plugin_source` (or the manifest as an object "
            "in `parameters`); a plugin the user allowed is installed with `install`",
        )
        return Verdict(document, [problem])
    if isinstance(data, Mapping) and data.get("kind") == "plugin":
        problem = document.diagnostic(
            "invalid-value",
            "`create` takes one action, not a plugin manifest",
            ("kind",),
            hint="send the action itself (kind: action); install plugins with `install`",
        )
        return Verdict(document, [problem])
    found = validate(document, _context(host, plugin, level, data))
    verdict = Verdict(document, [*found, *_undeclared(host, document, plugin)])
    if level is not ValidationLevel.STRICT:
        return verdict
    verdict = replace(verdict, diagnostics=[_strict(d) for d in verdict.diagnostics])
    if not (isinstance(data, Mapping) and data.get("tests")):
        return replace(verdict, diagnostics=[*verdict.diagnostics, _no_tests(document)])
    if not verdict.valid:
        return verdict  # its tests run once the manifest is valid
    return await _with_tests(host, verdict, document, plugin)


def _names_a_file(text: str) -> bool:
    """True when a manifest's text is one line naming a file (``~/a.yaml``,
    ``actions/x.json``): a caller sent a path where the action belongs."""
    line = text.strip()
    return "\n" not in line and line.lower().endswith((".yaml", ".yml", ".json"))


#: What is a warning for the user and, at `strict`, an error for an MCP caller: reading a
#: key the tool's recorded answers never have (the action cannot work as written, and its
#: tests may still pass, on mocks shaped the same wrong way), and a mock shaped as the
#: real server never answers (a test passing on it proves nothing).
STRICT_ERRORS = frozenset({"unknown-result-field", "mock-answer-shape"})


def _strict(diagnostic: Diagnostic) -> Diagnostic:
    if diagnostic.code in STRICT_ERRORS and not diagnostic.is_error:
        return replace(diagnostic, severity=Severity.ERROR)
    return diagnostic


def _no_tests(document: Document) -> Diagnostic:
    return document.diagnostic(
        "missing-key",
        "strict validation needs `tests:` that show the action works",
        (),
        at_key=True,
        hint="add `tests:` at the top level: each test with a `name`, `inputs`, the tools' "
        "answers under `mocks:` (shaped as km-actions://catalog shows) and `expect: "
        "{outputs: …}`",
    )


def _undeclared(host: StoreHost, document: Document, plugin: str) -> list[Diagnostic]:
    """Calls to actions of plugins that ``plugin`` does not depend on: refused as the
    installer would refuse them, before any test runs."""
    installed = host.store.get(plugin)
    dependencies = sorted(installed.dependencies) if installed is not None else []
    can_call = ", ".join([plugin, *dependencies])
    return [
        replace(
            problem,
            hint=f"an action created over MCP can call the actions of {can_call} only; "
            "call the tools it needs itself",
        )
        for problem in undeclared_dependencies(document, plugin, dependencies)
    ]


async def _with_tests(
    host: StoreHost, verdict: Verdict, document: Document, plugin: str
) -> Verdict:
    """Strict level: the manifest's tests must pass (each failing one is a problem,
    located at the test)."""
    tests = document.data["tests"]
    pipeline = host.engine.compile(document, plugin=plugin, catalog=host.catalog(), check=False)
    installed = host.store.get(plugin)
    outcomes = await run_tests(
        pipeline,
        catalog=host.catalog(),
        resolver=host.loaded.served,
        settings=plugin_settings(installed.configuration_schema if installed else None),
    )
    places = [index for index, test in enumerate(tests) if isinstance(test, Mapping)]
    failed = [
        document.diagnostic(
            "test-failed",
            f"the test `{outcome.name}` failed: " + "; ".join(outcome.failures),
            ("tests", place),
            hint="fix the action, or the test: its `mocks:` must answer as the tools do "
            "(km-actions://catalog shows each answer) and its `expect:` what the action "
            "then gives",
        )
        for outcome, place in zip(outcomes, places, strict=True)
        if not outcome.passed
    ]
    return replace(verdict, diagnostics=[*verdict.diagnostics, *failed], tests=outcomes)
