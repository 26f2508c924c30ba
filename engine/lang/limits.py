"""Security profiles: the limits a run must stay within and the tool classes it may use.

A profile bounds what one run may cost (time, steps, loop iterations, call depth,
parallel branches, tool calls, size of produced values) and which tool classes it may
call. Templates and expressions read the limits of the run they belong to through
:func:`current_limits`, so a run's profile applies inside the sandbox too.

>>> Profile.STRICT.limits.max_steps
1000
>>> with active_limits(Profile.SANDBOX.limits):
...     current_limits().allowed_classes == frozenset({ToolClass.READ_ONLY})
True
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, fields, replace
from typing import Any, Final

UNLIMITED = sys.maxsize


class ToolClass(enum.Enum):
    """What a call may do (the catalog gives each tool and operation one). Security
    profiles allow classes; the order is by danger.

    >>> ToolClass.most([ToolClass.WRITE, ToolClass.READ_ONLY])
    <ToolClass.WRITE: 'write'>
    """

    READ_ONLY = "read-only"
    WRITE = "write"
    DESTRUCTIVE = "destructive"

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, Any] | None) -> ToolClass:
        annotations = annotations or {}
        if annotations.get("readOnlyHint"):
            return cls.READ_ONLY
        # MCP's default for destructiveHint is true when a tool is not read-only.
        if annotations.get("destructiveHint", True):
            return cls.DESTRUCTIVE
        return cls.WRITE

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @classmethod
    def most(cls, classes: Iterable[ToolClass]) -> ToolClass:
        """The most dangerous of ``classes`` (read-only when there are none)."""
        return max(classes, key=_RANKS.__getitem__, default=cls.READ_ONLY)


_RANKS = {ToolClass.READ_ONLY: 0, ToolClass.WRITE: 1, ToolClass.DESTRUCTIVE: 2}


@dataclass(frozen=True, slots=True)
class Limits:
    """Every bound a run is held to. Sizes count characters (strings) or items."""

    run_timeout: float | None = 300.0
    step_timeout: float | None = 60.0
    max_steps: int = 10_000
    max_loop_iterations: int = 1_000
    max_call_depth: int = 8
    max_parallel_branches: int = 16
    max_tool_calls: int = 1_000
    max_string_length: int = 1_000_000
    max_collection_size: int = 10_000
    max_template_output: int = 1_000_000
    max_wait: float = 300.0
    max_hook_depth: int = 4
    allowed_classes: frozenset[ToolClass] = frozenset(ToolClass)
    # Destructive tools need an explicit grant (the tool named in the plugin's grant,
    # not only covered by a group) unless this is False.
    destructive_needs_explicit_grant: bool = True

    def with_overrides(self, **overrides: Any) -> Limits:
        """A copy with some limits changed (unknown names raise ``TypeError``)."""
        return replace(self, **overrides)

    def describe(self) -> dict[str, Any]:
        """JSON-friendly view for docs and ``stats``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, frozenset):
                value = sorted(c.value for c in value)
            elif value == UNLIMITED:
                value = None
            out[f.name] = value
        return out


class Profile(enum.Enum):
    """The named security profiles a user or MCP caller can choose."""

    NONE = "none"
    STANDARD = "standard"
    STRICT = "strict"
    SANDBOX = "sandbox"

    @property
    def limits(self) -> Limits:
        return PROFILE_LIMITS[self]


PROFILE_LIMITS: dict[Profile, Limits] = {
    Profile.NONE: Limits(
        run_timeout=None,
        step_timeout=None,
        max_steps=UNLIMITED,
        max_loop_iterations=UNLIMITED,
        max_call_depth=64,
        max_parallel_branches=256,
        max_tool_calls=UNLIMITED,
        max_string_length=100_000_000,
        max_collection_size=10_000_000,
        max_template_output=100_000_000,
        max_wait=86_400.0,
        max_hook_depth=16,
        destructive_needs_explicit_grant=False,
    ),
    Profile.STANDARD: Limits(),
    Profile.STRICT: Limits(
        run_timeout=60.0,
        step_timeout=30.0,
        max_steps=1_000,
        max_loop_iterations=200,
        max_call_depth=4,
        max_parallel_branches=8,
        max_tool_calls=200,
        max_string_length=100_000,
        max_collection_size=2_000,
        max_template_output=100_000,
        max_wait=30.0,
        max_hook_depth=2,
        allowed_classes=frozenset({ToolClass.READ_ONLY, ToolClass.WRITE}),
    ),
    Profile.SANDBOX: Limits(
        run_timeout=30.0,
        step_timeout=10.0,
        max_steps=500,
        max_loop_iterations=100,
        max_call_depth=4,
        max_parallel_branches=4,
        max_tool_calls=100,
        max_string_length=100_000,
        max_collection_size=1_000,
        max_template_output=100_000,
        max_wait=5.0,
        max_hook_depth=1,
        allowed_classes=frozenset({ToolClass.READ_ONLY}),
    ),
}

