"""`create` and `validate` for AI callers: every problem at once (the check is
:mod:`engine.server.examining`), then an installed tool.

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from engine.diagnostics.errors import ManifestValidationError
from engine.diagnostics.report import summary
from engine.load.loader import load_text
from engine.load.sourcemap import Document
from engine.load.versions import CURRENT
from engine.plugins.events import EventCallback
from engine.plugins.installer import InstallResult, InstallSource, install
from engine.plugins.layout import inside
from engine.plugins.origins import MCP_CREATE
from engine.server import ecosystem
from engine.server.examining import Verdict, examine
from engine.server.host import ClientProgress
from engine.server.naming import action_tool_name
from engine.server.ownership import Change
from engine.tools.catalog import ToolCatalog
from engine.validate import manifest_needs
from engine.validate.inputs import declared_inputs_schema
from engine.validate.names import NameKind, check_name

if TYPE_CHECKING:  # the host runs these operations: it imports this module
    from engine.server.store_host import StoreHost

DEFAULT_PLUGIN = "mcp-created"
ORIGIN = MCP_CREATE


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

    (result, previous), warnings = await host.change(
        lambda log: _install(host, plugin, name, document, profile, confirm, log),
        profile=args.get("security_profile"),
        worked=installed,
    )
    if progress is not None:
        await progress(3, 3, "offered as a tool")
    inputs = data.get("inputs") if isinstance(data.get("inputs"), Mapping) else {}
    tool = action_tool_name(plugin, name)
    before = result.upgraded.get(plugin)
    version = f"{before} → {result.plugin.version}" if before else result.plugin.version
    replaced = _replaced(previous, inputs)
    if replaced is None:
        done = f"created `{name}` in the plugin `{plugin}` (version {version})"
    else:
        done = (
            f"replaced the existing action `{name}` in the plugin `{plugin}` (version "
            f"{version}; {_inputs_news(replaced)})"
        )
    return ecosystem.success(
        "create",
        {
            "action": f"{plugin}/{name}",
            "tool": tool,
            "input_schema": declared_inputs_schema(inputs),
            "plugin": plugin,
            "version": result.plugin.version,
            "upgraded": dict(result.upgraded),
            "replaced": replaced,
            "created_over_mcp": True,
            "message": f'{done}; run it with `execute` (action_name "{plugin}/{name}") or '
            f"its own tool `{tool}`",
        },
        warnings=[d.to_dict() for d in verdict.diagnostics] + warnings,
    )


def _replaced(
    previous: Mapping[str, Any] | None, inputs: Mapping[str, Any]
) -> dict[str, list[str]] | None:
    """How the inputs of the action a `create` replaced (``previous``: its declared
    inputs) differ from the new ones; None when no action of that name was there."""
    if previous is None:
        return None
    # Compared as callers see them (the tool's input schema), not as each was spelt.
    old, new = _as_called(previous), _as_called(inputs)
    return {
        "inputs_added": [k for k in new if k not in old],
        "inputs_removed": [k for k in old if k not in new],
        "inputs_changed": [k for k in new if k in old and new[k] != old[k]],
    }


def _as_called(inputs: Mapping[str, Any]) -> dict[str, tuple[Any, bool]]:
    """Each input's schema, and whether it is required."""
    schema = declared_inputs_schema(inputs)
    required = set(schema.get("required") or ())
    return {k: (v, k in required) for k, v in schema["properties"].items()}


def _inputs_news(replaced: Mapping[str, list[str]]) -> str:
    """``replaced`` in words: "inputs removed: `text`; added: `n`", or "same inputs"."""
    parts = [
        f"{word}: {', '.join(f'`{k}`' for k in replaced[key])}"
        for word, key in (
            ("removed", "inputs_removed"),
            ("added", "inputs_added"),
            ("changed", "inputs_changed"),
        )
        if replaced[key]
    ]
    return f"inputs {'; '.join(parts)}" if parts else "same inputs"


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
) -> tuple[InstallResult, Mapping[str, Any] | None]:
    """Install the plugin with the action added or replaced; with it, the declared inputs
    of the action it replaced (None when there was none of that name)."""
    installed = host.store.get(plugin)
    previous = None
    if installed is not None:
        previous = next(
            (dict(a.inputs) for a in host.store.actions(installed) if a.name == name), None
        )
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
        result = install(
            host.store,
            InstallSource.of(folder, origin=ORIGIN),
            confirm=confirm,
            profile=profile,
            catalog=host.catalog(),
            origin=ORIGIN,
            may_replace=host.may(Change.CREATE),
            events=events,
        )
    return result, previous


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
