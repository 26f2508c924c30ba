"""The saved tool list of the server last connected to (engine.tools.saved_tools): written
atomically with when and from where, read back as a catalog, refused with a reason when
it cannot be used, and the shipped catalog when there is none."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.paths import ENV_HOME, saved_tools_path
from engine.tools.catalog import ToolCatalog
from engine.tools.saved_tools import (
    ORIGIN,
    SavedToolsError,
    forget_tool_list,
    offline_catalog,
    read_saved_tools,
    save_tool_list,
)

NOON = datetime(2026, 5, 3, 12, 0, tzinfo=UTC)
TOOLS = [
    {"name": "km_demo", "description": "Demo.\nMore.", "inputSchema": {"type": "object"}},
    {"name": "km_variable_manager", "inputSchema": {"type": "object", "properties": {}}},
]


def test_a_saved_list_is_read_back_as_the_catalog_of_that_server(tmp_path: Path) -> None:
    path = tmp_path / "tools.json"
    assert save_tool_list(TOOLS, upstream="uv run km", server="KM", path=path, now=NOON) == path
    data = json.loads(path.read_text("utf-8"))
    assert data == {
        "format": 1,
        "saved_at": "2026-05-03T12:00:00Z",
        "upstream": "uv run km",
        "server": "KM",
        "tools": TOOLS,
    }
    assert [p.name for p in tmp_path.iterdir()] == ["tools.json"]  # no temporary file left
    saved = read_saved_tools(path)
    assert saved is not None
    assert (saved.saved_at, saved.upstream, saved.server) == (NOON, "uv run km", "KM")
    day = NOON.astimezone().strftime("%Y-%m-%d")
    assert saved.described == f"the Keyboard Maestro server you connected to on {day} (uv run km)"
    catalog = saved.catalog()
    assert (list(catalog), catalog.origin, catalog.where) == (
        ["km_demo", "km_variable_manager"],
        ORIGIN,
        saved.described,
    )
    assert catalog.listing_hint == (
        "`km-actions tools` lists its tools; `km-actions tools --refresh` lists them again "
        "from the server after a change"
    )
    # annotations the server does not publish come from the shipped catalog
    shipped = ToolCatalog.builtin()["km_variable_manager"]
    assert catalog["km_variable_manager"].tool_class is shipped.tool_class
    assert saved.to_dict() == {
        "file": str(path),
        "saved_at": "2026-05-03T12:00:00Z",
        "upstream": "uv run km",
        "server": "KM",
    }
    assert offline_catalog(path)[1] is None


def test_the_default_place_is_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "km"))
    assert saved_tools_path() == tmp_path / "km" / "upstream-tools.json"
    assert read_saved_tools() is None
    assert offline_catalog() == (ToolCatalog.builtin(), None)
    assert forget_tool_list() is False
    save_tool_list(TOOLS, upstream="km", server=None)
    assert list(offline_catalog()[0]) == ["km_demo", "km_variable_manager"]
    assert forget_tool_list() is True
    assert not saved_tools_path().exists()


def _saved(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": 1,
        "saved_at": "2026-05-03T12:00:00Z",
        "upstream": "km",
        "server": None,
        "tools": TOOLS,
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("{not json", "it is not valid JSON: Expecting property name enclosed in "
                     "double quotes: line 1 column 2 (char 1)", id="not-json"),
        pytest.param('{"format": NaN}', "it is not valid JSON: NaN is not JSON", id="nan"),
        pytest.param("[]", "it is not a JSON object", id="not-an-object"),
        pytest.param(json.dumps(_saved(format="1")), "it has no format number", id="no-format"),
        pytest.param(json.dumps(_saved(format=2)),
                     "it was written by a newer km-actions (format 2)", id="newer"),
        pytest.param(json.dumps(_saved(tools={"km_x": {}})),
                     "its `tools` are not a list of tools with a name each", id="tools-mapping"),
        pytest.param(json.dumps(_saved(tools=[{"name": "km_x", "inputSchema": []}])),
                     "its `tools` are not a list of tools with a name each", id="bad-schema"),
        pytest.param(json.dumps(_saved(tools=[{"description": "no name"}])),
                     "its `tools` are not a list of tools with a name each", id="no-name"),
        pytest.param(json.dumps(_saved(upstream=None)),
                     "it does not say which server it came from", id="no-upstream"),
        pytest.param(json.dumps(_saved(server=3)),
                     "it does not say which server it came from", id="server-number"),
        pytest.param(json.dumps(_saved(saved_at="yesterday")),
                     "it does not say when it was saved", id="bad-time"),
        pytest.param(json.dumps(_saved(saved_at="2026-05-03T12:00:00")),
                     "its time has no time zone", id="naive-time"),
        pytest.param(b"\xff\xfe", "cannot read it: 'utf-8' codec can't decode byte 0xff in "
                     "position 0: invalid start byte", id="not-utf8"),
    ],
)  # fmt: skip
def test_a_list_that_cannot_be_used_is_a_warning_and_the_shipped_catalog(
    tmp_path: Path, text: str | bytes, reason: str
) -> None:
    path = tmp_path / "upstream-tools.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    with pytest.raises(SavedToolsError) as caught:
        read_saved_tools(path)
    assert str(caught.value) == reason
    catalog, warning = offline_catalog(path)
    assert catalog is ToolCatalog.builtin()
    assert warning == (
        f"the saved tool list {path} cannot be used ({reason}); checking against the tools "
        "km-actions ships instead (`km-actions tools --refresh` lists them again from the "
        "server)"
    )


def test_a_list_that_cannot_be_written_raises_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OSError):
        save_tool_list(TOOLS, upstream="km", server=None, path=tmp_path / "file" / "tools.json")
    folder = tmp_path / "folder"
    folder.mkdir()
    target = folder / "tools.json"
    target.mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(OSError):
        save_tool_list(TOOLS, upstream="km", server=None, path=target)
    assert sorted(p.name for p in folder.iterdir()) == ["tools.json"]
