"""``km-actions run`` and ``km-actions test``.

Longer than 400 lines: two commands (run, test) that share how an action is found (a
file, a plugin folder, an installed plugin) and its backend opened.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.cli._backend import CommandBackend, add_config_option, add_simulator_option
from engine.cli._files import collect
from engine.cli._hooks import print_hook_warnings
from engine.cli._offline import offline_tools
from engine.cli._say import failed, say
from engine.diagnostics.errors import BridgeError, Diagnostic, EngineError, ErrorKind, StepError
from engine.diagnostics.report import SourceLookup, format_text
from engine.diagnostics.words import counted
from engine.engine import Engine
from engine.lang.limits import Profile
from engine.lang.secrets import show
from engine.load.files import Found, look, unreadable
from engine.load.jsonparse import LONE_SURROGATE, JSONValueError, loads_value
from engine.load.sourcemap import Document
from engine.plugins.hooked import run_installed
from engine.plugins.local import LocalPlugin, enclosing_plugin
from engine.plugins.serving import ServedPlugins
from engine.plugins.store import Store
from engine.run.library import ActionLibrary
from engine.run.model import Pipeline, RunResult
from engine.run.testing import TestOutcome, run_tests
from engine.simulator import SimulatorStateError
from engine.tools.backend import Backend, BackendKind, choose_backend
from engine.tools.catalog import ToolCatalog
from engine.tools.config import load_settings
from engine.validate import mock_problems


def add_parsers(sub: Any) -> None:
    r = sub.add_parser(
        "run",
        help="run an action",
        description="Run an action: an action file, or an installed plugin/action. Its km_* "
        "calls go to the Keyboard Maestro MCP server named under [upstream] in the "
        "configuration file (see `km-actions config show`), or to the built-in simulator when "
        "none is configured or with --simulator; --dry-run sends nothing anywhere. Exit "
        "status: 0 success, 1 the run failed (or the server could not be reached), 2 usage "
        "or configuration error.",
    )
    r.add_argument(
        "action", metavar="FILE_OR_NAME", help="an action file, or an installed plugin/action"
    )
    r.add_argument(
        "--input",
        "-i",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an input value (repeatable); text is converted to the input's type",
    )
    r.add_argument("--inputs-json", metavar="JSON", help="all inputs as a JSON object")
    r.add_argument(
        "--dry-run",
        action="store_true",
        help="render and check everything against the tools of the server you last connected "
        "to (or the shipped catalog); send nothing to Keyboard Maestro or any server",
    )
    add_simulator_option(r)
    r.add_argument("--trace", action="store_true", help="show every step that ran")
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    r.add_argument(
        "--profile",
        choices=[p.value for p in Profile],
        default="standard",
        help="security profile (default: standard)",
    )
    add_config_option(r)
    r.add_argument(
        "--state",
        metavar="FILE",
        type=Path,
        help="simulator state file (default: in the km-actions data folder); for runs on "
        "the simulator only",
    )
    r.add_argument(
        "--fresh",
        action="store_true",
        help="start the simulator from an empty state and do not save it",
    )
    r.set_defaults(handler=cmd_run)

    t = sub.add_parser(
        "test",
        help="run the tests written in actions",
        description="Run the `tests:` of action files (mocked tools; nothing is sent "
        "anywhere). Exit status: 0 all passed, 1 a test failed, 2 usage error.",
    )
    t.add_argument(
        "paths",
        nargs="+",
        metavar="FILE_OR_DIR",
        help="action files, folders (plugin folders too), or installed plugin/action names",
    )
    t.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    t.add_argument(
        "--allow-no-tests",
        action="store_true",
        help="exit 0 when the files hold no tests (for hooks given whatever files changed)",
    )
    t.set_defaults(handler=cmd_test)


def parse_inputs(pipeline: Pipeline, pairs: list[str], raw_json: str | None) -> dict[str, Any]:
    """Inputs from ``--inputs-json`` and ``--input NAME=VALUE`` (typed by the action)."""
    values: dict[str, Any] = {}
    if raw_json:
        if LONE_SURROGATE.search(raw_json):  # command-line bytes that are not UTF-8
            raise ValueError("--inputs-json is not UTF-8 text")
        try:
            loaded = loads_value(raw_json)
        except JSONValueError as exc:
            raise ValueError(f"--inputs-json: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"--inputs-json is not valid JSON: {exc.msg}") from None
        if not isinstance(loaded, Mapping):
            raise ValueError('--inputs-json must be a JSON object, e.g. \'{"name": "x"}\'')
        values.update(loaded)
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            # An input's name is quoted; any other text may be a value (a secret).
            what = repr(pair) if pair in pipeline.inputs else "without `=`"
            raise ValueError(f"--input {what} needs the form NAME=VALUE")
        spec = pipeline.inputs.get(name)
        if spec is None:
            values[name] = text  # reported by the run with a did-you-mean
            continue
        try:
            values[name] = spec.from_text(text)
        except ValueError as exc:
            raise ValueError(f"--input {name}: {exc}") from None
    return values


def check_given(
    pipeline: Pipeline, inputs: Mapping[str, Any], document: Document | None = None
) -> None:
    """Every required input given: one error for each that is not, at its declaration
    (when the file is at hand), saying what it takes and how to give it (as the run
    itself says it of an input that does not fit)."""
    problems = []
    for name, spec in pipeline.inputs.items():
        if name in inputs or not spec.required or spec.has_default:
            continue
        path = ("inputs", name)
        problems.append(
            Diagnostic(
                ErrorKind.INVALID_INPUT.value,
                f"{pipeline.qualified_name} needs the input `{name}`",
                path=path,
                span=document.span(path, at_key=True) if document else None,
                file=document.file if document else pipeline.file,
                hint=spec.how_to_give(f"give it as --input {name}=…"),
            )
        )
    if problems:
        error = StepError(ErrorKind.INVALID_INPUT, problems[0].message, hint=problems[0].hint)
        error.diagnostics[:] = problems
        raise error


def _refused(
    args: argparse.Namespace, error: EngineError, sources: SourceLookup, tools: CommandBackend
) -> int:
    """A run that cannot start (an invalid manifest, an input not given): the problems in
    the reporter's form, or as the JSON of a failed run with --json."""
    if args.json:
        failure = {"status": "failed", "outputs": {}, "error": error.to_dict()}
        print(json.dumps({**failure, "ran_on": tools.to_dict()}, indent=2, ensure_ascii=False))
    else:
        print(format_text(error.diagnostics, sources=sources), file=sys.stderr)
    return 1


