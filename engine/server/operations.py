"""The `km_plugin_ecosystem` operations, over the plugin store.

Each handler takes the host, the checked arguments and a progress reporter, and returns
an envelope (:func:`engine.server.ecosystem.success` / ``failure``). Store work runs on
the host's worker thread.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from engine.errors import EngineError
from engine.limits import Profile
from engine.plugins import inventory, lifecycle, updates
from engine.plugins.download import DownloadPolicy, download_to
from engine.plugins.installer import InstallResult, install
from engine.plugins.marketplaces import Marketplaces
from engine.plugins.permissions import PermissionRequest
from engine.server import creator, ecosystem
from engine.server.host import Progress
from engine.server.store_host import StoreHost
from engine.validate import SUPPORTED_API_VERSIONS

Handler = Callable[[StoreHost, Mapping[str, Any], Progress | None], Awaitable[dict[str, Any]]]
_MAX_DOWNLOAD = 50 * 1024 * 1024


def check_api_version(args: Mapping[str, Any]) -> None:
    """Refuse an ``api_version`` this km-actions does not read."""
    wanted = args.get("api_version")
    if wanted is not None and wanted not in SUPPORTED_API_VERSIONS:
        raise EngineError(
            f"this km-actions reads api_version {', '.join(SUPPORTED_API_VERSIONS)}, not "
            f"{wanted!r}", code="unsupported-api-version",
            hint="write the manifest for api_version \"1.0\", or upgrade km-actions",
        )


def ceiling_check(host: StoreHost) -> Callable[[PermissionRequest], bool]:
    """The install `confirm` of MCP callers: only what the server's ceiling allows."""
    return host.ceiling_confirm()


def install_result(result: InstallResult) -> dict[str, Any]:
    plugin = result.plugin
    return {
        "identifier": result.identifier,
        "version": plugin.version,
        "unchanged": result.unchanged,
        "installed": [f"{p.identifier}@{p.version}" for p in result.installed],
        "upgraded": dict(result.upgraded),
        "dropped_settings": {plugin: [{"name": d.name, "reason": d.reason} for d in dropped]
                             for plugin, dropped in result.dropped_settings.items()},
        "needs_configuration": {k: list(v) for k, v in result.needs_configuration.items()},
    }


def thread_progress(progress: Progress | None, what: str) -> Any:
    """A synchronous ``(done, total)`` callback for work on the store's thread that
    reports to the MCP client from the event loop."""
    if progress is None:
        return None
    loop = asyncio.get_running_loop()

    def report(done: int, total: int | None) -> None:
        asyncio.run_coroutine_threadsafe(progress(done, total, what), loop)

    return report


async def op_install(host: StoreHost, args: Mapping[str, Any], progress: Progress | None
                     ) -> dict[str, Any]:
    check_api_version(args)
    source = str(args["plugin_source"])
    profile = host.profile(args.get("security_profile"))
    confirm = ceiling_check(host)
    report = thread_progress(progress, "checking the plugin's actions")

    def work() -> InstallResult:
        with tempfile.TemporaryDirectory() as scratch:
            if source.startswith(("http://", "https://")):
                target = Path(scratch) / "download"
                with target.open("wb") as out:
                    download_to(source, out, DownloadPolicy(), limit=_MAX_DOWNLOAD,
                                what="the plugin archive")
                return install(host.store, target, confirm=confirm, profile=profile,
                               auto_update=args.get("auto_update"), catalog=host.catalog(),
                               progress=report)
            if Path(source).exists() or not updates.looks_like_request(source):
                return install(host.store, source, confirm=confirm, profile=profile,
                               auto_update=args.get("auto_update"), catalog=host.catalog(),
                               progress=report)
            index = Marketplaces(host.store.root).load().index
            options = updates.Options(confirm=confirm, profile=profile, catalog=host.catalog(),
                                      progress=report)
            return updates.install_request(host.store, index, source,
                                           auto_update=args.get("auto_update"),
                                           options=options)

    result = await host.in_worker(work)
    if args.get("plugin_config"):
        await host.in_worker(lifecycle.configure, host.store, result.identifier,
                             dict(args["plugin_config"]))
    await host.reload()
    return ecosystem.success("install", install_result(result),
                             warnings=[d.to_dict() for d in result.warnings])


async def op_uninstall(host: StoreHost, args: Mapping[str, Any], progress: Progress | None
                       ) -> dict[str, Any]:
    params = args.get("parameters") or {}
    removed = await host.in_worker(
        lambda: lifecycle.uninstall(host.store, str(args["plugin_identifier"]),
                                    remove_dependents=bool(params.get("remove_dependents"))))
    await host.reload()
    return ecosystem.success("uninstall", {"removed": list(getattr(removed, "removed", []))})


async def op_list(host: StoreHost, args: Mapping[str, Any], progress: Progress | None
                  ) -> dict[str, Any]:
    params = args.get("parameters") or {}
    found = await host.in_worker(lambda: inventory.list_plugins(
        host.store, plugin_type=params.get("plugin_type"), enabled=params.get("enabled"),
        search=params.get("search")))
    tools = {t.qualified: t.tool_name for t in host.action_tools()}
    plugins = []
    for summary in found:
        item = summary.to_dict()
        for action in item.get("actions", []):
            if isinstance(action, dict):
                action["tool"] = tools.get(f"{item['identifier']}/{action.get('name')}")
        plugins.append(item)
    return ecosystem.success("list", {"plugins": plugins})


