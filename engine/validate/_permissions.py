"""Permissions in a manifest: each entry known, each call covered, nothing beyond the
ceiling of the MCP server it is created on.

A call needs its tool's operation when it is written literally (``operation: get``); a
templated one may be any operation, so it needs the whole tool and counts as the most
dangerous one. Whether a call is covered is decided by :meth:`Grant.refusal`, the check
the guard makes at run time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.diagnostics.errors import Diagnostic, Path, Severity
from engine.lang.limits import Limits
from engine.lang.templates import is_template
from engine.load.sourcemap import Document
from engine.tools.catalog import Coverage, Need, ToolCatalog, ToolSpec
from engine.tools.grants import Grant, Reason, Refusal, class_of
from engine.validate.context import ValidationContext
from engine.validate.tree import iter_steps, value_at

# What validation holds every manifest to: any class, destructive operations by name
# (profiles narrow this at install and at run time).
_RULES = Limits()


def manifest_needs(data: Any, catalog: ToolCatalog) -> list[Need]:
    """What an action's tool steps need, in order, each once (no validation: for a
    manifest known to be valid, or to describe one).

    >>> steps = [{"tool": "km_variable_manager", "with": {"operation": "get"}},
    ...          {"tool": "km_list_macros", "with": {"limit": 5}}]
    >>> [str(n) for n in manifest_needs({"steps": steps}, ToolCatalog.builtin())]
    ['km_variable_manager:get', 'km_list_macros']
    """
    steps = data.get("steps") if isinstance(data, Mapping) else None
    out: dict[Need, None] = {}
    for step, _ in iter_steps(steps, ("steps",)):
        tool = step.get("tool")
        if not isinstance(tool, str):
            continue
        spec = catalog.get(tool)
        args = step.get("with")
        given = args if isinstance(args, Mapping) else {}
        out[spec.need(given) if spec is not None else Need(tool)] = None
    return list(out)


def call_need(tool: ToolSpec, args: Any, path: Path) -> tuple[Need, Path]:
    """What a call of ``tool`` with ``args`` at step ``path`` needs, and where that is said:
    its ``operation:`` value, or its ``tool:`` line for a tool without operations (or a
    call naming none).

    >>> spec = ToolCatalog.builtin()["km_variable_manager"]
    >>> need, at = call_need(spec, {"operation": "get"}, ("steps", 0))
    >>> str(need), at
    ('km_variable_manager:get', ('steps', 0, 'with', 'operation'))
    """
    given: Mapping[str, Any] = args if isinstance(args, Mapping) else {}
    operations = tool.operations
    if operations is not None and operations.parameter in given:
        return tool.need(given), (*path, "with", operations.parameter)
    return tool.need(given), (*path, "tool")


def check_entries(document: Document, entries: Any, catalog: ToolCatalog) -> Iterator[Diagnostic]:
    """Each entry of a ``permissions:`` list names a tool, an operation or a group."""
    if not isinstance(entries, list):
        return
    for index, entry in enumerate(entries):
        problem = catalog.permission_problem(entry) if isinstance(entry, str) else None
        if problem is not None:
            yield document.diagnostic(
                "unknown-permission", problem[0], ("permissions", index), hint=problem[1]
            )


@dataclass(frozen=True)
class Granter:
    """Whose ``permissions:`` a call must be covered by, as the messages name them:
    the action's own (``plugin_file`` None), or its plugin's, written in ``plugin_file``;
    ``own``: then, the action's own entries, which grant nothing (said when they list the
    call, since the author thinks they do)."""

    plugin_file: str | None = None
    own: tuple[str, ...] = ()

    @classmethod
    def of(cls, context: ValidationContext, own: Any) -> Granter:
        """The granter of an action (``own``: its ``permissions:``) checked in ``context``."""
        if not context.in_plugin or context.own_granted:
            return cls()
        return cls.plugin(context.plugin_file, own)

    @classmethod
    def plugin(cls, plugin_file: str, own: Any) -> Granter:
        """The plugin whose manifest is ``plugin_file``, granting an action whose
        ``permissions:`` are ``own``."""
        entries = tuple(p for p in own if isinstance(p, str)) if isinstance(own, list) else ()
        return cls(plugin_file, entries)


def granted(own: Any, context: ValidationContext) -> tuple[str, ...] | None:
    """The permissions an action's calls are granted (None: it declares none, outside a
    plugin). In a plugin, the plugin's: the guard enforces what install recorded of them,
    whatever the action lists; the action's own add to them only when they are written
    into the plugin's manifest (``own_granted``)."""
    entries = tuple(p for p in own if isinstance(p, str)) if isinstance(own, list) else ()
    if context.permissions is None:
        return entries if isinstance(own, list) else None
    if context.own_granted:
        return (*entries, *context.permissions)
    return context.permissions