def _library(engine: Engine, path: Path) -> ActionLibrary:
    library = ActionLibrary(engine)
    library.add_folder(path.parent)
    return library


class _Stopped(Exception):
    """The run stops before it starts; what went wrong has been said. ``code``: the exit
    status."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def cmd_run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except _Stopped as stopped:
        return stopped.code
    except SimulatorStateError as problem:
        return failed("run", problem)


def _open_backend(args: argparse.Namespace) -> CommandBackend:
    """The backend of this run, chosen by :func:`engine.tools.backend.choose_backend` from the
    configuration and the options (not connected yet)."""
    try:
        settings = load_settings(args.config)
    except EngineError as error:
        failed("run", error)
        raise _Stopped(2) from None
    backend = choose_backend(
        settings,
        dry_run=args.dry_run,
        simulator=args.simulator,
        state=args.state,
        keep_state=not args.fresh,
    )
    _check_simulator_options(args, backend)
    catalog: ToolCatalog | None = None
    if backend.kind is BackendKind.DRY_RUN:
        catalog = offline_tools(settings=settings)
    return CommandBackend(backend, catalog=catalog)


def _check_simulator_options(args: argparse.Namespace, backend: Backend) -> None:
    if backend.kind is BackendKind.UPSTREAM and (args.state or args.fresh):
        option = "--state" if args.state else "--fresh"
        say(
            "run",
            f"{option} is an option of the built-in simulator, and this run goes to "
            f"{backend.describe()}",
            "add --simulator to run on the simulator",
        )
        raise _Stopped(2)


def _engine(args: argparse.Namespace, tools: CommandBackend) -> Engine:
    """Connect (to the upstream, if that is the backend): an engine that checks and
    compiles against the backend's tools."""
    try:
        tools.connect()
    except BridgeError as error:
        if args.json:
            failure = {"status": "failed", "outputs": {}, "error": error.to_dict()}
            print(json.dumps({**failure, "ran_on": tools.to_dict()}, indent=2))
        else:
            failed("run", error)
        raise _Stopped(1) from None
    return Engine(catalog=tools.catalog())


@dataclass(frozen=True)
class _Ready:
    """An action ready to run: what the three ways of naming one (a file, a file in a
    plugin folder, an installed ``plugin/action``) each find, for the one run path."""

    pipeline: Pipeline
    start: Callable[[dict[str, Any], dict[str, Any]], Coroutine[Any, Any, RunResult]]
    """Runs it with the inputs and the run's options (bridge, limits, trace, dry_run)."""
    document: Document | None = None  # the file at hand, to place missing inputs in it


