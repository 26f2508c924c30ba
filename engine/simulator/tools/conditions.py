"""km_add_condition, and the condition XML it shares with km_control_flow.

Keyboard Maestro has no per-macro condition: the server appends an If Then Else action
whose ConditionList holds one condition, built from ``condition_type``, ``operator`` and
``operand`` (a ``Name=value`` text for variable and text conditions), optionally negated;
``action_on_true`` / ``action_on_false`` become one Execute Macro action in the Then /
Else branch.

>>> print(condition_xml("calculation", "equals", "Counter > 40"))  # doctest: +NORMALIZE_WHITESPACE
<dict><key>ConditionType</key><string>Calculation</string><key>CalculationConditionType</key>\
<string>CalculationIsTrue</string><key>CalculationConditionExpression</key>\
<string>Counter &gt; 40</string></dict>
>>> condition_xml("text", "greater", "a=b")
Traceback (most recent call last):
...
engine.simulator.tools.conditions.UnsupportedCondition: operator 'greater' not supported for \
text conditions. Supported: ['contains', 'equals', 'matches_regex', 'not_contains', \
'not_equals', 'regex'].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from engine.simulator.tools._km import KMProblem, append_action
from engine.simulator.tools._plistxml import array, entries, flag, string
from engine.simulator.tools.context import Answer, ToolContext, failure

__all__ = ["HANDLERS", "UnsupportedCondition", "condition_xml", "if_then_else_xml"]

KINDS = ("variable", "text", "application", "calculation")
# The operators the server maps, per condition kind, to Keyboard Maestro's test. It has
# no "at least" / "at most" for variables: greater_equal and less_equal map to the strict
# comparisons.
VARIABLE_TESTS: Mapping[str, str] = {
    "equals": "Is",
    "not_equals": "IsNot",
    "contains": "Contains",
    "not_contains": "DoesNotContain",
    "greater": "NumericallyGreaterThan",
    "greater_than": "NumericallyGreaterThan",
    "greater_equal": "NumericallyGreaterThan",
    "less": "NumericallyLessThan",
    "less_than": "NumericallyLessThan",
    "less_equal": "NumericallyLessThan",
    "regex": "MatchesRegex",
    "matches_regex": "MatchesRegex",
    "exists": "IsNotEmpty",
    "is_empty": "IsEmpty",
    "is_not_empty": "IsNotEmpty",
}
TEXT_TESTS: Mapping[str, str] = {
    "equals": "Is",
    "not_equals": "IsNot",
    "contains": "Contains",
    "not_contains": "DoesNotContain",
    "regex": "MatchesRegex",
    "matches_regex": "MatchesRegex",
}
APPLICATION_TESTS: Mapping[str, str] = {
    "exists": "Running",
    "equals": "Active",
    "not_equals": "NotActive",
}
# What negate turns a variable or text test into (others stay as they are).
NEGATED: Mapping[str, str] = {
    "Is": "IsNot",
    "IsNot": "Is",
    "Contains": "DoesNotContain",
    "DoesNotContain": "Contains",
    "NumericallyGreaterThan": "NumericallyLessThanOrEqual",
    "NumericallyLessThan": "NumericallyGreaterThanOrEqual",
    "MatchesRegex": "DoesNotMatchRegex",
    "IsEmpty": "IsNotEmpty",
    "IsNotEmpty": "IsEmpty",
}
# Variable tests the server writes a VariableValue for (tests made by negation get none).
COMPARED = frozenset(
    {
        "Is",
        "IsNot",
        "Contains",
        "DoesNotContain",
        "MatchesRegex",
        "NumericallyGreaterThan",
        "NumericallyLessThan",
    }
)
_HINT = "See km_add_condition docstring for supported condition_type / operator combos."


class UnsupportedCondition(ValueError):
    """A condition the server cannot write; ``kind_unknown`` when the kind itself is."""

    def __init__(self, message: str, *, kind_unknown: bool = False) -> None:
        super().__init__(message)
        self.kind_unknown = kind_unknown


def _test(tests: Mapping[str, str], operator: str, kind: str) -> str:
    test = tests.get(operator.lower())
    if test is None:
        raise UnsupportedCondition(
            f"operator {operator!r} not supported for {kind} conditions. "
            f"Supported: {sorted(tests)}."
        )
    return test


def _split(operand: str) -> tuple[str, str | None]:
    """``Name=value`` → (``Name`` stripped, ``value``); no ``=`` → (operand, None)."""
    if "=" in operand:
        name, value = operand.split("=", 1)
        return name.strip(), value
    return operand, None


def _variable(operator: str, operand: str, case_sensitive: bool, negate: bool) -> str:
    test = _test(VARIABLE_TESTS, operator, "variable")
    test = NEGATED.get(test, test) if negate else test
    name, value = _split(operand)
    pairs = [
        ("ConditionType", string("Variable")),
        ("VariableConditionType", string(test)),
        ("Variable", string(name.strip())),
    ]
    if test in COMPARED:
        pairs.append(("VariableValue", string(operand if value is None else value)))
    return entries(*pairs)


def _text(operator: str, operand: str, case_sensitive: bool, negate: bool) -> str:
    test = _test(TEXT_TESTS, operator, "text")
    test = NEGATED.get(test, test) if negate else test
    text, value = _split(operand)
    pairs = [
        ("ConditionType", string("Text")),
        ("TextConditionType", string(test)),
        ("Text", string(text)),
        ("TextValue", string(value or "")),
    ]
    if not case_sensitive:
        pairs.append(("CaseSensitive", flag(False)))
    return entries(*pairs)


def _application(operator: str, operand: str, case_sensitive: bool, negate: bool) -> str:
    test = _test(APPLICATION_TESTS, operator, "application")
    if negate:
        test = test[3:] if test.startswith("Not") else f"Not{test}"
    application = entries(("BundleIdentifier", string(operand)), ("Name", string(operand)))
    return entries(
        ("ConditionType", string("Application")),
        ("ApplicationConditionType", string(test)),
        ("Application", application),
    )


def _calculation(operator: str, operand: str, case_sensitive: bool, negate: bool) -> str:
    # Any operator: the expression itself is the test.
    return entries(
        ("ConditionType", string("Calculation")),
        (
            "CalculationConditionType",
            string("CalculationIsFalse" if negate else "CalculationIsTrue"),
        ),
        ("CalculationConditionExpression", string(operand)),
    )


_WRITERS: Mapping[str, Callable[[str, str, bool, bool], str]] = {
    "variable": _variable,
    "text": _text,
    "application": _application,
    "calculation": _calculation,
}


def condition_xml(
    kind: str, operator: str, operand: str, *, case_sensitive: bool = True, negate: bool = False
) -> str:
    """One ConditionList entry; :class:`UnsupportedCondition` for what the server refuses.

    ``kind`` is matched ignoring case and surrounding spaces; ``case_sensitive`` counts for
    text conditions only.
    """
    writer = _WRITERS.get(kind.lower().strip())
    if writer is None:
        raise UnsupportedCondition(
            f"condition_type {kind!r} not supported. "
            "Supported: variable, text, application, calculation.",
            kind_unknown=True,
        )
    return writer(operator, operand, case_sensitive, negate)


def conditions_block(condition: str) -> str:
    """The ``Conditions`` dict: one condition, all of them to be met."""
    return entries(("ConditionList", array(condition)), ("ConditionListMatch", string("All")))


def if_then_else_xml(condition: str, then_actions: str = "", else_actions: str = "") -> str:
    """An If Then Else action around one condition and two runs of action ``<dict>``s."""
    return entries(
        ("Conditions", conditions_block(condition)),
        ("ElseActions", array(else_actions)),
        ("MacroActionType", string("IfThenElse")),
        ("ThenActions", array(then_actions)),
        ("TimeOutAbortsMacro", flag(True)),
    )


def execute_macro_xml(target: str) -> str:
    """The Execute Macro action km_add_condition writes (the macro by name or UID, under a
    ``Macro`` key Keyboard Maestro 11 no longer reads)."""
    return entries(("MacroActionType", string("ExecuteMacro")), ("Macro", string(target)))


# -- km_add_condition ------------------------------------------------------------------------


def handle_add_condition(ctx: ToolContext) -> Answer:
    """km_add_condition: append one If Then Else action to the macro."""
    args = ctx.args
    macro_id: str = args["macro_identifier"]
    if not macro_id.strip():
        return failure(
            "VALIDATION_ERROR",
            "macro_identifier is required.",
            "Pass the macro UUID or unique name.",
        )
    try:
        condition = condition_xml(
            args["condition_type"],
            args["operator"],
            args["operand"],
            case_sensitive=args["case_sensitive"],
            negate=args["negate"],
        )
    except UnsupportedCondition as problem:
        code = "UNSUPPORTED_OPERATION" if problem.kind_unknown else "VALIDATION_ERROR"
        return failure(code, str(problem), _HINT)
    on_true, on_false = args["action_on_true"], args["action_on_false"]
    xml = if_then_else_xml(
        condition,
        execute_macro_xml(on_true) if on_true else "",
        execute_macro_xml(on_false) if on_false else "",
    )
    try:
        append_action(ctx, macro_id, xml)
    except KMProblem as problem:
        return failure(
            "APPEND_FAILED",
            problem.error.message,
            "Verify the macro exists and KM engine is running.",
        )
    return {
        "success": True,
        "data": {
            "macro_id": macro_id,
            "macro_action_type": "IfThenElse",
            "condition_type": args["condition_type"],
            "operator": args["operator"],
            "then_inner_actions": 1 if on_true else 0,
            "else_inner_actions": 1 if on_false else 0,
        },
    }


HANDLERS: dict[str, Callable[[ToolContext], Answer]] = {
    "km_add_condition": handle_add_condition,
}
