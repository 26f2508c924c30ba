"""Permission checks in front of every tool call: the plugin's grant and the profile.

A call is checked for what it does: its tool, and for a tool with several operations the
operation its arguments name (rendered, so a templated operation is checked for the value
it has in this call). A tool every call of which is allowed is checked once; for the
others each (tool, operation) is checked once, then remembered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from engine.diagnostics.errors import ErrorKind, StepError
from engine.diagnostics.suggestions import did_you_mean
from engine.lang.limits import Limits
from engine.lang.secrets import show
from engine.tools.bridge import ToolBridge
from engine.tools.catalog import Need, ToolCatalog
from engine.tools.grants import Grant, Reason, Refusal, allowed_classes

__all__ = ["Caller", "GuardedBridge"]


class Caller(Protocol):
    """The action making a call, as a refusal's hint needs it: its plugin (None: run from
    its file) and its own ``permissions:`` (which, in a plugin, grant nothing)."""

    @property
    def plugin(self) -> str | None: ...

    @property
    def permissions(self) -> tuple[str, ...] | None: ...


class GuardedBridge:
    """A bridge that refuses calls outside a grant or the security profile."""

    __slots__ = (
        "_allowed",
        "_catalog",
        "_grant",
        "_inner",
        "_limits",
        "_passed",
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
        # Grant and limits are fixed, so what passed once passes always: tools any call of
        # which may be made, and (tool, operation) pairs of the others.
        self._allowed: set[str] = set()
        self._passed: set[tuple[str, str]] = set()
        self.call_tool_unchecked = inner.call_tool
        # Tools that passed the check and that the backend lets callers reach directly
        # (in-process async functions): the runtime's generated code calls these itself.
        self.direct: dict[str, Callable[..., Awaitable[Any]]] = {}

    @property
    def inner(self) -> ToolBridge:
        return self._inner

    @property
    def grant(self) -> Grant:
        return self._grant

    def check(
        self, name: str, arguments: Mapping[str, Any] | None = None, caller: Caller | None = None
    ) -> None:
        """Raise ``permission-denied`` unless a call of ``name`` with ``arguments`` (which
        tell its operation) may be made (``caller``: the action making it, for the hint)."""
        spec = self._catalog.get(name)
        need = spec.need(arguments or {}) if spec is not None else Need(name)
        refusal = self._grant.refusal(need, self._limits, self._catalog)
        if refusal is not None and refusal.reason is Reason.NOT_GRANTED:
            granter = _granter(need, caller, self._catalog)
            raise _not_granted(need, arguments, spec.operations if spec else None, granter)
        if spec is None:
            raise StepError(
                ErrorKind.TOOL_UNAVAILABLE,
                f"no tool named {name} is offered by {self._inner.label}",
                hint=did_you_mean(name, self._catalog, listing=False)
                or "`km-actions schema --tools` lists the tools there are",
                details={"tool": name},
            )
        if refusal is not None:
            raise _refused(refusal, self._limits)

    def admit(self, name: str, arguments: dict[str, Any], caller: Caller | None = None) -> None:
        """The gate in front of a call: raise ``permission-denied`` (or
        ``tool-unavailable``) unless it may be made (``caller``: the action making it, for
        the hint). A call it refuses is not made, so the runtime counts a call only once
        it is admitted."""
        if name not in self._allowed:
            self._check_call(name, arguments, caller)

    def call_tool(self, name: str, arguments: dict[str, Any]) -> Awaitable[Any]:
        self.admit(name, arguments)
        return self.call_tool_unchecked(name, arguments)

    def _check_call(
        self, name: str, arguments: dict[str, Any], caller: Caller | None = None
    ) -> None:
        spec = self._catalog.get(name)
        operations = spec.operations if spec is not None else None
        if operations is not None:
            value = arguments.get(operations.parameter)
            key = (name, value) if isinstance(value, str) else None
            if key in self._passed:
                return
            if self._grant.refusal(Need(name), self._limits, self._catalog) is not None:
                self.check(name, arguments, caller)  # raises, or passes this operation only
                if key is not None and value in operations.classes:
                    self._passed.add(key)  # known operations only: the set stays small
                return
        self.check(name, arguments, caller)
        self._allowed.add(name)
        reach = getattr(self._inner, "direct", None)
        function = reach(name) if reach is not None else None
        if function is not None:
            self.direct[name] = function


def _granter(need: Need, caller: Caller | None, catalog: ToolCatalog) -> tuple[str, str]:
    """Where a grant of ``need`` is missing, as the hint says it, and why there. An action
    of a plugin is granted only what its plugin asks for (validation says so too:
    ``permission-missing``), so when the action lists the call itself, the plugin's
    plugin.yaml is what lacks it (a plugin of one action file asks for what its action
    lists, so it is not one of these)."""
    if caller is None or caller.plugin is None:
        return "`permissions:`", ""
    if not catalog.coverage(caller.permissions or ()).covers(need):
        return "the plugin's `permissions:`", ""
    return "`permissions:` in the plugin's plugin.yaml", (
        "; the action's own `permissions:` list it, but an action of a plugin is granted "
        "only what its plugin asks for"
    )


def _not_granted(
    need: Need, arguments: Mapping[str, Any] | None, operations: Any, granter: tuple[str, str]
) -> StepError:
    where, why = granter
    details: dict[str, Any] = {"tool": need.tool}
    if need.operation is not None:
        details["operation"] = need.operation
    if need.operation is None and operations is not None:
        # A tool with operations, called with one the catalog does not know (or none):
        # only a grant of the whole tool covers it.
        value = (arguments or {}).get(operations.parameter)
        return StepError(
            ErrorKind.PERMISSION_DENIED,
            f"the action is not allowed to call {need.tool} with {operations.parameter} "
            f"{show(value)}: that is no operation km-actions knows, so only a grant of the "
            f"whole {need.tool} allows it",
            hint=f"use one of its operations ({', '.join(operations.classes)}), or add "
            f"{need.tool} to {where}{why}",
            details={**details, operations.parameter: value},
        )
    return StepError(
        ErrorKind.PERMISSION_DENIED,
        f"the action is not allowed to call {need}: it is not in its granted permissions",
        hint=f"add {need} to {where} and grant it when installing{why}",
        details=details,
    )


def _refused(refusal: Refusal, limits: Limits) -> StepError:
    need = refusal.need
    details: dict[str, Any] = {"tool": need.tool, "class": refusal.tool_class.value}
    if need.operation is not None:
        details["operation"] = need.operation
    if refusal.reason is Reason.CLASS:
        return StepError(
            ErrorKind.PERMISSION_DENIED,
            f"{refusal.what}, and this security profile allows only: {allowed_classes(limits)}",
            hint="run with a less strict profile (--profile standard) if you trust this action",
            details=details,
        )
    return StepError(
        ErrorKind.PERMISSION_DENIED,
        f"{refusal.what} and must be granted by name, not only through a group",
        hint=f"list {need} itself under `permissions:`, or use the `none` profile",
        details=details,
    )
