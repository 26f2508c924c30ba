"""The history of runs: what is kept of each run, for how long, the statistics over a
window (checked against the rows themselves and hand computations), and secrets."""

from __future__ import annotations

import asyncio
import json
import math
import random
import sqlite3
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.diagnostics.errors import EngineError
from engine.lang.secrets import MASK
from engine.plugins import history as history_module
from engine.plugins._db import MIGRATIONS, connect, migrate, schema_version, stamp
from engine.plugins._run_record import TRACE_KEPT
from engine.plugins._run_stats import parse_since, percentile
from engine.plugins.history import RunHistory
from engine.plugins.installer import install
from engine.plugins.lifecycle import configure
from engine.plugins.serving import ServedPlugins
from engine.plugins.store import Store
from engine.run import FakeClock
from engine.run.model import RunResult, RunStatus
from engine.tools.bridge.mock import MockBridge
from engine.tools.catalog import ToolCatalog
from tests.plugins.store.conftest import MakePlugin

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def _at(**before: float) -> str:
    return stamp(NOW - timedelta(**before))


def _result(ms: float, kind: str | None = None) -> RunResult:
    from engine.diagnostics.errors import ErrorKind, StepError

    if kind is None:
        return RunResult(RunStatus.SUCCEEDED, {}, duration=ms / 1000)
    error = StepError(ErrorKind(kind), f"it went wrong ({kind})")
    return RunResult(RunStatus.FAILED, {}, error=error, duration=ms / 1000)


@pytest.fixture
def runs(store: Store) -> RunHistory:
    history = RunHistory(store, now=lambda: NOW)
    yield history  # type: ignore[misc]
    history.close()


# -- percentiles ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "p50", "p95"),
    [
        pytest.param([7.0], 7.0, 7.0, id="one"),
        pytest.param([2.0, 1.0], 1.0, 2.0, id="two"),
        pytest.param([4.0, 1.0, 3.0, 2.0], 2.0, 4.0, id="four"),
        # 1..20: rank ⌈0.5·20⌉ = 10 and ⌈0.95·20⌉ = 19.
        pytest.param([float(v) for v in range(20, 0, -1)], 10.0, 19.0, id="twenty"),
        # 1..21: rank ⌈10.5⌉ = 11 and ⌈19.95⌉ = 20.
        pytest.param([float(v) for v in range(1, 22)], 11.0, 20.0, id="twenty-one"),
        pytest.param([float(v) for v in range(1, 101)], 50.0, 95.0, id="hundred"),
        pytest.param([5.0, 5.0, 5.0, 100.0], 5.0, 100.0, id="one-slow-run"),
    ],
)
def test_percentiles_are_by_nearest_rank(values: list[float], p50: float, p95: float) -> None:
    assert (percentile(values, 50), percentile(values, 95)) == (p50, p95)


def test_stats_give_the_hand_computed_percentiles(runs: RunHistory) -> None:
    durations = [12.5, 3.0, 7.25, 100.0, 4.0, 9.0, 3.5, 8.0, 6.0, 5.0]
    for index, ms in enumerate(durations):
        runs.record(
            "demo", "a", _at(minutes=30 - index), _result(ms, "timeout" if ms > 50 else None)
        )
    (a,) = runs.stats()["actions"]
    # Sorted: 3.0 3.5 4.0 5.0 6.0 7.25 8.0 9.0 12.5 100.0; p50 is the 5th, p95 the 10th.
    assert a["duration_ms"] == {"p50": 6.0, "p95": 100.0, "max": 100.0, "mean": 15.825}
    assert (a["runs"], a["failures"], a["error_rate"]) == (10, 1, 0.1)
    assert a["failure_kinds"] == {"timeout": 1}


# -- statistics agree with the recorded runs ------------------------------------------------