def check_calls(
    document: Document,
    context: ValidationContext,
    own: Any,
    needs: Sequence[tuple[Need, Path]],
) -> Iterator[Diagnostic]:
    """Every call covered by the permissions the action is :func:`granted` (``own``: its
    ``permissions:``), destructive operations by name."""
    declared = granted(own, context)
    if declared is None:
        yield from _undeclared(document, needs)
        return
    catalog = context.catalog
    grant = Grant.from_permissions(declared, catalog)
    granter = Granter.of(context, own)
    for need, path in needs:
        refusal = grant.refusal(need, _RULES, catalog)
        if refusal is not None:
            yield permission_missing(
                document, refusal, path, catalog, granter, in_plugin=context.in_plugin
            )


def permission_missing(
    document: Document,
    refusal: Refusal,
    path: Path,
    catalog: ToolCatalog,
    granter: Granter,
    *,
    in_plugin: bool = True,
) -> Diagnostic:
    """``permission-missing`` for a call at ``path`` the permissions of ``granter`` do
    not cover (as ``refusal`` says), for validation and for certification alike.

    Declared permissions are enforced: a call outside them is refused at run time, so it
    is an error (what a run refuses, validation reports as an error). A call whose
    operation is a template is refused only when it gives an operation the permissions
    do not cover: an error in a plugin, a warning in a lone action file.
    """
    need = refusal.need
    whose = "the action's" if granter.plugin_file is None else "the plugin's"
    where = "`permissions:`" + (f" in {granter.plugin_file}" if granter.plugin_file else "")
    refused = "" if in_plugin else "; until then a run refuses the call"
    spec = catalog[need.tool]
    severity = Severity.ERROR
    if refusal.reason is Reason.NOT_GRANTED and _is_open(need, spec.operations):
        operations = spec.operations.classes if spec.operations else {}
        message = (
            f"{_open_call(document, need, path)}, so it may be any operation of "
            f"{need.tool}, and {whose} permissions do not cover them all"
        )
        hint = (
            f"write the operation itself ({', '.join(operations)}), or add {need.tool} to {where}"
        )
        if not in_plugin:
            severity = Severity.WARNING
            hint += "; a run refuses the call when the operation is one they do not cover"
    elif refusal.reason is Reason.NOT_GRANTED:
        message = f"`{need}` is used, but {whose} permissions do not include it"
        hint = f"add {need} ({_or_whole(need)}) to {where}{refused}"
    else:
        message = (
            f"`{need}` can change or delete things, so {whose} permissions must name it; "
            "a group is not enough"
        )
        hint = f"add {need} itself to {where}{refused}"
    if granter.plugin_file is not None and catalog.coverage(granter.own).covers(need):
        message += (
            f": the action's own `permissions:` list it, but an action of a plugin is granted "
            f"only what {granter.plugin_file} asks for"
        )
    return document.diagnostic("permission-missing", message, path, severity=severity, hint=hint)


