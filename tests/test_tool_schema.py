"""What a tool argument's schema allows (engine/tool_schema.py), and the validator's words
for a literal argument of the wrong type, optional (``anyOf`` … null) arguments included."""

from __future__ import annotations

from engine.loader import load_text
from engine.tool_schema import allowed_values, argument_types
from engine.validate import validate


def test_an_optional_argument_has_the_types_of_its_options() -> None:
    optional = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert argument_types(optional) == ["string", "null"]
    assert argument_types({"type": "integer"}) == ["integer"]
    assert argument_types({"anyOf": [{"type": "string"}, {}]}) == []  # any value
    assert allowed_values({"enum": [1, 2]}) == [1, 2]
    assert allowed_values({"type": "string", "pattern": "^[a-z]+$"}) is None


def test_a_wrong_type_for_an_optional_argument_says_what_it_takes() -> None:
    document = load_text(
        'api_version: "1.1"\nkind: action\nname: demo\ndescription: A demo.\n'
        "permissions: [km_variable_manager]\n"
        "steps:\n  - tool: km_variable_manager\n    with: {operation: get, name: [Greeting]}\n",
        file="demo.yaml",
    )
    (problem,) = validate(document)
    assert str(problem) == (
        'demo.yaml:8:34: error[argument-type]: `name` must be text, not a list (["Greeting"])'
    )
    assert problem.hint == "write text here"
