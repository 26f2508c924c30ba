"""Where km-actions keeps its data: ``KM_ACTIONS_HOME``, else the user data folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_HOME = "KM_ACTIONS_HOME"


def home() -> Path:
    """The data folder (not created here)."""
    configured = os.environ.get(ENV_HOME)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("km-actions", appauthor=False))


def simulator_state_path() -> Path:
    """Where CLI runs keep the simulator's state, so runs can chain."""
    return home() / "simulator-state.json"
