"""The state file: loaded once, written atomically, corrupt files moved aside with a warning."""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from engine.errors import BridgeError, format_path
from engine.simulator._jsondata import NotJSONData, copy_json
from engine.simulator._state import STATE_FORMAT, STATE_SCHEMA, STATE_VERSION, SimState

_STATE_VALIDATOR = Draft202012Validator(STATE_SCHEMA)


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

    def load(self) -> SimState | None:
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
        state = SimState.from_json(data) if reason is None else None
        if state is not None and state.problems():
            reason = state.problems()[0]
        if reason is not None:
            self._quarantine(reason)
            return None
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
        error = best_match(_STATE_VALIDATOR.iter_errors(data))
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

    def save(self, state: SimState) -> None:
        """Write the state (memory-only values left out) atomically."""
        text = json.dumps(state.to_json(persistent_only=True), indent=1)
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