async def op_configure(host: StoreHost, args: Mapping[str, Any], progress: Progress | None
                       ) -> dict[str, Any]:
    identifier = str(args["plugin_identifier"])
    await host.in_worker(lifecycle.configure, host.store, identifier,
                         dict(args["plugin_config"]))
    await host.reload(notify=False)
    described = await host.in_worker(
        lambda: inventory.describe(host.store, identifier, catalog=host.catalog()))
    return ecosystem.success("configure", {"identifier": identifier,
                                           "settings": described.get("settings")})


async def op_describe(host: StoreHost, args: Mapping[str, Any], progress: Progress | None
                      ) -> dict[str, Any]:
    identifier = str(args["plugin_identifier"])
    described = await host.in_worker(
        lambda: inventory.describe(host.store, identifier, catalog=host.catalog()))
    action = args.get("action_name")
    if action:
        name = str(action).rpartition("/")[2]
        matches = [a for a in described.get("actions", []) if a.get("name") == name]
        if not matches:
            raise EngineError(f"{identifier} has no action `{name}`", code="not_found",
                              hint="describe the plugin to see its actions")
        described = {**matches[0], "plugin": identifier}
    return ecosystem.success("describe", described)


async def op_execute(host: StoreHost, args: Mapping[str, Any], progress: Progress | None
                     ) -> dict[str, Any]:
    name = str(args["action_name"])
    if "/" not in name:
        plugin = args.get("plugin_identifier")
        if not plugin:
            raise EngineError(f"`{name}` needs its plugin", code="invalid-parameter",
                              hint="write plugin/action, or pass plugin_identifier")
        name = f"{plugin}/{name}"
    return await host.execute(name, dict(args.get("parameters") or {}),
                              timeout=args.get("timeout"),
                              profile=args.get("security_profile"), progress=progress)


async def op_test(host: StoreHost, args: Mapping[str, Any], progress: Progress | None
                  ) -> dict[str, Any]:
    identifier = str(args["plugin_identifier"])
    runtime = host.loaded.runtime
    wanted = args.get("action_name")
    names = [n for n in runtime.names() if n.partition("/")[0] == identifier
             and (not wanted or n.rpartition("/")[2] == str(wanted).rpartition("/")[2])]
    if not names:
        raise EngineError(f"no enabled actions match {identifier}"
                          + (f"/{wanted}" if wanted else ""), code="not_found",
                          hint="check the name with the `list` operation")
    outcomes = []
    for index, name in enumerate(names):
        if progress is not None:
            await progress(index, len(names), f"testing {name}")
        outcomes.extend(await runtime.run_tests(name))
    failed = [o for o in outcomes if not o.passed]
    data = {"passed": len(outcomes) - len(failed), "failed": len(failed),
            "tests": [o.to_dict() for o in outcomes]}
    if failed:
        error = EngineError(f"{len(failed)} of {len(outcomes)} tests failed",
                            code="tests-failed", hint=failed[0].failures[0])
        envelope = ecosystem.failure("test", error)
        envelope["data"] = data
        return envelope
    return ecosystem.success("test", data)


async def op_search(host: StoreHost, args: Mapping[str, Any], progress: Progress | None
                    ) -> dict[str, Any]:
    params = args.get("parameters") or {}
    loaded = await host.in_worker(lambda: Marketplaces(host.store.root).load())
    hits = loaded.index.search(str(params.get("query", "")),
                               plugin_type=params.get("plugin_type"))
    return ecosystem.success("search", {"plugins": [h.to_dict() if hasattr(h, "to_dict")
                                                    else str(h) for h in hits]},
                             warnings=[str(p) for p in loaded.problems])


async def op_update(host: StoreHost, args: Mapping[str, Any], progress: Progress | None
                    ) -> dict[str, Any]:
    profile = host.profile(args.get("security_profile"))
    identifier = args.get("plugin_identifier")

    def work() -> Any:
        if identifier and "auto_update" in args:
            updates.set_auto_update(host.store, str(identifier), bool(args["auto_update"]))
        index = Marketplaces(host.store.root).load().index
        options = updates.Options(confirm=ceiling_check(host), profile=profile,
                                  catalog=host.catalog())
        return updates.update(host.store, index, identifier, options=options)

    report = await host.in_worker(work)
    await host.reload()
    return ecosystem.success("update", report.to_dict())


async def op_stats(host: StoreHost, args: Mapping[str, Any], progress: Progress | None
                   ) -> dict[str, Any]:
    runtime = host.loaded.runtime
    plugin = args.get("plugin_identifier")
    action = args.get("action_name")
    stats = await host.in_worker(runtime.stats)
    history = await host.in_worker(runtime.history, 50)

    def keep(entry: Mapping[str, Any]) -> bool:
        name = str(entry.get("action", ""))
        if plugin and not name.startswith(f"{plugin}/") and entry.get("plugin") != plugin:
            return False
        return not action or name.endswith(f"/{str(action).rpartition('/')[2]}")

    return ecosystem.success("stats", {"actions": [s for s in stats if keep(s)],
                                       "recent": [h for h in history if keep(h)]})


async def op_validate(host: StoreHost, args: Mapping[str, Any], progress: Progress | None
                      ) -> dict[str, Any]:
    check_api_version(args)
    return creator.validate_only(host, args)


async def op_create(host: StoreHost, args: Mapping[str, Any], progress: Progress | None
                    ) -> dict[str, Any]:
    check_api_version(args)
    return await creator.create(host, args, progress)


OPERATION_HANDLERS: dict[str, Handler] = {
    "install": op_install,
    "uninstall": op_uninstall,
    "list": op_list,
    "create": op_create,
    "execute": op_execute,
    "configure": op_configure,
    "validate": op_validate,
    "describe": op_describe,
    "test": op_test,
    "search": op_search,
    "update": op_update,
    "stats": op_stats,
}

__all__ = ["OPERATION_HANDLERS", "Profile"]
