"""km_engine_control beyond the recordings (``test_differential.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import KM, Machine

TOOL = "km_engine_control"


def calculated(km: KM, expression: str) -> tuple[str, str]:
    data = km.ok(TOOL, operation="calculate", expression=expression)
    return data["result"], data["result_type"]


def details(km: KM, operation: str, **arguments: Any) -> str:
    error = km.fails(TOOL, "ENGINE_ERROR", operation=operation, **arguments)
    assert error["message"] == f"Failed to {operation} engine"
    return str(error["details"])


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        pytest.param("2**10", ("1024", "int"), id="power"),
        pytest.param("7 // 2 * 3", ("9", "int"), id="floor-division"),
        pytest.param("round(2.5) + abs(-1)", ("3", "int"), id="bankers-rounding"),
        pytest.param("max(1, pi)", ("3.14159265359", "float"), id="constant"),
        pytest.param("-e + +1", ("-1.7182818284599999", "float"), id="signs"),
        pytest.param("1e308 * 10", ("inf", "float"), id="overflow-to-infinity"),
    ],
)
def test_calculate_is_python_arithmetic(km: KM, expression: str, result: tuple[str, str]) -> None:
    assert calculated(km, expression) == result


FAILED = "Validation failed for field 'expression': Calculation failed: "


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        pytest.param("x + 1", "Validation failed for field 'expression': Unknown variable: x. "
                     "Got: x", id="variable"),
        pytest.param("sqrt(4)", "Validation failed for field 'expression': Unknown function: "
                     "sqrt. Got: sqrt", id="function"),
        pytest.param("1, 2", "Validation failed for field 'expression': Unsafe operation "
                     "detected: Tuple. Got: AST validation", id="tuple"),
        pytest.param("2 +", "Validation failed for field 'expression': Invalid expression: "
                     "invalid syntax (<unknown>, line 1). Got: 2 +", id="syntax"),
        pytest.param("sum(1)", "'int' object is not iterable", id="type-error"),
        pytest.param("abs(1)(2)", "Validation failed for field 'expression': Complex function "
                     "calls not allowed. Got: function call", id="complex-call"),
        pytest.param("3**60000", "integer result too large", id="too-large-after"),
        pytest.param("pi(2)", "'float' object is not callable", id="not-callable"),
        pytest.param("9**9**9", "Validation failed for field 'expression': Operation error: "
                     "integer result too large. Got: operation", id="too-large"),
        pytest.param("pow(9, 99999)", "integer result too large", id="too-large-call"),
        pytest.param("10**5000", "Exceeds the limit (4300 digits) for integer string "
                     "conversion; use sys.set_int_max_str_digits() to increase the limit",
                     id="too-long-to-write"),
    ],
)  # fmt: skip
def test_calculation_failures(km: KM, expression: str, reason: str) -> None:
    assert details(km, "calculate", expression=expression) == (
        f"{FAILED}{reason}. Got: {expression}"
    )


def test_forbidden_words_are_refused_before_the_calculation(km: KM) -> None:
    assert details(km, "calculate", expression="exec") == (
        "Validation failed for field 'expression': Expression contains forbidden operations. "
        "Got: exec"
    )


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param({"search_pattern": "o", "text": "foo"}, (2, "foo"), id="count-only"),
        pytest.param({"search_pattern": r"(\d+)", "replace_pattern": "$$${1}", "text": "a1b22",
                      "use_regex": True}, (2, "a$1b$22"), id="dollars"),
    ],
)  # fmt: skip
def test_search_replace(km: KM, arguments: dict[str, Any], expected: tuple[int, str]) -> None:
    data = km.ok(TOOL, operation="search_replace", **arguments)
    assert (data["match_count"], data["result"]) == expected


def test_long_results_are_cut(km: KM) -> None:
    data = km.ok(TOOL, operation="search_replace", search_pattern="a", replace_pattern="bb",
                 text="a" * 600)  # fmt: skip
    assert (data["result_length"], len(data["result"])) == (1200, 1003)


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        pytest.param({"search_pattern": "(a)", "replace_pattern": "$5", "text": "a"},
                     "Validation failed for field 'search_pattern': Invalid regex pattern: "
                     "invalid group reference 5 at position 3. Got: (a)", id="bad-reference"),
        pytest.param({"search_pattern": "(a+)+$", "replace_pattern": None,
                      "text": "a" * 5000 + "!"},
                     "Validation failed for field 'search_pattern': Regex took longer than "
                     "0.25 s on this text. Got: (a+)+$", id="catastrophic"),
        pytest.param({"search_pattern": "a"}, "Validation failed for field 'text': Text "
                     "required for search_replace operation. Got: None", id="no-text"),
        pytest.param({"text": "a"}, "Validation failed for field 'search_pattern': Search "
                     "pattern required for search_replace operation. Got: None",
                     id="no-pattern"),
    ],
)  # fmt: skip
def test_search_replace_failures(km: KM, arguments: dict[str, Any], reason: str) -> None:
    assert details(km, "search_replace", use_regex=True, **arguments) == reason


def test_process_tokens_summary_and_expansion(km: KM) -> None:
    data = km.ok(TOOL, operation="process_tokens", expression="  %Variable%Greeting%!  ")
    assert (data["processed"], data["tokens_found"]) == ("Hello!", ["Variable: Greeting"])
    data = km.ok(TOOL, operation="process_tokens", expression="%CurrentUser%")
    assert (data["processed"], data["tokens_found"]) == ("%CurrentUser%", ["System: CurrentUser"])
    assert details(km, "process_tokens") == (
        "Validation failed for field 'expression': Token string required for process_tokens "
        "operation. Got: None"
    )


def test_a_stopped_engine_after_the_argument_checks(machine: Machine) -> None:
    km = machine("engine_stopped")
    assert "Expression required" in details(km, "calculate")
    answer = km(TOOL, operation="calculate", expression="1")
    assert answer["error"] == {"code": "KM_CONNECTION_FAILED",
                               "message": "Cannot connect to Keyboard Maestro Engine"}  # fmt: skip


def test_status_counts_every_macro(km: KM) -> None:
    data = km.ok(TOOL, operation="status")
    assert data["macro_statistics"] == {"total_macros": 3, "enabled_macros": 2,
                                        "disabled_macros": 1}  # fmt: skip
    assert (data["engine_version"], data["engine_running"]) == ("11.0.4", True)
