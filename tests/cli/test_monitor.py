"""``km-actions stats``, ``history`` and ``trace``: what they print from the history of
installed actions' runs, their windows and filters, messages and exit statuses."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, action_text, plugin_text

CLIPBOARD_TOOLS = Path(__file__).resolve().parents[2] / "actions" / "clipboard-tools"
STATS_HEAD = (
    "action                                     runs failed  error    p50 ms    p95 ms    max ms"
)
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
EMPTY = "The clipboard is empty; copy some text first."


def _row(action: str, runs: int, failed: int, rate: str) -> re.Pattern[str]:
    head = f"{action:<40} {runs:>6} {failed:>6} {rate:>6}"
    return re.compile(rf"{re.escape(head)}( +\d+\.\d\d){{3}}")


def _run_clipboard_actions(cli: Cli) -> None:
    assert cli("install", str(CLIPBOARD_TOOLS), "--yes").code == 0
    preview = cli("run", "clipboard-tools/preview-clipboard", "--fresh")
    assert (preview.code, preview.json()) == (0, {"preview": "(empty)"})
    clean = cli("run", "clipboard-tools/clean-clipboard", "--fresh")
    assert clean.code == 1  # the simulator's clipboard is empty
    assert cli("run", "clipboard-tools/preview-clipboard", "--fresh", "-i", "title=T").code == 0


# -- stats ---------------------------------------------------------------------------------


def test_stats_with_no_runs(cli: Cli) -> None:
    outcome = cli("stats")
    assert (outcome.code, outcome.out, outcome.err) == (0, "no runs of installed actions yet\n", "")
    data = cli("stats", "--json").json()
    assert (data["actions"], data["recent"], data["window"]["since"]) == ([], [], None)
    assert cli("stats", "--since", "1h").out == "no runs of installed actions in this window\n"


def test_stats_with_installed_but_unused_actions(cli: Cli) -> None:
    assert cli("install", str(CLIPBOARD_TOOLS), "--yes").code == 0
    assert cli("stats").out == "no runs of installed actions yet\n"


def test_stats_table_and_details_after_runs(cli: Cli) -> None:
    _run_clipboard_actions(cli)
    outcome = cli("stats")
    assert (outcome.code, outcome.err) == (0, "")
    lines = outcome.out.splitlines()
    assert re.fullmatch(f"every run kept, until {TIMESTAMP}", lines[0]), lines[0]
    assert lines[1] == STATS_HEAD
    assert _row("clipboard-tools/clean-clipboard", 1, 1, "100.0%").fullmatch(lines[2]), lines[2]
    assert _row("clipboard-tools/preview-clipboard", 2, 0, "0.0%").fullmatch(lines[3]), lines[3]
    assert lines[4:8] == [
        "",
        "clipboard-tools/clean-clipboard",
        "  failures: failed 1",
        "  slowest steps (mean ms, max ms, share of the run time, calls):",
    ]
    step = re.compile(r"    (.+?) +\d+\.\d\d +\d+\.\d\d +\d+% +(\d+)")
    found = [step.fullmatch(line) for line in lines[8:10]]
    assert all(found), lines[8:10]
    assert sorted((m[1], m[2]) for m in found if m) == [
        ("fail step at $.steps[1]", "1"),
        ("read (km_engine_control)", "1"),
    ]
    assert lines[10:13] == [
        "",
        "clipboard-tools/preview-clipboard",
        "  slowest steps (mean ms, max ms, share of the run time, calls):",
    ]
    assert len(lines) == 16  # the three steps of preview-clipboard


def test_stats_as_json(cli: Cli) -> None:
    _run_clipboard_actions(cli)
    data = cli("stats", "--json").json()
    assert list(data) == ["window", "actions", "recent"]
    assert [(a["action"], a["runs"], a["failures"], a["error_rate"], a["last_status"])
            for a in data["actions"]] == [
        ("clipboard-tools/clean-clipboard", 1, 1, 1.0, "failed"),
        ("clipboard-tools/preview-clipboard", 2, 0, 0.0, "succeeded"),
    ]  # fmt: skip
    clean, preview = data["actions"]
    assert clean["failure_kinds"] == {"failed": 1}
    assert sorted(preview["duration_ms"]) == ["max", "mean", "p50", "p95"]
    assert preview["duration_ms"]["max"] >= preview["duration_ms"]["p95"] > 0
    assert preview["all_time"]["runs"] == 2
    assert [s["step"] for s in preview["slowest_steps"]] and all(
        s["action"] == "clipboard-tools/preview-clipboard" for s in preview["slowest_steps"]
    )
    assert re.fullmatch(TIMESTAMP, clean["last_run"])
    assert [(r["action"], r["status"], r["error_kind"]) for r in data["recent"]] == [
        ("preview-clipboard", "succeeded", None),
        ("clean-clipboard", "failed", "failed"),
        ("preview-clipboard", "succeeded", None),
    ]
    assert sorted(data["recent"][1]) == [
        "action", "duration_ms", "error_kind", "error_message", "id", "plugin", "started_at",
        "status",
    ]  # fmt: skip
    assert data["recent"][1]["error_message"] == EMPTY


def test_stats_of_one_action_or_plugin(cli: Cli) -> None:
    _run_clipboard_actions(cli)
    one = cli("stats", "clipboard-tools/clean-clipboard", "--json").json()
    assert [a["action"] for a in one["actions"]] == ["clipboard-tools/clean-clipboard"]
    assert [r["action"] for r in one["recent"]] == ["clean-clipboard"]
    assert len(cli("stats", "clipboard-tools", "--json").json()["actions"]) == 2
    assert cli("stats", "other-plugin").out == "no runs of installed actions yet\n"


@pytest.mark.parametrize(
    ("recent", "actions"),
    [
        pytest.param("1", ["preview-clipboard"], id="one"),
        pytest.param("0", [], id="none"),
        pytest.param("10", ["preview-clipboard", "clean-clipboard", "preview-clipboard"], id="all"),
    ],
)
def test_stats_recent_limits_the_runs_listed(cli: Cli, recent: str, actions: list[str]) -> None:
    _run_clipboard_actions(cli)
    data = cli("stats", "--json", "--recent", recent).json()
    assert [r["action"] for r in data["recent"]] == actions
    assert len(data["actions"]) == 2  # the statistics are never limited


def test_stats_in_a_window(cli: Cli) -> None:
    _run_clipboard_actions(cli)
    recent = cli("stats", "--since", "1h", "--json").json()
    assert [a["runs"] for a in recent["actions"]] == [1, 2]
    assert cli("stats", "--window", "2999-01-01").out == (
        "no runs of installed actions in this window\n"
    )
    outcome = cli("stats", "--since", "1h")
    assert re.fullmatch(f"runs since {TIMESTAMP}, until {TIMESTAMP}", outcome.out.splitlines()[0])


def test_a_window_that_cannot_be_read(cli: Cli) -> None:
    outcome = cli("stats", "--since", "last week")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.splitlines() == [
        "km-actions stats: cannot read 'last week' as a window",
        "     = hint: give how far back (30m, 1h, 7d, 2w) or since when (2026-05-04 or "
        "2026-05-04T09:30)",
    ]


def test_stats_numbers_must_be_numbers(cli: Cli) -> None:
    outcome = cli.usage_error("stats", "--recent", "many")
    assert outcome.code == 2
    assert outcome.err.endswith(
        "km-actions stats: error: argument --recent: invalid int value: 'many'\n"
    )


@pytest.mark.parametrize("command", ["stats", "history", "trace 1"])
def test_when_the_store_cannot_be_opened(cli: Cli, command: str) -> None:
    cli.home.write_text("a file where the data folder should be")
    outcome = cli(*command.split())
    assert (outcome.code, outcome.out) == (1, "")
    name = command.split()[0]
    assert outcome.err.splitlines()[0] == (
        f"km-actions {name}: cannot open the plugin store at {cli.home}: [Errno 17] File "
        f"exists: '{cli.home}'"
    )


# -- history and trace ---------------------------------------------------------------------


def test_history_lists_the_runs_newest_first(cli: Cli) -> None:
    assert cli("history").out == "no runs kept\n"
    _run_clipboard_actions(cli)
    lines = cli("history").out.splitlines()
    assert lines[0] == "    id  started                   status           ms  action"
    run = rf" +(\d+)  ({TIMESTAMP})  (\w+) +\d+\.\d\d  (.+)"
    found = [re.fullmatch(run, line) for line in lines[1:]]
    assert all(found), lines
    assert [(m[1], m[3], m[4]) for m in found if m] == [
        ("3", "succeeded", "clipboard-tools/preview-clipboard"),
        ("2", "failed", f"clipboard-tools/clean-clipboard: failed: {EMPTY}"),
        ("1", "succeeded", "clipboard-tools/preview-clipboard"),
    ]
    assert [r["id"] for r in cli("history", "--failed", "--json").json()] == [2]
    assert [r["id"] for r in cli("history", "--limit", "1", "--json").json()] == [3]
    assert [r["id"] for r in cli("history", "clipboard-tools/preview-clipboard", "--json").json()
            ] == [3, 1]  # fmt: skip
    assert cli("history", "--failed", "clipboard-tools/preview-clipboard").out == (
        "no runs kept that match\n"
    )


def test_trace_shows_a_past_run_step_by_step(cli: Cli) -> None:
    _run_clipboard_actions(cli)
    outcome = cli("trace", "2")
    assert (outcome.code, outcome.err) == (0, "")
    lines = outcome.out.splitlines()
    assert re.fullmatch(
        r"run 2: clipboard-tools/clean-clipboard, failed after \d+\.\d\d ms", lines[0]
    )
    assert re.fullmatch(f"  started {TIMESTAMP}; 2 steps, 1 tool call \\(simulator\\)", lines[1])
    assert lines[2] == (
        f"  error[failed] at clipboard-tools/actions/clean-clipboard.yaml:12:5: {EMPTY}"
    )
    assert lines[3] == "   start ms        ms  status     step"
    step = r"  +\d+\.\d\d +\d+\.\d\d  (.+)"
    assert [re.fullmatch(step, line)[1] for line in lines[4:6]] == [  # type: ignore[index]
        "succeeded  read: tool km_engine_control (line 9)",
        "failed     fail step at $.steps[1]: fail (line 12)",
    ]
    assert lines[6:] == [f"                                    failed: {EMPTY}"]
    data = cli("trace", "2", "--json").json()
    assert (data["id"], data["status"], data["steps_run"], data["tool_calls"]) == (
        2,
        "failed",
        2,
        1,
    )
    assert [(s["step"] if "step" in s else s["kind"], s["status"]) for s in data["trace"]] == [
        ("read", "succeeded"),
        ("fail", "failed"),
    ]


def test_trace_of_a_run_not_kept(cli: Cli) -> None:
    outcome = cli("trace", "99")
    assert (outcome.code, outcome.out) == (1, "")
    assert outcome.err.splitlines() == [
        "km-actions trace: the history keeps no run 99",
        "     = hint: see the ids of the runs kept with `km-actions history`; successful runs "
        "are kept for 7 days, failed ones for 90",
    ]
    assert cli.usage_error("trace", "latest").code == 2


LOOP = action_text(
    "loop",
    """
    inputs: {n: {type: integer, default: 3, description: Rounds}}
    steps:
      - id: each
        foreach: "{{ range(inputs.n) }}"
        steps:
          - set: {last: "{{ item }}"}
      - fail: "stopped after {{ vars.last }}"
    """,
)


def test_trace_of_a_long_run_of_a_nested_call_and_of_an_old_run(cli: Cli) -> None:
    cli.write("loops/plugin.yaml", plugin_text("loops"))
    cli.write("loops/actions/loop.yaml", LOOP)
    assert cli("install", "loops", "--yes").code == 0
    assert cli("run", "loops/loop", "-i", "n=120").code == 1
    lines = cli("trace", "1").out.splitlines()
    assert lines[0].startswith("run 1: loops/loop, failed after ")
    assert lines[1].endswith("; 122 steps, 0 tool calls (simulator)")
    left_out = lines.index("  … 22 steps left out …")
    assert left_out == 4 + 50  # after the first 50 steps of the trace
    assert lines[-2].endswith("failed     fail step at $.steps[1]: fail (line 12)")
    # A step of an action called with `action:` says whose it is.
    _run_clipboard_actions(cli)
    assert cli("run", "clipboard-tools/sign-clipboard", "--fresh").code == 1
    signed = cli("trace", "5").out.splitlines()
    assert any(
        line.endswith("read: tool km_engine_control (line 9 of clipboard-tools/clean-clipboard)")
        for line in signed
    ), signed
    # An input refused before any step: the error's hint, and no steps.
    assert cli("run", "clipboard-tools/preview-clipboard", "-i", "titel=x", "--fresh").code == 1
    refused = cli("trace", "6").out.splitlines()
    assert refused[2:] == [
        "  error[invalid-input] at clipboard-tools/actions/preview-clipboard.yaml:7:1: "
        "clipboard-tools/preview-clipboard has no input `titel`",
        "     = hint: did you mean 'title'?",
    ]
    # A run recorded by a km-actions older than traces.
    conn = sqlite3.connect(cli.home / "state.db")
    conn.execute(
        "INSERT INTO history (plugin, action, started_at, duration_ms, status, error_kind) "
        "VALUES ('old', 'x', '2026-05-04T10:00:00.000Z', 5.0, 'failed', 'timeout')"
    )
    conn.commit()
    conn.close()
    assert cli("trace", "7").out.splitlines()[1:] == [
        "  started 2026-05-04T10:00:00.000Z; steps not recorded",
        "  (no steps: this run was recorded by an older km-actions)",
    ]


def test_stats_say_when_the_window_starts_after_successes_no_longer_kept(cli: Cli) -> None:
    _run_clipboard_actions(cli)
    conn = sqlite3.connect(cli.home / "state.db")
    conn.execute("INSERT INTO history_trimmed VALUES (0, 1, '2026-05-04T10:00:00.000Z')")
    conn.commit()
    conn.close()
    first = cli("stats").out.splitlines()[0]
    assert re.fullmatch(
        rf"runs since 2026-05-04T10:00:00\.000Z, until {TIMESTAMP} \(successful runs up to "
        r"2026-05-04T10:00:00\.000Z are no longer kept, so the window starts after them\)",
        first,
    ), first
    data = cli("stats", "--json").json()
    assert [a["runs"] for a in data["actions"]] == [1, 1]  # after run 1


def test_stats_of_an_action_whose_runs_ran_no_step(cli: Cli) -> None:
    cli.write("loops/plugin.yaml", plugin_text("loops"))
    cli.write("loops/actions/loop.yaml", LOOP)
    assert cli("install", "loops", "--yes").code == 0
    assert cli("run", "loops/loop", "-i", "rounds=1").code == 1
    assert cli("stats").out.splitlines()[-2:] == ["loops/loop", "  failures: invalid-input 1"]
