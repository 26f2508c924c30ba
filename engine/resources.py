"""Files shipped with km-actions: the JSON Schemas, the tool catalog and the user guide."""

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


def guide_folder() -> Path:
    """Where the user guide's pages (``docs/*.md``) are: inside the wheel (``guide``), or
    ``docs/`` in a checkout."""
    for folder in (_PACKAGE / "guide", _PACKAGE.parent / "docs"):
        if (folder / "writing-actions.md").is_file():
            return folder
    raise FileNotFoundError("the user guide shipped with km-actions is missing; reinstall it")


def guide_pages() -> list[str]:
    """The names of the guide's pages (``writing-actions``, ``reference``, …), sorted."""
    return sorted(path.stem for path in guide_folder().glob("*.md"))
