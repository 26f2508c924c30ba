"""What a plugin asks to call, what the security profile allows, and what the user grants.

At install, a plugin's ``permissions`` (tools, ``tool:operation`` entries and groups) are
checked against the chosen security profile, then against the grant the user gives (the
CLI shows them and asks, or ``--yes``/``--grant``). The accepted entries are recorded; at
run time the bridge refuses every call outside them. Classes are those of operations:
asking for ``km_variable_manager`` asks for its destructive ``delete`` too, asking for
``km_variable_manager:get`` only for a read-only operation.

=========  ==========================================================================
profile    what may be granted
=========  ==========================================================================
none       anything
standard   destructive operations only when the plugin names them (the tool or the
           ``tool:operation``), not through a group
strict     no destructive operations at all
sandbox    read-only operations only
=========  ==========================================================================

>>> catalog = ToolCatalog.builtin()
>>> request = PermissionRequest.of("demo", "1.0.0", ["calculator", "notifications"], catalog)
>>> check_profile(request, Profile.SANDBOX, catalog)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
engine.diagnostics.errors.PluginError: 'demo' 1.0.0 asks for tools the sandbox profile ...
>>> check_profile(request, Profile.STANDARD, catalog)  # allowed: nothing raised
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.diagnostics.errors import Diagnostic, PluginError
from engine.lang.limits import Limits, Profile
from engine.load.sourcemap import Document
from engine.plugins.records import GrantEntry
from engine.tools.catalog import Coverage, Need, ToolCatalog, ToolClass
from engine.tools.grants import Grant, Reason, Refusal, allowed_classes, class_of
from engine.validate import limit_problems


def _is_tool(entry: str, catalog: ToolCatalog) -> bool:
    return entry in catalog or entry.startswith("km_")


@dataclass(frozen=True)
class PermissionRequest:
    """The permissions one plugin version asks for, with every operation they cover
    and its class (``needs``).

    ``added`` are the entries an upgrade asks for beyond the grant already given.
    """

    plugin: str
    version: str
    entries: tuple[str, ...]
    needs: tuple[tuple[Need, ToolClass], ...]
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
        needs = tuple((n, class_of(n, catalog)) for n in catalog.coverage(items).needs(catalog))
        added: tuple[str, ...] = ()
        if granted is not None:
            before = catalog.coverage(tuple(granted))
            added = tuple(e for e in items if not within(catalog.coverage((e,)), before, catalog))
        return cls(plugin, version, items, needs, added)

    def describe(self, catalog: ToolCatalog) -> list[str]:
        """One line per entry, in the order of ``entries``, for people.

        >>> c = ToolCatalog.builtin()
        >>> PermissionRequest.of("d", "1.0.0", ["km_list_macros"], c).describe(c)
        ['km_list_macros (read-only)']
        >>> PermissionRequest.of("d", "1.0.0", ["variables", "km_engine_control:status"],
        ...                      c).describe(c)  # doctest: +NORMALIZE_WHITESPACE
        ['variables: km_variable_manager (get: read-only, set: write, delete: destructive,
          list: read-only)', 'km_engine_control:status (read-only)']
        """
        lines = []
        for entry in self.entries:
            shown = show_coverage(catalog.coverage((entry,)), catalog)
            named = entry not in catalog.groups
            lines.append(shown if named else f"{entry}: {shown}")
        return lines

    def grant_entries(self, catalog: ToolCatalog) -> tuple[GrantEntry, ...]:
        """What is recorded when the request is accepted."""
        return tuple(GrantEntry(e, _is_tool(e, catalog)) for e in self.entries)


def show_coverage(coverage: Coverage, catalog: ToolCatalog) -> str:
    """``km_list_macros (read-only), km_variable_manager:get (read-only)``: what a coverage
    allows, tool by tool, each with its class or its operations' classes."""
    parts = []
    for tool in sorted(coverage.tools):
        spec = catalog.get(tool)
        if spec is not None and spec.operations is not None:
            classes = spec.operations.classes.items()
            parts.append(f"{tool} (" + ", ".join(f"{op}: {c.value}" for op, c in classes) + ")")
        else:
            parts.append(f"{tool} ({class_of(Need(tool), catalog).value})")
    for tool, operation in sorted(coverage.operations):
        need = Need(tool, operation)
        parts.append(f"{need} ({class_of(need, catalog).value})")
    return ", ".join(parts)