MIX = {
    # A loop: one wait per item, so the loop's steps take 10 ms each (on a fake clock).
    "loop": {
        "inputs": {"n": {"type": "integer", "default": 2}},
        "steps": [
            {
                "id": "each",
                "foreach": "{{ range(inputs.n) }}",
                "steps": [{"id": "nap", "wait": 0.01}],
            },
            {"id": "done", "set": {"n": "{{ inputs.n }}"}},
        ],
        "outputs": {"n": "{{ vars.n }}"},
    },
    # A retry: the tool fails, is tried again after 50 ms, and may fail again.
    "retry": {
        "permissions": ["km_variable_manager"],
        "steps": [
            {
                "id": "read",
                "tool": "km_variable_manager",
                "with": {"operation": "get", "name": "X"},
                "retry": {"max_attempts": 2, "interval": 0.05},
            }
        ],
    },
    # A choice: a slow branch (a 30 ms wait) or a failure.
    "choose": {
        "inputs": {"slow": {"type": "boolean"}},
        "steps": [
            {
                "id": "pick",
                "choose": [{"when": "inputs.slow", "steps": [{"id": "pause", "wait": 0.03}]}],
                "otherwise": [{"fail": "no choice"}],
            }
        ],
    },
}
OK = {"success": True, "data": {"value": "1"}}
DOWN = {"success": False, "error": {"code": "KM_CONNECTION_FAILED", "message": "down"}}


def _rows(store: Store) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(store.root / "state.db")
    try:
        return conn.execute(
            "SELECT plugin, action, duration_ms, status, error_kind, detail FROM history "
            "ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def test_stats_after_hundreds_of_runs_agree_with_the_recorded_runs(
    store: Store, make_plugin: MakePlugin
) -> None:
    install(store, make_plugin("mix", permissions=["km_variable_manager"], actions=MIX))
    runtime = ServedPlugins.load(store)
    chance = random.Random(11)
    for _ in range(300):
        name = chance.choice(["loop", "retry", "choose"])
        clock = FakeClock()
        if name == "loop":
            asyncio.run(
                runtime.run(
                    "mix/loop",
                    {"n": chance.randint(1, 4)},
                    bridge=MockBridge({}, ToolCatalog.builtin()),
                    clock=clock,
                )
            )
            continue
        if name == "retry":
            answers = [chance.choice([OK, DOWN]), chance.choice([OK, DOWN])]
            bridge = MockBridge({"km_variable_manager": answers}, ToolCatalog.builtin())
            asyncio.run(runtime.run("mix/retry", bridge=bridge, clock=clock))
            continue
        slow = chance.random() < 0.7
        asyncio.run(
            runtime.run(
                "mix/choose",
                {"slow": slow},
                bridge=MockBridge({}, ToolCatalog.builtin()),
                clock=clock,
            )
        )
    stats = {a["action"]: a for a in runtime.stats(slowest=10)["actions"]}
    runtime.close()

    rows = _rows(store)
    assert len(rows) == 300 == sum(a["runs"] for a in stats.values())
    by_action: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        by_action[f"{row[0]}/{row[1]}"].append(row)
    assert sorted(stats) == sorted(by_action) == ["mix/choose", "mix/loop", "mix/retry"]
    for name, recorded in by_action.items():
        got = stats[name]
        durations = sorted(r[2] for r in recorded)
        n = len(durations)
        failed = [r for r in recorded if r[3] != "succeeded"]
        assert got["runs"] == n
        assert got["failures"] == len(failed)
        assert got["error_rate"] == round(len(failed) / n, 4)
        assert got["failure_kinds"] == dict(Counter(r[4] for r in failed))
        assert got["duration_ms"]["p50"] == durations[math.ceil(0.50 * n) - 1]
        assert got["duration_ms"]["p95"] == durations[math.ceil(0.95 * n) - 1]
        assert got["duration_ms"]["max"] == durations[-1]
        # The time of each step, summed from the traces kept with the runs.
        spent: Counter[str] = Counter()
        calls: Counter[str] = Counter()
        for row in recorded:
            trace = json.loads(row[5])["trace"]
            for step in trace:
                if step["status"] != "skipped":
                    spent[step["path"]] += step["duration_ms"]
                    calls[step["path"]] += 1
        listed = {s["path"]: s for s in got["slowest_steps"]}
        assert set(listed) == set(spent)
        for path, step in listed.items():
            assert step["calls"] == calls[path]
            assert step["total_ms"] == pytest.approx(spent[path], abs=0.01)
        slowest = got["slowest_steps"][0]
        assert slowest["total_ms"] == pytest.approx(max(spent.values()), abs=0.01)
    # What the fake clock makes certain: where the time goes in each action.
    assert stats["mix/loop"]["slowest_steps"][0]["step"] == "each"
    assert stats["mix/loop"]["slowest_steps"][1]["step"] == "nap"
    assert stats["mix/loop"]["slowest_steps"][1]["mean_ms"] == 10.0
    assert stats["mix/retry"]["slowest_steps"][0]["step"] == "read"
    assert stats["mix/retry"]["failure_kinds"] == {"tool-failed": stats["mix/retry"]["failures"]}
    assert stats["mix/choose"]["failure_kinds"] == {"failed": stats["mix/choose"]["failures"]}
    assert [s["step"] for s in stats["mix/choose"]["slowest_steps"][:2]] == ["pick", "pause"]


