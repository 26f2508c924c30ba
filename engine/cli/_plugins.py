"""``km-actions install, uninstall, list, describe, configure, enable, disable, verify, pack``.

Longer than 400 lines: nine commands of one family that share their options,
confirmations and printing; each command is a few short functions.

Exit status: 0 success, 1 a refusal or failure the command reports (invalid plugin,
permission not granted, tampered files, …), 2 a usage error (no such file, bad option).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli._backend import add_simulator_option
from engine.cli._hooks import CommandHooks
from engine.cli._offline import offline_tools
from engine.cli._say import HINT, failed
from engine.diagnostics.errors import EngineError
from engine.diagnostics.report import format_text
from engine.diagnostics.words import counted
from engine.lang.limits import Profile
from engine.load.files import Found, look
from engine.plugins.history import RunHistory
from engine.plugins.installer import InstallResult, InstallSource, install
from engine.plugins.inventory import describe, list_plugins
from engine.plugins.lifecycle import (
    configure,
    current_settings,
    dependents_order,
    set_enabled,
    uninstall,
    verify,
)
from engine.plugins.local import LocalPlugin
from engine.plugins.manifest import PluginType
from engine.plugins.packing import create_archive
from engine.plugins.permissions import PermissionRequest
from engine.plugins.plan import installed_signatures
from engine.plugins.progress import ProgressBar
from engine.plugins.repair import RepairReport, repair
from engine.plugins.serving import plugin_states
from engine.plugins.settings import masked, parse_assignment
from engine.plugins.status import PluginState, state_of
from engine.plugins.store import Store

if TYPE_CHECKING:  # annotations only: the catalog is loaded by offline_tools
    from engine.tools.catalog import ToolCatalog

Handler = Callable[[argparse.Namespace], int]


def add_parsers(sub: Any) -> None:
    """Add install, uninstall, list, describe, configure, enable, disable, verify, pack."""
    _add_install(sub)
    _add_inventory(sub)
    _add_changes(sub)


def _add_install(sub: Any) -> None:
    p = sub.add_parser(
        "install",
        help="install or upgrade a plugin",
        description="Install a plugin from a folder, a .zip or .tar.gz archive, or a single "
        "action file. Everything is checked first; the permissions it asks for are shown "
        "and must be granted. Installing another version of an installed plugin upgrades it.",
    )
    p.add_argument(
        "source",
        metavar="SOURCE",
        help="plugin folder, archive or action file (or ID[@RANGE] from a marketplace)",
    )
    p.add_argument("--yes", "-y", action="store_true", help="grant what the plugin asks for")
    p.add_argument(
        "--grant",
        action="append",
        metavar="PERMISSION",
        help="grant a tool or tool group (repeatable); the plugin must ask for no more",
    )
    _profile(p, "the security profile it is installed and runs under (default: standard)")
    _hooks_option(p)
    _json(p)
    p.set_defaults(handler=_guard(cmd_install))
    p = sub.add_parser(
        "pack",
        help="check a plugin folder and pack it into an archive",
        description="Validate a plugin folder, then write a deterministic archive of it.",
    )
    p.add_argument("folder", metavar="FOLDER", type=Path)
    p.add_argument("-o", "--output", type=Path, help="the archive (default: ID-VERSION.zip)")
    p.add_argument("--format", choices=["zip", "tar.gz"], default="zip")
    p.set_defaults(handler=_guard(cmd_pack))


def _add_changes(sub: Any) -> None:
    p = sub.add_parser(
        "uninstall",
        help="remove an installed plugin",
        description="Remove an installed plugin, with its settings, secrets and run "
        "statistics. In a terminal, says what will be discarded and asks first.",
    )
    p.add_argument("identifier", metavar="ID")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.add_argument(
        "--with-dependents",
        action="store_true",
        help="also remove the installed plugins that depend on it",
    )
    _hooks_option(p)
    _json(p)
    p.set_defaults(handler=_guard(cmd_uninstall))
    p = sub.add_parser(
        "configure",
        help="show or change a plugin's settings",
        description="Without KEY=VALUE, show the settings (secrets masked). KEY=- reads the "
        "value from the terminal without echoing it (for secrets).",
    )
    p.add_argument("identifier", metavar="ID")
    p.add_argument("assignments", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--unset", action="append", default=[], metavar="KEY", help="back to default")
    _hooks_option(p)
    _json(p)
    p.set_defaults(handler=_guard(cmd_configure))
    for name, enabled in (("enable", True), ("disable", False)):
        p = sub.add_parser(name, help=f"{name} an installed plugin's actions")
        p.add_argument("identifier", metavar="ID")
        _hooks_option(p)
        p.set_defaults(handler=_guard(_toggle(enabled)))


def _add_inventory(sub: Any) -> None:
    p = sub.add_parser("list", help="list installed plugins")
    p.add_argument("--type", choices=[t.value for t in PluginType], help="only this type")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--enabled", action="store_const", const=True, dest="enabled")
    state.add_argument("--disabled", action="store_const", const=False, dest="enabled")
    p.add_argument("--search", metavar="TEXT", help="words in the id, name, description or actions")
    _json(p)
    p.set_defaults(handler=_guard(cmd_list))

    p = sub.add_parser("describe", help="everything about an installed plugin")
    p.add_argument("identifier", metavar="ID")
    _json(p)
    p.set_defaults(handler=_guard(cmd_describe))
    p = sub.add_parser(
        "verify",
        help="check installed files against the lock",
        description="Check every installed file against the lock written at install. "
        "With --repair, first set right a store whose folders do not match its database "
        "(an emptied or damaged state.db, a folder deleted by hand): what the database "
        "does not list is moved into recovered/ in the store, never deleted.",
    )
    p.add_argument("identifier", metavar="ID", nargs="?")
    p.add_argument(
        "--repair",
        action="store_true",
        help="move what the database does not list into recovered/ and forget plugins "
        "whose folders are gone (nothing is deleted)",
    )
    _json(p)
    p.set_defaults(handler=_guard(cmd_verify))


def _profile(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--profile", choices=[x.value for x in Profile], default="standard", help=help)


def _hooks_option(p: argparse.ArgumentParser) -> None:
    add_simulator_option(p, "run the plugins' hooks this sets off")


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def report_error(error: EngineError, *, as_json: bool = False, sources: Any = None) -> int:
    """Print an error (located diagnostics with their source line); exit status 1."""
    if as_json:
        _print_json({"ok": False, "error": error.to_dict()})
        return 1
    located = [d for d in error.diagnostics if d.file or d.span]
    if located:
        print(format_text(located, sources=sources, color=sys.stderr.isatty()), file=sys.stderr)
    else:
        print(f"error[{error.code}]: {error.message}", file=sys.stderr)
        hint = error.hint or error.first.hint
        if hint:
            print(f"{HINT}{hint}", file=sys.stderr)
    return 1


def _guard(handler: Handler) -> Handler:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except EngineError as error:
            return report_error(error, as_json=getattr(args, "json", False))

    return run


def _sources(source: Path) -> Callable[[str], str | None]:
    """Source text of a file named in a diagnostic (``label/relative`` or the file)."""

    def lookup(name: str) -> str | None:
        base = source if source.is_dir() else source.parent
        relative = name.split("/", 1)[1] if "/" in name else name
        for candidate in (base / relative, Path(name)):
            try:
                return candidate.read_text("utf-8", "replace")
            except OSError:
                continue
        return None

    return lookup


def _confirm(
    args: argparse.Namespace, catalog: ToolCatalog
) -> Callable[[PermissionRequest], bool] | None:
    if args.yes or args.grant:
        return None

    def ask(request: PermissionRequest) -> bool:
        if not request.entries:  # the prompt is for permissions: none, nothing to consent to
            print(
                f"'{request.plugin}' {request.version} asks for no permissions (it calls no "
                "tools): nothing to grant.",
                file=sys.stderr,
            )
            return True
        lines = request.describe(catalog)
        if not sys.stdin.isatty():
            raise EngineError(
                f"'{request.plugin}' {request.version} asks for: {'; '.join(lines)}; "
                "nothing was installed",
                code="install-declined",
                hint="grant them with --yes (or name them with --grant), since there is no "
                "terminal to ask",
            )
        print(f"'{request.plugin}' {request.version} asks to call:", file=sys.stderr)
        for entry, line in zip(request.entries, lines, strict=True):
            new = " (new)" if entry in request.added else ""
            print(f"  {line}{new}", file=sys.stderr)
        print("Grant these permissions? [y/N] ", end="", file=sys.stderr, flush=True)
        return sys.stdin.readline().strip().lower() in ("y", "yes")

    return ask


def cmd_install(args: argparse.Namespace) -> int:
    path = Path(args.source)
    try:
        found = look(path, args.source)
    except EngineError as exc:
        return failed("install", exc, 2)
    if found is Found.NOTHING:
        print(f"km-actions install: no such file or folder: {args.source}", file=sys.stderr)
        return 2
    return install_from(args, InstallSource.of(path), sources=_sources(path))


def install_from(
    args: argparse.Namespace, source: InstallSource, *, sources: Callable[[str], str | None] | None
) -> int:
    """Install ``source`` as `install` does, printing what happened (``sources``: the text
    of a file named in a diagnostic)."""
    bar = ProgressBar(f"checking {source.label}", unit="actions")
    try:
        with Store.open() as store:
            catalog = offline_tools()  # the tools `validate` checks against
            hooks = CommandHooks(store, args.profile, simulator=args.simulator)
            try:
                result = install(
                    store,
                    source,
                    catalog=catalog,
                    grant=args.grant,
                    confirm=_confirm(args, catalog),
                    profile=Profile(args.profile),
                    progress=bar,
                    events=hooks,
                )
            finally:
                bar.finish()
                hooks.finish()
    except EngineError as error:
        return report_error(error, as_json=args.json, sources=sources)
    if args.json:
        _print_json(_install_json(result))
    else:
        _print_install(result)
    return 0


def _install_json(result: InstallResult) -> dict[str, Any]:
    return {
        "ok": True,
        "plugin": result.identifier,
        "unchanged": result.unchanged,
        "installed": [{"identifier": p.identifier, "version": p.version} for p in result.installed],
        "upgraded": dict(result.upgraded),
        "dropped_settings": {
            k: [{"name": d.name, "reason": d.reason} for d in v]
            for k, v in result.dropped_settings.items()
        },
        "needs_configuration": {k: list(v) for k, v in result.needs_configuration.items()},
        "warnings": [d.to_dict() for d in result.warnings] + list(result.event_warnings),
    }


def _print_install(result: InstallResult) -> None:
    plugin = result.plugin
    if result.unchanged:
        print(f"{plugin.identifier} {plugin.version} is already installed (same files).")
        return
    for item in result.installed:
        before = result.upgraded.get(item.identifier)
        verb = (
            f"Upgraded {item.identifier} {before} → {item.version}"
            if before
            else (f"Installed {item.identifier} {item.version}")
        )
        extra = "" if item.identifier == result.identifier else " (a dependency)"
        print(f"{verb}{extra}.")
    for identifier, dropped in result.dropped_settings.items():
        for setting in dropped:
            print(f"  {identifier}: the setting {setting} was not kept", file=sys.stderr)
    for identifier, names in result.needs_configuration.items():
        print(
            f"  {identifier} needs settings before some actions work: {', '.join(names)} "
            f"(km-actions configure {identifier} {names[0]}=…)",
            file=sys.stderr,
        )
    for warning in result.warnings:
        print(f"  warning: {warning}", file=sys.stderr)
    for text in result.event_warnings:
        print(f"  warning: {text}", file=sys.stderr)


def cmd_uninstall(args: argparse.Namespace) -> int:
    with Store.open() as store:
        if (
            not (args.yes or args.json)
            and sys.stdin.isatty()
            and not _uninstall_agreed(args, store)
        ):
            print("Nothing was removed.", file=sys.stderr)
            return 1
        hooks = CommandHooks(store, simulator=args.simulator)
        try:
            result = uninstall(
                store, args.identifier, remove_dependents=args.with_dependents, events=hooks
            )
        finally:
            hooks.finish()
    if args.json:
        _print_json({"ok": True, "removed": list(result.removed)})
    else:
        print(f"Removed {', '.join(result.removed)}.")
    return 0


def _states(store: Store) -> dict[str, PluginState]:
    """Each installed plugin's status, as a run from the command line would find it:
    checked against the tools offline checks use (see `km-actions tools`)."""
    return plugin_states(store, offline_tools())


def _print_problem(problem: Mapping[str, Any] | None, indent: str) -> None:
    """Why a plugin is in error, and the fix."""
    if problem is not None:
        print(f"{indent}error[{problem['code']}]: {problem['message']}")
        if problem["hint"]:
            print(f"{indent}hint: {problem['hint']}")


def _uninstall_agreed(args: argparse.Namespace, store: Store) -> bool:
    """Say what an uninstall discards, plugin by plugin, and ask (on a terminal). A refused
    uninstall (other plugins depend on it) is not asked about: it is refused."""
    plugin = store.require(args.identifier)
    dependents = dependents_order(store, args.identifier)
    if dependents and not args.with_dependents:
        return True
    runs: dict[str, int] = {}
    history = RunHistory(store)
    try:
        for row in history.stats()["actions"]:
            owner = str(row["action"]).partition("/")[0]
            runs[owner] = runs.get(owner, 0) + int(row["all_time"]["runs"])
    finally:
        history.close()
    print("Uninstalling discards:", file=sys.stderr)
    for name in [*dependents, args.identifier]:
        found = store.require(name) if name != args.identifier else plugin
        kept = [
            _counted(len(store.settings(name)), "setting"),
            _counted(len(store.secrets(name)), "secret"),
            _counted(runs.get(name, 0), "run", "the statistics of "),
        ]
        said = ", ".join(k for k in kept if k) or "nothing besides its files"
        print(f"  {name} {found.version}: {said}", file=sys.stderr)
    print(f"Remove {args.identifier}? [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _counted(count: int, noun: str, before: str = "") -> str:
    return f"{before}{counted(count, noun)}" if count else ""


def cmd_list(args: argparse.Namespace) -> int:
    with Store.open() as store:
        found = list_plugins(
            store,
            plugin_type=args.type,
            enabled=args.enabled,
            search=args.search,
            states=_states(store),
        )
    if args.json:
        _print_json([p.to_dict() for p in found])
        return 0
    if not found:
        print("No plugins match." if (args.type or args.search or args.enabled is not None)
              else "No plugins are installed.")  # fmt: skip
        return 0
    for p in found:
        status = p.state.status.value
        print(f"{p.identifier} {p.version}  [{p.plugin_type}]  {status}  {p.description}")
        print(f"    actions: {', '.join(p.actions)}")
        _print_problem(p.state.to_dict()["problem"], "    ")
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    with Store.open() as store:
        info = describe(store, args.identifier)
        status = state_of(_states(store), args.identifier, info["enabled"])
    info["status"] = status.to_dict(diagnostics=True)
    if args.json:
        _print_json(info)
        return 0
    print(f"{info['identifier']} {info['version']}: {info['name']}")
    if info["description"]:
        print(f"  {info['description']}")
    source = info["source"]
    print(f"  {status.status.value}; {info['plugin_type']}; from {source['kind']} {source['ref']}"
          f" ({source['origin']}); installed {info['installed_at']}")  # fmt: skip
    _print_problem(info["status"]["problem"], "    ")
    for diagnostic in status.error.diagnostics if status.error is not None else ():
        print(f"      {diagnostic}")
    print("  actions:")
    for action in info["actions"]:
        print(f"    {action['qualified']}: {action['description']}".rstrip())
        for name, spec in action["inputs"].items():
            need = "required" if spec.get("required") else f"default {_shown(spec.get('default'))}"
            line = (
                f"      - {name} ({spec.get('type', 'any')}, {need}) {spec.get('description', '')}"
            )
            print(line.rstrip())
        if action["outputs"]:
            print(f"      outputs: {', '.join(action['outputs'])}")
    granted = info["permissions"]["granted"]
    print("  permissions granted:" + ("" if granted else " none"))
    for entry in granted:
        tools = ", ".join(f"{t['name']} ({t['class']})" for t in entry["tools"])
        print(f"    {entry['entry']}: {tools}")
    limits = info["permissions"]["resource_limits"]
    if limits:
        shown = ", ".join(f"{name} {value}" for name, value in limits.items())
        print(f"  limits: {shown} (tightening the {info['permissions']['profile']} profile)")
    settings = info["settings"]
    if settings["declared"]:
        print("  settings:")
        for line in _setting_lines(info["settings"]):
            print(f"    {line}")
    for dep, entry in info["dependencies"].items():
        print(f"  needs {dep} {entry['range']} (installed: {entry['installed'] or 'no'})")
    if info["dependents"]:
        print(f"  needed by: {', '.join(info['dependents'])}")
    print(f"  files: {len(info['files'])}, " + ("all match the lock" if info["intact"]
          else "CHANGED since install: run `km-actions verify`"))  # fmt: skip
    _print_certification(info["certification"])
    return 0


def _print_certification(found: Mapping[str, Any] | None) -> None:
    """What certifying the installed version found, when it was installed."""
    if found is None:
        print("  certification: none (installed by a km-actions that did not certify)")
        return
    word = "certified" if found["certified"] else "NOT certified"
    print(f"  {word} at install ({found['at']}, km-actions {found['km_actions']}); "
          f"package sha256 {found['sha256']}")  # fmt: skip
    for reason in found["reasons"]:
        print(f"    {reason}")
    for problem in found["problems"]:
        print(f"    {problem}")
    if found["more_problems"]:
        print(f"    … and {found['more_problems']} more: run `km-actions certify` on its folder")


def _setting_lines(settings: Mapping[str, Any]) -> list[str]:
    """``name = value  description`` for every declared setting (a secret masked, one not
    set said so), from the settings view of :func:`describe`."""
    values = settings["values"]
    lines = []
    for item in settings["declared"]:
        value = _shown(values[item["name"]]) if item["name"] in values else "(not set)"
        lines.append(f"{item['name']} = {value}  {item['description']}".rstrip())
    return lines


def _shown(value: Any) -> str:
    """A value as the user writes it (JSON: ``true``, ``"text"``), not as Python shows it."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _read_assignment(schema: Any, text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if sep and raw == "-":
        value = getpass.getpass(f"{name}: ") if sys.stdin.isatty() else sys.stdin.readline()
        return parse_assignment(schema, f"{name}={value.rstrip(chr(10))}")
    return parse_assignment(schema, text)


