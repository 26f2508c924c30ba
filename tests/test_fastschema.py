"""The fast schema check agrees with jsonschema on every schema we use it for."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._fastschema import Unsupported, compile_schema, equal
from engine.catalog import ToolCatalog
from engine.schema import ManifestSchemas

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(-5, 5, allow_nan=False)
    | st.sampled_from(
        [
            "",
            "a",
            "tool",
            "km_list_macros",
            "1.0.0",
            "Ab",
            "x y",
            "1.0",
            "notification",
            "get",
            "with",
            "id",
            "steps",
            "true",
        ]
    )
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "tool",
                    "with",
                    "id",
                    "steps",
                    "set",
                    "name",
                    "type",
                    "if",
                    "as",
                    "foreach",
                    "retry",
                    "max_attempts",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


def _schemas() -> list[Any]:
    s = ManifestSchemas.load()
    out = [
        pytest.param(s.top.schema, id="action-top"),
        pytest.param(s.plugin_validator.schema, id="plugin"),
    ]
    out += [pytest.param(v.schema, id=f"step-{k}") for k, v in s.steps.items()]
    for tool in ToolCatalog.builtin().values():
        for name, prop in tool.properties.items():
            out.append(pytest.param(prop, id=f"{tool.name}.{name}"))
    return out


SCHEMAS = _schemas()


@pytest.mark.parametrize("schema", SCHEMAS)
@given(value=_json)
@settings(max_examples=15, deadline=None)
def test_agrees_with_jsonschema(schema: Any, value: Any) -> None:
    try:
        check = compile_schema(schema)
    except Unsupported:
        return
    assert check(value) == jsonschema.Draft202012Validator(schema).is_valid(value)


def test_every_shipped_schema_compiles() -> None:
    # The fast path must cover our own schemas, or validation falls back to jsonschema.
    schemas = ManifestSchemas.load()
    assert len(schemas.fast) == 2 + len(schemas.steps)


def test_unknown_keywords_are_refused() -> None:
    with pytest.raises(Unsupported):
        compile_schema({"type": "object", "patternProperties": {"^a": {}}})
    with pytest.raises(Unsupported):
        compile_schema({"dependentRequired": {"a": ["b"]}})


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param(True, 1, False, id="bool-is-not-int"),
        pytest.param(1, 1.0, True, id="int-is-float"),
        pytest.param([1, {"a": True}], [1.0, {"a": True}], True, id="nested"),
        pytest.param({"a": 1}, {"a": 1, "b": 2}, False, id="extra-key"),
        pytest.param("1", 1, False, id="text-is-not-number"),
    ],
)
def test_equal(a: Any, b: Any, same: bool) -> None:
    assert equal(a, b) is same
