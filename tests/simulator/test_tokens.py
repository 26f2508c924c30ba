"""km_token_processor, km_token_stats and km_engine_control (calculate, tokens, search/replace)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from engine.simulator.km.icu import format_icu, shift

from .conftest import KM


def process(km: KM, text: str, **arguments: Any) -> dict[str, Any]:
    return km.ok("km_token_processor", text=text, **arguments)


@pytest.mark.parametrize(
    ("text", "result"),
    [
        pytest.param("%Variable%Name%", "Ann", id="variable"),
        pytest.param("%Variable%Missing%", "", id="unset-variable"),
        pytest.param("%SystemClipboard%|%CurrentClipboard%", "clip|clip", id="clipboard"),
        pytest.param("%PastClipboard%1%|%PastClipboard%9%", "older|", id="past-clipboard"),
        pytest.param("%NamedClipboard%Sig%", "Best, Ann", id="named-clipboard"),
        pytest.param("%ShortDate% %LongDate% %Time%", "5/4/26 May 4, 2026 9:30 AM", id="dates"),
        pytest.param(
            "%ICUDateTime%EEE, MMM d, yyyy 'at' HH:mm:ss%", "Mon, May 4, 2026 at 09:30:15", id="icu"
        ),
        pytest.param("%ICUDateTimePlus%3%Days%yyyy-MM-dd%", "2026-05-07", id="plus"),
        pytest.param("%ICUDateTimeMinus%1%Month%yyyy-MM-dd%", "2026-04-04", id="minus"),
        pytest.param("%Calculate%2^8 + Count%", "261", id="calculate"),
        pytest.param("100%% %41%%263A%", "100% A☺", id="escapes"),
        pytest.param("50% off, 20% more", "50% off, 20% more", id="plain-percent"),
        pytest.param(
            "%CurrentUser% %FrontWindowName%", "%CurrentUser% %FrontWindowName%", id="macro-only"
        ),
    ],
)
def test_tokens_expand_from_the_state_and_clock(km: KM, text: str, result: str) -> None:
    km.ok("km_variable_manager", operation="set", name="Name", value="Ann")
    km.ok("km_variable_manager", operation="set", name="Count", value="5")
    km.ok("km_clipboard_manager", operation="set", content="older")
    km.ok("km_clipboard_manager", operation="set", content="clip")
    km.ok(
        "km_clipboard_manager", operation="manage_named", clipboard_name="Sig", content="Best, Ann"
    )
    assert process(km, text)["processed_text"] == result


def test_answer_lists_tokens_and_warnings(km: KM) -> None:
    data = process(km, "%Variable%X% %CurrentUser% %Calculate%1/0%", variables={"X": "given"})
    assert data == {
        "original_text": "%Variable%X% %CurrentUser% %Calculate%1/0%",
        "context": "text",
        "security_level": "standard",
        "engine_used": "simulator",
        "processed_text": "given %CurrentUser% %Calculate%1/0%",
        "preview": False,
        "tokens": [
            {"token": "%Variable%X%", "type": "Variable", "resolved": True},
            {"token": "%CurrentUser%", "type": "CurrentUser", "resolved": False},
            {"token": "%Calculate%1/0%", "type": "Calculate", "resolved": False},
        ],
        "token_count": 3,
        "unresolved_tokens": ["%CurrentUser%", "%Calculate%1/0%"],
        "warnings": [
            "%CurrentUser% is not available outside a running macro",
            "%Calculate%1/0%: division by zero",
        ],
    }


@pytest.mark.parametrize(
    ("context", "result"),
    [
        pytest.param("text", "a/b: c.d", id="text"),
        pytest.param("url", "a%2Fb%3A%20c.d", id="url"),
        pytest.param("filename", "a-b- c.d", id="filename"),
        pytest.param("regex", "a/b:\\ c\\.d", id="regex"),
    ],
)
def test_context_encodes_substituted_values(km: KM, context: str, result: str) -> None:
    data = process(km, "%Variable%V%", variables={"V": "a/b: c.d"}, context=context)
    assert data["processed_text"] == result


def test_password_variables_stay_masked(km: KM) -> None:
    km.ok("km_variable_manager", operation="set", name="PW", value="s3cret", scope="password")
    assert process(km, "%Variable%PW%")["processed_text"] == "[PROTECTED]"


def test_preview_lists_without_expanding(km: KM) -> None:
    data = process(km, "a %Variable%N% %ShortDate%", preview_only=True)
    assert data["processed_text"] == "a %Variable%N% %ShortDate%"
    assert data["tokens"] == [
        {"token": "%Variable%N%", "type": "Variable"},
        {"token": "%ShortDate%", "type": "ShortDate"},
    ]


def test_bad_token_parameters_warn(km: KM) -> None:
    data = process(
        km, "%ICUDateTimePlus%x%Days%y% %ICUDateTimePlus%1%Fortnights%y% %PastClipboard%z%"
    )
    assert data["warnings"] == [
        "%ICUDateTimePlus%x%Days%y%: invalid literal for int() with base 10: 'x'",
        "%ICUDateTimePlus%1%Fortnights%y%: unknown time unit 'Fortnights' (use Seconds, "
        "Minutes, Hours, Days, Weeks, Months or Years)",
        "%PastClipboard%z%: invalid literal for int() with base 10: 'z'",
    ]


def test_token_stats_count_processing(km: KM, clock: Any) -> None:
    process(km, "%Variable%A% %CurrentUser% %Calculate%1/0%")
    process(km, "%ShortDate%", preview_only=True)
    km.ok("km_engine_control", operation="process_tokens", expression="%LongDate%")
    data = km.ok("km_token_stats")
    assert data["statistics"] == {
        "total_processed": 3,
        "tokens_found": 5,
        "tokens_expanded": 2,
        "tokens_unresolved": 2,
        "errors": 1,
        "previews": 1,
        "last_processed_at": clock.now.isoformat(),
    }
    assert data["engine_status"] == {
        "available": True,
        "engine": "simulator",
        "keyboard_maestro": False,
    }


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        pytest.param("yy-M-d", "26-5-4", id="short"),
        pytest.param("MMMM MMMMM EEEE EEEEE", "May M Monday M", id="names"),
        pytest.param("h hh K k a", "9 09 9 9 AM", id="hours"),
        pytest.param("D SSS A", "124 000 34215000", id="day-of-year-fraction-millis"),
        pytest.param("Z ZZZZZ z", "+0000 +00:00 UTC", id="zone"),
        pytest.param("'quoted' '' q", "quoted ' q", id="literals"),
    ],
)
def test_icu_patterns(pattern: str, text: str) -> None:
    assert format_icu(datetime(2026, 5, 4, 9, 30, 15, tzinfo=UTC), pattern) == text


def test_shift_by_months_and_years_clamps_the_day() -> None:
    assert shift(datetime(2024, 1, 31), 1, "Months") == datetime(2024, 2, 29)
    assert shift(datetime(2024, 2, 29), 1, "year") == datetime(2025, 2, 28)
    assert shift(datetime(2024, 1, 1), -2, "Weeks") == datetime(2023, 12, 18)


def test_engine_calculate_and_status(km: KM) -> None:
    data = km.ok("km_engine_control", operation="calculate", expression="10 MOD 4")
    assert (data["result"], data["formatted_result"]) == (2, "2")
    status = km.ok("km_engine_control", operation="status")
    assert status["engine"] == "km-actions simulator"
    assert status["keyboard_maestro_connected"] is False
    assert km.ok("km_engine_control", operation="reload")["macro_count"] == 3
    error = km.fails("km_engine_control", "VALIDATION_ERROR", operation="calculate")
    assert error["message"] == "'expression' is required for operation 'calculate'"


@pytest.mark.parametrize(
    ("arguments", "result", "count"),
    [
        pytest.param({"search_pattern": "o", "replace_pattern": "0"}, "f00 b0", 3, id="literal"),
        pytest.param(
            {"search_pattern": r"(\w)o", "replace_pattern": "$1_", "use_regex": True},
            "f_o b_",
            2,
            id="regex-dollar",
        ),
        pytest.param(
            {"search_pattern": r"(\w)o", "replace_pattern": "${1}!", "use_regex": True},
            "f!o b!",
            2,
            id="regex-braces",
        ),
        pytest.param({"search_pattern": " "}, "foobo", 1, id="blank-pattern-deletes"),
    ],
)
def test_search_replace(km: KM, arguments: dict[str, Any], result: str, count: int) -> None:
    data = km.ok("km_engine_control", operation="search_replace", text="foo bo", **arguments)
    assert (data["result"], data["replacements"]) == (result, count)


def test_search_replace_failures(km: KM, monkeypatch: pytest.MonkeyPatch) -> None:
    error = km.fails(
        "km_engine_control",
        "VALIDATION_ERROR",
        operation="search_replace",
        text="x",
        search_pattern="(",
        use_regex=True,
    )
    assert error["message"].startswith("invalid regular expression or replacement: ")
    error = km.fails(
        "km_engine_control",
        "VALIDATION_ERROR",
        operation="search_replace",
        text="x",
        search_pattern="(x)",
        replace_pattern="$2",
        use_regex=True,
    )
    assert (
        error["message"]
        == "invalid regular expression or replacement: invalid group reference at position 5"
    )

    def slow(*args: Any, **kwargs: Any) -> Any:
        raise TimeoutError("regex timed out")

    monkeypatch.setattr("engine.simulator._engine.regex.subn", slow)
    error = km.fails(
        "km_engine_control",
        "PATTERN_TIMEOUT",
        operation="search_replace",
        text="x",
        search_pattern="x",
        use_regex=True,
    )
    assert error["message"] == "the regular expression took longer than 0.25 s"
