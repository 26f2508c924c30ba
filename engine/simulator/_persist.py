"""The state file: loaded once, written atomically, corrupt files moved aside with a warning.

What Keyboard Maestro keeps in memory only (password variables, a running macro's local
and instance variables) never reaches the file. A file of state version 1 (the
simulator before it modelled Keyboard Maestro) is upgraded when read.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from engine.diagnostics.errors import BridgeError, format_path
from engine.simulator._jsondata import NotJSONData, copy_json
from engine.simulator._state import (
    STATE_FORMAT,
    STATE_SCHEMA,
    STATE_VERSION,
    SimulatorState,
)
from engine.simulator._state_v1 import V1_SCHEMA, upgrade_v1, v1_problem
from engine.simulator.km.state import StateError

_STATE_VALIDATOR = Draft202012Validator(STATE_SCHEMA)
_V1_VALIDATOR = Draft202012Validator(V1_SCHEMA)


class SimulatorStateError(BridgeError):
    """The simulator's state file cannot be read or written (or is from a newer km-actions).

    >>> from engine.simulator import Simulator
    >>> Simulator().save()
    Traceback (most recent call last):
    ...
    engine.simulator._persist.SimulatorStateError: this simulator has no state file to save to
    """

    code = "simulator-state"


class SimulatorStateWarning(UserWarning):
    """A corrupt state file was moved aside and the simulator started afresh.

    Its message names the file and where it was moved, e.g. ``… state.json is corrupt
    (not valid JSON); it was moved to state.json.corrupt and the simulator starts from
    its example state``.
    """


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class StateFile:
    """Where a simulator keeps its state between runs."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> SimulatorState | None:
        """The saved state; None when there is no file (or it was corrupt and moved aside)."""
        try:
            text = self.path.read_text("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as problem:
            raise SimulatorStateError(
                f"cannot read the simulator state file {self.path}: {problem}",
                hint="check the path and its permissions, or start without a state file",
            ) from problem
        try:
            data = copy_json(json.loads(text, parse_constant=_reject_constant))
        except (ValueError, RecursionError) as problem:
            self._quarantine(str(problem) if isinstance(problem, NotJSONData) else "not valid JSON")
            return None
        reason = self._problem(data)
        state = None
        if reason is None:
            try:
                state = _read(data)
            except (StateError, _Unreadable) as problem:
                reason = str(problem)
        if state is None:
            self._quarantine(str(reason))
        return state

    def _problem(self, data: Any) -> str | None:
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            return f'it is not a km-actions simulator state (no "format": "{STATE_FORMAT}")'
        version = data.get("version")
        if isinstance(version, int) and version > STATE_VERSION:
            raise SimulatorStateError(
                f"the simulator state file {self.path} was written by a newer km-actions "
                f"(state version {version}; this one reads up to {STATE_VERSION})",
                hint="upgrade km-actions, or use another state file",
            )
        validator = _V1_VALIDATOR if version == 1 else _STATE_VALIDATOR
        error = best_match(validator.iter_errors(data))
        if error is not None:
            return f"{format_path(tuple(error.absolute_path))}: {error.message}"
        return None

    def _quarantine(self, reason: str) -> None:
        target = self.path.with_name(f"{self.path.name}.corrupt")
        number = 1
        while target.exists():
            number += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{number}")
        try:
            os.replace(self.path, target)
        except OSError as problem:
            raise SimulatorStateError(
                f"the simulator state file {self.path} is corrupt ({reason}) "
                f"and could not be moved aside: {problem}",
                hint="move or delete the file yourself, then try again",
            ) from problem
        warnings.warn(
            SimulatorStateWarning(
                f"the simulator state file {self.path} is corrupt ({reason}); "
                f"it was moved to {target.name} and the simulator starts from its example state"
            ),
            stacklevel=4,
        )

    def save(self, state: SimulatorState) -> None:
        """Write the state (memory-only values left out) atomically."""
        text = persistent_text(state)
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(temp, self.path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as problem:
            raise SimulatorStateError(
                f"cannot save the simulator state to {self.path}: {problem}",
                hint="check that the folder exists and is writable, or run without a state file",
            ) from problem


def persistent_text(state: SimulatorState) -> str:
    """The state file's text: everything but what Keyboard Maestro keeps in memory only."""
    data = state.to_json()
    data["keyboard_maestro"]["password_variables"] = {}
    data["keyboard_maestro"]["instances"] = {}
    return json.dumps(data, indent=1, ensure_ascii=False)


class _Unreadable(ValueError):
    """A version-1 file whose records contradict each other."""


def _read(data: dict[str, Any]) -> SimulatorState:
    if data.get("version") == 1:
        problem = v1_problem(data)
        if problem is not None:
            raise _Unreadable(problem)
        return upgrade_v1(data)
    return SimulatorState.from_json(data)
