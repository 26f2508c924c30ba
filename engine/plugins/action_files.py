"""A plugin's action files: found by its ``actions:`` patterns, parsed, then validated.

>>> from pathlib import Path
>>> from engine.plugins.manifest import read_manifest
>>> manifest = read_manifest(Path("actions/clipboard-tools"))
>>> files = load_action_files(manifest)
>>> sorted(files.signatures), files.problems
(['clean-clipboard', 'preview-clipboard', 'share-clipboard', 'sign-clipboard'], ())
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from engine.diagnostics.errors import Diagnostic, EngineError, sort_diagnostics
from engine.load.sourcemap import Document
from engine.plugins._model import (
    PluginAction,
    PluginManifest,
    display_name,
    invalid_plugin,
    load_file,
)
from engine.steps.build import iter_nodes, step_tree
from engine.tools.catalog import ToolCatalog
from engine.validate import (
    ActionSignature,
    ValidationContext,
    ValidationLevel,
    validate,
    validate_plugin,
)
from engine.validate.schema import is_manifest_name


@dataclass(frozen=True)
class ActionFiles:
    """A plugin's action files, parsed but not yet validated, with their signatures."""

    loaded: tuple[tuple[str, Document], ...]
    problems: tuple[Diagnostic, ...]
    signatures: Mapping[str, ActionSignature]

    def qualified(self) -> dict[str, ActionSignature]:
        """The signatures by ``plugin/name``, as other plugins call them."""
        return {s.qualified: s for s in self.signatures.values()}


def load_action_files(manifest: PluginManifest) -> ActionFiles:
    """Parse the action files of ``manifest`` (problems are kept, not raised)."""
    loaded, problems = _load_action_files(manifest)
    own: dict[str, ActionSignature] = {}
    for _relative, document in loaded:
        sig = ActionSignature.from_manifest(document.data, plugin=manifest.identifier)
        if sig.name in own:
            problems.append(
                document.diagnostic(
                    "duplicate-action",
                    f"two action files of the plugin are named `{sig.name}`",
                    ("name",),
                    hint="give every action of a plugin its own name",
                )
            )
        own[sig.name] = sig
    return ActionFiles(tuple(loaded), tuple(problems), own)


def load_actions(
    manifest: PluginManifest,
    *,
    catalog: ToolCatalog | None = None,
    others: Mapping[str, ActionSignature] | None = None,
    files: ActionFiles | None = None,
    progress: Callable[[int], None] | None = None,
) -> PluginManifest:
    """Load and validate every action of ``manifest`` (phase two).

    ``others`` are the actions of other plugins an ``action: plugin/name`` step may call
    (by qualified name); ``files`` the result of :func:`load_action_files`, when the
    caller already has it; ``progress`` is told how many actions are done. Any invalid
    action refuses the whole plugin: the :class:`PluginError` lists every problem of
    every file.
    """
    files = files or load_action_files(manifest)
    loaded, problems, own = files.loaded, list(files.problems), files.signatures
    context = plugin_context(manifest, own, catalog=catalog, others=others)
    warnings: list[Diagnostic] = list(manifest.warnings)  # plugin.yaml's own notes
    result: list[PluginAction] = []
    for index, (relative, document) in enumerate(loaded, start=1):
        found = validate(document, context)
        found.extend(undeclared_dependencies(document, manifest.identifier, manifest.dependencies))
        problems.extend(d for d in found if d.is_error)
        warnings.extend(d for d in found if not d.is_error)
        data = document.data
        result.append(
            PluginAction(
                name=str(data["name"]),
                path=relative,
                document=document,
                signature=own[str(data["name"])],
                description=str(data.get("description") or ""),
            )
        )
        if progress is not None:
            progress(index)
    problems.extend(_hook_problems(manifest, context))
    if not result and not problems:
        problems.append(
            Diagnostic(
                "plugin-no-actions",
                f"no action files match {', '.join(manifest.action_patterns)}",
                file=display_name(manifest.label, manifest.manifest_file or ""),
                hint="put action files in actions/, or list them under `actions:` in plugin.yaml",
            )
        )
    if problems:
        raise invalid_plugin(manifest.label, problems, f"the plugin '{manifest.identifier}'")
    return replace(manifest, actions=tuple(result), warnings=tuple(sort_diagnostics(warnings)))


