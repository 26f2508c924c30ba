"""Diagnostics and the error tree: what went wrong, where, and how to fix it.

Every problem km-actions reports, from a YAML syntax slip to a tool failing at run
time, is a :class:`Diagnostic` (plain data with a stable code) or an
:class:`EngineError` carrying one or more of them. One reporter
(:mod:`engine.diagnostics.report`) formats them for the CLI and for MCP alike.

>>> d = Diagnostic("unknown-key", "unknown key 'wiht'", path=("steps", 0, "wiht"),
...                span=Span(9, 5, 9, 9), file="a.yaml", hint="did you mean 'with'?")
>>> str(d)
"a.yaml:9:5: error[unknown-key]: unknown key 'wiht'"
>>> d.json_path
'$.steps[0].wiht'
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

PathPart = str | int
Path = tuple[PathPart, ...]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def format_path(path: Iterable[PathPart]) -> str:
    """Render a path as JSONPath: ``("steps", 2, "with")`` → ``$.steps[2].with``.

    >>> format_path(("inputs", "my name", 0))
    "$.inputs['my name'][0]"
    """
    parts = ["$"]
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            parts.append(f".{part}")
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            parts.append(f"['{escaped}']")
    return "".join(parts)


class Severity(enum.Enum):
    """How bad a diagnostic is. Errors stop a manifest; warnings do not."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"  # says what km-actions did (an older file upgraded); nothing to fix

    @property
    def rank(self) -> int:
        return _SEVERITY_RANKS[self]


_SEVERITY_RANKS = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTE: 2}


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file. Lines and columns count from 1; the end is exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem, located by JSON path and, when known, by file and span."""

    code: str
    message: str
    severity: Severity = Severity.ERROR
    path: Path = ()
    span: Span | None = None
    file: str | None = None
    hint: str | None = None

    @property
    def json_path(self) -> str:
        return format_path(self.path)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def location(self) -> str:
        """``file:line:col`` (or as much of it as is known)."""
        where = self.file or "<input>"
        if self.span is not None:
            where += f":{self.span.line}:{self.span.column}"
        return where

    def to_dict(self) -> dict[str, Any]:
        """The JSON form shared by ``--json`` and the MCP server."""
        span = self.span
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "path": self.json_path,
            "file": self.file,
            "line": span.line if span else None,
            "column": span.column if span else None,
            "end_line": span.end_line if span else None,
            "end_column": span.end_column if span else None,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        return f"{self.location}: {self.severity.value}[{self.code}]: {self.message}"


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Errors before warnings, then in file order: the order a reader fixes them in."""

    def key(d: Diagnostic) -> tuple[int, str, int, int, str]:
        line, column = (d.span.line, d.span.column) if d.span else (0, 0)
        return (d.severity.rank, d.file or "", line, column, d.code)

    return sorted(diagnostics, key=key)


class EngineError(Exception):
    """Root of every error km-actions raises on purpose.

    ``code`` is stable and documented in ``docs/diagnostics.md``; ``diagnostics`` holds
    every located problem (at least one).
    """

    code: str = "engine-error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        diagnostics: Sequence[Diagnostic] | None = None,
        path: Path = (),
        span: Span | None = None,
        file: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.hint = hint
        self.diagnostics: list[Diagnostic] = list(diagnostics or ()) or [
            Diagnostic(self.code, message, path=path, span=span, file=file, hint=hint)
        ]

    @property
    def first(self) -> Diagnostic:
        return self.diagnostics[0]

    def to_dict(self) -> dict[str, Any]:
        first = self.first
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint or first.hint,
            "location": first.location if (first.file or first.span) else None,
            "path": first.json_path if first.path else None,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }

    def __str__(self) -> str:
        return self.message


class ManifestError(EngineError):
    """A manifest could not be read or is not valid."""

    code = "invalid-manifest"


class ManifestSyntaxError(ManifestError):
    """The text is not well-formed YAML/JSON, or breaks a loader limit."""

    code = "syntax"


class ManifestValidationError(ManifestError):
    """The manifest parsed but breaks the schema or a semantic rule."""

    code = "invalid-manifest"


class CompileError(EngineError):
    """A valid-looking manifest could not be compiled into a pipeline."""

    code = "compile-error"


class ErrorKind(enum.Enum):
    """Why a step failed. ``retry.on`` and ``error.kind`` use these names."""

    TOOL_FAILED = "tool-failed"
    TIMEOUT = "timeout"
    INVALID_ARGUMENTS = "invalid-arguments"
    PERMISSION_DENIED = "permission-denied"
    LIMIT_EXCEEDED = "limit-exceeded"
    TOOL_UNAVAILABLE = "tool-unavailable"
    TEMPLATE_ERROR = "template-error"
    EXPRESSION_ERROR = "expression-error"
    INVALID_INPUT = "invalid-input"
    FAILED = "failed"
    CANCELLED = "cancelled"
    NOT_FOUND = "not-found"


class StepError(EngineError):
    """A step (or the run around it) failed at run time; its code is its kind's."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        step: str | None = None,
        hint: str | None = None,
        path: Path = (),
        span: Span | None = None,
        file: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.kind = kind
        self.step = step
        self.details: dict[str, Any] = details or {}
        super().__init__(message, code=kind.value, hint=hint, path=path, span=span, file=file)

    def at(self, *, step: str | None, path: Path, span: Span | None, file: str | None) -> StepError:
        """Fill in where the error happened, unless an inner step already did."""
        first = self.diagnostics[0]
        if first.span is None and not first.path:
            self.step = self.step or step
            self.diagnostics[0] = replace(first, path=path, span=span, file=file)
        elif self.step is None:
            self.step = step
        return self

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["kind"] = self.kind.value
        out["step"] = self.step
        if self.details:
            out["details"] = self.details
        return out


class LimitExceeded(StepError):
    """A run went past one of its security profile's limits."""

    def __init__(self, limit: str, value: int | float, message: str | None = None, **kw: Any):
        self.limit = limit
        self.value = value
        text = message or f"limit exceeded: {limit} (the limit is {value})"
        hint = kw.pop(
            "hint",
            "raise the limit with a less strict security profile, or make the action do less",
        )
        details = {"limit": limit, "value": value}
        super().__init__(ErrorKind.LIMIT_EXCEEDED, text, hint=hint, details=details, **kw)


class PluginError(EngineError):
    """Installing, loading or managing a plugin failed."""

    code = "plugin-error"


class BridgeError(EngineError):
    """The connection to the tools (upstream MCP server, simulator) failed."""

    code = "tool-unavailable"


class ConfigError(EngineError):
    """A configuration file or plugin setting is not valid."""

    code = "invalid-config"


class SettingsError(ConfigError):
    """A plugin's settings do not fit its ``configuration_schema``: each diagnostic's
    path is that of its setting within the settings (``$.token``)."""

    def under(self, *prefix: PathPart) -> SettingsError:
        """The same error with every path inside ``prefix`` (the settings as a caller
        gave them: ``under("plugin_config")`` gives ``$.plugin_config.token``)."""
        return SettingsError(
            self.message,
            code=self.code,
            hint=self.hint,
            diagnostics=[replace(d, path=(*prefix, *d.path)) for d in self.diagnostics],
        )