def test_a_window_counts_only_the_runs_in_it(runs: RunHistory) -> None:
    runs.record("demo", "a", _at(hours=3), _result(1.0))
    runs.record("demo", "a", _at(hours=2), _result(2.0, "timeout"))
    runs.record("demo", "a", _at(minutes=30), _result(3.0))
    runs.record("demo", "b", _at(minutes=10), _result(4.0))
    last_hour = runs.stats(since="1h")
    assert last_hour["window"] == {
        "since": "2026-05-04T11:00:00.000Z",
        "until": "2026-05-04T12:00:00.000Z",
        "shortened": False,
    }
    assert [(a["action"], a["runs"], a["failures"]) for a in last_hour["actions"]] == [
        ("demo/a", 1, 0),
        ("demo/b", 1, 0),
    ]
    assert [(a["action"], a["runs"]) for a in runs.stats(since="2026-05-04T09:30")["actions"]] == [
        ("demo/a", 2),
        ("demo/b", 1),
    ]
    assert [a["runs"] for a in runs.stats(plugin="demo", action="a")["actions"]] == [3]
    assert runs.stats(plugin="other")["actions"] == []
    assert [r["started_at"] for r in runs.history(since="90m")] == [
        _at(minutes=10),
        _at(minutes=30),
    ]
    assert [r["error_kind"] for r in runs.history(failed=True)] == ["timeout"]
    assert [r["action"] for r in runs.history(2, action="a")] == ["a", "a"]


@pytest.mark.parametrize(
    ("text", "start"),
    [
        pytest.param("45s", "2026-05-04T11:59:15.000Z", id="seconds"),
        pytest.param("90m", "2026-05-04T10:30:00.000Z", id="minutes"),
        pytest.param("2d", "2026-05-02T12:00:00.000Z", id="days"),
        pytest.param("1w", "2026-04-27T12:00:00.000Z", id="weeks"),
        pytest.param("2026-05-01", "2026-05-01T00:00:00.000Z", id="date"),
        pytest.param("2026-05-01T08:15:00+02:00", "2026-05-01T06:15:00.000Z", id="with-offset"),
    ],
)
def test_windows_are_read_as_durations_or_times(text: str, start: str) -> None:
    assert parse_since(text, NOW) == start


@pytest.mark.parametrize("text", ["yesterday", "1y", "-1h", "1.5h", ""])
def test_a_window_that_cannot_be_read_says_how_to_write_it(text: str) -> None:
    with pytest.raises(EngineError) as caught:
        parse_since(text, NOW)
    assert (caught.value.code, caught.value.message, caught.value.hint) == (
        "invalid-parameter",
        f"cannot read {text!r} as a window",
        "give how far back (30m, 1h, 7d, 2w) or since when (2026-05-04 or 2026-05-04T09:30)",
    )


# -- retention -----------------------------------------------------------------------------


def test_failures_are_kept_longer_than_successes(
    runs: RunHistory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_module, "_TRIM_EVERY", 1)
    for days in (100, 60, 20, 8, 6, 1):
        runs.record("demo", "a", _at(days=days, minutes=1), _result(1.0))
        runs.record("demo", "a", _at(days=days), _result(2.0, "timeout"))
    kept = [(r["status"], r["started_at"][:10]) for r in runs.history()]
    # Successes: the last 7 days; failures: the last 90.
    assert kept == [
        ("failed", "2026-05-03"),
        ("succeeded", "2026-05-03"),
        ("failed", "2026-04-28"),
        ("succeeded", "2026-04-28"),
        ("failed", "2026-04-26"),
        ("failed", "2026-04-14"),
        ("failed", "2026-03-05"),
    ]
    stats = runs.stats()
    # The failures older than the successes kept are not counted: 3 of the 5 runs since
    # the last success trimmed failed (not 5 of the 7 runs kept).
    assert stats["window"] == {
        "since": _at(days=8, minutes=1),
        "until": stamp(NOW),
        "shortened": True,
        "note": f"successful runs up to {_at(days=8, minutes=1)} are no longer kept, so "
        "the window starts after them",
    }
    (a,) = stats["actions"]
    assert (a["runs"], a["failures"]) == (5, 3)
    assert (a["all_time"]["runs"], a["all_time"]["failures"]) == (12, 6)
    # A window inside what is kept is not shortened.
    assert runs.stats(since="2d")["window"]["shortened"] is False


