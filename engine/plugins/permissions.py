"""What a plugin asks to call, what the security profile allows, and what the user grants.

At install, a plugin's ``permissions`` (tools and tool groups) are checked against the
chosen security profile, then against the grant the user gives (the CLI shows them and
asks, or ``--yes``/``--grant``). The accepted entries are recorded; at run time the
bridge refuses every call outside them.

=========  ==========================================================================
profile    what may be granted
=========  ==========================================================================
none       anything
standard   destructive tools only when the plugin names them, not through a group
strict     no destructive tools at all
sandbox    read-only tools only
=========  ==========================================================================

>>> catalog = ToolCatalog.builtin()
>>> request = PermissionRequest.of("demo", "1.0.0", ["calculator", "notifications"], catalog)
>>> check_profile(request, Profile.SANDBOX, catalog)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
engine.errors.PluginError: 'demo' 1.0.0 asks for tools the sandbox profile does not allow: ...
>>> check_profile(request, Profile.STANDARD, catalog)  # allowed: nothing raised
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.bridge.guard import Grant
from engine.catalog import ToolCatalog, ToolClass
from engine.errors import Diagnostic, PluginError
from engine.limits import Limits, Profile
from engine.plugins._records import GrantEntry


def _is_tool(entry: str, catalog: ToolCatalog) -> bool:
    return entry in catalog or entry.startswith("km_")


@dataclass(frozen=True)
class PermissionRequest:
    """The permissions one plugin version asks for, with the tools they cover.

    ``added`` are the entries an upgrade asks for beyond the grant already given.
    """

    plugin: str
    version: str
    entries: tuple[str, ...]
    tools: tuple[tuple[str, ToolClass], ...]
    added: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        plugin: str,
        version: str,
        entries: Iterable[str],
        catalog: ToolCatalog,
        *,
        granted: Iterable[str] | None = None,
    ) -> PermissionRequest:
        """The request for ``entries``; ``granted`` is the grant of the version replaced."""
        items = tuple(dict.fromkeys(entries))
        tools = sorted(catalog.expand_permissions(items))
        classes = tuple(
            (t, catalog[t].tool_class if t in catalog else ToolClass.DESTRUCTIVE) for t in tools
        )
        added: tuple[str, ...] = ()
        if granted is not None:
            before = catalog.expand_permissions(granted)
            added = tuple(e for e in items if not catalog.expand_permission(e) <= before)
        return cls(plugin, version, items, classes, added)

    def describe(self, catalog: ToolCatalog) -> list[str]:
        """One line per entry, for people: ``notifications: km_notifications (write), …``.

        >>> c = ToolCatalog.builtin()
        >>> PermissionRequest.of("d", "1.0.0", ["km_calculator"], c).describe(c)
        ['km_calculator (read-only)']
        """
        classes = dict(self.tools)
        lines = []
        for entry in self.entries:
            if entry in classes and entry not in catalog.groups:
                lines.append(f"{entry} ({classes[entry].value})")
                continue
            members = sorted(catalog.expand_permission(entry))
            shown = ", ".join(f"{t} ({classes[t].value})" for t in members if t in classes)
            lines.append(f"{entry}: {shown}")
        return lines

    def grant_entries(self, catalog: ToolCatalog) -> tuple[GrantEntry, ...]:
        """What is recorded when the request is accepted."""
        return tuple(GrantEntry(e, _is_tool(e, catalog)) for e in self.entries)


def check_profile(request: PermissionRequest, profile: Profile, catalog: ToolCatalog) -> None:
    """Refuse (``permission-not-allowed``) what ``profile`` does not let anyone grant."""
    limits = profile.limits
    named = {e for e in request.entries if _is_tool(e, catalog)}
    problems: list[Diagnostic] = []
    for tool, tool_class in request.tools:
        if tool_class not in limits.allowed_classes:
            allowed = ", ".join(sorted(c.value for c in limits.allowed_classes))
            problems.append(
                Diagnostic(
                    "permission-not-allowed",
                    f"{tool} is a {tool_class.value} tool; the {profile.value} profile allows "
                    f"only {allowed} tools",
                    hint="install with a less strict profile (--profile standard) if you trust "
                    "the plugin",
                )
            )
        elif (
            tool_class is ToolClass.DESTRUCTIVE
            and limits.destructive_needs_explicit_grant
            and tool not in named
        ):
            groups = [e for e in request.entries if tool in catalog.expand_permission(e)]
            problems.append(
                Diagnostic(
                    "permission-not-allowed",
                    f"{tool} can change or delete things, and the plugin asks for it only "
                    f"through the group {', '.join(groups)}; the {profile.value} profile grants "
                    "destructive tools only when a plugin names them",
                    hint=f"ask the author to list {tool} itself under `permissions:`, or "
                    "install with --profile none",
                )
            )
    if problems:
        raise PluginError(
            f"'{request.plugin}' {request.version} asks for tools the {profile.value} profile "
            f"does not allow: {problems[0].message}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            code="permission-not-allowed",
            hint=problems[0].hint,
            diagnostics=problems,
        )


def check_grant(request: PermissionRequest, grant: Iterable[str], catalog: ToolCatalog) -> None:
    """Refuse (``permission-not-granted``) when ``grant`` does not cover the request."""
    given = list(grant)
    unknown = [g for g in given if not catalog.is_permission(g)]
    if unknown:
        raise PluginError(
            f"--grant {unknown[0]!r} is not a tool or a tool group",
            code="unknown-permission",
            hint="grant tool names (km_…) or groups such as clipboard, notifications",
        )
    covered = catalog.expand_permissions(given)
    missing = [e for e in request.entries if not catalog.expand_permission(e) <= covered]
    if missing:
        raise PluginError(
            f"'{request.plugin}' {request.version} asks for {', '.join(missing)}, which the "
            "grant does not include; nothing was installed",
            code="permission-not-granted",
            hint="grant them too (--grant " + " --grant ".join(missing) + "), or do not "
            "install the plugin",
        )


def grant_from(
    entries: Iterable[GrantEntry], catalog: ToolCatalog, limits: Limits | None = None
) -> Grant:
    """The run-time grant of recorded entries (``limits``: the plugin's profile's).

    >>> grant_from([GrantEntry("km_calculator", True)], ToolCatalog.builtin()).tools
    frozenset({'km_calculator'})
    """
    return Grant.from_permissions([e.entry for e in entries], catalog, limits)