def _run(args: argparse.Namespace) -> int:
    path = Path(args.action)
    try:
        found = look(path, args.action)
        text = path.read_text("utf-8", "replace") if found is Found.FILE else ""
    except EngineError as exc:
        return failed("run", exc, 2)
    except OSError as exc:
        return failed("run", unreadable(args.action, exc), 2)
    if found is not Found.FILE:
        if is_installed_name(args.action):
            return _run_installed(args)
        print(f"km-actions run: no such file: {args.action}", file=sys.stderr)
        return 2
    folder = enclosing_plugin(path)
    if folder is not None:
        return _run_on_backend(
            args, _file_sources(), lambda engine: _in_plugin(engine, folder, path)
        )
    # An error in an action it calls (a file next to it) is shown with that file's lines.
    sources = _file_sources({str(path): text})
    return _run_on_backend(args, sources, lambda engine: _from_file(engine, path))


def _run_on_backend(
    args: argparse.Namespace,
    sources: SourceLookup,
    find: Callable[[Engine], _Ready],
    *,
    refuse: Callable[[EngineError], bool] = lambda error: True,
) -> int:
    """The one run path: connect, find the action (``find``), check its inputs, run it
    and report. An action that cannot start is reported by :func:`_refused` when
    ``refuse`` says so, else as a plain failure."""
    with _open_backend(args) as tools:
        engine = _engine(args, tools)
        try:
            ready = find(engine)
            inputs = parse_inputs(ready.pipeline, args.input, args.inputs_json)
            check_given(ready.pipeline, inputs, ready.document)
        except EngineError as error:
            if refuse(error):
                return _refused(args, error, sources, tools)
            return failed("run", error)
        except ValueError as exc:
            print(f"km-actions run: {exc}", file=sys.stderr)
            return 2
        if not args.json:
            print(
                f"Running {ready.pipeline.qualified_name} on {tools.describe()}.", file=sys.stderr
            )
        options = {
            "bridge": tools.bridge,
            "limits": Profile(args.profile).limits,
            "trace": args.trace,
            "dry_run": args.dry_run,
        }
        result = asyncio.run(ready.start(inputs, options))
        return _finish_run(args, result, tools, sources, ready.pipeline.file)


def _from_file(engine: Engine, path: Path) -> _Ready:
    """An action file outside any plugin, its neighbours callable by `action:` steps."""
    document = engine.load_file(path)
    library = _library(engine, path)
    library.add(document)
    pipeline = engine.compile(document, context=library.context())
    return _Ready(
        pipeline,
        lambda inputs, options: engine.run(pipeline, inputs, resolver=library, **options),
        document,
    )


def _in_plugin(engine: Engine, folder: Path, path: Path) -> _Ready:
    """An action file inside a plugin folder: checked and run in the plugin's context,
    with the settings' defaults as ``config``."""
    plugin = LocalPlugin.read(folder, engine=engine)
    name = plugin.name_of(path)
    if name is None:
        raise EngineError(
            f"{path} is not one of the actions of the plugin in {folder}",
            code="not-found",
            hint="list it under `actions:` in plugin.yaml",
        )
    pipeline = plugin.pipeline(name)
    return _Ready(
        pipeline,
        lambda inputs, options: engine.run(
            pipeline,
            inputs,
            grant=plugin.grant,
            config=plugin.settings,
            resolver=plugin.resolver(),
            **options,
        ),
    )


def is_installed_name(text: str) -> bool:
    """``plugin/action``: a name, not a path (no suffix, exactly one ``/``)."""
    plugin, sep, action = text.partition("/")
    return bool(sep and plugin and action and "/" not in action and "." not in action)


def _finish_run(
    args: argparse.Namespace,
    result: RunResult,
    tools: CommandBackend,
    sources: SourceLookup,
    file: str | None,
) -> int:
    """Print what the run gave (``file``: the action's file, which the trace's steps of
    called actions are not in)."""
    tools.close()
    if args.json:
        data = {**result.to_dict(), "ran_on": tools.to_dict()}
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        _print_result(result, sources, file)
    return 0 if result.ok else 1