def check_ceiling(
    document: Document,
    context: ValidationContext,
    own: Any,
    needs: Sequence[tuple[Need, Path]],
) -> Iterator[Diagnostic]:
    """Over MCP: nothing used or asked for beyond what the server lets its callers grant."""
    if context.ceiling is None:
        return
    catalog = context.catalog
    allowed = catalog.coverage(context.ceiling)
    ceiling = ", ".join(context.ceiling)
    for need, path in needs:
        if allowed.covers(need):
            continue
        classes = _beyond(catalog.coverage((str(need),)), allowed, catalog)
        worst = class_of(need, catalog).value
        if _is_open(need, catalog[need.tool].operations):
            call = _open_call(document, need, path)
            message = (
                f"only the user can grant {worst} operations, and {call}, so it may be any "
                f"operation of {need.tool}, {_listed(classes)} included: beyond what MCP "
                f"callers may grant on this server ({ceiling})"
            )
            hint = "write the operation itself, one this server lets MCP callers grant"
        else:
            message = (
                f"only the user can grant {worst} operations: `{need}` is beyond what MCP "
                f"callers may grant on this server ({ceiling})"
            )
            hint = (
                "leave the call out, or ask the user to install the action with "
                "`km-actions install`"
            )
        yield document.diagnostic("permission-not-allowed", message, path, hint=hint)
    if isinstance(own, list):
        yield from _entries_beyond(document, context, own, needs, allowed)


def _entries_beyond(
    document: Document,
    context: ValidationContext,
    own: list[Any],
    needs: Sequence[tuple[Need, Path]],
    allowed: Coverage,
) -> Iterator[Diagnostic]:
    catalog = context.catalog
    ceiling = ", ".join(context.ceiling or ())
    for index, entry in enumerate(own):
        if not isinstance(entry, str) or catalog.permission_problem(entry) is not None:
            continue
        asked = catalog.coverage((entry,))
        beyond = _beyond(asked, allowed, catalog)
        if not beyond:
            continue
        # What the action's calls need of this entry and the ceiling allows.
        used = sorted({str(n) for n, _ in needs if asked.covers(n) and allowed.covers(n)})
        parts = asked.needs(catalog)
        what = (
            f"`{entry}` ({class_of(parts[0], catalog).value}) is beyond"
            if [str(n) for n in parts] == [entry]
            else f"`{entry}` asks for {_listed(beyond)}, beyond"
        )
        yield document.diagnostic(
            "permission-not-allowed",
            f"{what} what MCP callers may grant on this server ({ceiling}): only the user can "
            + ("grant them" if len(beyond) > 1 else "grant it"),
            ("permissions", index),
            hint=f"ask only for what the action uses: {', '.join(used)}"
            if used
            else "leave out the calls that need it and remove it here, or ask the user to "
            "install the action with `km-actions install`",
        )


def _undeclared(document: Document, needs: Sequence[tuple[Need, Path]]) -> Iterator[Diagnostic]:
    if not needs:
        return
    names = list(dict.fromkeys(str(n) for n, _ in needs))
    yield document.diagnostic(
        "permission-missing",
        f"the action declares no permissions, but uses {', '.join(names)}",
        ("name",) if "name" in (document.data or {}) else (),
        at_key=True,
        severity=Severity.WARNING,
        hint=f"add `permissions: [{', '.join(names)}]`, so whoever installs it sees what it may do",
    )


def _beyond(asked: Coverage, allowed: Coverage, catalog: ToolCatalog) -> list[str]:
    """What ``asked`` covers and ``allowed`` does not, each with its class."""
    return [
        f"{n} ({class_of(n, catalog).value})" for n in asked.needs(catalog) if not allowed.covers(n)
    ]


def _listed(items: Iterable[str]) -> str:
    return ", ".join(items)


def _is_open(need: Need, operations: Any) -> bool:
    """A call of a tool with operations that names none the catalog knows."""
    return need.operation is None and operations is not None


def _open_call(document: Document, need: Need, path: Path) -> str:
    if path[-1] == "tool":
        return f"this {need.tool} call names no operation"
    value = value_at(document.data, path)
    if isinstance(value, str) and is_template(value):
        return f"the operation of this {need.tool} call is a template"
    return f"`{value}` is not an operation of {need.tool} km-actions knows"


def _or_whole(need: Need) -> str:
    return f"or {need.tool}" if need.operation is not None else "or its group"
