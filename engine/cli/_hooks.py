"""Plugin hooks for CLI commands: store events and installed runs, on the simulator.

Commands that change the store (install, update, uninstall, configure) pass a
:class:`~engine.plugins.hooked.StoreHooks` as the store's ``events`` callback; hook
actions call tools on the same simulator `km-actions run` uses (its state is kept in the
km-actions folder), and failed hooks are printed as warnings.

>>> import tempfile
>>> from pathlib import Path
>>> from engine.plugins.store import Store
>>> with Store.open(Path(tempfile.mkdtemp())) as store:
...     hooks, simulator = store_hooks(store)
...     finish_hooks(hooks, simulator)
...     hooks.outcomes
[]
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from engine.limits import Profile
from engine.paths import simulator_state_path
from engine.plugins.hooked import StoreHooks
from engine.plugins.hooks import HookedRun
from engine.plugins.store import Store
from engine.simulator import Simulator, SimulatorStateWarning


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


def store_hooks(store: Store, profile: str = "standard") -> tuple[StoreHooks, Simulator]:
    """The ``events`` callback for a store change, and the simulator its hooks use."""
    simulator = open_simulator(simulator_state_path())
    return StoreHooks(store, bridge=simulator, limits=Profile(profile).limits), simulator


def finish_hooks(hooks: StoreHooks, simulator: Simulator) -> None:
    """Keep the simulator's state if hooks ran, and print the hooks that failed."""
    if hooks.outcomes:
        simulator.save()
    for text in hooks.warnings:
        print(f"  warning: {text}", file=sys.stderr)


def print_hook_warnings(run: HookedRun) -> None:
    """The hooks of a run that failed (they never change the run's own result)."""
    for text in run.warnings:
        print(f"warning: {text}", file=sys.stderr)
