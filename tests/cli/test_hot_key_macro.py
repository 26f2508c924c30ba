"""The Keyboard Maestro macro in docs/macros (a hot key running `km-actions run`) can be
imported, and its shell script runs a command line km-actions accepts, on a real action.

Keyboard Maestro imports a ``.kmmacros`` file: an XML property list of macro groups, each
with its macros; a macro has triggers (a hot key: key code and modifier flags) and actions
(an Execute Shell Script action keeps its script under ``Text``).
"""

from __future__ import annotations

import json
import plistlib
import re
import shlex
from pathlib import Path
from typing import Any

from engine.cli import build_parser
from tests.cli.conftest import Cli

ROOT = Path(__file__).resolve().parents[2]
MACRO_FILE = ROOT / "docs" / "macros" / "km-actions-hot-key.kmmacros"
#: Keyboard Maestro's modifier flags.
COMMAND, SHIFT, OPTION, CONTROL = 256, 512, 2048, 4096


def macro() -> dict[str, Any]:
    with MACRO_FILE.open("rb") as handle:
        groups = plistlib.load(handle)
    assert isinstance(groups, list)
    [group] = groups
    assert (group["Name"], group["Activate"]) == ("km-actions", "Normal")
    [found] = group["Macros"]
    assert isinstance(found, dict)
    return found


def script_command_line(text: str) -> list[str]:
    """The km-actions command line of the script, with its variables as the script sets
    them (``$HOME/km-actions`` standing for this checkout)."""
    variables = dict(re.findall(r'^([A-Z]+)="([^"]*)"$', text, flags=re.MULTILINE))
    assert variables == {"KM": "$HOME/km-actions"}
    [line] = [line for line in text.splitlines() if 'km-actions" run ' in line]
    words = shlex.split(line.replace("$KM", str(ROOT)))
    assert words[-1] == "2>&1"  # errors shown too, as the macro's result
    return words[:-1]


def test_the_macro_has_a_hot_key_and_runs_one_shell_script() -> None:
    found = macro()
    assert found["Name"] == "km-actions: count hot key presses"
    assert re.fullmatch(r"[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}", found["UID"])
    [trigger] = found["Triggers"]
    assert trigger == {
        "FireType": "Pressed",
        "KeyCode": 17,  # T
        "MacroTriggerType": "HotKey",
        "Modifiers": CONTROL + OPTION + COMMAND,
    }
    [action] = found["Actions"]
    assert (action["MacroActionType"], action["UseText"], action["IncludeStdErr"]) == (
        "ExecuteShellScript",
        True,
        True,
    )
    assert (action["StopOnFailure"], action["NotifyOnFailure"]) == (True, True)
    text = action["Text"]
    assert 'export PATH="$KM/.venv/bin:' in text


def test_the_script_runs_a_command_line_km_actions_accepts(cli: Cli) -> None:
    words = script_command_line(macro()["Actions"][0]["Text"])
    assert words[0] == f"{ROOT}/.venv/bin/km-actions"
    args = build_parser().parse_args(words[1:])
    assert (args.command, args.input, args.dry_run, args.simulator) == (
        "run",
        ["variable=Hot Key Count"],
        False,
        False,
    )
    assert Path(args.action) == ROOT / "actions" / "increment-counter.yaml"
    first = cli(*words[1:])
    assert (first.code, json.loads(first.out)) == (0, {"value": 1, "previous": 0})
    assert first.err.startswith("Running increment-counter on the built-in simulator")
    assert json.loads(cli(*words[1:]).out) == {"value": 2, "previous": 1}