def test_the_history_keeps_at_most_so_many_runs_of_each_outcome(
    runs: RunHistory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_module, "_TRIM_EVERY", 1)
    monkeypatch.setattr(history_module, "SUCCESSES_KEPT", 2)
    monkeypatch.setattr(history_module, "FAILURES_KEPT", 3)
    for minutes in range(20, 0, -1):
        runs.record(
            "demo", "a", _at(minutes=minutes), _result(1.0, "timeout" if minutes % 2 else None)
        )
    assert [(r["status"], r["started_at"]) for r in runs.history()] == [
        ("failed", _at(minutes=1)),
        ("succeeded", _at(minutes=2)),
        ("failed", _at(minutes=3)),
        ("succeeded", _at(minutes=4)),
        ("failed", _at(minutes=5)),
    ]
    conn = runs._history_conn()
    assert conn.execute("SELECT COUNT(*) FROM history_steps").fetchone() == (0,)
    (a,) = runs.stats()["actions"]
    assert (a["runs"], a["failures"]) == (5, 3)  # after the 6th minute, the last success gone


# -- what is kept of one run -----------------------------------------------------------------

LONG = {
    "inputs": {"n": {"type": "integer"}},
    "steps": [
        {
            "id": "each",
            "foreach": "{{ range(inputs.n) }}",
            "steps": [{"id": "add", "set": {"x": "{{ item }}"}}],
        },
        {"fail": "stop after {{ inputs.n }}"},
    ],
}


def test_a_run_is_kept_with_a_bounded_trace_and_its_exact_step_times(
    store: Store, make_plugin: MakePlugin
) -> None:
    install(store, make_plugin("long", actions={"loop": LONG}))
    runtime = ServedPlugins.load(store)
    result = asyncio.run(
        runtime.run("long/loop", {"n": 150}, bridge=MockBridge({}, ToolCatalog.builtin()))
    )
    assert result.error is not None
    (listed,) = runtime.history()
    run = runtime.runs.run(listed["id"])
    runtime.close()
    assert run is not None
    assert (run["status"], run["steps_run"], run["tool_calls"], run["backend"]) == (
        "failed",
        152,
        0,
        "mocks (test)",
    )
    assert run["error"] == {
        "kind": "failed",
        "message": "stop after 150",
        "location": "long/actions/loop.yaml:14:3",
    }
    trace = run["trace"]
    assert len(trace) == TRACE_KEPT and run["omitted"] == 152 - TRACE_KEPT
    assert trace[0]["step"] == "each" and trace[1]["step"] == "add"
    assert trace[-1] | {"start_ms": 0, "duration_ms": 0} == {
        "action": "long/loop",
        "kind": "fail",
        "path": "$.steps[1]",
        "line": 14,
        "status": "failed",
        "attempts": 1,
        "start_ms": 0,
        "duration_ms": 0,
        "error": {"kind": "failed", "message": "stop after 150"},
    }
    assert not any("x" in entry or "arguments" in entry or "result" in entry for entry in trace)
    conn = connect(store.root / "state.db")
    steps = conn.execute(
        "SELECT label, kind, calls, failures FROM history_steps ORDER BY path"
    ).fetchall()
    conn.close()
    assert sorted(steps) == [
        ("add", "set", 150, 0),
        ("each", "foreach", 1, 0),
        ("fail step at $.steps[1]", "fail", 1, 1),
    ]


def test_an_unknown_run_is_none(runs: RunHistory) -> None:
    assert runs.run(12345) is None


def test_a_store_of_schema_2_keeps_its_history(home: Path) -> None:
    home.mkdir()
    conn = connect(home / "state.db")
    migrate(conn, MIGRATIONS[:2])
    conn.execute(
        "INSERT INTO history (plugin, action, started_at, duration_ms, status, error_kind) "
        "VALUES ('old', 'x', '2026-05-04T10:00:00.000Z', 5.0, 'failed', 'timeout'), "
        "('old', 'x', '2026-05-04T10:01:00.000Z', 3.0, 'succeeded', NULL)"
    )
    conn.close()
    with Store.open(home) as store:
        assert schema_version(store.conn) == len(MIGRATIONS)
        history = RunHistory(store, now=lambda: NOW)
        (x,) = history.stats()["actions"]
        assert (x["runs"], x["failures"], x["duration_ms"]["max"]) == (2, 1, 5.0)
        old = history.run(1)
        assert old is not None
        assert (old["status"], old["trace"], old["error"], old["steps_run"]) == (
            "failed",
            None,
            None,
            None,
        )
        history.close()


