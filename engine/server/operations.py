"""The `km_plugin_ecosystem` operations, over the plugin store.

Each handler takes the host, the checked arguments and a progress reporter, and returns
an envelope (:func:`engine.server.ecosystem.success` / ``failure``). Store work runs on
the host's worker thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from engine.diagnostics.errors import EngineError
from engine.diagnostics.suggestions import did_you_mean
from engine.plugins import inventory, lifecycle
from engine.plugins.history import run_not_kept
from engine.plugins.marketplaces import Marketplaces
from engine.server import creator, ecosystem, hints
from engine.server.arguments import ParameterError, check_api_version
from engine.server.host import ClientProgress
from engine.server.installing import configure, op_install, op_update
from engine.server.ownership import Change
from engine.server.shown import shown_source

if TYPE_CHECKING:  # the host runs these handlers: it imports this module
    from engine.server.store_host import StoreHost

Handler = Callable[
    ["StoreHost", Mapping[str, Any], ClientProgress | None], Awaitable[dict[str, Any]]
]


async def op_uninstall(
    host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
) -> dict[str, Any]:
    params = args.get("parameters") or {}
    removed, warnings = await host.change(
        lambda log: lifecycle.uninstall(
            host.store,
            str(args["plugin_identifier"]),
            remove_dependents=bool(params.get("remove_dependents")),
            may_remove=host.may(Change.REMOVE),
            events=log,
        )
    )
    return ecosystem.success("uninstall", {"removed": list(removed.removed)}, warnings=warnings)


def _toggle(enabled: bool) -> Handler:
    """`enable` or `disable`: only a plugin MCP callers installed (the user's are the
    user's to switch on or off, see :mod:`engine.server.ownership`)."""
    operation = "enable" if enabled else "disable"
    change = Change.ENABLE if enabled else Change.DISABLE

    async def handler(
        host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
    ) -> dict[str, Any]:
        identifier = str(args["plugin_identifier"])
        result, warnings = await host.change(
            lambda log: lifecycle.set_enabled(
                host.store, identifier, enabled, events=log, may_change=host.may(change)
            )
        )
        data = {"identifier": identifier, "enabled": enabled, "changed": result.changed}
        return ecosystem.success(operation, data, warnings=warnings)

    return handler


async def op_list(
    host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
) -> dict[str, Any]:
    params = args.get("parameters") or {}
    states = host.loaded.served.states
    found = await host.in_worker(
        lambda: inventory.list_plugins(
            host.store,
            plugin_type=params.get("plugin_type"),
            enabled=params.get("enabled"),
            search=params.get("search"),
            states=states,
        )
    )
    tools = {t.qualified: t.tool_name for t in host.action_tools()}
    plugins = []
    for summary in found:
        item = hints.rewrite(summary.to_dict())
        # Each action with the MCP tool that runs it (None when it is not offered as one).
        item["actions"] = [
            {"name": name, "tool": tools.get(f"{summary.identifier}/{name}")}
            for name in summary.actions
        ]
        plugins.append(item)
    return ecosystem.success("list", {"plugins": plugins})


async def op_configure(
    host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
) -> dict[str, Any]:
    identifier = str(args["plugin_identifier"])
    _, warnings = await host.change(
        lambda log: configure(host, identifier, args["plugin_config"], events=log)
    )
    described = await host.in_worker(
        lambda: inventory.describe(host.store, identifier, catalog=host.catalog())
    )
    return ecosystem.success(
        "configure",
        {"identifier": identifier, "settings": described.get("settings")},
        warnings=warnings,
    )


async def op_describe(
    host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
) -> dict[str, Any]:
    action = args.get("action_name")
    identifier = args.get("plugin_identifier")
    if action and not identifier:
        identifier, _, action = (await _qualified(host, str(action))).partition("/")
    identifier = str(identifier)

    def work() -> dict[str, Any]:
        described = inventory.describe(host.store, identifier, catalog=host.catalog())
        status = host.plugin_state(identifier).to_dict(diagnostics=True)
        # No path of this machine: the source by its name, the folder within the store.
        folder = host.store.folder(host.store.require(identifier))
        return {
            **described,
            "source": shown_source(described["source"]),
            "folder": str(folder.relative_to(host.store.root)),
            "status": hints.rewrite(status),
        }

    described = await host.in_worker(work)
    if action:
        name = str(action).rpartition("/")[2]
        matches = [a for a in described.get("actions", []) if a.get("name") == name]
        if not matches:
            raise EngineError(
                f"{identifier} has no action `{name}`",
                code="not-found",
                hint="describe the plugin to see its actions",
            )
        uses = await host.in_worker(host.action_uses, f"{identifier}/{name}")
        granted = [entry["entry"] for entry in described["permissions"]["granted"]]
        described = {
            **matches[0],
            "plugin": identifier,
            "tools": uses["tools"],
            "permissions": {"declared": uses["declared"], "granted": granted},
        }
    return ecosystem.success("describe", described)


async def op_execute(
    host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
) -> dict[str, Any]:
    name = str(args["action_name"])
    plugin = args.get("plugin_identifier")
    if "/" not in name:
        name = f"{plugin}/{name}" if plugin else await _qualified(host, name)
    return await host.execute(
        name,
        dict(args.get("parameters") or {}),
        timeout=args.get("timeout"),
        profile=args.get("security_profile"),
        progress=progress,
    )


async def _qualified(host: StoreHost, name: str) -> str:
    """``plugin/action`` for ``name`` (given so, or the only installed action of that
    name); several of that name, or none, are refused with the candidates."""
    if "/" in name:
        return name
    every = await host.in_worker(
        lambda: [
            f"{p.identifier}/{a.name}" for p in host.store.plugins() for a in host.store.actions(p)
        ]
    )
    found = [qualified for qualified in every if qualified.rpartition("/")[2] == name]
    if len(found) == 1:
        return found[0]
    if found:
        raise EngineError(
            f"{len(found)} installed actions are named `{name}`: {', '.join(found)}",
            code="ambiguous-action",
            hint=f"name the one you mean as plugin/action, e.g. `{found[0]}`",
        )
    close = did_you_mean(name, [q.rpartition("/")[2] for q in every], listing=False)
    raise EngineError(
        f"no installed action is named `{name}`",
        code="not-found",
        hint=close or "the `list` operation shows the installed actions",
    )


async def op_test(
    host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
) -> dict[str, Any]:
    identifier = str(args["plugin_identifier"])
    runtime = host.loaded.served
    wanted = args.get("action_name")
    names = [
        n
        for n in runtime.names()
        if n.partition("/")[0] == identifier
        and (not wanted or n.rpartition("/")[2] == str(wanted).rpartition("/")[2])
    ]
    if not names:
        raise EngineError(
            f"no enabled actions match {identifier}" + (f"/{wanted}" if wanted else ""),
            code="not-found",
            hint="check the name with the `list` operation",
        )
    outcomes = []
    for index, name in enumerate(names):
        if progress is not None:
            await progress(index, len(names), f"testing {name}")
        outcomes.extend(await runtime.run_tests(name))
    failed = [o for o in outcomes if not o.passed]
    data = {
        "passed": len(outcomes) - len(failed),
        "failed": len(failed),
        "tests": [o.to_dict() for o in outcomes],
    }
    if failed:
        error = EngineError(
            f"{len(failed)} of {len(outcomes)} tests failed",
            code="test-failed",
            hint=failed[0].failures[0],
        )
        envelope = ecosystem.failure("test", error)
        envelope["data"] = data
        return envelope
    return ecosystem.success("test", data)


async def op_search(
    host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
) -> dict[str, Any]:
    params = args.get("parameters") or {}
    marketplaces = Marketplaces(host.store.root)
    loaded = await host.in_worker(lambda: marketplaces.load(gate=marketplaces.gate()))
    hits = loaded.index.search(str(params.get("query", "")), plugin_type=params.get("plugin_type"))
    return ecosystem.success(
        "search",
        {"plugins": [h.to_dict() if hasattr(h, "to_dict") else str(h) for h in hits]},
        warnings=[str(p) for p in loaded.problems],
    )


async def op_stats(
    host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
) -> dict[str, Any]:
    runtime = host.loaded.served
    params = args.get("parameters") or {}
    named_plugin, _, action = str(args.get("action_name") or "").rpartition("/")
    plugin = args.get("plugin_identifier") or named_plugin or None
    which = {"plugin": plugin, "action": action or None}
    if params.get("run") is not None:
        return ecosystem.success("stats", {"run": await host.in_worker(_one_run, host, params)})
    try:
        stats = await host.in_worker(lambda: runtime.stats(since=params.get("since"), **which))
    except EngineError as error:
        if error.code != "invalid-parameter":  # only `since` is read as it goes
            raise
        raise ParameterError(error.message, hint=error.hint, path=("parameters", "since")) from None
    recent = await host.in_worker(lambda: runtime.history(params.get("recent", 50), **which))
    data: dict[str, Any] = {**stats, "recent": recent}
    if host.auto_updates is not None:
        data["auto_update"] = host.auto_updates.to_dict()
    return ecosystem.success("stats", data)


def _one_run(host: StoreHost, params: Mapping[str, Any]) -> dict[str, Any]:
    run_id = int(params["run"])
    found = host.loaded.served.runs.run(run_id)
    if found is None:
        raise run_not_kept(run_id, "the ids of the recent runs are in the answer without `run`")
    return found


async def op_validate(
    host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
) -> dict[str, Any]:
    check_api_version(args)
    return await creator.validate_only(host, args)


async def op_create(
    host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
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
    "enable": _toggle(True),
    "disable": _toggle(False),
    "validate": op_validate,
    "describe": op_describe,
    "test": op_test,
    "search": op_search,
    "update": op_update,
    "stats": op_stats,
}

__all__ = ["OPERATION_HANDLERS"]