def plugin_context(
    manifest: PluginManifest,
    own: Mapping[str, ActionSignature],
    *,
    catalog: ToolCatalog | None = None,
    others: Mapping[str, ActionSignature] | None = None,
    level: ValidationLevel = ValidationLevel.STANDARD,
) -> ValidationContext:
    """How the plugin's files are checked: with its own actions (``own``, by name) and
    those of ``others`` (by ``plugin/name``) callable, its permissions and settings."""
    actions: dict[str, ActionSignature] = dict(others or {})
    actions.update({s.qualified: s for s in own.values()})
    actions.update(own)
    return ValidationContext(
        catalog=catalog or ToolCatalog.builtin(),
        actions=actions,
        plugin=manifest.identifier,
        permissions=manifest.permissions,
        config_schema=manifest.configuration_schema,
        level=level,
        plugin_file=manifest.manifest_file or "plugin.yaml",
    )


def _hook_problems(manifest: PluginManifest, context: ValidationContext) -> list[Diagnostic]:
    """Hooks name actions, so they are checked once the actions are known."""
    if manifest.manifest_file is None or not manifest.hooks:
        return []
    name = manifest.manifest_file
    document = load_file(manifest.root / name, display_name(manifest.label, name), context.catalog)
    return [d for d in validate_plugin(document, context) if d.is_error]


def _load_action_files(
    manifest: PluginManifest,
) -> tuple[list[tuple[str, Document]], list[Diagnostic]]:
    if manifest.lone_document is not None:
        return [(manifest.action_patterns[0], manifest.lone_document)], []
    loaded: list[tuple[str, Document]] = []
    problems: list[Diagnostic] = []
    plugin_file = display_name(manifest.label, manifest.manifest_file or "plugin.yaml")
    for index, pattern in enumerate(manifest.action_patterns):
        matched, problem = _glob(manifest.root, pattern)
        if problem is not None:
            path = ("actions", index) if "actions" in manifest.data else ()
            problems.append(
                Diagnostic(
                    "invalid-format",
                    problem,
                    path=path,
                    file=plugin_file,
                    hint="write paths or globs inside the plugin folder, e.g. actions/*.yaml",
                )
            )
            continue
        if not matched and "actions" in manifest.data:
            problems.append(
                Diagnostic(
                    "plugin-no-actions",
                    f"`{pattern}` matches no file",
                    path=("actions", index),
                    file=plugin_file,
                    hint="check the path, relative to plugin.yaml",
                )
            )
        for relative in matched:
            if any(relative == seen for seen, _ in loaded):
                continue
            display = display_name(manifest.label, relative)
            try:
                document = load_file(manifest.root / relative, display, manifest.tools)
            except EngineError as error:
                problems.extend(error.diagnostics)
                continue
            refusal = _not_an_action(document)
            if refusal:
                problems.extend(refusal)
                continue
            loaded.append((relative, document))
    return loaded, problems


def _not_an_action(document: Document) -> list[Diagnostic]:
    """Why a file matched by ``actions:`` is not an action (empty when it is one)."""
    data = document.data
    if isinstance(data, Mapping) and (data.get("kind") == "plugin" or "identifier" in data):
        return [
            document.diagnostic(
                "invalid-value",
                "an action file holds a plugin manifest",
                ("kind",) if "kind" in data else (),
                hint="keep plugin.yaml at the top of the plugin folder only",
            )
        ]
    if (
        isinstance(data, Mapping)
        and data.get("kind") == "action"
        and isinstance(data.get("name"), str)
    ):
        return []
    found = [d for d in validate(document) if d.is_error]
    return found or [
        document.diagnostic(
            "missing-key",
            "the file is not an action: it needs `kind: action` and a `name`",
            (),
            hint="start it with api_version, kind: action and name, or move it out of actions/",
        )
    ]


def _glob(root: Path, pattern: str) -> tuple[list[str], str | None]:
    parts = Path(pattern).parts
    if Path(pattern).is_absolute() or ".." in parts or "\\" in pattern:
        return [], f"`{pattern}` points outside the plugin folder"
    found = []
    for path in sorted(root.glob(pattern)):
        # A JSON Schema saved next to the actions for editors is not an action.
        if path.is_file() and not path.is_symlink() and is_manifest_name(path.name):
            found.append(path.relative_to(root).as_posix())
    return found, None


def undeclared_dependencies(
    document: Document, plugin: str, dependencies: Collection[str]
) -> Iterator[Diagnostic]:
    """``dependency-undeclared`` for each `action:` step of ``document`` that calls an
    action of another plugin than ``plugin`` and its ``dependencies``."""
    for node in iter_nodes(step_tree(document).steps):
        target = node.data.get("action")
        if not isinstance(target, str) or "/" not in target:
            continue
        other = target.split("/")[0]
        if other != plugin and other not in dependencies:
            yield document.diagnostic(
                "dependency-undeclared",
                f"`{target}` belongs to the plugin '{other}', which is not among the "
                "plugin's dependencies",
                node.at("action"),
                hint=f'add it to plugin.yaml: `dependencies: {{{other}: "*"}}` (or a '
                "narrower range)",
            )