DEFAULT_PROFILE = Profile.STANDARD

#: The limits a number sets: what the configuration file's ``[limits.<profile>]`` tables
#: and a plugin's ``resource_limits`` may name (the others are the profile's classes).
NUMERIC_LIMITS: tuple[str, ...] = tuple(
    f.name
    for f in fields(Limits)
    if f.name not in ("allowed_classes", "destructive_needs_explicit_grant")
)
#: The numeric limits counted in seconds (the others count steps, calls, characters, …).
SECONDS = frozenset({"run_timeout", "step_timeout", "max_wait"})


def looser(limits: Limits, declared: Mapping[str, float]) -> list[tuple[str, float, float]]:
    """The ``declared`` limits looser than those of ``limits``: (name, declared value,
    the bound of ``limits``). Nothing is looser than no bound (None, or unlimited).

    >>> looser(Profile.STANDARD.limits, {"run_timeout": 600, "max_steps": 50})
    [('run_timeout', 600, 300.0)]
    >>> looser(Profile.NONE.limits, {"run_timeout": 600, "max_steps": 10**9})
    []
    """
    out = []
    for name, value in declared.items():
        bound = getattr(limits, name)
        if bound is not None and bound != UNLIMITED and value > bound:
            out.append((name, value, bound))
    return out


def tightened(limits: Limits, declared: Mapping[str, float]) -> Limits:
    """``limits`` held to ``declared`` too (a plugin's ``resource_limits``): the stricter
    of the two, limit by limit, so a declared value can only tighten.

    >>> held = tightened(Profile.STANDARD.limits, {"max_steps": 50, "run_timeout": 900})
    >>> held.max_steps, held.run_timeout
    (50, 300.0)
    """
    if not declared:
        return limits
    return stricter(limits, limits.with_overrides(**declared))


_STRICTER: dict[tuple[int, int], tuple[Limits, Limits, Limits]] = {}


def stricter(first: Limits, second: Limits) -> Limits:
    """The stricter of two sets of limits, limit by limit: the smaller bound (a timeout of
    None is no bound), the tool classes both allow, and an explicit grant for destructive
    tools if either needs one. The same two give the very same object (runs prepared
    for a set of limits are reused).

    >>> both = stricter(Profile.STANDARD.limits, Profile.SANDBOX.limits)
    >>> both == Profile.SANDBOX.limits, stricter(Profile.NONE.limits, both) is both
    (True, True)
    >>> mixed = stricter(Limits(max_steps=5, run_timeout=None), Limits(max_tool_calls=3))
    >>> mixed.max_steps, mixed.max_tool_calls, mixed.run_timeout
    (5, 3, 300.0)
    """
    if first is second:
        return first
    key = (id(first), id(second))
    found = _STRICTER.get(key)
    if found is not None and found[0] is first and found[1] is second:
        return found[2]
    merged = _merge(first, second)
    if merged == first:
        merged = first
    elif merged == second:
        merged = second
    if len(_STRICTER) > 256:
        _STRICTER.clear()
    _STRICTER[key] = (first, second, merged)
    return merged


def _merge(first: Limits, second: Limits) -> Limits:
    values: dict[str, Any] = {}
    for f in fields(Limits):
        a, b = getattr(first, f.name), getattr(second, f.name)
        if f.name == "allowed_classes":
            values[f.name] = a & b
        elif f.name == "destructive_needs_explicit_grant":
            values[f.name] = a or b
        elif a is None or b is None:  # a timeout: None is no bound
            values[f.name] = b if a is None else a
        else:
            values[f.name] = min(a, b)
    return Limits(**values)


_current: ContextVar[Limits] = ContextVar(
    "km_actions_limits", default=PROFILE_LIMITS[DEFAULT_PROFILE]
)


def current_limits() -> Limits:
    """The limits of the run this code is part of (the standard profile outside a run)."""
    return _current.get()


# current_limits without a Python call, for generated code that reads them on every call.
read_limits: Final[Callable[[], Limits]] = _current.get


# Make limits current, and undo it with the token (cheaper than the context manager on
# the hot path of a run): the context variable's own methods, without a Python call.
set_limits: Final[Callable[[Limits], Token[Limits]]] = _current.set
reset_limits: Final[Callable[[Token[Limits]], None]] = _current.reset


@contextmanager
def active_limits(limits: Limits) -> Iterator[Limits]:
    """Make ``limits`` the current limits for the enclosed code (and tasks it starts)."""
    token = _current.set(limits)
    try:
        yield limits
    finally:
        _current.reset(token)
