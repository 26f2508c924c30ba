"""The backend a command's actions run on, for the length of the command.

:func:`engine.tools.backend.choose_backend` decides (a dry run, the simulator, or the server of
``[upstream]``); a :class:`CommandBackend` opens it, connects to the upstream when asked
(on a loop of its own, so that every ``asyncio.run`` of the command shares one
connection), says which backend it is, and closes it: the simulator's state saved, the
upstream disconnected.

>>> from engine.tools.backend import Backend, BackendKind
>>> with CommandBackend(Backend(BackendKind.DRY_RUN)) as backend:
...     backend.connect()  # nothing to connect to
...     backend.describe()
'a dry run on the simulator (nothing is sent anywhere)'
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from engine.diagnostics.errors import BridgeError
from engine.simulator import Simulator, SimulatorStateWarning
from engine.simulator.dryrun import DryRunBridge
from engine.tools.backend import Backend, BackendKind, save_listed_tools, unsaved
from engine.tools.bridge import ToolBridge
from engine.tools.bridge.threaded import ThreadedBridge
from engine.tools.catalog import ToolCatalog
from engine.tools.saved_tools import ORIGIN

if TYPE_CHECKING:  # importing the upstream bridge imports mcp (about a second)
    from engine.tools.bridge.upstream import UpstreamBridge


def add_simulator_option(parser: argparse.ArgumentParser, what: str = "run") -> None:
    """``--simulator``: ``what`` (a verb phrase) uses the simulator whatever ``[upstream]``
    says."""
    parser.add_argument(
        "--simulator",
        action="store_true",
        help=f"{what} on the built-in simulator, even if a Keyboard Maestro server is "
        "configured under [upstream]",
    )


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config FILE``: the configuration file a command reads."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: config.toml in the data folder, or KM_ACTIONS_CONFIG)",
    )


def open_simulator(state: Path | None) -> Simulator:
    """The simulator CLI commands run on; a corrupt state file (moved aside, the simulator
    starting afresh) is one ``warning:`` line, not a Python warning. A state file it cannot
    read raises :class:`~engine.simulator.SimulatorStateError` (an ``EngineError``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SimulatorStateWarning)
        simulator = Simulator(state_path=state)
    for warning in caught:
        if issubclass(warning.category, SimulatorStateWarning):
            print(f"warning: {warning.message}", file=sys.stderr)
        else:  # not ours to turn into text: pass it on as it came
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return simulator


class CommandBackend:
    """``backend`` opened: :attr:`bridge` is what runs call (a dry run's bridge over
    ``catalog``, the simulator, or the upstream, connected by :meth:`connect`). ``instead``:
    what the hint of a failed connection offers besides fixing ``[upstream]``."""

    def __init__(
        self,
        backend: Backend,
        *,
        catalog: ToolCatalog | None = None,
        instead: str | None = "run with --simulator",
    ) -> None:
        self.backend = backend
        self._instead = instead
        self.simulator: Simulator | None = None
        self._upstream: ThreadedBridge | None = None
        self._started = self._closed = False
        self._failure: BridgeError | None = None
        self.unsaved: str | None = None
        self.bridge: ToolBridge
        if backend.kind is BackendKind.DRY_RUN:
            self.bridge = DryRunBridge(catalog)
        elif backend.kind is BackendKind.SIMULATOR:
            self.bridge = self.simulator = open_simulator(backend.state)
        else:
            upstream = backend.upstream_bridge(on_listed=self._keep_tool_list)
            self.bridge = self._upstream = ThreadedBridge(upstream)

    @property
    def is_upstream(self) -> bool:
        return self._upstream is not None

    def connect(self) -> None:
        """Connect to the upstream server, if that is the backend and it is not connected
        yet. Raises :class:`BridgeError` saying what failed, where, and what to do (the
        same error again after a failed attempt: a command waits for a server once)."""
        if self._upstream is None or self._started:
            return
        if self._failure is not None:
            raise self._failure
        try:
            self._upstream.start()
        except BridgeError as problem:
            self._failure = BridgeError(problem.message, hint=self._hint(problem.hint))
            raise self._failure from None
        self._started = True

    def catalog(self) -> ToolCatalog:
        """The tools runs compile against: those of the backend (the upstream's once
        connected)."""
        return self.bridge.catalog()

    def describe(self) -> str:
        """``the Keyboard Maestro MCP server at …`` (as it named itself once connected),
        ``the built-in simulator (…); its state is kept in …``, or the dry run."""
        if self._upstream is not None and self._started:
            return f"the {self._upstream.label}"
        described = self.backend.describe()
        if self.backend.kind is BackendKind.DRY_RUN and self.bridge.catalog().origin == ORIGIN:
            return f"{described}, with the tools of {self.bridge.catalog().where}"
        return described

    def to_dict(self) -> dict[str, Any]:
        return {**self.backend.to_dict(), "description": self.describe()}

    def close(self, *, save: bool = True) -> None:
        """Disconnect from the upstream; with ``save``, keep the simulator's state (if it
        has a state file). Only the first call does anything. Raises
        :class:`~engine.simulator.SimulatorStateError` when the state cannot be saved."""
        if self._closed:
            return
        self._closed = True
        if self._upstream is not None:
            self._upstream.close()
        if save and self.simulator is not None and self.simulator.state_path is not None:
            self.simulator.save()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close(save=False)  # a command that got here normally has closed it itself

    def _keep_tool_list(self, bridge: UpstreamBridge) -> None:
        try:
            save_listed_tools(bridge)
        except OSError as problem:
            self.unsaved = unsaved(bridge, problem)
            print(f"warning: {self.unsaved}", file=sys.stderr)
        else:
            self.unsaved = None

    def _hint(self, hint: str | None) -> str:
        where = self.backend.config_file or "the configuration file"
        fix = f"the server is set under [upstream] in {where}"
        if self._instead:
            fix += f" (or {self._instead})"
        return f"{hint}; {fix}" if hint else fix
