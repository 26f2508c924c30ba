"""The shipped actions, run through a bridge: the table of runs, and each run's outcome.

``scripts/km_server/record_actions.py`` runs every entry of :data:`RUNS` through the real
Keyboard Maestro MCP server (km-actions' own upstream bridge, ``osascript`` routed to the
stand-in, or absent for a run with ``standin=False``) and records each outcome in
``tests/data/km_server/actions/``; ``tests/simulator/test_shipped_actions.py`` runs the same
entries on the simulator, from the same seed, and compares the outcomes with
:func:`compare_outcomes` (the differential comparer's rules for volatile values).

An outcome is what a user sees of a run, and what it did: ``status``, ``outputs``,
``error`` (``kind``, ``code``, ``message``; null when it succeeded) and ``calls`` (each
tool call in order: ``tool``, ``arguments``, and the ``answer``, or the ``error`` of a call
that raised).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.diagnostics.errors import StepError
from engine.engine import Engine
from engine.plugins.local import LocalPlugin, enclosing_plugin
from engine.plugins.settings import plugin_settings
from engine.run.model import RunResult
from engine.tools.bridge import ToolBridge
from engine.tools.catalog import ToolCatalog
from tests.simulator.km_server_answers import DATA, ROOT, compare

RECORDINGS = DATA / "actions"
SEED = "default"  # every run starts from tests/data/km_server/seeds/default.json


@dataclass(frozen=True)
class Run:
    """One run of a shipped action: its file, inputs and (for a plugin's) settings.
    ``standin=False``: recorded with no ``osascript`` at all (a plain Linux machine)."""

    name: str
    file: str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    standin: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.name,
            "action": self.file,
            "inputs": dict(self.inputs),
            "config": dict(self.config),
            "seed": SEED,
            "standin": self.standin,
        }


_CLIP = "actions/clipboard-tools/actions"
_TOKEN = {"share_token": "tok-12345678"}

# Seed facts the runs rely on: the clipboard holds "clipboard text"; Greeting is "Hello",
# Counter "41"; the macro "Hello World" runs by name; there is no variable Headline.
RUNS: tuple[Run, ...] = (
    Run(
        "title-case-variable", "actions/title-case-variable.yaml", {"text": "hello from km-actions"}
    ),
    Run(
        "title-case-variable-greeting",
        "actions/title-case-variable.yaml",
        {"variable": "Greeting", "notify": False},
    ),
    Run("title-case-variable-empty", "actions/title-case-variable.yaml", {"notify": False}),
    Run(
        "title-case-variable-no-osascript",
        "actions/title-case-variable.yaml",
        {"text": "hello"},
        standin=False,
    ),
    Run("increment-counter", "actions/increment-counter.yaml", {"variable": "Counter", "by": 1}),
    Run("increment-counter-new", "actions/increment-counter.yaml", {"variable": "Launch Count"}),
    Run("notify-each", "actions/notify-each.yaml", {"lines": ["buy milk", "  ", "call Ann"]}),
    Run(
        "run-macro-safely", "actions/run-macro-safely.yaml", {"macro": "Hello World", "value": "42"}
    ),
    Run("run-macro-safely-missing", "actions/run-macro-safely.yaml", {"macro": "No Such Macro"}),
    Run("save-note", "actions/save-note.yaml", {"text": "milk, eggs"}),
    Run("clipboard-report", "actions/clipboard-report.yaml"),
    Run("clipboard-report-no-osascript", "actions/clipboard-report.yaml", standin=False),
    Run(
        "wait-for-dismissal",
        "actions/wait-for-dismissal.yaml",
        {"message": "Coffee is ready", "every": 0.1, "checks": 2},
    ),
    Run("clean-clipboard", f"{_CLIP}/clean-clipboard.yaml", config=_TOKEN),
    Run("sign-clipboard", f"{_CLIP}/sign-clipboard.yaml", config={**_TOKEN, "signature": "-- Ann"}),
    Run(
        "preview-clipboard",
        f"{_CLIP}/preview-clipboard.yaml",
        {"title": "Now"},
        {**_TOKEN, "preview_length": 10},
    ),
    Run(
        "share-clipboard",
        f"{_CLIP}/share-clipboard.yaml",
        config={**_TOKEN, "share_macro": "Hello World"},
    ),
)


class RecordingBridge:
    """``inner`` with every call noted: tool, arguments, and the answer or the error."""

    def __init__(self, inner: ToolBridge) -> None:
        self.inner = inner
        self.calls: list[dict[str, Any]] = []

    @property
    def label(self) -> str:
        return self.inner.label

    @property
    def simulated(self) -> bool:
        return self.inner.simulated

    def catalog(self) -> ToolCatalog:
        return self.inner.catalog()

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        call: dict[str, Any] = {"tool": name, "arguments": json.loads(json.dumps(arguments))}
        self.calls.append(call)
        try:
            answer = await self.inner.call_tool(name, arguments)
        except StepError as problem:
            call["error"] = {"kind": problem.kind.value, "message": problem.message}
            raise
        call["answer"] = answer
        return answer


async def run_action(run: Run, bridge: ToolBridge) -> dict[str, Any]:
    """Run ``run`` on ``bridge`` as ``km-actions run FILE`` does (an action in a plugin
    folder in its plugin's context, with ``run.config`` over its settings' defaults);
    the outcome."""
    recorder = RecordingBridge(bridge)
    engine = Engine(catalog=bridge.catalog())
    path = ROOT / run.file
    folder = enclosing_plugin(path)
    if folder is None:
        pipeline = engine.compile(engine.load_file(path))
        result = await engine.run(pipeline, run.inputs, bridge=recorder)
    else:
        plugin = LocalPlugin.read(folder, engine=engine)
        plugin.settings = plugin_settings(plugin.manifest.configuration_schema, run.config)
        name = plugin.name_of(path)
        assert name is not None, f"{path} is not an action of {folder}"
        result = await engine.run(
            plugin.pipeline(name),
            run.inputs,
            bridge=recorder,
            grant=plugin.grant,
            config=plugin.settings,
            resolver=plugin.resolver(),
        )
    return outcome(result, recorder.calls)


def outcome(result: RunResult, calls: list[dict[str, Any]]) -> dict[str, Any]:
    error = result.error
    return {
        "status": result.status.value,
        "outputs": result.outputs,
        "error": None
        if error is None
        else {
            "kind": error.kind.value,
            "code": (error.details or {}).get("code"),
            "message": error.message,
        },
        "calls": calls,
    }


def compare_outcomes(recorded: Mapping[str, Any], ours: Mapping[str, Any]) -> list[str]:
    """How ``ours`` differs from ``recorded``: status, error, outputs and each call (tool,
    arguments, answer), values compared as :func:`compare` compares answers (run-time ids,
    clocks and durations by their format only)."""
    out = []
    for key in ("status", "error", "outputs"):
        out += [f"{key}: {line}" for line in compare(recorded[key], ours[key])]
    theirs, mine = recorded["calls"], ours["calls"]
    if [c["tool"] for c in theirs] != [c["tool"] for c in mine]:
        out.append(
            f"calls: recorded {[c['tool'] for c in theirs]}, ours {[c['tool'] for c in mine]}"
        )
        return out
    for index, (a, b) in enumerate(zip(theirs, mine, strict=True)):
        out += [
            f"calls[{index}].arguments: {line}" for line in compare(a["arguments"], b["arguments"])
        ]
        if _unfinished(a) or _unfinished(b):
            continue  # cut short (a parallel branch that failed first): how far it got is timing
        for key in ("answer", "error"):
            if (key in a) != (key in b):
                out.append(f"calls[{index}].{key}: in one run only")
            elif key in a:
                out += [f"calls[{index}].{key}: {line}" for line in compare(a[key], b[key])]
    return out


def _unfinished(call: Mapping[str, Any]) -> bool:
    return "answer" not in call and "error" not in call


def load_recordings() -> dict[str, dict[str, Any]]:
    """Every recorded run, by name."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(RECORDINGS.glob("*.json"))
    }


def shipped_actions() -> list[str]:
    """Every shipped action file (``actions/*.yaml`` and the plugins' actions), relative
    to the checkout."""
    root = ROOT / "actions"
    files = [*root.glob("*.yaml"), *root.glob("*/actions/*.yaml")]
    return sorted(str(p.relative_to(ROOT)) for p in files)


def recording_path(run: Run) -> Path:
    return RECORDINGS / f"{run.name}.json"
