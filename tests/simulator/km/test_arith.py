"""The safe arithmetic evaluator behind Keyboard Maestro's calculations (%Calculate%…%,
km_engine_control calculate through the Engine)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.simulator.km.arith import CalculationError, evaluate


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        pytest.param("1 + 2 * 3", 7, id="precedence"),
        pytest.param("(1 + 2) * 3", 9, id="parentheses"),
        pytest.param("7 / 2", 3.5, id="division"),
        pytest.param("7 // 2", 3, id="floor-division"),
        pytest.param("7 % 3", 1, id="modulo"),
        pytest.param("7 MOD 3", 1, id="km-mod"),
        pytest.param("7 DIV 2", 3, id="km-div"),
        pytest.param("2 ** 10", 1024, id="power"),
        pytest.param("2 ^ 10", 1024, id="km-power"),
        pytest.param("-3 + +2", -1, id="unary"),
        pytest.param("sqrt(16) + abs(-2)", 6.0, id="functions"),
        pytest.param("SQRT(9)", 3.0, id="uppercase-function"),
        pytest.param("round(2.567, 2)", 2.57, id="round-digits"),
        pytest.param("round(2.5)", 2, id="round"),
        pytest.param("min(3, 1, 2) + max(4, 5)", 6, id="min-max"),
        pytest.param("log(e)", 1.0, id="log"),
        pytest.param("log(8, 2)", 3.0, id="log-base"),
        pytest.param("floor(pi)", 3, id="pi"),
        pytest.param("3 > 2", 1, id="comparison"),
        pytest.param("1 < 2 < 1", 0, id="chained-comparison"),
        pytest.param("2 ≠ 3", 1, id="km-not-equal"),
        pytest.param("2 ** 1000", 2.0**1000, id="big-int-becomes-float"),
    ],
)
def test_arithmetic(expression: str, value: float) -> None:
    assert evaluate(expression) == pytest.approx(value)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        pytest.param("1 +", "cannot read the expression: invalid syntax", id="syntax"),
        pytest.param(
            "__import__('os')",
            "unknown function '__import__' (known: abs, acos, asin, atan, ceil, cos, exp, "
            "floor, ln, log, log10, log2, max, min, round, sin, sqrt, tan, trunc)",
            id="import",
        ),
        pytest.param("(1).real", "'.' is not allowed in a calculation", id="attribute"),
        pytest.param("'a' * 3", "'a' is not a number", id="string"),
        pytest.param("True + 1", "True is not a number", id="bool"),
        pytest.param("[1][0]", "'[]' is not allowed in a calculation", id="subscript"),
        pytest.param("[1]", "'List' is not allowed in a calculation", id="list"),
        pytest.param("x = 1", "cannot read the expression: invalid syntax", id="assignment"),
        pytest.param("lambda: 1", "'Lambda' is not allowed in a calculation", id="lambda"),
        pytest.param("1 / 0", "division by zero", id="zero"),
        pytest.param("9 ** 99999", "exponents are limited to ±10000", id="exponent-cap"),
        pytest.param("9 ** 9 ** 9", "exponents are limited to ±10000", id="tower"),
        pytest.param("10.0 ** 400", "the result is too large", id="overflow"),
        pytest.param("exp(1000)", "the result is too large", id="exp-overflow"),
        pytest.param("sqrt(-1)", "math error: math domain error", id="domain"),
        pytest.param("(-8) ** (1/3)", "math error: math domain error", id="complex"),
        pytest.param("round(1, 99)", "round() takes between -20 and 20 digits", id="round-cap"),
        pytest.param("max()", "math error: max expected at least 1 argument, got 0", id="arity"),
        pytest.param("sqrt(x=1)", "sqrt() takes up to 100 plain arguments", id="keywords"),
        pytest.param(
            "+".join(["1"] * 300), "the expression has more than 500 parts", id="too-long"
        ),
        pytest.param("y + 1", "unknown variable 'y'", id="unknown-variable"),
    ],
)
def test_refused_expressions(expression: str, message: str) -> None:
    with pytest.raises(CalculationError) as raised:
        evaluate(expression)
    assert str(raised.value) == message


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_any_text_either_evaluates_or_is_refused(text: str) -> None:
    try:
        value = evaluate(text, {"x": 2})
    except CalculationError:
        return
    assert isinstance(value, int | float) and not isinstance(value, bool)


@given(
    st.recursive(
        st.integers(-1000, 1000).map(str) | st.sampled_from(["x", "pi", "2.5"]),
        lambda inner: (
            st.tuples(
                inner, st.sampled_from(["+", "-", "*", "/", "//", "%", "^", "**", " MOD "]), inner
            ).map(lambda t: f"({t[0]}{t[1]}{t[2]})")
            | inner.map(lambda e: f"sqrt(abs({e}))")
        ),
        max_leaves=12,
    )
)
@settings(max_examples=300, deadline=None)
def test_arithmetic_trees_never_escape(expression: str) -> None:
    try:
        value = evaluate(expression, {"x": 3})
    except CalculationError:
        return
    assert isinstance(value, int | float)
