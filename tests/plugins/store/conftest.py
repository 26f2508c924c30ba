"""Fixtures for the plugin store tests: a private store, and plugin folders made to order.

``home`` points ``KM_ACTIONS_HOME`` at a fresh folder; ``store`` is a store open there;
``make_plugin`` writes a plugin folder (``plugin.yaml`` plus action files) and returns
its path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml

from engine.plugins.store import Store

ROOT = Path(__file__).resolve().parents[3]
CLIPBOARD_TOOLS = ROOT / "actions" / "clipboard-tools"
SIMPLE_ACTION = {"steps": [{"set": {"x": 1}}], "outputs": {"x": "{{ vars.x }}"}}


class MakePlugin(Protocol):
    def __call__(
        self,
        identifier: str,
        version: str = "1.0.0",
        *,
        actions: Mapping[str, Mapping[str, Any]] | None = None,
        folder: str | None = None,
        patterns: list[str] | None = None,
        **fields: Any,
    ) -> Path: ...


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh km-actions data folder (``KM_ACTIONS_HOME``)."""
    path = tmp_path / "home"
    monkeypatch.setenv("KM_ACTIONS_HOME", str(path))
    return path


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    """The store in ``home``, open for the test."""
    with Store.open(home) as opened:
        yield opened


def write_plugin(
    base: Path,
    identifier: str,
    version: str = "1.0.0",
    *,
    actions: Mapping[str, Mapping[str, Any]] | None = None,
    folder: str | None = None,
    patterns: list[str] | None = None,
    **fields: Any,
) -> Path:
    """A plugin folder under ``base``: ``plugin.yaml`` from the arguments (``patterns``
    is its ``actions:``), and one action file per entry of ``actions`` (name → the
    action's keys besides the header)."""
    root = base / (folder or f"{identifier}-{version}")
    (root / "actions").mkdir(parents=True, exist_ok=True)
    manifest = {"api_version": "1.1", "identifier": identifier, "name": identifier.title(),
                "version": version, **fields}  # fmt: skip
    if patterns is not None:
        manifest["actions"] = patterns
    (root / "plugin.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), "utf-8")
    for name, body in (actions if actions is not None else {"hello": SIMPLE_ACTION}).items():
        action = {"api_version": "1.1", "kind": "action", "name": name, **body}
        text = yaml.safe_dump(action, sort_keys=False, allow_unicode=True)
        (root / "actions" / f"{name}.yaml").write_text(text, "utf-8")
    return root


@pytest.fixture
def make_plugin(tmp_path: Path) -> MakePlugin:
    """Writes plugin folders under the test's temporary folder (see :func:`write_plugin`)."""

    def make(identifier: str, version: str = "1.0.0", **kwargs: Any) -> Path:
        return write_plugin(tmp_path / "sources", identifier, version, **kwargs)

    return make


def call(target: str, **with_: Any) -> dict[str, Any]:
    """An `action:` step."""
    step: dict[str, Any] = {"action": target}
    if with_:
        step["with"] = with_
    return step
