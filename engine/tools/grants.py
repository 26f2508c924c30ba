"""Grants: what an action may call, and the one decision whether a call is allowed.

A call needs its tool's operation (a :class:`~engine.tools.catalog.Need`); a grant covers
tools and operations (a :class:`~engine.tools.catalog.Coverage`), some of them by name. The
validator, the installer (profiles, ``--grant``, the MCP ceiling) and the guard in front
of the tools all ask :meth:`Grant.refusal`, so they cannot disagree.

>>> from engine.tools.catalog import Need, ToolCatalog
>>> from engine.lang.limits import Profile
>>> catalog = ToolCatalog.builtin()
>>> grant = Grant.from_permissions(["variables"], catalog)
>>> grant.refusal(Need("km_variable_manager", "set"), Profile.STANDARD.limits, catalog)
>>> refused = grant.refusal(Need("km_variable_manager", "delete"), Profile.STANDARD.limits, catalog)
>>> refused.reason.value, refused.what
('not-named', 'km_variable_manager:delete is a destructive operation')
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.lang.limits import Limits
from engine.tools.catalog import Coverage, Need, ToolCatalog, ToolClass


class Reason(enum.Enum):
    """Why a call is refused."""

    NOT_GRANTED = "not-granted"  # outside the grant
    CLASS = "class"  # the profile does not allow the call's class at all
    NOT_NAMED = "not-named"  # destructive, and granted only through a group


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused need: why, and the class the catalog gives it."""

    reason: Reason
    need: Need
    tool_class: ToolClass

    @property
    def what(self) -> str:
        """``km_add is a write tool`` / ``km_variable_manager:delete is a destructive
        operation``: the subject of the messages every surface words its own way."""
        kind = "tool" if self.need.operation is None else "operation"
        return f"{self.need} is a {self.tool_class.value} {kind}"


@dataclass(frozen=True, slots=True)
class Grant:
    """What an action may call (``covered``), what of it was granted by name rather than
    only through a group (``named``), and ``limits``: those of the security profile the
    plugin was installed under (a run with this grant is held to the stricter of them
    and the caller's).

    >>> from engine.tools.catalog import ToolCatalog
    >>> grant = Grant.from_permissions(["notifications", "km_variable_manager:get"],
    ...                                ToolCatalog.builtin())
    >>> sorted(grant.covered.tools)
    ['km_dismiss_notifications', 'km_notification_status', 'km_notifications']
    >>> grant.named.tools, grant.named.operations
    (frozenset(), frozenset({('km_variable_manager', 'get')}))
    """

    covered: Coverage
    named: Coverage
    limits: Limits | None = None
    # A run given a grant looks its guarded bridge up by it: hashing the two coverages
    # and the limits field by field every run costs more than the lookup (the fields
    # are immutable, so the hash is computed once).
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.covered, self.named, self.limits)))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def from_permissions(
        cls, entries: Iterable[str], catalog: ToolCatalog, limits: Limits | None = None
    ) -> Grant:
        items = tuple(entries)
        return cls(catalog.coverage(items), catalog.named(items), limits)

    @classmethod
    def of_tools(cls, tools: Iterable[str]) -> Grant:
        """Every operation of ``tools``, each as if named."""
        whole = Coverage(frozenset(tools))
        return cls(whole, whole)

    def refusal(self, need: Need, limits: Limits, catalog: ToolCatalog) -> Refusal | None:
        """Why ``need`` may not be called under ``limits`` (None: it may). A tool the
        catalog does not know counts as destructive."""
        tool_class = class_of(need, catalog)
        if not self.covered.covers(need):
            return Refusal(Reason.NOT_GRANTED, need, tool_class)
        if tool_class not in limits.allowed_classes:
            return Refusal(Reason.CLASS, need, tool_class)
        if (
            tool_class is ToolClass.DESTRUCTIVE
            and limits.destructive_needs_explicit_grant
            and not self.named.covers(need)
        ):
            return Refusal(Reason.NOT_NAMED, need, tool_class)
        return None


def class_of(need: Need, catalog: ToolCatalog) -> ToolClass:
    """The class of what ``need`` does (a tool ``catalog`` does not know: destructive)."""
    spec = catalog.get(need.tool)
    return spec.class_of(need.operation) if spec is not None else ToolClass.DESTRUCTIVE


def allowed_classes(limits: Limits) -> str:
    """The classes ``limits`` allow, for messages: ``read-only, write``."""
    return ", ".join(c.value for c in sorted(limits.allowed_classes, key=lambda c: c.rank))
