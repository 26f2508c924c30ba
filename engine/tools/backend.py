"""Where the tool calls of actions go: a dry run, the built-in simulator, or the Keyboard
Maestro MCP server named in ``[upstream]``. :func:`choose_backend` is the one place that
decides, for the command line (runs, and the hooks its commands set off) and for
``km-actions serve``.

>>> from engine.tools.config import Settings, UpstreamConfig
>>> choose_backend(Settings(), keep_state=False).describe()
'the built-in simulator (no Keyboard Maestro server is configured); its state is not kept'
>>> configured = Settings(upstream=UpstreamConfig(command=("km-mcp",)))
>>> choose_backend(configured).describe()
'the Keyboard Maestro MCP server at km-mcp'
>>> choose_backend(configured, dry_run=True).kind
<BackendKind.DRY_RUN: 'dry-run'>
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.paths import saved_tools_path, simulator_state_path
from engine.tools.config import Settings, UpstreamConfig
from engine.tools.saved_tools import save_tool_list

if TYPE_CHECKING:  # importing the upstream bridge imports mcp (about a second)
    from engine.tools.bridge.upstream import UpstreamBridge

logger = logging.getLogger(__name__)

NOT_CONFIGURED = "no Keyboard Maestro server is configured"
FORCED = "asked for with --simulator"


class BackendKind(enum.Enum):
    """What answers the ``km_*`` calls of a run."""

    DRY_RUN = "dry-run"
    SIMULATOR = "simulator"
    UPSTREAM = "upstream"


@dataclass(frozen=True)
class Backend:
    """The backend chosen for a command: its kind, and what it needs to be opened.

    ``config_file``: the configuration file read; ``upstream``: the server it names;
    ``state``: the simulator's state file (None: not kept); ``reason``: why the simulator.
    """

    kind: BackendKind
    config_file: Path | None = None
    upstream: UpstreamConfig | None = None
    state: Path | None = None
    reason: str = ""

    def describe(self) -> str:
        """What users are told the actions run on."""
        if self.upstream is not None:
            return f"the Keyboard Maestro MCP server at {self.upstream.describe()}"
        if self.kind is BackendKind.DRY_RUN:
            return "a dry run on the simulator (nothing is sent anywhere)"
        kept = f"its state is kept in {self.state}" if self.state else "its state is not kept"
        return f"the built-in simulator ({self.reason}); {kept}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``kind``, ``description``, and the upstream (with the
        configuration file naming it) or the simulator's state file."""
        out: dict[str, Any] = {"kind": self.kind.value, "description": self.describe()}
        if self.upstream is not None:
            out["upstream"] = self.upstream.describe()
            out["config"] = str(self.config_file) if self.config_file else None
        elif self.kind is BackendKind.SIMULATOR:
            out["state"] = str(self.state) if self.state else None
        return out

    def upstream_bridge(
        self, on_listed: Callable[[UpstreamBridge], None] | None = None
    ) -> UpstreamBridge:
        """A bridge to the ``[upstream]`` server (not connected yet). After every
        connection it makes, ``on_listed(bridge)`` runs: by default, :func:`keep_tool_list`
        saves the server's tool list for offline checks."""
        from engine.tools.bridge.upstream import UpstreamBridge

        upstream = self.upstream
        if upstream is None:
            raise ValueError(f"a {self.kind.value} backend has no upstream server")
        return UpstreamBridge(
            upstream.command,
            url=upstream.url,
            env=dict(upstream.env) if upstream.command else None,
            cwd=upstream.cwd if upstream.command else None,
            call_timeout=upstream.timeout,
            connect_timeout=upstream.connect_timeout,
            on_listed=on_listed or keep_tool_list,
        )


def choose_backend(
    settings: Settings,
    *,
    dry_run: bool = False,
    simulator: bool = False,
    state: Path | None = None,
    keep_state: bool = True,
) -> Backend:
    """The backend for ``settings``: a dry run if asked (it never contacts a server), the
    simulator if asked (``simulator``) or if no ``[upstream]`` is configured, else the
    upstream. The simulator's state is kept in ``state`` (default: the data folder's)
    unless ``keep_state`` is False."""
    if dry_run:
        return Backend(BackendKind.DRY_RUN, settings.path)
    if simulator or settings.upstream is None:
        kept = (state or simulator_state_path()) if keep_state else None
        reason = FORCED if simulator else NOT_CONFIGURED
        return Backend(BackendKind.SIMULATOR, settings.path, state=kept, reason=reason)
    return Backend(BackendKind.UPSTREAM, settings.path, upstream=settings.upstream)


def save_listed_tools(bridge: UpstreamBridge) -> Path:
    """Save the tool list ``bridge`` got when it connected; raises OSError."""
    return save_tool_list(bridge.tool_list, upstream=bridge.where, server=bridge.server_name)


def keep_tool_list(bridge: UpstreamBridge) -> None:
    """:func:`save_listed_tools`, a failure only logged (the tools are usable all the same)."""
    try:
        save_listed_tools(bridge)
    except OSError as problem:
        logger.warning("%s", unsaved(bridge, problem))


def unsaved(bridge: UpstreamBridge, problem: OSError) -> str:
    """What users are told when the tool list of ``bridge`` could not be saved."""
    return (
        f"the tool list of the {bridge.label} could not be saved for offline checks: "
        f"{problem.strerror or problem} ({problem.filename or saved_tools_path()})"
    )
