"""What a runtime checks of an installed plugin beyond its files: that its manifests still
validate against the tools in use, and that the plugins it needs are served.

A version is validated in full when it is installed, against the tools of that moment.
They can change afterwards: another Keyboard Maestro server is connected, the server is
upgraded, the saved tool list is refreshed, km-actions itself is upgraded (its rules may
be stricter). So a runtime validates a version again whenever its catalog (with the
km-actions version: :func:`check_key`) is one the version has not passed yet, and
remembers each catalog it passed in a small file beside its manifest cache
(``cache/<digest>.checked``): a server starts as fast as before once it has seen its
tools. The memo only saves time: a missing or damaged one means checking again.

>>> import tempfile
>>> from pathlib import Path
>>> from engine.plugins.layout import Layout
>>> layout = Layout(Path(tempfile.mkdtemp()))
>>> layout.cache_dir.mkdir()
>>> digest, key = "ab" * 32, check_key(ToolCatalog.builtin())
>>> before = was_checked(layout, digest, key)
>>> remember(layout, digest, key)
>>> before, was_checked(layout, digest, key)
(False, True)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping

from engine import __version__
from engine.diagnostics.errors import Diagnostic, PluginError, sort_diagnostics
from engine.load.ranges import dependency_range, parse_version
from engine.load.sourcemap import Document
from engine.plugins.layout import Layout
from engine.plugins.records import InstalledPlugin
from engine.plugins.status import PluginState, PluginStatus
from engine.tools.catalog import ToolCatalog
from engine.validate import ActionSignature, ValidationContext, validate

_KEEP = 8  # catalogs remembered per version (a server's, the saved list's, the shipped one…)


def check_key(catalog: ToolCatalog) -> str:
    """What a version is checked against: the tools (their fingerprint) and the rules
    (this km-actions)."""
    text = f"{__version__}\n{catalog.fingerprint}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _keys(layout: Layout, digest: str) -> list[str]:
    try:
        return layout.checked_file(digest).read_text("ascii").split()
    except (OSError, UnicodeDecodeError):
        return []


def was_checked(layout: Layout, digest: str, key: str) -> bool:
    """True when the version ``digest`` passed validation against ``key``."""
    return key in _keys(layout, digest)


def remember(layout: Layout, digest: str, key: str) -> None:
    """Note that the version ``digest`` passed validation against ``key`` (best effort:
    a memo that cannot be written means checking again next time)."""
    known = _keys(layout, digest)
    if key in known:
        return
    path = layout.checked_file(digest)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        partial.write_text("\n".join([*known[-(_KEEP - 1) :], key]) + "\n", "ascii")
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)


def forget(layout: Layout, digest: str) -> None:
    """Remove the memo of a version whose files are gone."""
    layout.checked_file(digest).unlink(missing_ok=True)


#: What a load does not refuse a whole installed plugin for: a call its grant lacks (an
#: action installed before km-actions checked plugin.yaml's grant against it) fails when
#: it is made, with the fix in the hint, and the plugin's other actions keep working.
_REFUSED_WHEN_CALLED = frozenset({"permission-missing"})


def check_tools(
    layout: Layout,
    plugin: InstalledPlugin,
    documents: Mapping[str, Document],
    catalog: ToolCatalog,
    installed: Callable[[], Mapping[str, ActionSignature]],
) -> None:
    """Validate a version's manifests again, unless they passed with these tools and this
    km-actions before; ``plugin-incompatible`` with every diagnostic when they do not
    pass. ``installed``: every installed action's signature, by ``plugin/action``."""
    key = check_key(catalog)
    if was_checked(layout, plugin.digest, key):
        return
    signatures = dict(installed())
    signatures.update({s.name: s for s in installed().values() if s.plugin == plugin.identifier})
    context = ValidationContext(
        catalog=catalog,
        actions=signatures,
        plugin=plugin.identifier,
        permissions=plugin.permissions,
        config_schema=plugin.configuration_schema,
    )
    errors = [
        d
        for doc in documents.values()
        for d in validate(doc, context)
        if d.is_error and d.code not in _REFUSED_WHEN_CALLED
    ]
    if errors:
        raise incompatible(plugin, catalog, errors)
    remember(layout, plugin.digest, key)


