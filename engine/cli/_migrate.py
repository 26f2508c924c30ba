"""``km-actions migrate``: rewrite manifests of an older api_version in the current one."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.cli._files import iter_manifest_paths
from engine.cli._offline import offline_tools
from engine.cli._say import failed, say
from engine.diagnostics.errors import EngineError
from engine.load.files import Found, look
from engine.load.migrate import migrate_file
from engine.load.versions import CURRENT
from engine.tools.catalog import ToolCatalog


def add_parsers(sub: Any) -> None:
    m = sub.add_parser(
        "migrate",
        help="rewrite manifests of an older api_version in the current one",
        description=f"Rewrite action and plugin manifests written for an older api_version "
        f"as api_version {CURRENT} reads them, in place: only what changed meaning is "
        "edited (comments, quotes and layout are kept), and a file already current is left "
        "alone. A folder migrates every manifest in it. Exit status: 0 done (or, with "
        "--check, nothing to migrate), 1 a file needs migrating (--check) or cannot be "
        "migrated, 2 usage error.",
    )
    m.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    m.add_argument("--check", action="store_true", help="only say which files need migrating")
    m.set_defaults(handler=cmd_migrate)


def cmd_migrate(args: argparse.Namespace) -> int:
    status = 0
    known = offline_tools()  # a 1.0 group becomes its tools that `validate` checks against
    for argument in args.paths:
        path = Path(argument)
        try:
            kind = look(path, argument)
        except EngineError as error:
            return failed("migrate", error, 2)
        if kind is Found.FOLDER:
            paths = list(iter_manifest_paths(path))
        elif kind is Found.FILE:
            paths = [path]
        else:
            say("migrate", f"{argument}: no such file or folder")
            return 2
        for item in paths:
            found = kind is Found.FOLDER
            status = max(status, _migrate_one(item, known, check=args.check, found=found))
    return status


# A file found in a folder that is not a manifest at all (a marketplace index, data) is
# none of migrate's business; named on the command line, it is said to be none.
_NOT_A_MANIFEST = ("missing-key", "not-a-mapping")


def _migrate_one(path: Path, known: ToolCatalog, *, check: bool, found: bool) -> int:
    try:
        needed = migrate_file(path, check=check, known=known)
    except EngineError as error:
        if found and error.code in _NOT_A_MANIFEST:
            return 0
        say(
            "migrate",
            error.message if str(path) in error.message else f"{path}: {error.message}",
            error.hint,
        )
        return 1
    except OSError as error:
        say("migrate", f"{path}: cannot rewrite it ({error.strerror})")
        return 1
    if not needed:
        print(f"{path}: already api_version {CURRENT}")
        return 0
    if check:
        print(f"{path}: needs migrating to api_version {CURRENT}")
        return 1
    print(f"{path}: migrated to api_version {CURRENT}")
    return 0