def cmd_configure(args: argparse.Namespace) -> int:
    with Store.open() as store:
        plugin = store.require(args.identifier)
        schema = plugin.configuration_schema
        if not args.assignments and not args.unset:
            if args.json:
                _print_json(masked(schema, current_settings(store, args.identifier)))
            else:
                _print_settings(describe(store, args.identifier)["settings"])
            return 0
        values = dict(_read_assignment(schema, a) for a in args.assignments)
        hooks = CommandHooks(store, simulator=args.simulator)
        try:
            result = configure(store, args.identifier, values, unset=args.unset, events=hooks)
        finally:
            hooks.finish()
        view = describe(store, args.identifier)["settings"]
    if args.json:
        _print_json({"ok": True, "settings": result.settings, "missing": list(result.missing)})
        return 0
    _print_settings(view)
    if result.missing:
        print(f"  still to set: {', '.join(result.missing)}", file=sys.stderr)
    return 0


def _print_settings(settings: Mapping[str, Any]) -> None:
    """Every declared setting, set or not (as `describe` lists them)."""
    lines = _setting_lines(settings)
    print("\n".join(lines) if lines else "(no settings)")


def _toggle(enabled: bool) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        with Store.open() as store:
            hooks = CommandHooks(store, simulator=args.simulator)
            try:
                result = set_enabled(store, args.identifier, enabled, events=hooks)
            finally:
                hooks.finish()
        word = "enabled" if enabled else "disabled"
        print(f"{args.identifier} is {word}" + ("." if result.changed else " (it already was)."))
        for text in result.event_warnings:
            print(f"  warning: {text}", file=sys.stderr)
        return 0

    return handler


