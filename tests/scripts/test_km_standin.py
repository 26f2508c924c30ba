"""The ``osascript`` stand-in (scripts/km_server): AppleScript forms, output and errors."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.simulator.km import library
from engine.simulator.km.state import KMState
from tests.simulator.km.conftest import G_IDLE, M_HELLO, SEED

ROOT = Path(__file__).resolve().parent.parent.parent
STANDIN_DIR = ROOT / "scripts" / "km_server"
sys.path.insert(0, str(STANDIN_DIR))

from applescript import run_osascript  # noqa: E402

KM = 'tell application "Keyboard Maestro"\n{}\nend tell'
KME = 'tell application "Keyboard Maestro Engine"\n{}\nend tell'
SE = 'tell application "System Events"\n{}\nend tell'


@pytest.fixture
def state() -> KMState:
    return KMState.from_json(copy.deepcopy(SEED))


def run(state: KMState, script: str) -> tuple[str, str, int]:
    outcome = run_osascript(script, state)
    return outcome.stdout, outcome.stderr, outcome.status


@pytest.mark.parametrize(
    ("script", "printed"),
    [
        pytest.param('return "text"', "text\n", id="text"),
        pytest.param("return {1, {2, 3}, true}", "1, 2, 3, true\n", id="lists-flatten"),
        pytest.param('return {a:1, b:"x"}', "a:1, b:x\n", id="record"),
        pytest.param("return 2 * 1.5", "3.0\n", id="real"),
        pytest.param("return 1.0E+20 * 1", "1.0E+20\n", id="big-real"),
        pytest.param("return missing value", "missing value\n", id="missing"),
        pytest.param('return "a" & 1 & true', "a1true\n", id="text-concatenation"),
        pytest.param("return 1 & 2", "1, 2\n", id="number-concatenation-is-a-list"),
        pytest.param('display notification "hi"', "", id="no-result"),
        pytest.param("set x to 5", "5\n", id="last-statement"),
    ],
)
def test_results_print_as_osascript_prints_them(state: KMState, script: str, printed: str) -> None:
    assert run(state, script) == (printed, "", 0)


@pytest.mark.parametrize(
    ("script", "error"),
    [
        pytest.param(
            "kill proc", "5:9: syntax error: A identifier can’t go after this identifier. (-2740)"
        ),
        pytest.param(
            KME.format('return process tokens "x" for calculation'),
            "69:72: syntax error: Expected end of line but found “for”. (-2741)",
            id="process-tokens-has-no-context",
        ),
        pytest.param(
            'return "open', '7:12: syntax error: Expected “"” but found end of script. (-2741)'
        ),
        pytest.param(
            'tell application "Nowhere" to activate',
            '5:26: syntax error: Can’t get application "Nowhere". (-1728)',
            id="unknown-application",
        ),
        pytest.param('error "boom" number 7', "0:21: execution error: boom (7)"),
        pytest.param(
            "return nothing_here",
            "0:19: execution error: The variable nothing_here is not defined. (-2753)",
        ),
    ],
)
def test_errors_print_as_osascript_prints_them(state: KMState, script: str, error: str) -> None:
    assert run(state, script) == ("", error + "\n", 1)


def test_errors_in_try_reach_on_error_with_the_application_prefix(state: KMState) -> None:
    script = KM.format(
        'try\nset m to macro id "nope"\non error errMsg\nreturn "ERROR: " & errMsg\nend try'
    )
    assert run(state, script)[0] == (
        'ERROR: Keyboard Maestro got an error: Can’t get macro id "nope".\n'
    )


def test_macros_and_groups(state: KMState) -> None:
    listing = KM.format(
        "set out to {}\nrepeat with g in (every macro group)\n"
        "repeat with m in (macros of g)\n"
        "set out to out & {{n:name of m, on:enabled of m, t:(count of triggers of m)}}\n"
        "end repeat\nend repeat\nreturn out"
    )
    assert run(state, listing)[0] == (
        "n:Hello, on:true, t:1, n:Off, on:false, t:0, n:Caller, on:true, t:0, "
        "n:Sleeper, on:true, t:0\n"
    )
    found = KM.format('return "G:" & (id of (macro group of (first macro whose name is "hello")))')
    assert run(state, found)[0] == "G:9A1F0000-0000-4000-8000-000000000001\n"
    missing = KM.format('return name of first macro whose name is "Quick ⌥"')
    assert run(state, missing)[1].endswith(
        'Keyboard Maestro got an error: Can’t get macro 1 whose name = "Quick ⌥". '
        "Invalid index. (-1719)\n"
    )


def test_changing_macros(state: KMState) -> None:
    script = KM.format(
        f'set copies to duplicate macro id "{M_HELLO}"\n'
        f'move item 1 of copies to macro group id "{G_IDLE}"\n'
        'set name of (first macro whose name is "off") to "On"\n'
        'set enabled of macro "On" to true\n'
        'make new macro group with properties {name:"Fresh"}\n'
        'delete every trigger of macro id "' + M_HELLO + '"\n'
        'return (exists macro "On") & (exists macro "Off")'
    )
    assert run(state, script)[0] == "true, false\n"
    group, copy = library.macro_by_uid(state, "4B4D0000-0000-4000-8000-000000000001")  # type: ignore[misc]
    assert group["uid"] == G_IDLE and copy["name"] == "Hello"
    assert library.macro_by_uid(state, M_HELLO)[1]["triggers"] == []  # type: ignore[index]
    assert state.groups[-1]["name"] == "Fresh"


def test_triggers_and_actions(state: KMState) -> None:
    add = (
        KM.format(
            f'tell macro id "{M_HELLO}"\n'
            'try\nmake new trigger with properties {{xml:"<dict><key>MacroTriggerType</key>'
            '<string>Login</string></dict>"}}\non error e\nreturn e\nend try\nend tell'
        )
        .replace("{{", "{")
        .replace("}}", "}")
    )
    assert run(state, add)[0] == "Keyboard Maestro got an error: AppleEvent handler failed.\n"
    read = KM.format(
        f'set m to macro id "{M_HELLO}"\n'
        'return (description of trigger 1 of m) & "|" & (name of action 2 of m)'
    )
    assert run(state, read)[0] == "The Hot Key ⌥⌘H is pressed|Insert Text “hi” by Typing\n"
    out_of_range = KM.format(f'delete action 9 of macro id "{M_HELLO}"')
    assert run(state, out_of_range)[1].endswith(
        f'Can’t get action 9 of macro id "{M_HELLO}". Invalid index. (-1719)\n'
    )


def test_engine_commands(state: KMState) -> None:
    script = KME.format(
        'setvariable "Said" to "x"\n'
        'set a to getvariable "Said"\n'
        'do script "Hello" with parameter "p"\n'
        'return a & "/" & (getvariable "Said") & "/" & (process tokens "%Variable%Counter%")'
    )
    assert run(state, script)[0] == "x/Hello, p/41\n"
    refused = KME.format('do script "Off"')
    assert "do script found no macros with a matching name" in run(state, refused)[1]
    wrong_app = 'tell application "System Events" to getvariable "x"'
    assert run(state, wrong_app)[1].endswith(
        "System Events got an error: System Events doesn’t understand the “getvariable” "
        "message. (-1708)\n"
    )


def test_system_events(state: KMState) -> None:
    script = SE.format(
        'set w to window 1 of process "Finder"\n'
        "set position of w to {5, 6}\n"
        'set value of attribute "AXMinimized" of w to true\n'
        'return {get position of w, value of attribute "AXMinimized" of w, '
        "name of every application process whose background only is false, "
        '(exists process "Notes")}'
    )
    assert run(state, script)[0] == "5, 6, true, Finder, false\n"
    assert run(state, SE.format("get bounds of every desktop"))[1].endswith(
        "System Events got an error: Can’t get bounds of every desktop. (-1728)\n"
    )


def test_applications_launch_when_told(state: KMState) -> None:
    assert run(state, 'tell application "Notes" to activate') == ("", "", 0)
    assert [p["name"] for p in state.system["processes"]][-1] == "Notes"
    assert state.system["processes"][-1]["frontmost"] is True
    run(state, 'tell application "Notes" to quit')
    assert all(p["name"] != "Notes" for p in state.system["processes"])


def test_alerts_answer_with_the_default_button(state: KMState) -> None:
    script = (
        'display alert "T" message "M" buttons {"Yes", "No"} default button 1 giving up after 2'
    )
    assert run(state, script)[0] == "button returned:Yes, gave up:false\n"


def test_forms_the_stand_in_does_not_model_fail_clearly(state: KMState) -> None:
    outcome = run_osascript(
        SE.format('tell process "Finder" to click menu item "X" of menu bar 1'), state
    )
    assert outcome.status == 2
    assert outcome.unmodelled == "the “click” command (UI scripting)"
    assert outcome.stderr.startswith("km-actions osascript stand-in: unsupported AppleScript form")


def _environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(STANDIN_DIR / "route"), **extra}


def test_the_executable_reads_and_writes_its_state_file(tmp_path: Path) -> None:
    state_file, log_file = tmp_path / "state.json", tmp_path / "log.jsonl"
    state_file.write_text(json.dumps(SEED))
    done = subprocess.run(
        [
            sys.executable,
            str(STANDIN_DIR / "osascript"),
            "-e",
            KME.format('setvariable "A" to "1"'),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "KM_STANDIN_STATE": str(state_file), "KM_STANDIN_LOG": str(log_file)},
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert json.loads(state_file.read_text())["variables"]["A"] == "1"
    assert json.loads(log_file.read_text())["status"] == 0
    unset = subprocess.run(
        [sys.executable, str(STANDIN_DIR / "osascript"), "-e", "return 1"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "KM_STANDIN_STATE"},
        check=False,
    )
    assert unset.returncode == 2
    assert unset.stderr == "km-actions osascript stand-in: KM_STANDIN_STATE is not set\n"


def test_routing_makes_osascript_absent_or_the_stand_in() -> None:
    probe = (
        "import subprocess\n"
        "for program in ('osascript', '/usr/bin/osascript'):\n"
        "    try:\n"
        "        done = subprocess.run([program, '-e', 'x'], capture_output=True, text=True)\n"
        "        print(done.stdout)\n"
        "    except OSError as e:\n"
        "        print(e)\n"
    )
    absent = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=_environment(KM_STANDIN_MODE="absent"),
        check=True,
    )
    assert absent.stdout == (
        "[Errno 2] No such file or directory: 'osascript'\n"
        "[Errno 2] No such file or directory: '/usr/bin/osascript'\n"
    )
    routed = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=_environment(KM_STANDIN_MODE="standin", KM_STANDIN_COMMAND='["echo", "routed"]'),
        check=True,
    )
    assert routed.stdout == "routed -e x\n\nrouted -e x\n\n"
