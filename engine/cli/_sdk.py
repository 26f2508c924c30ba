"""``km-actions new`` (an action, or a plugin) and ``km-actions certify``: for authors.

Exit status: 0 success (certified), 1 a failure the command reports (not certified, a
file that exists or cannot be written), 2 a usage error (an invalid name, no such
folder, a folder that is no plugin).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from engine.cli._offline import offline_tools
from engine.cli._say import failed, say
from engine.cli._scaffold import Template, action_text, plugin_files
from engine.diagnostics.errors import EngineError
from engine.load.files import Found, look
from engine.validate.names import NameKind, is_valid_name, name_hint

DEFAULT_DESCRIPTION = "Describe what the action does, in one sentence."
DEFAULT_PLUGIN_DESCRIPTION = "Describe what the plugin's actions are for, in one sentence."
_KINDS = ("action", "plugin")


def add_parsers(sub: Any) -> None:
    n = sub.add_parser(
        "new",
        help="start a new action or plugin",
        description="Write a small, valid action with its tests (`new NAME` or `new action "
        "NAME`, of a common shape with --template), or a plugin folder: plugin.yaml, an "
        "action with its tests, a README (`new plugin NAME`). Both validate, pass their "
        "tests and certify as written.",
    )
    n.add_argument("what", metavar="[action|plugin] NAME", help="what to start, and its name")
    n.add_argument("name", nargs="?", help=argparse.SUPPRESS)
    n.add_argument("--folder", type=Path, default=Path("."), help="where to write it")
    n.add_argument("--description", help="what it does, in one sentence")
    n.add_argument(
        "--template",
        choices=[t.value for t in Template],
        default=Template.NOTIFY.value,
        help="the action's shape: a notification (default), a loop over a list, a retried "
        "macro, a choice between branches",
    )
    n.add_argument("--action", metavar="NAME", help="the name of a new plugin's action")
    n.set_defaults(handler=cmd_new)

    c = sub.add_parser(
        "certify",
        help="check everything a plugin's users rely on, in one report",
        description="Certify a plugin folder: strict validation of plugin.yaml and every "
        "action, its tests (every action needs one), the permissions each action uses, the "
        "generated docs, and a deterministic pack with its sha256. Exit status: 0 "
        "certified (warnings allowed), 1 not certified, 2 usage error.",
    )
    c.add_argument("folder", metavar="FOLDER", type=Path)
    c.add_argument("-o", "--output", type=Path, help="also keep the certified package (.zip)")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.set_defaults(handler=cmd_certify)


# -- new -----------------------------------------------------------------------------------


def cmd_new(args: argparse.Namespace) -> int:
    kind, name = ("action", args.what) if args.name is None else (args.what, args.name)
    if args.name is None and args.what in _KINDS:
        say(f"new {args.what}", f"give the {args.what}'s name: km-actions new {args.what} NAME")
        return 2
    if kind not in _KINDS:
        say("new", f"cannot start {kind!r}", "km-actions new action NAME, or new plugin NAME")
        return 2
    if kind == "plugin":
        return _new_plugin(args, name)
    return _new_action(args, name)


def _invalid(name: str, kind: NameKind) -> bool:
    if is_valid_name(name, kind):
        return False
    say("new", f"{name!r} is not a valid name: {name_hint(name, kind)}")
    return True


def _new_action(args: argparse.Namespace, name: str) -> int:
    if _invalid(name, NameKind.ACTION):  # it names the file written
        return 2
    target = args.folder / f"{name}.yaml"
    try:
        taken = look(target, str(target)) is not Found.NOTHING
    except EngineError as error:
        return failed("new", error, 2)
    if taken:
        say("new", f"{target} already exists; choose another name")
        return 1
    description = args.description if args.description is not None else DEFAULT_DESCRIPTION
    reference = schema_reference(args.folder)
    text = action_text(name, description, Template(args.template), reference)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
    except OSError as exc:
        say("new", f"cannot write {target}: {exc.strerror or exc}")
        return 1
    print(
        f"wrote {target}: edit it, then `km-actions validate {target}` and "
        f"`km-actions test {target}`"
    )
    hint = save_hint(args.folder, reference)
    if hint is not None:
        print(hint)
    return 0


def _new_plugin(args: argparse.Namespace, name: str) -> int:
    if _invalid(name, NameKind.PLUGIN) or (args.action and _invalid(args.action, NameKind.ACTION)):
        return 2
    root = args.folder / name
    try:
        taken = look(root, str(root)) is not Found.NOTHING
    except EngineError as error:
        return failed("new", error, 2)
    if taken:
        say("new", f"{root} already exists; choose another name or --folder")
        return 1
    description = args.description if args.description is not None else DEFAULT_PLUGIN_DESCRIPTION
    files = plugin_files(
        name,
        description,
        Template(args.template),
        action=args.action,
        schemas=(schema_reference(root, "plugin"), schema_reference(root / "actions")),
    )
    try:
        for relative, text in files.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text, "utf-8")
    except OSError as exc:
        shutil.rmtree(root, ignore_errors=True)  # it did not exist: nothing of the user's
        say("new", f"cannot write {root}: {exc.strerror or exc}")
        return 1
    print(
        f"wrote {root}/ ({', '.join(files)}): edit them, then `km-actions validate {root}`, "
        f"`km-actions test {root}` and `km-actions certify {root}`"
    )
    return 0


def schema_reference(folder: Path, kind: str = "action") -> str:
    """The `$schema` path the docs show, relative to a new file in ``folder``: the
    nearest ``<kind>.schema.json`` saved in the folder or a parent (or a checkout's
    ``schemas/<kind>.schema.json``), else ``./<kind>.schema.json``, where the docs say to
    save it (:func:`save_hint`)."""
    name = f"{kind}.schema.json"
    here = folder.resolve()
    for parent in [here, *here.parents]:
        for candidate in (parent / name, parent / "schemas" / name):
            if candidate.is_file():
                relative = Path(os.path.relpath(candidate, here)).as_posix()
                return relative if relative.startswith("../") else f"./{relative}"
    return f"./{name}"


def save_hint(folder: Path, reference: str, kind: str = "action") -> str | None:
    """What to run so that the `$schema` line of a file in ``folder`` finds its schema
    (None: it is there already)."""
    if (folder / reference).is_file():
        return None
    option = "" if kind == "action" else f" --{kind}"
    return f"for your editor: km-actions schema{option} > {folder / f'{kind}.schema.json'}"


# -- certify -------------------------------------------------------------------------------


def cmd_certify(args: argparse.Namespace) -> int:
    from engine.plugins.certify import certify_folder
    from engine.plugins.plan import installed_signatures
    from engine.plugins.store import Store

    folder: Path = args.folder
    try:
        found = look(folder, str(folder))
    except EngineError as error:
        return failed("certify", error, 2)
    if found is not Found.FOLDER:
        say("certify", f"no such folder: {folder}", "certify checks a plugin folder")
        return 2
    try:
        with Store.open() as store:
            others = installed_signatures(store)
        catalog = offline_tools()  # the tools `validate` checks against
        report = certify_folder(folder, catalog=catalog, others=others, output=args.output)
    except EngineError as error:
        status = 2 if error.code == "plugin-manifest-missing" else 1
        if status == 2:
            error.hint = "certify checks a plugin folder; `km-actions new plugin NAME` starts one"
        return failed("certify", error, status)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_report(report, folder)
    return report.exit_status


def _print_report(report: Any, folder: Path) -> None:
    from engine.cli._plugins import _sources
    from engine.diagnostics.report import format_text

    what = f"{report.identifier} {report.version}" if report.identifier else str(folder)
    print(f"certifying {what} ({folder})")
    for check in report.checks:
        print(f"  {check.name:<12} {check.outcome.value:<8} {check.summary}")
        if check.name == "permissions":
            for line in _calls(check.details.get("actions", {})):
                print(f"  {'':<12} {'':<8} {line}")
    problems = [p for c in report.checks for p in c.problems]
    if problems:
        print()
        print(format_text(problems, sources=_sources(folder), color=sys.stdout.isatty()))
    print()
    if report.certified:
        print(f"certified: {what}, package sha256 {report.sha256}")
    else:
        print(f"not certified: {'; '.join(report.reasons())}")


def _calls(actions: dict[str, Any]) -> list[str]:
    """What each action calls, for people: ``count: km_variable_manager get (read-only);
    km_variable_manager set (write)``."""
    lines = []
    for name, uses in actions.items():
        parts = []
        for tool in uses["tools"]:
            operations = ", ".join(op for op in tool["operations"] if op)
            called = f"{tool['tool']} {operations}" if operations else tool["tool"]
            parts.append(f"{called} ({tool['class']})")
        parts.extend(f"action {target}" for target in uses["actions"])
        lines.append(f"{name}: {'; '.join(parts) if parts else 'no tools'}")
    return lines