def cmd_verify(args: argparse.Namespace) -> int:
    repaired = repair() if args.repair else None
    if repaired is not None and not args.json:
        _print_repair(repaired)
    with Store.open() as store:
        reports = verify(store, args.identifier)
    if args.json:
        verified = [
            {
                "identifier": r.identifier,
                "version": r.version,
                "ok": r.ok,
                "problems": [{"path": p.path, "problem": p.problem.value} for p in r.problems],
            }
            for r in reports
        ]
        if repaired is None:
            _print_json(verified)
        else:
            _print_json({"repair": _repair_data(repaired), "plugins": verified})
    else:
        for report in reports:
            if report.ok:
                print(f"{report.identifier} {report.version}: ok")
            for problem in report.problems:
                print(f"{report.identifier} {report.version}: {problem}")
        if not reports:
            print("No plugins are installed.")
    return 0 if all(r.ok for r in reports) else 1


def _repair_data(report: RepairReport) -> dict[str, Any]:
    return {
        "folder": str(report.folder) if report.moved or report.forgotten else None,
        "moved": report.moved,
        "forgotten": report.forgotten,
        "recovered": report.done,
    }


def _print_repair(report: RepairReport) -> None:
    for relative in report.moved:
        print(f"moved {relative} to {report.folder / relative}")
    for plugin in report.forgotten:
        print(f"forgot {plugin}, whose files are gone (its record is kept in {report.folder})")
    for line in report.done:
        print(line)
    if not report.changed:
        print("The store matches its database: nothing to repair.")
    elif report.moved or report.forgotten:
        print(
            f"Install again what you need from {report.folder} "
            "(`km-actions install <folder>`), or from where it came."
        )


def cmd_pack(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    try:
        found = look(folder, str(folder))
    except EngineError as exc:
        return failed("pack", exc, 2)
    if found is not Found.FOLDER:
        print(f"km-actions pack: no such folder: {folder}", file=sys.stderr)
        return 2
    try:
        with Store.open() as store:
            others = installed_signatures(store)
        plugin = LocalPlugin.read(folder, others=others)
    except EngineError as error:
        return report_error(error, sources=_sources(folder))
    manifest = plugin.manifest
    suffix = "zip" if args.format == "zip" else "tar.gz"
    out = args.output or Path(f"{manifest.identifier}-{manifest.version}.{suffix}")
    digest = create_archive(folder, out, fmt=args.format)
    print(f"Packed {manifest.identifier} {manifest.version} ({len(manifest.actions)} actions) "
          f"into {out}\nsha256 {digest}")  # fmt: skip
    return 0