# -- secrets ---------------------------------------------------------------------------------

SECRET = "zq-SECRET-7731"
PIN = "pin-4471-ZQ"
LEAKY = {
    "inputs": {"pin": {"type": "string", "secret": True}, "n": {"type": "integer", "default": 1}},
    "steps": [
        {"id": "copy", "set": {"both": "{{ config.token }}/{{ inputs.pin }}"}},
        {
            "id": "send",
            "tool": "km_variable_manager",
            "with": {"operation": "set", "name": "T", "value": "{{ vars.both }}"},
            "continue_on_error": True,
        },
        {
            "id": "stop",
            "if": "inputs.n > 1",
            "fail": "refused {{ config.token }} and {{ inputs.pin }}",
        },
    ],
    "outputs": {"both": "{{ vars.both }}"},
}


def _database_bytes(store: Store) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(store.root.glob("state.db*")))


def test_a_secret_input_or_setting_never_reaches_the_database(
    store: Store, make_plugin: MakePlugin
) -> None:
    schema = {"type": "object", "properties": {"token": {"type": "string", "secret": True}}}
    install(
        store,
        make_plugin("leaky", permissions=["km_variable_manager"], configuration_schema=schema,
                    actions={"leak": LEAKY}),
    )  # fmt: skip
    configure(store, "leaky", {"token": SECRET})
    runtime = ServedPlugins.load(store)
    echo = {"success": False, "error": {"code": "KM_ERROR", "message": f"bad value {SECRET}/{PIN}"}}
    for inputs, answers in (
        ({"pin": PIN}, [{"success": True, "data": {"echo": PIN}}]),  # succeeds, output masked
        ({"pin": PIN, "n": 2}, [echo]),  # the tool echoes them in its error, then `fail:`
        ({"pin": PIN, "n": "two"}, []),  # the input check fails
        ({"pin": 987654321}, []),  # a secret input that does not fit its type
    ):
        bridge = MockBridge({"km_variable_manager": answers}, ToolCatalog.builtin())
        asyncio.run(runtime.run("leaky/leak", inputs, bridge=bridge, trace=True))
    history = runtime.history()
    assert [r["status"] for r in history] == ["failed", "failed", "failed", "succeeded"]
    assert history[2]["error_message"] == f"refused {MASK} and {MASK}"
    runtime.close()
    stored = _database_bytes(store)
    assert b"refused" in stored and b"leaky" in stored  # the history is there...
    for secret in (SECRET, PIN, "987654321"):  # ...but no secret, in any form
        for form in (secret, json.dumps(secret)[1:-1], repr(secret)[1:-1]):
            assert form.encode() not in stored, form


def test_the_documented_retention_is_the_real_one() -> None:
    from engine.plugins._run_record import STEPS_KEPT

    doc = Path(__file__).resolve().parents[3] / "docs" / "plugins.md"
    text = " ".join(doc.read_text("utf-8").split())
    kept = history_module
    assert (
        f"Successful runs are kept for {kept.SUCCESS_DAYS} days (at most the "
        f"{kept.SUCCESSES_KEPT:,} most recent), failed and cancelled runs for "
        f"{kept.FAILURE_DAYS} days (at most the {kept.FAILURES_KEPT:,} most recent)"
    ) in text
    assert (
        f"a trace of at most {TRACE_KEPT} steps (the first and last {TRACE_KEPT // 2} of a "
        f"longer run, with how many were left out between) and the exact time of every "
        f"distinct step it ran (at most {STEPS_KEPT}, the slowest)"
    ) in text


def test_runs_recorded_one_per_process_are_trimmed_too(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command line records one run per process: the history is trimmed all the same.
    monkeypatch.setattr(history_module, "_TRIM_EVERY", 5)
    monkeypatch.setattr(history_module, "SUCCESSES_KEPT", 2)
    for minutes in range(10, 0, -1):
        once = RunHistory(store, now=lambda: NOW)
        once.record("demo", "a", _at(minutes=minutes), _result(1.0))
        once.close()
    kept = RunHistory(store, now=lambda: NOW)
    assert [r["started_at"] for r in kept.history()] == [_at(minutes=1), _at(minutes=2)]
    kept.close()
