"""The checks of a certification (see :mod:`engine.plugins.certify`), one function each.

Longer than 400 lines: one short function per check of a certification.

Every check takes the plugin (its manifest, actions loaded) and gives a :class:`Check`:
an outcome, a one-line summary, the problems found (located diagnostics, errors and
warnings) and details for ``--json``.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from engine.diagnostics.errors import Diagnostic, EngineError, Severity
from engine.diagnostics.errors import Path as JsonPath
from engine.diagnostics.words import counted
from engine.engine import Engine
from engine.lang.limits import Limits
from engine.load.sourcemap import Document
from engine.plugins._model import PluginAction, PluginManifest, display_name, load_file
from engine.plugins.action_files import plugin_context, undeclared_dependencies
from engine.plugins.docs import examples, plugin_markdown_from
from engine.plugins.local import LocalPlugin
from engine.plugins.packing import create_archive
from engine.run.testing import TestOutcome
from engine.steps.build import iter_nodes, step_tree
from engine.tools.catalog import Coverage, Need, ToolCatalog, ToolClass
from engine.tools.grants import Grant, Refusal, class_of
from engine.validate import (
    ActionSignature,
    Granter,
    ValidationLevel,
    call_need,
    permission_missing,
    validate,
    validate_plugin,
)

T = TypeVar("T")


class Outcome(enum.Enum):
    """How a check ended."""

    PASSED = "passed"
    WARNED = "warned"  # passed, with warnings
    FAILED = "failed"
    SKIPPED = "skipped"  # could not run: an earlier check failed


@dataclass(frozen=True)
class Check:
    """One check of a certification."""

    name: str
    outcome: Outcome
    summary: str
    problems: tuple[Diagnostic, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def judged(
        cls,
        name: str,
        problems: Iterable[Diagnostic],
        summary: str,
        details: Mapping[str, Any] | None = None,
    ) -> Check:
        """Failed with an error among ``problems``, warned with a warning, else passed."""
        found = tuple(problems)
        if any(p.is_error for p in found):
            outcome = Outcome.FAILED
        elif found:
            outcome = Outcome.WARNED
        else:
            outcome = Outcome.PASSED
        return cls(name, outcome, summary, found, details or {})

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome.value,
            "summary": self.summary,
            "problems": [p.to_dict() for p in self.problems],
            "details": dict(self.details),
        }


# -- validation ----------------------------------------------------------------------------


def check_validation(
    manifest: PluginManifest,
    catalog: ToolCatalog,
    others: Mapping[str, ActionSignature] | None,
) -> Check:
    """plugin.yaml and every action, at the strict level, in the plugin's context."""
    own = {a.name: a.signature for a in manifest.actions}
    context = plugin_context(
        manifest, own, catalog=catalog, others=others, level=ValidationLevel.STRICT
    )
    found: list[Diagnostic] = []
    if manifest.manifest_file is not None:
        name = manifest.manifest_file
        document = load_file(manifest.root / name, display_name(manifest.label, name), catalog)
        found.extend(validate_plugin(document, context))
    for action in manifest.actions:
        found.extend(validate(action.document, context))
        found.extend(
            undeclared_dependencies(action.document, manifest.identifier, manifest.dependencies)
        )
    errors = sum(1 for d in found if d.is_error)
    files = counted(len(manifest.actions) + (manifest.manifest_file is not None), "file")
    counts = [counted(n, word) for n, word in ((errors, "error"), (len(found) - errors, "warning"))]
    summary = (
        f"{', '.join(c for c in counts if not c.startswith('0 '))} in {files}"
        if found
        else f"{files} valid at the strict level"
    )
    return Check.judged("validation", found, summary)