def _run_installed(args: argparse.Namespace) -> int:
    """``km-actions run plugin/action``: an installed action, with its plugin's grant and
    settings and the installed plugins' hooks; the run is recorded in the store's history."""
    try:
        store = Store.open()
    except EngineError as error:
        print(format_text(error.diagnostics), file=sys.stderr)
        return 1

    def installed(engine: Engine) -> _Ready:
        served = ServedPlugins.load(store, engine=engine, compile=False)

        async def start(inputs: dict[str, Any], options: dict[str, Any]) -> RunResult:
            try:
                hooked = await run_installed(served, args.action, inputs, **options)
            finally:
                served.close()
            print_hook_warnings(hooked)
            return hooked.result

        try:
            return _Ready(served.pipeline(args.action), start)
        except EngineError:
            served.close()
            raise

    with store:
        return _run_on_backend(
            args,
            _installed_sources(store),
            installed,
            refuse=lambda error: args.json or error.first.span is not None,
        )


def _installed_sources(store: Store) -> Callable[[str], str | None]:
    """Source text of an installed file named ``plugin/relative/path`` in a diagnostic."""

    def lookup(name: str) -> str | None:
        plugin, _, relative = name.partition("/")
        found = store.get(plugin)
        if found is None:
            return None
        try:
            return store.file(found, relative).read_text("utf-8", "replace")
        except (OSError, EngineError):
            return None

    return lookup


def _file_sources(read: Mapping[str, str] | None = None) -> Callable[[str], str | None]:
    """Source text of a file named in a diagnostic: one of those ``read`` already (by
    name), else the file itself (an action of the plugin folder, or one the action run
    calls)."""

    def lookup(name: str) -> str | None:
        if read and name in read:
            return read[name]
        try:
            return Path(name).read_text("utf-8", "replace")
        except OSError:
            return None

    return lookup


def _print_result(result: RunResult, sources: SourceLookup, file: str | None) -> None:
    if result.trace is not None:
        for entry in result.trace:
            label = entry.get("step") or entry.get("tool") or entry["kind"]
            place = f"line {entry.get('line')}"
            if entry.get("file") not in (None, file):  # a step of an action it called
                place += f" of {entry['file']}"
            print(
                f"  {entry['status']:<9} {label:<28} {place}  {entry['duration_ms']:.2f} ms",
                file=sys.stderr,
            )
            if "arguments" in entry:  # masked by the run: secrets are named, never shown
                print(f"            with {show(entry['arguments'], 200)}", file=sys.stderr)
    if result.dry_run and result.recorded_calls is not None:
        for call in result.recorded_calls:
            print(f"  {call['tool']}: {call['note']}", file=sys.stderr)
    if result.error is not None:
        print(format_text(result.error.diagnostics, sources=sources), file=sys.stderr)
        print(
            f"failed ({result.error.kind.value}) after {counted(result.steps_run, 'step')}",
            file=sys.stderr,
        )
        return
    print(json.dumps(result.outputs, indent=2, ensure_ascii=False, default=str))
    print(
        f"succeeded: {counted(result.steps_run, 'step')}, "
        f"{counted(result.tool_calls, 'tool call')}, "
        f"{result.duration * 1000:.1f} ms ({result.bridge})",
        file=sys.stderr,
    )


@dataclass(frozen=True)
class Broken:
    """An action or plugin whose tests could not run: the error, and how it is shown."""

    text: str
    error: EngineError

    @classmethod
    def of(cls, error: EngineError, *, sources: SourceLookup = None) -> Broken:
        return cls(format_text(error.diagnostics, sources=sources), error)


def _is_absent(name: str) -> bool:
    """True when nothing is at the path ``name`` (one that cannot be looked at is there:
    reading it reports why)."""
    try:
        return look(Path(name), name) is Found.NOTHING
    except EngineError:
        return False


