"""Plugin hooks for CLI commands: store events, and installed runs, on the command's backend.

Commands that change the store (install, update, uninstall, configure) pass a
:class:`CommandHooks` as the store's ``events`` callback. Only when an enabled plugin has
a hook on an event does it open a backend, as ``km-actions run`` would
(:func:`engine.tools.backend.choose_backend`): the ``[upstream]`` server, connected then, or the
simulator, whose state is kept in the km-actions folder. :meth:`CommandHooks.finish` says
where the hooks ran, and prints those that failed or could not run as warnings.

>>> import tempfile
>>> from pathlib import Path
>>> from engine.plugins.store import Store
>>> with Store.open(Path(tempfile.mkdtemp())) as store:
...     hooks = CommandHooks(store)
...     hooks.finish()
...     hooks.outcomes
[]
"""

from __future__ import annotations

import sys

from engine.cli._backend import CommandBackend
from engine.cli._say import HINT
from engine.diagnostics.errors import EngineError
from engine.diagnostics.words import counted
from engine.lang.limits import Profile
from engine.plugins.events import StoreEvent
from engine.plugins.hooked import StoreHooks, listens
from engine.plugins.hooks import HookedRun, HookOutcome
from engine.plugins.store import Store
from engine.tools.backend import choose_backend
from engine.tools.config import load_settings


class CommandHooks:
    """The ``events`` callback of a store command: runs the hooks of each store event on
    the command's backend, opened (and the upstream connected) at the first event that
    has hooks. ``simulator``: the simulator, whatever ``[upstream]`` says."""

    def __init__(self, store: Store, profile: str = "standard", *, simulator: bool = False) -> None:
        self.store = store
        self.limits = Profile(profile).limits
        self._simulator = simulator
        self._backend: CommandBackend | None = None
        self._hooks: StoreHooks | None = None
        self._problem: EngineError | None = None
        self.skipped: list[EngineError] = []

    @property
    def outcomes(self) -> list[HookOutcome]:
        return self._hooks.outcomes if self._hooks is not None else []

    def __call__(self, event: StoreEvent) -> None:
        if not listens(self.store, event.name):
            return
        try:
            hooks = self._open()
        except EngineError as problem:
            self.skipped.append(
                EngineError(
                    f"the hooks on `{event.name}` of '{event.plugin}' did not run: "
                    f"{problem.message}",
                    code=problem.code,
                    hint=problem.hint,
                )
            )
            return
        hooks(event)

    def _open(self) -> StoreHooks:
        if self._hooks is not None:
            return self._hooks
        if self._problem is not None:
            raise self._problem
        try:
            if self._backend is None:
                backend = choose_backend(load_settings(), simulator=self._simulator)
                self._backend = CommandBackend(backend)
            self._backend.connect()
        except EngineError as problem:
            self._problem = problem
            raise
        self._hooks = StoreHooks(self.store, bridge=self._backend.bridge, limits=self.limits)
        return self._hooks

    def finish(self) -> None:
        """Close the backend (keeping the simulator's state if hooks ran), say where the
        hooks ran, and print those that failed or did not run."""
        backend, ran = self._backend, self.outcomes
        if backend is not None:
            try:
                backend.close(save=bool(ran))
            except EngineError as problem:
                self.skipped.append(problem)
        if backend is not None and ran:
            count = counted(len(ran), "hook")
            print(f"  {count} ran on {backend.describe()}", file=sys.stderr)
        for text in self._hooks.warnings if self._hooks is not None else ():
            print(f"  warning: {text}", file=sys.stderr)
        for skipped in self.skipped:
            print(f"  warning: {skipped.message}", file=sys.stderr)
            if skipped.hint:
                print(f"{HINT}{skipped.hint}", file=sys.stderr)


def print_hook_warnings(run: HookedRun) -> None:
    """The hooks of a run that failed (they never change the run's own result)."""
    for text in run.warnings:
        print(f"warning: {text}", file=sys.stderr)