# -- tests ---------------------------------------------------------------------------------


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """``await make()`` from synchronous code, even when this thread runs an event loop
    (the tests then run in a thread of their own)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(make))
    with ThreadPoolExecutor(1, thread_name_prefix="km-actions-certify") as pool:
        return pool.submit(lambda: asyncio.run(_awaited(make))).result()


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


def check_tests(manifest: PluginManifest, engine: Engine) -> Check:
    """Every action has at least one test, and every test passes (mocked tools, the
    settings' defaults)."""
    plugin = LocalPlugin(manifest, engine)

    async def run_all() -> list[tuple[PluginAction, list[TestOutcome]]]:
        # An action without tests is not even compiled.
        return [
            (a, await plugin.run_tests(a.name) if a.document.data.get("tests") else [])
            for a in manifest.actions
        ]

    found: list[Diagnostic] = []
    outcomes: list[TestOutcome] = []
    for action, tested in run_sync(run_all):
        outcomes.extend(tested)
        found.extend(_test_problems(action, tested))
    failed = sum(1 for o in outcomes if not o.passed)
    untested = sum(1 for d in found if d.code == "untested-action")
    summary = f"{counted(len(outcomes) - failed, 'test')} passed, {failed} failed"
    if not outcomes:
        summary = "no tests"
    if untested:
        summary += f"; {counted(untested, 'action')} without tests"
    details = {
        "passed": len(outcomes) - failed,
        "failed": failed,
        "tests": [o.to_dict() for o in outcomes],
    }
    return Check.judged("tests", found, summary, details)


def _test_problems(action: PluginAction, outcomes: list[TestOutcome]) -> list[Diagnostic]:
    document = action.document
    if not outcomes:
        return [
            document.diagnostic(
                "untested-action",
                f"the action `{action.name}` has no tests",
                ("name",),
                hint="add one under `tests:` (inputs, mocked tool answers, expected outputs); "
                "`km-actions new action` writes an action with its tests",
            )
        ]
    tests = document.data.get("tests") or []
    places = [index for index, test in enumerate(tests) if isinstance(test, Mapping)]
    return [
        document.diagnostic(
            "test-failed",
            f"the test `{outcome.name}` of `{action.name}` failed: {outcome.failures[0]}",
            ("tests", place, "name"),
            hint="; ".join(outcome.failures[1:]) or "run `km-actions test` on the file to see it",
        )
        for outcome, place in zip(outcomes, places, strict=True)
        if not outcome.passed
    ]


# -- permissions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolUse:
    """What calls of an action need (a tool and its operation, or the whole tool when
    the operation is not literal), its class, and where the first such call is."""

    need: Need
    tool_class: ToolClass
    path: JsonPath


def tool_uses(document: Document, catalog: ToolCatalog) -> tuple[list[ToolUse], list[str]]:
    """What an action calls: what each tool call needs (with its class, where validation
    says it is) and other actions."""
    found: dict[Need, JsonPath] = {}
    actions: list[str] = []
    for node in iter_nodes(step_tree(document).steps):
        step = node.data
        tool = step.get("tool")
        if isinstance(tool, str):
            spec = catalog.get(tool)
            arguments = step.get("with")
            if spec is None:
                found.setdefault(Need(tool), node.at("tool"))
            else:
                need, path = call_need(spec, arguments, node.path)
                found.setdefault(need, path)
        target = step.get("action")
        if isinstance(target, str) and target not in actions:
            actions.append(target)
    uses = [ToolUse(need, class_of(need, catalog), path) for need, path in found.items()]
    return uses, actions


# What certification holds a plugin to: any class, destructive operations by name.
_RULES = Limits()


def check_permissions(manifest: PluginManifest, catalog: ToolCatalog) -> Check:
    """``permissions:`` covers exactly what the actions call: a call not covered fails (a
    destructive operation must be named, not granted through a group); an entry no
    action needs, a group granting more than the actions call, or a tool granting a
    more dangerous operation than any they call, is a warning."""
    per_action: dict[str, Any] = {}
    used: dict[Need, tuple[PluginAction, ToolUse]] = {}
    for action in manifest.actions:
        uses, calls = tool_uses(action.document, catalog)
        per_action[action.name] = {"tools": _by_tool(uses), "actions": calls}
        for use in uses:
            used.setdefault(use.need, (action, use))
    declared = list(manifest.permissions)
    grant = Grant.from_permissions(declared, catalog)
    refused = {need: grant.refusal(need, _RULES, catalog) for need in used}
    found = [
        *_undeclared(manifest, used, refused, catalog),
        *_unneeded(manifest, declared, used, catalog),
    ]
    details = {
        "declared": declared,
        "used": sorted(str(n) for n in used),
        "undeclared": sorted(str(n) for n, why in refused.items() if why is not None),
        "actions": per_action,
    }
    tools = {need.tool for need in used}
    used_tools, asked = counted(len(tools), "tool"), counted(len(declared), "permission")
    summary = f"{used_tools} used, {asked} asked for"
    return Check.judged("permissions", found, summary, details)


def _by_tool(uses: list[ToolUse]) -> list[dict[str, Any]]:
    """What an action calls, a line per tool: its operations (None: not literal) and the
    most dangerous class among them."""
    tools: dict[str, list[ToolUse]] = {}
    for use in uses:
        tools.setdefault(use.need.tool, []).append(use)
    return [
        {
            "tool": tool,
            "operations": [u.need.operation for u in group],
            "class": ToolClass.most(u.tool_class for u in group).value,
        }
        for tool, group in tools.items()
    ]


def _undeclared(
    manifest: PluginManifest,
    used: Mapping[Need, tuple[PluginAction, ToolUse]],
    refused: Mapping[Need, Refusal | None],
    catalog: ToolCatalog,
) -> Iterable[Diagnostic]:
    """A call the plugin's permissions do not cover, as validation reports it in the
    plugin (the same diagnostic: certifying a plugin read without validation says it too)."""
    plugin_file = manifest.manifest_file or "plugin.yaml"
    for need, (action, use) in used.items():
        refusal = refused[need]
        if refusal is None:
            continue
        own = action.document.data.get("permissions") if action.document.data else None
        granter = Granter.plugin(plugin_file, own)
        yield permission_missing(action.document, refusal, use.path, catalog, granter)


def _unneeded(
    manifest: PluginManifest,
    declared: list[str],
    used: Mapping[Need, Any],
    catalog: ToolCatalog,
) -> Iterable[Diagnostic]:
    locate = _permission_site(manifest)
    for index, entry in enumerate(declared):
        coverage = catalog.coverage([entry])
        needed = sorted(need for need in used if coverage.covers(need))
        if not needed:
            alone = entry not in catalog.groups
            yield locate(
                "permission-unused",
                f"`{entry}` is asked for, but no action calls "
                + ("it" if alone else "any of what it grants"),
                index,
                "remove it from `permissions:`: whoever installs the plugin is asked to grant it",
            )
            continue
        extra = _extra(entry, coverage, needed, catalog)
        if extra:
            yield locate(
                "permission-too-broad",
                f"`{entry}` also grants {', '.join(extra)}, which no action calls",
                index,
                f"ask for {', '.join(dict.fromkeys(str(n) for n in needed))} instead",
            )


def _extra(entry: str, coverage: Coverage, needed: list[Need], catalog: ToolCatalog) -> list[str]:
    """What ``entry`` grants beyond ``needed``: for a group, every tool or operation no
    call needs; for a tool, only operations more dangerous than any it is called for
    (naming a whole tool is common and harmless, unless it grants deletion unasked)."""
    whole = {n.tool for n in needed if n.operation is None}
    called = {(n.tool, n.operation) for n in needed}
    unused = [
        n
        for n in coverage.needs(catalog)
        if n.tool not in whole and (n.tool, n.operation) not in called
    ]
    if entry in catalog.groups:
        tools_called = {n.tool for n in needed}
        out: dict[str, None] = {}
        for n in unused:
            out[n.tool if n.tool not in tools_called else str(n)] = None
        return list(out)
    worst = ToolClass.most(class_of(n, catalog) for n in needed).rank
    return [str(n) for n in unused if class_of(n, catalog).rank > worst]


def _permission_site(manifest: PluginManifest) -> Callable[[str, str, int, str], Diagnostic]:
    """Warnings located at the n-th entry of `permissions:`, in plugin.yaml (or in the
    lone action file that is the plugin)."""
    if manifest.manifest_file is not None:
        name = manifest.manifest_file
        label = display_name(manifest.label, name)
        document = load_file(manifest.root / name, label, manifest.tools)
    else:
        document = manifest.actions[0].document

    def locate(code: str, message: str, index: int, hint: str) -> Diagnostic:
        data = document.data if isinstance(document.data, Mapping) else {}
        path: JsonPath = ("permissions", index) if "permissions" in data else ()
        return document.diagnostic(code, message, path, hint=hint, severity=Severity.WARNING)

    return locate


# -- docs ----------------------------------------------------------------------------------


def check_docs(manifest: PluginManifest) -> Check:
    """The generated documentation (``km-actions docs``): every action has examples,
    taken from its tests."""
    actions = [a.document.data for a in manifest.actions]
    markdown = plugin_markdown_from(manifest.metadata(), actions)
    found = [
        action.document.diagnostic(
            "docs-no-example",
            f"the documentation of `{action.name}` has no example",
            ("name",),
            severity=Severity.WARNING,
            hint="examples come from the tests that expect outputs: give a test "
            "`expect: {outputs: …}`",
        )
        for action in manifest.actions
        if not examples(action.document.data)
    ]
    details = {
        "characters": len(markdown),
        "sha256": hashlib.sha256(markdown.encode()).hexdigest(),
        "actions": len(actions),
    }
    summary = f"{len(markdown):,} characters for {counted(len(actions), 'action')}"
    return Check.judged("docs", found, summary, details)


# -- the package ---------------------------------------------------------------------------


def check_package(manifest: PluginManifest, output: Path | None = None) -> Check:
    """Packed twice as `km-actions pack` packs it: the same bytes, whose sha256 names the
    package (``output``: where to keep it)."""
    with tempfile.TemporaryDirectory(prefix="km-actions-certify-") as scratch:
        first, second = Path(scratch) / "1.zip", Path(scratch) / "2.zip"
        try:
            digest = create_archive(manifest.root, first, fmt="zip")
            again = create_archive(manifest.root, second, fmt="zip")
        except EngineError as error:
            problem = Diagnostic(error.code, error.message, hint=error.hint)
            return Check("package", Outcome.FAILED, "cannot be packed", (problem,))
        same = first.read_bytes() == second.read_bytes()
        if same and output is not None:
            shutil.copyfile(first, output)
        size = first.stat().st_size
    found = []
    if not same:
        found.append(
            Diagnostic(
                "pack-not-deterministic",
                f"packing twice gave different archives (sha256 {digest} and {again})",
                hint="a file changed while it was packed; pack again when nothing writes "
                "to the folder",
            )
        )
    details = {"sha256": digest, "bytes": size, "format": "zip"}
    if output is not None and same:
        details["archive"] = str(output)
    return Check.judged("package", found, f"sha256 {digest} ({size:,} bytes)", details)
