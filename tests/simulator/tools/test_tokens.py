"""km_token_processor and km_token_stats beyond the recordings (``test_differential.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import KM, Machine

TOOL = "km_token_processor"


def processed(km: KM, text: str, **arguments: Any) -> tuple[Any, ...]:
    answer = km(TOOL, text=text, **arguments)
    assert answer["success"] is True, answer
    return (
        answer["processing"]["processed_text"],
        answer["processing"]["security_warnings"],
        answer["metadata"]["engine"],
    )


def stats(km: KM) -> dict[str, Any]:
    answer = km("km_token_stats")
    assert answer["success"] is True
    return dict(answer["statistics"])


@pytest.mark.parametrize(
    ("text", "context"),
    [
        pytest.param("%Variable%Keyboard%", "text", id="key-in-keyboard"),
        pytest.param("see %https://x%", "text", id="url"),
        pytest.param("%ExecuteShellScript%", "text", id="shell"),
        pytest.param("a:b", "filename", id="filename-character"),
    ],
)
def test_unsafe_expressions_are_refused(km: KM, text: str, context: str) -> None:
    answer = km(TOOL, text=text, context=context)
    assert answer["error"] == {
        "code": "TOKEN_PROCESSING_ERROR",
        "message": "Precondition violated: Token expression contains unsafe patterns",
        "details": {"text": text, "context": context},
    }


def test_keyboard_maestro_expands_the_models_tokens(km: KM) -> None:
    text = "%Variable%Greeting% on %ICUDateTime%yyyy%"
    assert processed(km, text) == ("Hello on 2026", [], "keyboard_maestro")
    answer = km(TOOL, text="no tokens")
    assert answer["processing"]["substitutions_made"] == 0


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("please restart %Variable%Greeting%", id="a-word-it-avoids"),
        pytest.param("%" * 51, id="too-many-percent-signs"),
        pytest.param('"' * 11, id="too-many-quotes"),
    ],
)
def test_text_the_server_keeps_from_keyboard_maestro_is_processed_locally(
    km: KM, text: str
) -> None:
    assert processed(km, text)[2] == "local_fallback"
    assert stats(km)["km_engine"]["km_calls"] == 0


def test_the_local_processor_answers_from_the_server(km: KM) -> None:
    text = ("%CurrentUser% %CurrentDate% %LongDate% %FrontWindowName% "
            "%CurrentApplication% %CurrentClipboard% %SystemVersion% %ComputerName% "
            "%SystemClipboard% %Other% %Time%")  # fmt: skip
    value, warnings, _ = processed(km, text, use_km_engine=False)
    assert value == (
        "kmuser 2026-05-04 Monday, May 04, 2026 Home Finder "
        "[Clipboard Preview - Access Restricted] 15.4 Simulated Mac [Clipboard Content] "
        "%Other% 09:30:15 AM"
    )
    assert warnings == [
        "Clipboard access restricted - showing preview only",
        "Unknown token type: Other",
    ]


def test_a_two_part_token_name_takes_what_follows_it(km: KM) -> None:
    # The server's pattern reads "%Time% %" as one token (Time takes an argument).
    value = processed(km, "%Time% %CurrentUser%", use_km_engine=False)[0]
    assert value == "%Time% %CurrentUser%"


def test_long_variable_values_are_cut(km: KM) -> None:
    value, warnings, _ = processed(
        km, "%Variable%Big%", use_km_engine=False, variables={"Big": "x" * 1001}
    )
    assert (len(value), warnings) == (1003, ["Variable 'Big' value truncated (too long)"])


def test_the_counters_and_the_probe(km: KM) -> None:
    processed(km, "no tokens", use_km_engine=False)  # no tokens: not counted
    processed(km, "%Variable%X%", use_km_engine=False)  # one security warning
    processed(km, "%Calculate%1%", context="calculation")  # Keyboard Maestro fails
    first = stats(km)
    assert first["local_processor"] == {"total_processed": 2, "errors": 0,
                                        "security_violations": 2}  # fmt: skip
    assert first["km_engine"] == {"km_calls": 1, "km_errors": 1, "fallbacks": 0}
    assert first["security_violation_rate"] == 100.0
    assert stats(km)["km_engine"]["km_calls"] == 2  # the first probe, counted after


def test_without_osascript_keyboard_maestro_is_unavailable(machine: Machine) -> None:
    km = machine(osascript=False)
    assert processed(km, "%FrontWindowName%|%CurrentApplication%")[0] == (
        "Unknown Window|Unknown Application"
    )
    counted = stats(km)
    assert counted["km_engine"] == {"km_calls": 0, "km_errors": 1, "fallbacks": 0}
    assert counted["km_engine_available"] is False
    answer = km("km_token_stats")
    assert answer["system_status"]["km_engine"] == "unavailable"


def test_a_text_longer_than_keyboard_maestro_takes_is_cut(km: KM) -> None:
    text = '"' * 10 + "x" * 9990
    value = processed(km, text)[0]
    assert value == '"' * 10 + "x" * 9980 + "..."


def test_token_kinds_in_a_preview(km: KM) -> None:
    answer = km(TOOL, text="%FrontApplication% %Mystery%", preview_only=True)
    assert [t["type"] for t in answer["preview"]["token_details"]] == ["application", "unknown"]


def test_no_front_application(machine: Machine) -> None:
    km = machine(processes=[])
    assert processed(km, "[%CurrentApplication%]", use_km_engine=False)[0] == "[]"
