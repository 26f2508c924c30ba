"""km_clipboard_manager: current clipboard, history, named clipboards and stats."""

from __future__ import annotations

import pytest

from .conftest import KM, FakeClock

TOOL = "km_clipboard_manager"


def test_empty_clipboard(km: KM, clock: FakeClock) -> None:
    assert km.ok(TOOL, operation="get") == {
        "content": "",
        "format": "text",
        "size_bytes": 0,
        "timestamp": clock.now.isoformat(),
        "is_sensitive": False,
        "preview": "",
        "security_filtered": False,
        "is_empty": True,
    }


def test_set_then_get(km: KM) -> None:
    assert km.ok(TOOL, operation="set", content="héllo") == {
        "content_size": 6,
        "content_preview": "héllo",
        "format": "text",
        "history_size": 1,
    }
    data = km.ok(TOOL, operation="get")
    assert (data["content"], data["size_bytes"], data["is_empty"]) == ("héllo", 6, False)


def test_long_content_is_previewed(km: KM) -> None:
    text = "x" * 60
    assert km.ok(TOOL, operation="set", content=text)["content_preview"] == "x" * 50 + "..."
    assert km.ok(TOOL, operation="get")["content"] == text


@pytest.mark.parametrize("content", [pytest.param(None, id="none"), pytest.param("", id="empty")])
def test_set_needs_content(km: KM, content: str | None) -> None:
    error = km.fails(TOOL, "VALIDATION_ERROR", operation="set", content=content)
    assert error["message"] == "content is required for set operation"
    assert error["recovery_suggestion"] == "Pass the text to put on the clipboard in 'content'."


def test_history_index_zero_is_the_current_clipboard(km: KM) -> None:
    for text in ("one", "two", "three"):
        km.ok(TOOL, operation="set", content=text)
    assert km.ok(TOOL, operation="get_history", history_index=0)["content"] == "three"
    assert km.ok(TOOL, operation="get_history", history_index=2)["content"] == "one"
    listed = km.ok(TOOL, operation="list_history")
    assert [(i["index"], i["content"]) for i in listed["history"]] == [
        (0, "three"),
        (1, "two"),
        (2, "one"),
    ]
    assert (listed["total_items"], listed["history_size"]) == (3, 3)


def test_get_history_out_of_range(km: KM) -> None:
    km.ok(TOOL, operation="set", content="only")
    error = km.fails(TOOL, "NOT_FOUND", operation="get_history", history_index=5)
    assert error["message"] == "clipboard history has 1 entries; there is no entry 5"
    assert error["details"] == {"history_size": 1}


def test_get_history_needs_an_index(km: KM) -> None:
    error = km.fails(TOOL, "VALIDATION_ERROR", operation="get_history")
    assert error["message"] == "'history_index' is required for operation 'get_history'"


def test_list_history_shows_ten_and_history_keeps_two_hundred(km: KM) -> None:
    for n in range(205):
        km.ok(TOOL, operation="set", content=f"item {n}")
    listed = km.ok(TOOL, operation="list_history")
    assert len(listed["history"]) == 10
    assert listed["history_size"] == 200
    assert km.ok(TOOL, operation="get_history", history_index=199)["content"] == "item 5"


def test_sensitive_content_is_hidden_unless_asked_for(km: KM) -> None:
    km.ok(TOOL, operation="set", content="password: hunter2")
    hidden = km.ok(TOOL, operation="get")
    assert hidden["content"] == "[SENSITIVE CONTENT HIDDEN]"
    assert (hidden["is_sensitive"], hidden["security_filtered"]) == (True, True)
    shown = km.ok(TOOL, operation="get", include_sensitive=True)
    assert shown["content"] == "password: hunter2"


def test_named_clipboards_create_read_and_refuse_overwrite(km: KM, clock: FakeClock) -> None:
    created = km.ok(
        TOOL,
        operation="manage_named",
        clipboard_name="Sig",
        content="Best, Ann",
        tags=["mail", "mail", "text"],
        description="signature",
    )
    assert created == {"name": "Sig", "created": True, "overwritten": False}
    clock.advance(5)
    read = km.ok(TOOL, operation="manage_named", clipboard_name="Sig")
    assert read["content"] == "Best, Ann"
    assert read["tags"] == ["mail", "text"]
    assert (read["access_count"], read["accessed_at"]) == (1, clock.now.isoformat())
    error = km.fails(
        TOOL, "ALREADY_EXISTS", operation="manage_named", clipboard_name="Sig", content="x"
    )
    assert error["recovery_suggestion"] == (
        "Pass overwrite: true to replace it, or leave out 'content' to read it."
    )
    again = km.ok(TOOL, operation="manage_named", clipboard_name="Sig", content="x", overwrite=True)
    assert again["overwritten"] is True


def test_named_clipboard_missing_suggests_a_close_name(km: KM) -> None:
    km.ok(TOOL, operation="manage_named", clipboard_name="Signature", content="x")
    error = km.fails(TOOL, "NOT_FOUND", operation="manage_named", clipboard_name="Signatur")
    assert error["recovery_suggestion"].endswith("Did you mean 'Signature'?")


def test_manage_named_needs_a_name(km: KM) -> None:
    error = km.fails(TOOL, "VALIDATION_ERROR", operation="manage_named", clipboard_name="  ")
    assert error["message"] == "'clipboard_name' is required for operation 'manage_named'"


def test_search_named_by_name_tag_or_description(km: KM) -> None:
    km.ok(TOOL, operation="manage_named", clipboard_name="Sig", content="a", tags=["mail"])
    km.ok(TOOL, operation="manage_named", clipboard_name="Addr", content="b", description="home")
    every = km.ok(TOOL, operation="search_named")
    assert [c["name"] for c in every["clipboards"]] == ["Addr", "Sig"]
    assert [
        c["name"] for c in km.ok(TOOL, operation="search_named", search_query="MAIL")["clipboards"]
    ] == ["Sig"]
    assert km.ok(TOOL, operation="search_named", search_query="home")["count"] == 1
    assert km.ok(TOOL, operation="search_named", search_query="nothing")["count"] == 0


def test_stats(km: KM) -> None:
    km.ok(TOOL, operation="set", content="abc")
    km.ok(TOOL, operation="manage_named", clipboard_name="A", content="12", tags=["t"])
    assert km.ok(TOOL, operation="stats") == {
        "current": {"is_empty": False, "format": "text", "size_bytes": 3},
        "history_size": 1,
        "history_capacity": 200,
        "named_count": 1,
        "named_total_size_bytes": 2,
        "tags": ["t"],
    }


def test_set_records_the_format(km: KM) -> None:
    km.ok(TOOL, operation="set", content="https://example.com", format="url")
    assert km.ok(TOOL, operation="get")["format"] == "url"
