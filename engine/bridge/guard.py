"""Permission checks in front of every tool call: the plugin's grant and the profile."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from engine.bridge import ToolBridge
from engine.catalog import ToolCatalog, ToolClass
from engine.errors import ErrorKind, StepError
from engine.limits import Limits
from engine.suggest import did_you_mean


@dataclass(frozen=True, slots=True)
class Grant:
    """The tools an action may call: every one covered, and those named explicitly;
    ``limits``: those of the security profile the plugin was installed under (a run with
    this grant is held to the stricter of them and the caller's).

    >>> grant = Grant.from_permissions(["notifications", "km_clipboard_manager"],
    ...                                ToolCatalog.builtin())
    >>> "km_notifications" in grant.tools, "km_clipboard_manager" in grant.explicit
    (True, True)
    """

    tools: frozenset[str]
    explicit: frozenset[str]
    limits: Limits | None = None

    @classmethod
    def from_permissions(
        cls, entries: Iterable[str], catalog: ToolCatalog, limits: Limits | None = None
    ) -> Grant:
        items = list(entries)
        return cls(
            tools=catalog.expand_permissions(items),
            explicit=frozenset(e for e in items if e in catalog or e.startswith("km_")),
            limits=limits,
        )

    @classmethod
    def everything(cls, catalog: ToolCatalog) -> Grant:
        """Every tool, each as if named (used with the `none` profile only by choice)."""
        names = frozenset(catalog)
        return cls(names, names)


class GuardedBridge:
    """A bridge that refuses calls outside a grant or the security profile."""

    __slots__ = (
        "_allowed",
        "_catalog",
        "_classes",
        "_grant",
        "_inner",
        "_limits",
        "call_tool_unchecked",
        "direct",
    )

    def __init__(
        self, inner: ToolBridge, grant: Grant, limits: Limits, catalog: ToolCatalog | None = None
    ) -> None:
        self._inner = inner
        self._grant = grant
        self._limits = limits
        self._catalog = catalog or inner.catalog()
        self._classes: dict[str, ToolClass] = {}
        self._allowed: set[str] = set()  # names already checked: grant and limits are fixed
        self.call_tool_unchecked = inner.call_tool
        # Tools that passed the check and that the backend lets callers reach directly
        # (in-process async functions): the runtime's fast path calls these itself.
        self.direct: dict[str, Callable[..., Awaitable[Any]]] = {}

    @property
    def inner(self) -> ToolBridge:
        return self._inner

    @property
    def grant(self) -> Grant:
        return self._grant

    def check(self, name: str) -> None:
        """Raise ``permission_denied`` unless ``name`` may be called."""
        if name not in self._grant.tools:
            raise StepError(
                ErrorKind.PERMISSION_DENIED,
                f"the action is not allowed to call {name}: it is not in its granted permissions",
                hint=f"add {name} to `permissions:` and grant it when installing",
                details={"tool": name},
            )
        tool_class = self._classes.get(name)
        if tool_class is None:
            spec = self._catalog.get(name)
            if spec is None:
                raise StepError(
                    ErrorKind.TOOL_UNAVAILABLE,
                    f"no tool named {name} is offered by {self._inner.label}",
                    hint=did_you_mean(name, self._catalog, listing=False)
                    or "`km-actions schema --tools` lists the tools there are",
                    details={"tool": name},
                )
            tool_class = spec.tool_class
            self._classes[name] = tool_class
        limits = self._limits
        if tool_class not in limits.allowed_classes:
            allowed = ", ".join(sorted(c.value for c in limits.allowed_classes))
            raise StepError(
                ErrorKind.PERMISSION_DENIED,
                f"{name} is a {tool_class.value} tool, and this security profile allows "
                f"only: {allowed}",
                hint="run with a less strict profile (--profile standard) if you trust this action",
                details={"tool": name, "class": tool_class.value},
            )
        if (
            tool_class is ToolClass.DESTRUCTIVE
            and limits.destructive_needs_explicit_grant
            and name not in self._grant.explicit
        ):
            raise StepError(
                ErrorKind.PERMISSION_DENIED,
                f"{name} is a destructive tool and must be granted by name, not only "
                "through a group",
                hint=f"list {name} itself under `permissions:`, or use the `none` profile",
                details={"tool": name, "class": tool_class.value},
            )

    def call_tool(self, name: str, arguments: dict[str, Any]) -> Awaitable[Any]:
        if name not in self._allowed:
            self.check(name)
            self._allowed.add(name)
            reach = getattr(self._inner, "direct", None)
            function = reach(name) if reach is not None else None
            if function is not None:
                self.direct[name] = function
        return self.call_tool_unchecked(name, arguments)
