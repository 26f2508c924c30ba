"""`create` and `validate` for AI callers: every problem at once, then an installed tool.

A created action goes into a plugin of actions created over MCP (``mcp-created`` unless
the caller names another): the plugin's installed files are copied, the action added
or replaced, its version bumped and its permissions widened to what its actions use
(within the server's ceiling), and the result installed atomically with origin
``mcp-create``. Actions the user installed from files are never replaced unless the
configuration allows it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from engine.diagnostics.errors import Diagnostic, EngineError, ManifestValidationError, Severity
from engine.diagnostics.report import summary
from engine.load.loader import load_text
from engine.load.sourcemap import Document
from engine.load.versions import CURRENT, upgraded
from engine.plugins.events import EventCallback
from engine.plugins.installer import InstallSource, install
from engine.plugins.layout import inside
from engine.plugins.manifest import undeclared_dependencies
from engine.plugins.origins import MCP_CREATE
from engine.plugins.plan import installed_signatures
from engine.plugins.settings import plugin_settings
from engine.run.testing import TestOutcome, run_tests
from engine.server import ecosystem
from engine.server.ecosystem import APPLIED_DEFAULTS
from engine.server.host import ClientProgress
from engine.server.naming import action_tool_name
from engine.server.ownership import Change
from engine.tools.catalog import ToolCatalog
from engine.validate import ValidationContext, ValidationLevel, manifest_needs, validate
from engine.validate.inputs import declared_inputs_schema
from engine.validate.names import NameKind, check_name

if TYPE_CHECKING:  # the host runs these operations: it imports this module
    from engine.server.store_host import StoreHost

DEFAULT_PLUGIN = "mcp-created"
ORIGIN = MCP_CREATE


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


def _problems(operation: str, verdict: Verdict) -> dict[str, Any]:
    diagnostics = verdict.diagnostics
    errors = [d for d in diagnostics if d.is_error]
    first = errors[0]
    error = ManifestValidationError(
        f"the manifest has {summary(diagnostics)}: fix every one and send it again",
        code=first.code,
        hint=first.hint,
        diagnostics=errors,
    )
    warnings = [d.to_dict() for d in diagnostics if not d.is_error]
    envelope = ecosystem.failure(operation, error, warnings=warnings)
    if verdict.tests:
        envelope["data"] = {"tests": [o.to_dict() for o in verdict.tests]}
    return envelope


def _target(host: StoreHost, args: Mapping[str, Any]) -> str:
    """The plugin the action goes into, if an MCP caller may add to it."""
    # It becomes a path (the plugin's folder): checked first.
    plugin = check_name(args.get("plugin_identifier") or DEFAULT_PLUGIN, NameKind.PLUGIN)
    _check_overwrite(host, plugin)
    return plugin


async def validate_only(host: StoreHost, args: Mapping[str, Any]) -> dict[str, Any]:
    """`validate`: what `create` would answer, nothing installed."""
    plugin = _target(host, args)
    verdict = await examine(host, args, plugin)
    if not verdict.valid:
        return _problems("validate", verdict)
    data: dict[str, Any] = {"valid": True, "plugin": plugin}
    if verdict.tests:
        data["tests"] = {"passed": len(verdict.tests)}
    return ecosystem.success("validate", data, warnings=[d.to_dict() for d in verdict.diagnostics])


async def create(
    host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
) -> dict[str, Any]:
    """`create`: validate (strict: also tests and descriptions), then install."""
    plugin = _target(host, args)
    verdict = await examine(host, args, plugin)
    document = verdict.document
    if document is None or not verdict.valid:
        return _problems("create", verdict)
    data = document.data
    name = check_name(data["name"], NameKind.ACTION)
    if progress is not None:
        await progress(1, 3, "validated")
    profile = host.profile(args.get("security_profile"))
    confirm = host.ceiling_confirm()

    async def installed() -> None:
        if progress is not None:
            await progress(2, 3, "installed")

    result, warnings = await host.change(
        lambda log: _install(host, plugin, name, document, profile, confirm, log),
        profile=args.get("security_profile"),
        worked=installed,
    )
    if progress is not None:
        await progress(3, 3, "offered as a tool")
    inputs = data.get("inputs") if isinstance(data.get("inputs"), Mapping) else {}
    tool = action_tool_name(plugin, name)
    return ecosystem.success(
        "create",
        {
            "action": f"{plugin}/{name}",
            "tool": tool,
            "input_schema": declared_inputs_schema(inputs),
            "plugin": plugin,
            "version": result.plugin.version,
            "created_over_mcp": True,
            "message": f"created `{name}` in the plugin `{plugin}` (version "
            f'{result.plugin.version}); run it with `execute` (action_name "{plugin}/{name}") or '
            f"its own tool `{tool}`",
        },
        warnings=[d.to_dict() for d in verdict.diagnostics] + warnings,
    )


def _check_overwrite(host: StoreHost, plugin: str) -> None:
    """Refuse early (before tests run) what the install itself would refuse."""
    installed = host.store.get(plugin)
    if installed is not None:
        host.may(Change.CREATE)(installed)


def _install(
    host: StoreHost,
    plugin: str,
    name: str,
    document: Document,
    profile: Any,
    confirm: Any,
    events: EventCallback,
) -> Any:
    installed = host.store.get(plugin)
    with tempfile.TemporaryDirectory() as scratch:
        folder = inside(Path(scratch), check_name(plugin, NameKind.PLUGIN))
        if installed is not None:
            shutil.copytree(host.store.folder(installed), folder)
            for path in folder.rglob("*"):
                path.chmod(0o755 if path.is_dir() else 0o644)
        actions = inside(folder, "actions")
        actions.mkdir(parents=True, exist_ok=True)
        for old in actions.glob(f"{check_name(name, NameKind.ACTION)}.*"):
            old.unlink()
        text = document.text or yaml.safe_dump(
            dict(document.data), sort_keys=False, allow_unicode=True
        )
        suffix = ".json" if document.format == "json" else ".yaml"
        written = inside(actions, f"{name}{suffix}")
        written.write_text(text, "utf-8")
        _write_plugin_yaml(folder, plugin, installed, written, host.catalog())
        return install(
            host.store,
            InstallSource.of(folder, origin=ORIGIN),
            confirm=confirm,
            profile=profile,
            catalog=host.catalog(),
            origin=ORIGIN,
            may_replace=host.may(Change.CREATE),
            events=events,
        )


def _write_plugin_yaml(
    folder: Path, plugin: str, installed: Any, written: Path, catalog: ToolCatalog
) -> None:
    """The plugin manifest of the new version: the installed one's, every field kept
    (settings schema, hooks, dependencies, …), with the version bumped, the permissions
    widened to what the actions declare (what they use, operation by operation, when
    they declare nothing), and the new action file among its actions."""
    manifest_path = folder / "plugin.yaml"
    previous = dict(installed.metadata) if installed is not None else {}
    # Keep the patterns that still find files (a replaced action may have changed its
    # suffix), and name the new file unless one of them finds it already.
    patterns = [p for p in previous.get("actions") or () if _matches(folder, str(p))]
    if not any(written in _matches(folder, pattern) for pattern in patterns):
        patterns.append(written.relative_to(folder).as_posix())
    permissions = set(previous.get("permissions") or ())
    for path in sorted({path for pattern in patterns for path in _matches(folder, pattern)}):
        data = load_text(path.read_text("utf-8"), file=str(path), catalog=catalog).data
        declared = data.get("permissions") if isinstance(data, Mapping) else None
        if declared:
            permissions.update(declared)
            continue
        covered = catalog.coverage(tuple(sorted(permissions)))
        permissions.update(str(n) for n in manifest_needs(data, catalog) if not covered.covers(n))
    manifest: dict[str, Any] = {
        # The permissions gathered here are read as the current language reads them.
        "api_version": CURRENT,
        "kind": "plugin",
        "identifier": plugin,
        "name": previous.get("name") or "Actions created over MCP",
        "version": _bump(str(previous.get("version", "0.0.0"))),
        "description": previous.get("description")
        or "Actions created by AI assistants through km_plugin_ecosystem.",
        "plugin_type": previous.get("plugin_type") or "action",
        "permissions": sorted(permissions),
        "actions": patterns,
    }
    for key, value in previous.items():
        if key not in manifest and value not in (None, {}, []):
            manifest[key] = value
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True), "utf-8")


def _matches(folder: Path, pattern: str) -> list[Path]:
    """The files ``pattern`` (a path or glob inside the plugin folder) finds."""
    try:
        return [path for path in folder.glob(pattern) if path.is_file()]
    except (ValueError, NotImplementedError):  # not a relative pattern: finds nothing here
        return []


def _bump(version: str) -> str:
    major, minor, patch = [*version.split("-")[0].split("."), "0", "0", "0"][:3]
    return f"{major}.{minor}.{int(patch) + 1}"
