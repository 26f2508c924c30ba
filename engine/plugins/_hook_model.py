"""What hooks are made of: events, compiled hooks, hooked plugins and hook outcomes."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.compile.compiler import Compiler
from engine.diagnostics.errors import CompileError, ErrorKind, StepError, format_path
from engine.load.sourcemap import Document
from engine.run.model import PluginSettings, RunResult, Site
from engine.tools.grants import Grant

Render = Callable[[Mapping[str, Any]], Any]


class BuiltinEvent(enum.Enum):
    """The events km-actions itself sends (any other name comes from an `emit` step)."""

    INSTALLED = "installed"
    UNINSTALLED = "uninstalled"
    UPGRADED = "upgraded"
    CONFIGURED = "configured"
    ENABLED = "enabled"
    DISABLED = "disabled"
    ACTION_SUCCEEDED = "action_succeeded"
    ACTION_FAILED = "action_failed"


class HookStatus(enum.Enum):
    """How a hook's run ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Event:
    """Something that happened: its name, the plugin and action it concerns, its data.

    >>> Event("installed", plugin="notes", data={"version": "1.0.0"}).scope()["event"]["data"]
    {'version': '1.0.0'}
    """

    name: str
    plugin: str | None = None
    action: str | None = None
    data: Any = None
    origin: str | None = None  # the plugin's recorded origin, when it is no longer installed

    def scope(self) -> dict[str, Any]:
        """What hook templates and conditions see: ``event`` and nothing else."""
        return {
            "event": {
                "name": self.name,
                "plugin": self.plugin,
                "action": self.action,
                "data": self.data,
            }
        }


@dataclass(frozen=True)
class Hook:
    """One compiled ``hooks:`` entry of a plugin (``number`` counts from 1)."""

    plugin: str
    number: int
    on: str
    action: str
    condition: Any | None
    inputs: Render
    site: Site

    @property
    def target(self) -> str:
        """The action, qualified: ``plugin/action``."""
        return self.action if "/" in self.action else f"{self.plugin}/{self.action}"

    @property
    def label(self) -> str:
        return f"hook {self.number} of `{self.plugin}` (on {self.on} → {self.target})"


def compile_hooks(
    plugin: str, document: Document, *, compiler: Compiler | None = None, strict: bool = True
) -> tuple[Hook, ...]:
    """The hooks of a (validated) plugin manifest, templates and conditions compiled once.

    Raises :class:`~engine.diagnostics.errors.CompileError` (located in plugin.yaml) for a template
    or condition that does not compile; with ``strict=False`` (installed plugins,
    checked when installed) such a hook fails each time it is triggered instead, so
    one broken hook never stops the others or the actions.
    """
    compiler = compiler or Compiler()
    data = document.data if isinstance(document.data, Mapping) else {}
    hooks = data.get("hooks")
    out: list[Hook] = []
    for index, entry in enumerate(hooks if isinstance(hooks, list) else ()):
        path = ("hooks", index)
        condition = entry.get("if")
        try:
            test = (
                None
                if condition is None
                else compiler.condition(condition, (*path, "if"), document)
            )
            inputs = compiler.value(entry.get("with") or {}, (*path, "with"), document)
        except CompileError as error:
            if strict:
                raise
            test, inputs = _Broken(error), _no_inputs
        out.append(
            Hook(
                plugin=plugin,
                number=index + 1,
                on=str(entry["on"]),
                action=str(entry["action"]),
                condition=test,
                inputs=inputs,
                site=Site(document.file, path, document.span(path)),
            )
        )
    return tuple(out)


class _Broken:
    """The condition of a hook that does not compile: every test fails, saying why."""

    def __init__(self, error: CompileError) -> None:
        self.error = error

    def test(self, scope: Mapping[str, Any]) -> bool:
        raise StepError(
            ErrorKind.EXPRESSION_ERROR,
            f"this hook cannot run: {self.error.message}",
            hint=self.error.hint or "reinstall the plugin, or ask its author to fix the hook",
        )


def _no_inputs(scope: Mapping[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class HookedPlugin:
    """An installed plugin as the bus sees it: its hooks, grant and settings.

    The hooks of a plugin that is not ``enabled`` never run.
    """

    id: str
    hooks: tuple[Hook, ...]
    grant: Grant
    settings: PluginSettings = field(default_factory=PluginSettings)
    enabled: bool = True


@dataclass(frozen=True)
class HookOutcome:
    """How one hook's run went (kept in history; a failure is also a warning)."""

    plugin: str
    hook: int
    event: str
    action: str
    depth: int
    status: HookStatus
    outputs: dict[str, Any] | None = None
    error: StepError | None = None
    duration: float = 0.0
    file: str | None = None
    line: int | None = None
    started: float = 0.0  # time.time() when the hook was set off
    result: RunResult | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status is HookStatus.SUCCEEDED

    @property
    def message(self) -> str:
        """One line for people: what ran, and why it failed if it did."""
        head = f"hook {self.hook} of `{self.plugin}` (on {self.event} → {self.action})"
        if self.error is None:
            return f"{head} succeeded"
        return f"{head} failed: {self.error.message}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, for ``--json``, MCP and history."""
        out: dict[str, Any] = {
            "plugin": self.plugin,
            "hook": self.hook,
            "event": self.event,
            "action": self.action,
            "depth": self.depth,
            "status": self.status.value,
            "duration_ms": round(self.duration * 1000, 3),
        }
        if self.outputs is not None:
            out["outputs"] = self.outputs
        if self.error is not None:
            out["error"] = self.error.to_dict()
        return out

    def trace_entry(self) -> dict[str, Any]:
        """The entry added to the trace of the run that sent the event."""
        entry: dict[str, Any] = {
            "action": self.action,
            "step": None,
            "name": self.message.split(":")[0] if self.error else self.message,
            "kind": "hook",
            "path": format_path(("hooks", self.hook - 1)),
            "file": self.file,
            "line": self.line,
            "status": self.status.value,
            "attempts": 1,
            "duration_ms": round(self.duration * 1000, 3),
            "plugin": self.plugin,
            "event": self.event,
            "depth": self.depth,
        }
        if self.error is not None:
            entry["error"] = {"kind": self.error.kind.value, "message": self.error.message}
        return entry


@dataclass
class HookedRun:
    """A run of an installed action, with what its hooks did (failures as warnings)."""

    result: RunResult
    hooks: list[HookOutcome]

    @property
    def warnings(self) -> list[str]:
        """A sentence per failed hook; the action's own result is not affected."""
        return [o.message for o in self.hooks if not o.ok]

    def to_dict(self) -> dict[str, Any]:
        """The run's JSON form plus ``hooks`` and ``warnings`` when hooks ran."""
        out = self.result.to_dict()
        if self.hooks:
            out["hooks"] = [o.to_dict() for o in self.hooks]
        if self.warnings:
            out["warnings"] = self.warnings
        return out
