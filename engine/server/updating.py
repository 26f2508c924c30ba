"""Automatic updates while serving: plugins with ``auto_update`` on follow their marketplaces.

``km-actions serve`` checks the marketplaces you added when it starts and then every
``[updates] interval`` seconds (``automatic = false`` turns it off), in the background,
and updates each plugin whose ``auto_update`` is on to the highest version every
installed plugin's range allows, through the one update path
(:func:`engine.plugins.updates.update`): settings kept, store events sent (their hooks
run), new tools announced. Nobody watches these updates, so each keeps the plugin's own
profile and origin, grants nothing new (:func:`~engine.plugins.updates.grant_nothing_new`),
and, for a plugin an MCP caller installed, replaces nothing the user installed (the
origin rule). A failure is a warning: logged on standard error, and kept for ``stats``
(``data.auto_update``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.diagnostics.errors import EngineError
from engine.lang.limits import Profile
from engine.plugins import updates
from engine.plugins.marketplaces import Marketplaces
from engine.plugins.origins import is_from_mcp
from engine.plugins.records import InstalledPlugin
from engine.server.installing import download_policy
from engine.server.ownership import Change
from engine.server.store_host import EventLog, StoreHost

logger = logging.getLogger("km_actions.server")
_KEPT = 20  # updates and failures remembered for `stats`


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class AutoUpdates:
    """What the automatic updates of this server did, for ``stats``."""

    enabled: bool
    interval: float
    last_check: str | None = None
    next_check: str | None = None
    updated: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "interval": self.interval,
            "last_check": self.last_check,
            "next_check": self.next_check,
            "updated": list(self.updated),
            "failed": list(self.failed),
        }

    def note(self, report: updates.UpdateReport, when: datetime) -> None:
        """Keep what one check updated and what failed (the newest last)."""
        stamp = _stamp(when)
        for result in report.updated:
            self.updated.append(
                {
                    "identifier": result.identifier,
                    "from": result.upgraded.get(result.identifier),
                    "to": result.plugin.version,
                    "at": stamp,
                }
            )
        for identifier, error in report.failed:
            self.failed.append({"identifier": identifier, "error": error.to_dict(), "at": stamp})
        del self.updated[:-_KEPT], self.failed[:-_KEPT]


def options_for(host: StoreHost, log: EventLog) -> updates.OptionsFor:
    """How each plugin is updated when nobody watches (see the module docs)."""
    download = download_policy(host)
    confirm = updates.grant_nothing_new(host.store)
    guard = host.may(Change.UPDATE)

    def options(plugin: InstalledPlugin) -> updates.Options:
        return updates.Options(
            confirm=confirm,
            profile=Profile(plugin.profile),
            events=log,
            download=download,
            catalog=host.catalog(),
            origin=plugin.origin,
            may_replace=guard if is_from_mcp(plugin.origin) else None,
        )

    return options


async def check(host: StoreHost, state: AutoUpdates) -> updates.UpdateReport | None:
    """Update what the marketplaces allow, now (see the module docs); None when no
    marketplace is added. Never raises for a failure: it is logged and kept."""

    def work(log: EventLog) -> updates.UpdateReport | None:
        marketplaces = Marketplaces(host.store.root)
        if not marketplaces.entries():
            return None
        loaded = marketplaces.load(gate=marketplaces.gate())
        for problem in loaded.problems:
            logger.warning("automatic updates: %s", problem)
        return updates.update(host.store, loaded.index, options=options_for(host, log))

    try:
        report, warnings = await host.change(work)
    except EngineError as problem:  # the store or the marketplaces could not be read
        logger.warning("automatic updates could not check the marketplaces: %s", problem)
        return None
    for warning in warnings:
        logger.warning("automatic updates: %s", warning)
    if report is not None:
        for result in report.updated:
            before = result.upgraded.get(result.identifier)
            logger.info(
                "automatic update: %s %s → %s", result.identifier, before, result.plugin.version
            )
        for identifier, failure in report.failed:
            hint = f" ({failure.hint})" if failure.hint else ""
            logger.warning("automatic update of %s failed: %s%s", identifier, failure, hint)
        state.note(report, datetime.now(UTC))
    return report


async def keep_updated(host: StoreHost, state: AutoUpdates) -> None:
    """Check at once, then every ``state.interval`` seconds, until cancelled."""
    while True:
        now = datetime.now(UTC)
        state.last_check = _stamp(now)
        state.next_check = _stamp(now + timedelta(seconds=state.interval))
        await check(host, state)
        await asyncio.sleep(state.interval)
