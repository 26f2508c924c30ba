"""Arguments checked as FastMCP checks them: every JSON Schema form the catalogs use."""

from __future__ import annotations

from typing import Any

import pytest

from engine.simulator.tools.arguments import ArgumentChecker, SchemaViolation, checker_for
from engine.tools.catalog import ToolSpec


def spec(properties: dict[str, Any], **schema: Any) -> ToolSpec:
    return ToolSpec(
        name="km_x",
        description="",
        input_schema={"type": "object", "properties": properties, **schema},
        source="upstream",
    )


def refused(checker: ArgumentChecker, arguments: dict[str, Any]) -> list[str]:
    """The field and message lines of pydantic's text."""
    with pytest.raises(SchemaViolation) as raised:
        checker.check(arguments)
    lines = raised.value.text.splitlines()[1:]
    return [line.split(" [type=")[0].strip() for line in lines if "errors.pydantic" not in line]


CHECKER = ArgumentChecker(
    spec(
        {
            "choice": {"anyOf": [{"type": "integer"}, {"type": "array",
                                                        "items": {"type": "string"}}]},
            "either": {"type": ["string", "null"], "default": None},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "default": 1.0},
            "anything": {},
        },
        required=["choice"],
        additionalProperties=False,
    )
)  # fmt: skip


def test_values_are_coerced_and_defaults_filled() -> None:
    assert CHECKER.check({"choice": "5", "counts": {"a": "2"}, "ratio": 2}) == {
        "choice": 5,
        "either": None,
        "counts": {"a": 2},
        "ratio": 2.0,
    }  # "tags" and "anything" have no default: absent stays absent


@pytest.mark.parametrize(
    ("arguments", "problems"),
    [
        pytest.param({"choice": 1.5}, ["choice.int", "Input should be a valid integer, got a "
                     "number with a fractional part", "choice.list[str]",
                     "Input should be a valid list"], id="union"),
        pytest.param({"choice": 1, "tags": ["a", "b", "c"]}, ["tags", "List should have at most "
                     "2 items after validation, not 3"], id="max-items"),
        pytest.param({"choice": 1, "ratio": 0}, ["ratio", "Input should be greater than 0"],
                     id="exclusive-minimum"),
        pytest.param({"choice": 1, "either": 3}, ["either", "Input should be a valid string"],
                     id="nullable-type-list"),
    ],
)  # fmt: skip
def test_violations(arguments: dict[str, Any], problems: list[str]) -> None:
    assert refused(CHECKER, arguments) == problems


def test_a_schema_that_allows_other_arguments() -> None:
    open_schema = ArgumentChecker(spec({"a": {"type": "string"}}, required=["a"]))
    assert open_schema.check({"a": "x", "b": 1}) == {"a": "x", "b": 1}


def test_checkers_are_compiled_once_per_specification() -> None:
    shipped = spec({"a": {"type": "string"}})
    assert checker_for(shipped) is checker_for(shipped)
