"""The ``km-actions`` command line: thin adapters over the engine.

Exit status: 0 success, 1 a failure the command reports (invalid manifest, failed run,
failed test), 2 a usage error (unknown option, missing file).

Only the module of the command given is imported: ``--version``, ``--help`` and
``validate FILE`` answer without loading the MCP SDK, the simulator or the plugin store
(see benchmarks/bench_startup.py). :data:`COMMANDS` says which module adds each command,
with the one-line help ``km-actions --help`` shows (a test keeps it in step with the
modules').
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from engine import __version__

#: Each module of engine.cli that adds commands, in the order ``--help`` lists them, and
#: the commands it adds with their one-line help.
COMMANDS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "_validate",
        (
            ("validate", "check action and plugin manifests"),
            ("schema", "print the manifest JSON Schema"),
        ),
    ),
    ("_migrate", (("migrate", "rewrite manifests of an older api_version in the current one"),)),
    ("_run", (("run", "run an action"), ("test", "run the tests written in actions"))),
    ("_tools", (("tools", "the km_* tools actions are checked against"),)),
    (
        "_serve",
        (
            ("serve", "serve km-actions to MCP clients"),
            ("config", "show or change the configuration file"),
        ),
    ),
    (
        "_sdk",
        (
            ("new", "start a new action or plugin"),
            ("certify", "check everything a plugin's users rely on, in one report"),
        ),
    ),
    ("_extras", (("docs", "print the documentation of a plugin or an action"),)),
    (
        "_monitor",
        (
            ("stats", "runs, error rates, timings and slowest steps of installed actions"),
            ("history", "the recent runs of installed actions"),
            ("trace", "one past run, step by step"),
        ),
    ),
    ("_simulator", (("simulator", "serve the Keyboard Maestro simulator over MCP"),)),
    (
        "_plugins",
        (
            ("install", "install or upgrade a plugin"),
            ("pack", "check a plugin folder and pack it into an archive"),
            ("list", "list installed plugins"),
            ("describe", "everything about an installed plugin"),
            ("verify", "check installed files against the lock"),
            ("uninstall", "remove an installed plugin"),
            ("configure", "show or change a plugin's settings"),
            ("enable", "enable an installed plugin's actions"),
            ("disable", "disable an installed plugin's actions"),
        ),
    ),
    # Extends `install`, so after _plugins.
    (
        "_marketplace",
        (
            ("search", "search the marketplaces for plugins"),
            ("update", "update plugins from the marketplaces"),
            ("marketplace", "add, remove or list marketplace indexes"),
        ),
    ),
    # Extends `install` (and the marketplace's extension of it) to take a URL.
    ("_urls", ()),
    ("_publish", (("index", "add plugin archives to a marketplace index"),)),
)

#: Commands another module adds options to, besides the module that adds the command.
_EXTENDED = {"install": ("_marketplace", "_urls")}
#: Modules that extend another's command, so need that module's parsers first.
_EXTENDS = {"_marketplace": ("_plugins",), "_urls": ("_plugins", "_marketplace")}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command (``command`` None), or of ``command`` only: the
    others are listed with their help but their modules are not imported."""
    parser = argparse.ArgumentParser(
        prog="km-actions",
        description="Custom actions for the Keyboard Maestro MCP server.",
    )
    parser.add_argument("--version", action="version", version=f"km-actions {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    needed = _modules_of(command)
    for module, commands in COMMANDS:
        if needed is None or module in needed:
            _load(module).add_parsers(sub)
        else:
            for name, help_text in commands:
                sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _modules_of(command: str | None) -> set[str] | None:
    """The modules that add ``command`` or options to it (None: every module)."""
    if command is None:
        return None
    modules = {module for module, commands in COMMANDS if any(command == n for n, _ in commands)}
    modules |= set(_EXTENDED.get(command, ()))
    return modules | {needed for module in modules for needed in _EXTENDS.get(module, ())}


def _load(module: str) -> ModuleType:
    return importlib.import_module(f"engine.cli.{module}")


def _command_in(argv: Sequence[str]) -> str:
    """The command ``argv`` names: its first word that is not an option (the only
    options before it, --help and --version, take no value). "" if none."""
    return next((word for word in argv if not word.startswith("-")), "")


def _inputs_hint(command: str, extra: Sequence[str]) -> str:
    """For `run` given ``NAME=VALUE`` words: how inputs are given.

    >>> _inputs_hint("run", ["who=Ann", "n=2"])
    ' (inputs are given with --input: `--input who=Ann --input n=2`, or -i)'
    """
    if command != "run" or not all("=" in w and not w.startswith("-") for w in extra):
        return ""
    given = " ".join(f"--input {word}" for word in extra)
    return f" (inputs are given with --input: `{given}`, or -i)"


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command = _command_in(words)
    parser = build_parser(command)
    args, extra = parser.parse_known_args(words)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}{_inputs_hint(command, extra)}")
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