def incompatible(
    plugin: InstalledPlugin, catalog: ToolCatalog, errors: list[Diagnostic]
) -> PluginError:
    """The error of a version whose manifests no longer validate (every problem kept)."""
    ordered = sort_diagnostics(errors)
    first = ordered[0]
    more = f" (and {len(ordered) - 1} more)" if len(ordered) > 1 else ""
    ident = plugin.identifier
    return PluginError(
        f"'{ident}' {plugin.version} cannot be served: its actions do not validate against "
        f"the tools of {catalog.where}: {first}{more}",
        code="plugin-incompatible",
        hint=f"update it (`km-actions update {ident}`) or install a version written for these "
        f"tools, or use the Keyboard Maestro server it was written for; `km-actions describe "
        f"{ident}` lists every problem",
        diagnostics=ordered,
    )


def unserved_dependency(
    plugin: InstalledPlugin,
    installed: Mapping[str, InstalledPlugin],
    states: Mapping[str, PluginState],
) -> PluginError | None:
    """Why ``plugin`` cannot be served for want of one of its dependencies (the first,
    by name), or None when every one is served."""
    for dependency, wanted in sorted(plugin.dependencies.items()):
        problem = dependency_problem(
            plugin, dependency, wanted, installed.get(dependency), states.get(dependency)
        )
        if problem is not None:
            return problem
    return None


def dependency_problem(
    plugin: InstalledPlugin,
    dependency: str,
    wanted: str,
    found: InstalledPlugin | None,
    state: PluginState | None,
) -> PluginError | None:
    """Why ``plugin`` cannot be served for want of ``dependency`` (range ``wanted``):
    not installed, a version outside the range, disabled, or not served itself."""
    ident = f"'{plugin.identifier}' {plugin.version}"
    if found is None:
        return PluginError(
            f"{ident} needs '{dependency}' {wanted}, which is not installed",
            code="dependency-missing",
            hint=f"install it (`km-actions install {dependency}`), or uninstall "
            f"'{plugin.identifier}'",
        )
    if not dependency_range(wanted, plugin.api_version).contains(
        parse_version(found.version), prereleases=True
    ):
        return PluginError(
            f"{ident} needs '{dependency}' {wanted}, and {found.version} is installed",
            code="dependency-conflict",
            hint=f"install a version of '{dependency}' it accepts, or update "
            f"'{plugin.identifier}' (`km-actions update {plugin.identifier}`)",
        )
    if state is None:
        return None
    if state.status is PluginStatus.DISABLED:
        return PluginError(
            f"{ident} needs '{dependency}', which is disabled",
            code="dependency-unserved",
            hint=f"enable it with `km-actions enable {dependency}`",
        )
    if state.error is not None:
        return PluginError(
            f"{ident} needs '{dependency}', which cannot be served: {state.error.message}",
            code="dependency-unserved",
            hint=f"set '{dependency}' right first: {state.error.hint or state.error.first.hint}",
        )
    return None


def settling_order(plugins: Mapping[str, InstalledPlugin]) -> list[str]:
    """Every plugin after the plugins it needs (the order to activate them in; a cycle
    is cut where it closes).

    >>> from types import SimpleNamespace as P
    >>> settling_order({"app": P(dependencies={"lib": "*"}), "lib": P(dependencies={})})
    ['lib', 'app']
    """
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in plugins:
            return
        seen.add(name)
        for dependency in sorted(plugins[name].dependencies):
            visit(dependency)
        order.append(name)

    for name in plugins:
        visit(name)
    return order
