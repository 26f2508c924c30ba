"""Names that become paths: one check, the same grammar as the manifest schemas."""

from __future__ import annotations

import json

import pytest

from engine.diagnostics.errors import EngineError
from engine.resources import schema_path
from engine.validate.names import MAX_LENGTH, PATTERNS, NameKind, check_name, is_valid_name


def test_the_grammar_is_the_schemas() -> None:
    plugin = json.loads(schema_path("plugin").read_text("utf-8"))["$defs"]["identifier"]
    action = json.loads(schema_path("action").read_text("utf-8"))["$defs"]["identifier"]
    assert plugin["pattern"] == f"^{PATTERNS[NameKind.PLUGIN].pattern}$".replace("(?:", "(")
    assert plugin["maxLength"] == MAX_LENGTH[NameKind.PLUGIN]
    assert action["pattern"] == f"^{PATTERNS[NameKind.ACTION].pattern}$"


@pytest.mark.parametrize(
    "value",
    ["../../x", "/etc", "a/b", "a\\b", ".hidden", "a..b", "x\n", "x\0", "", "A", "é", None, 3],
)
def test_paths_and_odd_values_are_not_plugin_identifiers(value: object) -> None:
    assert not is_valid_name(value, NameKind.PLUGIN)
    with pytest.raises(EngineError) as caught:
        check_name(value, NameKind.PLUGIN)
    assert caught.value.code == "invalid-name"


def test_the_error_says_how_to_write_one() -> None:
    with pytest.raises(EngineError) as caught:
        check_name("My_Plugin", NameKind.PLUGIN)
    assert caught.value.message == '"My_Plugin" is not a valid plugin identifier'
    assert caught.value.hint == (
        "use lower-case letters, digits and -, starting with a letter (dots allowed), "
        "e.g. 'my-plugin'"
    )


def test_a_name_too_long_for_a_file_is_refused() -> None:
    with pytest.raises(EngineError) as caught:
        check_name("a" * 101, NameKind.PLUGIN)
    assert str(caught.value.hint).endswith("; at most 100 characters")


def test_dotted_identifiers_and_action_names_pass() -> None:
    assert check_name("com.example.tools", NameKind.PLUGIN) == "com.example.tools"
    assert check_name("title_case-2", NameKind.ACTION) == "title_case-2"