def cmd_test(args: argparse.Namespace) -> int:
    names = [p for p in args.paths if is_installed_name(p) and _is_absent(p)]
    engine = Engine()
    found = collect([p for p in args.paths if p not in names], catalog=engine.catalog)
    if found.missing:
        for name in found.missing:
            print(f"km-actions test: no such file or folder: {name}", file=sys.stderr)
        return 2
    outcomes: list[TestOutcome] = []
    broken: list[Broken] = []
    warnings: list[Diagnostic] = []
    sources: dict[str, str] = {}
    if names:
        _test_installed(engine, names, outcomes, broken, warnings, sources)
    libraries: dict[Path, ActionLibrary] = {}
    plugins: dict[Path, LocalPlugin | None] = {}
    for loaded in found.files:
        if loaded.document is None:
            if loaded.error is not None:
                sources = {loaded.display: loaded.text}
                broken.append(Broken.of(loaded.error, sources=sources))
            continue
        data = loaded.document.data
        if not isinstance(data, Mapping) or data.get("kind") != "action":
            continue
        found_here = mock_problems(loaded.document, engine.catalog)
        if found_here:
            warnings.extend(found_here)
            sources[loaded.display] = loaded.text
        folder = enclosing_plugin(loaded.path)
        if folder is not None:
            _test_in_plugin(engine, folder, loaded.path, plugins, outcomes, broken)
            continue
        folder = loaded.path.parent
        library = libraries.get(folder)
        if library is None:
            library = libraries[folder] = _library(engine, loaded.path)
        try:
            pipeline = engine.compile(loaded.document, context=library.context())
        except EngineError as error:
            broken.append(Broken.of(error, sources={loaded.display: loaded.text}))
            continue
        outcomes.extend(asyncio.run(run_tests(pipeline, catalog=engine.catalog, resolver=library)))
    if warnings and not args.json:
        # what may make a test pass here and the action fail on the Mac, said first
        print(format_text(warnings, sources=sources) + "\n")
    code = _report_tests(outcomes, broken, warnings, as_json=args.json)
    return 0 if code == 2 and args.allow_no_tests else code


def _test_installed(
    engine: Engine,
    names: list[str],
    outcomes: list[TestOutcome],
    broken: list[Broken],
    warnings: list[Diagnostic],
    sources: dict[str, str],
) -> None:
    """The ``tests:`` of installed actions (mocked tools; the user's settings unused),
    and the warnings about their mocks."""
    try:
        store = Store.open()
    except EngineError as error:
        broken.append(Broken.of(error))
        return
    with store:
        served = ServedPlugins.load(store, engine=engine, compile=False)
        for name in names:
            try:
                found, document = served.mock_warnings(name)
                if found and document.file is not None:
                    warnings.extend(found)
                    sources[document.file] = document.text
                outcomes.extend(asyncio.run(served.run_tests(name)))
            except EngineError as error:
                broken.append(Broken(f"{name}: {error.message}", error))


def _test_in_plugin(
    engine: Engine,
    folder: Path,
    path: Path,
    plugins: dict[Path, LocalPlugin | None],
    outcomes: list[TestOutcome],
    broken: list[Broken],
) -> None:
    if folder not in plugins:
        try:
            plugins[folder] = LocalPlugin.read(folder, engine=engine)
        except EngineError as error:
            plugins[folder] = None
            broken.append(Broken.of(error, sources=_file_sources()))
    plugin = plugins[folder]
    name = plugin.name_of(path) if plugin is not None else None
    if plugin is not None and name is not None:
        outcomes.extend(asyncio.run(plugin.run_tests(name)))


def _report_tests(
    outcomes: list[TestOutcome],
    broken: list[Broken],
    warnings: list[Diagnostic],
    *,
    as_json: bool,
) -> int:
    passed = sum(1 for o in outcomes if o.passed)
    failed = len(outcomes) - passed
    if not outcomes and not broken:
        print(
            "km-actions test: no tests found (an action's tests go under `tests:`; "
            "`km-actions new` writes an action with one)",
            file=sys.stderr,
        )
    if as_json:
        print(
            json.dumps(
                {
                    "passed": passed,
                    "failed": failed,
                    "errors": len(broken),
                    "tests": [o.to_dict() for o in outcomes],
                    "problems": [b.error.to_dict() for b in broken],
                    "warnings": [w.to_dict() for w in warnings],
                },
                indent=2,
            )
        )
    else:
        for outcome in outcomes:
            mark = "PASSED" if outcome.passed else "FAILED"
            print(f"{outcome.file}::{outcome.action}::{outcome.name} {mark}")
        for outcome in outcomes:
            if not outcome.passed:
                where = f" ({outcome.location})" if outcome.location else ""
                print(f"\n___ {outcome.action}: {outcome.name}{where} ___")
                for line in outcome.report():
                    print(line)
        for item in broken:
            print(f"\n{item.text}")
        parts = [f"{passed} passed", f"{failed} failed"]
        if broken:
            parts.append(counted(len(broken), "error"))
        if warnings:
            parts.append(counted(len(warnings), "warning"))
        if outcomes or broken:
            print("\n" + ", ".join(parts))
    return 0 if failed == 0 and not broken and outcomes else (1 if outcomes or broken else 2)