def within(asked: Coverage, given: Coverage, catalog: ToolCatalog) -> bool:
    """True if every operation ``asked`` covers, ``given`` covers too."""
    return all(given.covers(need) for need in asked.needs(catalog))


def check_profile(request: PermissionRequest, profile: Profile, catalog: ToolCatalog) -> None:
    """Refuse (``permission-not-allowed``) what ``profile`` does not let anyone grant."""
    grant = Grant.from_permissions(request.entries, catalog)
    problems = []
    for need, _ in request.needs:
        refusal = grant.refusal(need, profile.limits, catalog)
        if refusal is not None:
            problems.append(_profile_problem(refusal, request, profile, catalog))
    if problems:
        raise PluginError(
            f"'{request.plugin}' {request.version} asks for tools the {profile.value} profile "
            f"does not allow: {problems[0].message}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            code="permission-not-allowed",
            hint=problems[0].hint,
            diagnostics=problems,
        )


def _profile_problem(
    refusal: Refusal, request: PermissionRequest, profile: Profile, catalog: ToolCatalog
) -> Diagnostic:
    need = refusal.need
    if refusal.reason is Reason.CLASS:
        narrower = (
            "ask the author to name only the operations its actions use (tool:operation), or "
            if need.operation is not None and str(need) not in request.entries
            else ""
        )
        return Diagnostic(
            "permission-not-allowed",
            f"{refusal.what}; the {profile.value} profile allows only "
            f"{allowed_classes(profile.limits)} tools and operations",
            hint=f"{narrower}install with a less strict profile (--profile standard) if you "
            "trust the plugin",
        )
    groups = [e for e in request.entries if e in catalog.groups and catalog.groups[e].covers(need)]
    return Diagnostic(
        "permission-not-allowed",
        f"{need} can change or delete things, and the plugin asks for it only through the "
        f"group {', '.join(groups)}; the {profile.value} profile grants destructive "
        "operations only when a plugin names them",
        hint=f"ask the author to list {need} itself under `permissions:`, or install with "
        "--profile none",
    )


def check_limits(plugin: str, version: str, document: Document, profile: Profile) -> None:
    """Refuse (``limit-too-loose``) a plugin manifest whose ``resource_limits`` are looser
    than ``profile``'s: they may only tighten it (see :func:`engine.lang.limits.tightened`)."""
    problems = limit_problems(document, profile)
    if problems:
        raise PluginError(
            f"'{plugin}' {version} asks for limits the {profile.value} profile does not "
            f"allow: {problems[0].location}: {problems[0].message}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            code="limit-too-loose",
            hint=problems[0].hint,
            diagnostics=problems,
        )


def check_grant(request: PermissionRequest, grant: Iterable[str], catalog: ToolCatalog) -> None:
    """Refuse (``permission-not-granted``) when ``grant`` does not cover the request."""
    given = list(grant)
    for entry in given:
        problem = catalog.permission_problem(entry)
        if problem is not None:
            raise PluginError(
                f"--grant {entry!r}: {problem[0]}",
                code="unknown-permission",
                hint=problem[1],
            )
    covered = catalog.coverage(given)
    missing = [e for e in request.entries if not within(catalog.coverage((e,)), covered, catalog)]
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

    >>> grant_from([GrantEntry("km_list_macros", True)], ToolCatalog.builtin()).covered.tools
    frozenset({'km_list_macros'})
    """
    return Grant.from_permissions([e.entry for e in entries], catalog, limits)
