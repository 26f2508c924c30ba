"""``km-actions validate`` and ``km-actions schema``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.cli._files import (
    FileSet,
    LoadedFile,
    collect,
    iter_manifest_paths,
    load_file,
)
from engine.cli._offline import offline_tools
from engine.diagnostics.errors import Diagnostic, sort_diagnostics
from engine.diagnostics.report import format_json, format_text, summary
from engine.lang.limits import DEFAULT_PROFILE
from engine.resources import load_schema
from engine.tools.catalog import ToolCatalog
from engine.tools.schema_tools import action_schema, schema_text
from engine.validate import ActionSignature, ValidationContext, ValidationLevel, validate
from engine.validate.schema import is_manifest_name

PLUGIN_FILENAMES = ("plugin.yaml", "plugin.yml", "plugin.json")


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="check action and plugin manifests",
        description="Check manifests and explain every problem. A folder checks every "
        "manifest in it. Tools are checked against those of the Keyboard Maestro MCP server "
        "km-actions last connected to (see `km-actions tools`), or the catalog km-actions "
        "ships. Exit status: 0 valid (warnings allowed), 1 errors, 2 usage error.",
    )
    p.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    p.add_argument("--json", action="store_true", help="print diagnostics as JSON")
    p.add_argument(
        "--level",
        choices=[v.value for v in ValidationLevel if v.value != "none"],
        default="standard",
        help="how much to check (default: standard)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="print errors only")
    p.set_defaults(handler=cmd_validate)

    s = sub.add_parser(
        "schema",
        help="print the manifest JSON Schema",
        description="Print the JSON Schema of action manifests (for editors "
        "and AI callers), of plugin manifests, or the km_* tools actions are checked "
        "against (see `km-actions tools`).",
    )
    group = s.add_mutually_exclusive_group()
    group.add_argument("--plugin", action="store_true", help="the plugin.yaml schema")
    group.add_argument("--tools", action="store_true", help="the km_* tools and their inputs")
    s.set_defaults(handler=cmd_schema)


def is_plugin_file(loaded: LoadedFile) -> bool:
    if loaded.path.name.lower() in PLUGIN_FILENAMES:
        return True
    data = loaded.document.data if loaded.document else None
    return isinstance(data, Mapping) and data.get("kind") == "plugin"


def _enclosing_plugin(
    path: Path, plugins: dict[Path, LoadedFile], catalog: ToolCatalog
) -> LoadedFile | None:
    folder = path.resolve().parent
    for _ in range(4):
        for name in PLUGIN_FILENAMES:
            candidate = folder / name
            if candidate in plugins:
                return plugins[candidate]
            if candidate.is_file():
                plugins[candidate] = load_file(candidate, catalog=catalog)
                return plugins[candidate]
        if folder.parent == folder:
            break
        folder = folder.parent
    return None


def validate_files(
    found: FileSet, *, level: ValidationLevel, catalog: ToolCatalog | None = None
) -> list[Diagnostic]:
    """Validate every loaded file, with sibling actions and enclosing plugins as context."""
    catalog = catalog or ToolCatalog.builtin()
    plugins: dict[Path, LoadedFile] = {
        f.path.resolve(): f for f in found.files if is_plugin_file(f)
    }
    owners: dict[Path, LoadedFile | None] = {}
    signatures: dict[str | None, dict[str, ActionSignature]] = {}
    for loaded in found.files:
        if loaded.document is None or is_plugin_file(loaded):
            continue
        owner = _enclosing_plugin(loaded.path, plugins, catalog)
        owners[loaded.path] = owner
        _add_signature(signatures, _identifier(owner), loaded)
    _add_neighbours(found, owners, signatures)
    everything: dict[str, ActionSignature] = {}
    for ident, group in signatures.items():
        for name, sig in group.items():
            everything[sig.qualified] = sig
            if ident is None:
                everything.setdefault(name, sig)
    diagnostics: list[Diagnostic] = []
    for loaded in found.files:
        if loaded.error is not None:
            diagnostics.extend(loaded.error.diagnostics)
            continue
        assert loaded.document is not None  # loaded without error
        owner = owners.get(loaded.path)
        ident = _identifier(owner)
        actions = dict(everything)
        actions.update(signatures.get(ident, {}))
        context = ValidationContext(
            catalog=catalog,
            actions=actions,
            plugin=ident,
            permissions=_plugin_permissions(owner),
            config_schema=_config_schema(owner),
            level=level,
            plugin_file=owner.path.name if owner is not None else "plugin.yaml",
        )
        if is_plugin_file(loaded):
            ident = _identifier(loaded)
            # resource_limits against the profile install uses unless told otherwise.
            context = ValidationContext(
                catalog=catalog,
                actions=signatures.get(ident, {}),
                plugin=ident,
                level=level,
                profile=DEFAULT_PROFILE,
            )
        diagnostics.extend(validate(loaded.document, context))
    return diagnostics


def _add_signature(
    signatures: dict[str | None, dict[str, ActionSignature]],
    ident: str | None,
    loaded: LoadedFile,
    *,
    replace: bool = True,
) -> None:
    data = loaded.document.data if loaded.document else None
    if isinstance(data, Mapping) and isinstance(data.get("name"), str):
        sig = ActionSignature.from_manifest(data, plugin=ident)
        group = signatures.setdefault(ident, {})
        if replace or sig.name not in group:
            group[sig.name] = sig


def _add_neighbours(
    found: FileSet,
    owners: Mapping[Path, LoadedFile | None],
    signatures: dict[str | None, dict[str, ActionSignature]],
) -> None:
    """The actions a checked file may call without being checked themselves: those next
    to a lone action file (as `km-actions run` finds them), and every action of the plugin
    a checked file belongs to."""
    # a file that could not be looked at (a loop of links, say) cannot be resolved
    given = {f.path.resolve() for f in found.files if f.error is None or f.text}
    folders: dict[Path, LoadedFile | None] = {}
    for loaded in found.files:
        if is_plugin_file(loaded):
            folders.setdefault(loaded.path.resolve().parent, loaded)
        elif loaded.document is not None:
            owner = owners.get(loaded.path)
            folder = owner.path.resolve().parent if owner else loaded.path.resolve().parent
            folders.setdefault(folder, owner)
    for folder, owner in folders.items():
        paths = iter_manifest_paths(folder) if owner else _siblings(folder)
        for path in paths:
            if path.resolve() in given:
                continue
            neighbour = load_file(path)
            data = neighbour.document.data if neighbour.document else None
            if isinstance(data, Mapping) and data.get("kind") == "action":
                _add_signature(signatures, _identifier(owner), neighbour, replace=False)


def _siblings(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.iterdir()) if is_manifest_name(p.name) and p.is_file()]


def _plugin_data(owner: LoadedFile | None) -> Mapping[str, Any]:
    if owner is None or owner.document is None or not isinstance(owner.document.data, Mapping):
        return {}
    return owner.document.data


def _identifier(owner: LoadedFile | None) -> str | None:
    ident = _plugin_data(owner).get("identifier")
    return ident if isinstance(ident, str) else ("local" if owner is not None else None)


def _plugin_permissions(owner: LoadedFile | None) -> tuple[str, ...] | None:
    if owner is None:
        return None
    perms = _plugin_data(owner).get("permissions")
    return tuple(p for p in perms if isinstance(p, str)) if isinstance(perms, list) else ()


def _config_schema(owner: LoadedFile | None) -> Mapping[str, Any] | None:
    schema = _plugin_data(owner).get("configuration_schema")
    return schema if isinstance(schema, Mapping) else None


def cmd_validate(args: argparse.Namespace) -> int:
    # the tools checked against are those a 1.0 file's permission groups become
    catalog = _offline_catalog()
    found = collect(args.paths, catalog=catalog)
    if found.missing:
        for name in found.missing:
            print(f"km-actions validate: no such file or folder: {name}", file=sys.stderr)
        return 2
    if not found.files:
        print("km-actions validate: no manifests (.yaml, .yml, .json) found", file=sys.stderr)
        return 2
    diagnostics = sort_diagnostics(
        validate_files(found, level=ValidationLevel(args.level), catalog=catalog)
    )
    if args.quiet:
        diagnostics = [d for d in diagnostics if d.is_error]
    if args.json:
        print(format_json(diagnostics))
    else:
        sources = {f.display: f.text for f in found.files}
        if diagnostics:
            print(format_text(diagnostics, sources=sources, color=sys.stdout.isatty()))
            print()
        ok = [
            f.display
            for f in found.files
            if not any(d.file == f.display and d.is_error for d in diagnostics)
        ]
        print(f"{summary(diagnostics, files=len(found.files))}; {len(ok)} valid")
    return 1 if any(d.is_error for d in diagnostics) else 0


def cmd_schema(args: argparse.Namespace) -> int:
    if args.tools:
        catalog = _offline_catalog()
        data: Any = [
            {
                "name": t.name,
                "class": t.tool_class.value,
                # The class of each operation of a tool that has several: what
                # `permissions: [tool:operation]` grants.
                **({"operations": t.operations.to_data()} if t.operations else {}),
                "description": t.summary,
                "inputSchema": t.input_schema,
            }
            for t in catalog.values()
        ]
    elif args.plugin:
        data = load_schema("plugin")
    else:
        # The tools part follows the tools `validate` checks against.
        print(schema_text(action_schema(_offline_catalog())), end="")
        return 0
    print(json.dumps(data, indent=2, ensure_ascii=False))
    return 0


def _offline_catalog() -> ToolCatalog:
    """The saved tool list of the server last connected to, else the shipped catalog with
    the tools the configuration chooses (see :func:`engine.cli._offline.offline_tools`)."""
    return offline_tools()
