"""Certification (engine/plugins/certify.py): each check's findings, the package, and the
result kept at install and shown by `describe`."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine.load.loader import load_text
from engine.plugins import _certify_checks
from engine.plugins._certify_checks import Outcome, tool_uses
from engine.plugins._model import PluginAction
from engine.plugins.certify import certify_folder
from engine.plugins.installer import install
from engine.plugins.inventory import describe
from engine.plugins.lifecycle import uninstall
from engine.plugins.manifest import read_manifest
from engine.plugins.packing import create_archive
from engine.plugins.store import Store
from engine.tools.catalog import ToolCatalog, ToolClass
from engine.validate import ActionSignature
from tests.plugins.store.conftest import CLIPBOARD_TOOLS, MakePlugin

TESTED = {
    "description": "Sets a variable.",
    "permissions": ["km_variable_manager"],
    "inputs": {"v": {"type": "string", "default": "x", "description": "The value."}},
    "steps": [
        {"tool": "km_variable_manager", "with": {"operation": "set", "name": "V", "value": "x"}}
    ],
    "outputs": {"v": "{{ inputs.v }}"},
    "tests": [
        {
            "name": "sets it",
            "mocks": {"km_variable_manager": [{"success": True}]},
            "expect": {"outputs": {"v": "x"}},
        }
    ],
}


def _checks(report: Any) -> dict[str, Any]:
    return {c.name: c for c in report.checks}


def test_tool_uses_give_what_each_call_needs_and_its_class() -> None:
    document = load_text(
        'api_version: "1.1"\nkind: action\nname: a\nsteps:\n'
        "  - tool: km_variable_manager\n    with: {operation: get, name: A}\n"
        "  - foreach: [1, 2]\n    steps:\n"
        "      - tool: km_variable_manager\n        with: {operation: set, name: A, value: b}\n"
        "      - tool: km_variable_manager\n"
        "        with: {operation: \"{{ 'get' }}\", name: A}\n"
        "  - tool: km_notifications\n    with: {notification_type: hud, title: t, message: m}\n"
        "  - action: other/thing\n",
        file="a.yaml",
    )
    uses, calls = tool_uses(document, ToolCatalog.builtin())
    assert [(str(u.need), u.tool_class, u.path) for u in uses] == [
        ("km_variable_manager:get", ToolClass.READ_ONLY, ("steps", 0, "with", "operation")),
        ("km_variable_manager:set", ToolClass.WRITE, ("steps", 1, "steps", 0, "with", "operation")),
        (
            "km_variable_manager",
            ToolClass.DESTRUCTIVE,
            ("steps", 1, "steps", 1, "with", "operation"),
        ),
        ("km_notifications", ToolClass.WRITE, ("steps", 2, "tool")),
    ]
    assert calls == ["other/thing"]


def test_an_action_granting_itself_more_than_its_plugin_is_not_valid(
    make_plugin: MakePlugin,
) -> None:
    # The action's own `permissions:` grant nothing: the bridge enforces the plugin's grant.
    # Validation says so (so install refuses the plugin), and certification's permissions
    # check says it the same way, from the same function.
    deleting = {
        **TESTED,
        "permissions": ["km_variable_manager:delete"],
        "steps": [{"tool": "km_variable_manager", "with": {"operation": "delete", "name": "V"}}],
    }
    root = make_plugin(
        "wide", description="Wide.", permissions=["variables"], actions={"set": deleting}
    )
    report = certify_folder(root)
    checks = _checks(report)
    assert checks["validation"].outcome is Outcome.FAILED
    [problem] = checks["validation"].problems
    assert (str(problem).replace(str(root.parent), "."), problem.hint) == (
        "./wide-1.0.0/actions/set.yaml:15:16: error[permission-missing]: "
        "`km_variable_manager:delete` can change or delete "
        "things, so the plugin's permissions must name it; a group is not enough: the "
        "action's own `permissions:` list it, but an action of a plugin is granted only what "
        "plugin.yaml asks for",
        "add km_variable_manager:delete itself to `permissions:` in plugin.yaml",
    )
    # Certifying a plugin whose actions were read without validation says it the same way.
    path = root / "actions" / "set.yaml"
    document = load_text(path.read_text("utf-8"), file=str(problem.file))
    signature = ActionSignature.from_manifest(document.data, plugin="wide")
    action = PluginAction("set", "actions/set.yaml", document, signature)
    unchecked = replace(read_manifest(root), actions=(action,))
    found = _certify_checks.check_permissions(unchecked, ToolCatalog.builtin())
    assert found.outcome is Outcome.FAILED
    assert [(str(p), p.hint) for p in found.problems if p.code == "permission-missing"] == [
        (str(problem), problem.hint)
    ]


def test_unused_and_too_broad_permissions_are_warnings(make_plugin: MakePlugin) -> None:
    quiet = {**TESTED, "permissions": ["notifications"]}
    quiet["steps"] = [
        {
            "tool": "km_notifications",
            "with": {"notification_type": "hud", "title": "t", "message": "m"},
        }
    ]
    quiet["tests"] = [{"name": "shows", "mocks": {"km_notifications": [{"success": True}]},
                       "expect": {"outputs": {"v": "x"}}}]  # fmt: skip
    root = make_plugin(
        "broad",
        description="Broad.",
        permissions=["notifications", "km_list_macros"],
        actions={"show": quiet},
    )
    report = certify_folder(root)
    assert report.certified
    permissions = _checks(report)["permissions"]
    assert permissions.outcome is Outcome.WARNED
    assert [(p.code, p.message, p.hint, p.span.line if p.span else None)
            for p in permissions.problems] == [
        (
            "permission-too-broad",
            "`notifications` also grants km_dismiss_notifications, km_notification_status, "
            "which no action calls",
            "ask for km_notifications instead",
            7,
        ),
        (
            "permission-unused",
            "`km_list_macros` is asked for, but no action calls it",
            "remove it from `permissions:`: whoever installs the plugin is asked to grant it",
            8,
        ),
    ]  # fmt: skip


def test_a_folder_that_cannot_be_packed_fails_the_package_check(
    make_plugin: MakePlugin,
) -> None:
    root = make_plugin(
        "linked",
        description="Linked.",
        permissions=["km_variable_manager"],
        actions={"set": TESTED},
    )
    os.symlink(root / "plugin.yaml", root / "link.yaml")
    package = _checks(certify_folder(root))["package"]
    assert (package.outcome, package.summary) == (Outcome.FAILED, "cannot be packed")
    assert [p.code for p in package.problems] == ["archive-link"]


def test_packing_that_gives_two_archives_fails(
    make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_plugin(
        "moving",
        description="Moving.",
        permissions=["km_variable_manager"],
        actions={"set": TESTED},
    )
    packed: list[str] = []

    def changing(folder: Path, out: Path, *, fmt: str) -> str:
        (folder / "counter.txt").write_text(str(len(packed)))  # a file that changes
        packed.append(create_archive(folder, out, fmt="zip"))
        return packed[-1]

    monkeypatch.setattr(_certify_checks, "create_archive", changing)
    report = certify_folder(root, output=root.parent / "kept.zip")
    package = _checks(report)["package"]
    assert package.outcome is Outcome.FAILED
    [problem] = package.problems
    assert (problem.code, problem.message) == (
        "pack-not-deterministic",
        f"packing twice gave different archives (sha256 {packed[0]} and {packed[1]})",
    )
    assert not (root.parent / "kept.zip").exists()  # nothing is kept of a package that varies


def test_certifying_inside_a_running_event_loop(make_plugin: MakePlugin) -> None:
    root = make_plugin(
        "looped",
        description="Looped.",
        permissions=["km_variable_manager"],
        actions={"set": TESTED},
    )

    async def from_a_coroutine() -> bool:
        return certify_folder(root).certified

    assert asyncio.run(from_a_coroutine()) is True


# -- kept at install ---------------------------------------------------------------------------


def test_install_keeps_the_certification_and_describe_shows_it(store: Store) -> None:
    install(store, CLIPBOARD_TOOLS)
    found = describe(store, "clipboard-tools")["certification"]
    sha = create_archive(CLIPBOARD_TOOLS, store.root.parent / "ct.zip", fmt="zip")
    assert found == {
        "certified": True,
        "sha256": sha,
        "km_actions": found["km_actions"],
        "at": found["at"],
        "checks": {
            "validation": "passed",
            "tests": "passed",
            "permissions": "passed",
            "docs": "passed",
            "package": "passed",
        },
        "reasons": [],
        "problems": [],
        "more_problems": 0,
    }
    # Installed from the archive `pack` made, the package is the same.
    uninstall(store, "clipboard-tools")
    install(store, store.root.parent / "ct.zip")
    assert describe(store, "clipboard-tools")["certification"]["sha256"] == sha


def test_an_upgrade_replaces_the_certification_and_uninstall_removes_it(
    store: Store, make_plugin: MakePlugin
) -> None:
    untested = {**TESTED, "tests": []}
    install(
        store, make_plugin("up", permissions=["km_variable_manager"], actions={"set": untested})
    )
    first = describe(store, "up")["certification"]
    assert first["certified"] is False
    assert first["reasons"] == [
        "validation: 1 error in 2 files",  # the plugin has no description
        "tests: no tests; 1 action without tests",
    ]
    fixed = make_plugin(
        "up",
        "1.1.0",
        description="Up.",
        permissions=["km_variable_manager"],
        actions={"set": TESTED},
    )
    install(store, fixed)
    assert describe(store, "up")["certification"]["certified"] is True
    uninstall(store, "up")
    assert store.conn.execute("SELECT COUNT(*) FROM certifications").fetchone() == (0,)


def test_a_long_list_of_problems_is_cut_short(store: Store, make_plugin: MakePlugin) -> None:
    bare = {"steps": [{"set": {"x": 1}}], "inputs": {"a": {"type": "string", "default": "a"}}}
    install(store, make_plugin("many", actions={f"a{n}": bare for n in range(6)}))
    found = describe(store, "many")["certification"]
    assert len(found["problems"]) == 10
    # Per action: no description, an input without one, no tests, no example.
    assert found["more_problems"] == 6 * 4 + 1 - 10


def test_a_plugin_installed_before_certification_has_none(store: Store) -> None:
    install(store, CLIPBOARD_TOOLS)
    with store.transaction() as conn:
        conn.execute("DELETE FROM certifications")
    assert describe(store, "clipboard-tools")["certification"] is None


def test_a_lone_action_file_is_certified_as_its_own_plugin(store: Store, tmp_path: Path) -> None:
    lone = tmp_path / "set-var.yaml"
    data = {"api_version": "1.1", "kind": "action", "name": "set-var", **TESTED}
    data["permissions"] = ["km_variable_manager:set", "km_list_macros"]
    text = json.dumps(data)
    lone.write_text(text, "utf-8")
    install(store, lone)
    column = text.index('"km_list_macros"') + 1  # the entry, in the file itself
    found = describe(store, "set-var")["certification"]
    assert (found["certified"], found["checks"]["permissions"]) == (True, "warned")
    assert found["problems"] == [
        f"set-var.yaml:1:{column}: warning[permission-unused]: `km_list_macros` is asked for, "
        "but no action calls it"
    ]


def test_a_plugin_whose_actions_are_not_valid_skips_the_other_checks(
    make_plugin: MakePlugin,
) -> None:
    root = make_plugin("bad", actions={"oops": {"steps": [{"tool": "km_nothing"}]}})
    report = certify_folder(root)
    assert (report.identifier, report.version, report.sha256) == ("bad", "1.0.0", None)
    assert [(c.name, c.outcome.value) for c in report.checks] == [
        ("validation", "failed"),
        ("tests", "skipped"),
        ("permissions", "skipped"),
        ("docs", "skipped"),
        ("package", "skipped"),
    ]
    assert [p.code for p in report.checks[0].problems] == ["unknown-tool"]
