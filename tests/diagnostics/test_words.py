"""One vocabulary for values and their types, whichever part of km-actions speaks."""

from __future__ import annotations

from typing import Any

import pytest

from engine.diagnostics.words import TYPE_WORDS, describe_value, type_word
from engine.validate._words import read_as, type_name


@pytest.mark.parametrize(
    ("value", "word"),
    [
        pytest.param(None, "null", id="null"),
        pytest.param("x", "text", id="text"),
        pytest.param({"a": 1}, "a mapping (key: value pairs)", id="mapping"),
    ],
)
def test_every_describer_names_a_value_the_same_way(value: Any, word: str) -> None:
    named = {type_word(value), describe_value(value), type_name(value)}
    if not isinstance(value, str):  # read_as names what YAML made of an unquoted word
        named.add(read_as(value))
    assert named == {word}


def test_type_words_are_yamls() -> None:
    assert (TYPE_WORDS["null"], TYPE_WORDS["string"], TYPE_WORDS["object"]) == (
        "null",
        "text",
        "a mapping (key: value pairs)",
    )
