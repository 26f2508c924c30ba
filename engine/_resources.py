"""Files shipped with km-actions: the JSON Schemas and the tool catalog."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def schema_path(name: str) -> Path:
    """Where ``<name>.schema.json`` is: inside the wheel, or ``schemas/`` in a checkout."""
    filename = f"{name}.schema.json"
    for folder in (_PACKAGE / "schemas", _PACKAGE.parent / "schemas"):
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"the {filename} shipped with km-actions is missing; reinstall it")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The published JSON Schema ``action`` or ``plugin`` (do not mutate it)."""
    data: dict[str, Any] = json.loads(schema_path(name).read_text("utf-8"))
    return data


def data_text(name: str) -> str:
    """A text file from ``engine/data``."""
    return resources.files("engine").joinpath("data", name).read_text("utf-8")
