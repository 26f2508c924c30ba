"""Record text as osascript prints it and as the server reads it back."""

from __future__ import annotations

from typing import Any

import pytest

from engine.simulator.tools._records import parse_records, record_text, whole_numbers


@pytest.mark.parametrize(
    ("text", "records"),
    [
        pytest.param("k:1, k:-2, k:true, k:x", [{"k": 1}, {"k": -2}, {"k": True}, {"k": "x"}],
                     id="numbers-and-booleans"),
        pytest.param('k:"quoted", k:"', [{"k": "quoted"}, {"k": ""}], id="quotes-stripped"),
        pytest.param("k:A, (b, c), n:1", [{"k": "A", "(b, c), n": 1}],
                     id="parentheses-keep-commas"),
        pytest.param("k:1, stray", [{"k": 1}], id="piece-without-colon"),
        pytest.param("n:1, k:2, n:3", [{"k": 2, "n": 3}], id="record-before-the-first-key"),
    ],
)  # fmt: skip
def test_reading_records_back(text: str, records: list[dict[str, Any]]) -> None:
    assert parse_records(text, "k", numbers=whole_numbers) == records


def test_printing_records() -> None:
    assert record_text([{"a": True, "b": 2}, {"a": False}]) == "a:true, b:2, a:false"
