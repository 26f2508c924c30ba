"""The tester's object and list, as an action declares them (``inputs: {obj: {type:
object}, lst: {type: array}}``), and the mistakes a beginner makes on them that get the
same message and the same hint whether written in a template or in an expression.

tests/lang/test_templates.py and tests/lang/test_expressions.py check each of these in
their own language, beside the mistakes whose hint differs between the two (a fallback is
``x | default('')`` in a template, ``default(x, fallback)`` in an expression) and those
only one language can make.
"""

from __future__ import annotations

from typing import Any

TESTER: dict[str, Any] = {
    "inputs": {"obj": {"a": 1, "b": 2}, "lst": [1, 2, 3]},
    "vars": {"people": [{"name": "Bo"}, {"name": "Al"}], "one": [1], "none": []},
}

#: By test id: the reference as an expression writes it (a template writes it between
#: ``{{ }}``), the message, and the hint, which names a form the user can write as shown.
SAME_IN_BOTH: dict[str, tuple[str, str, str]] = {
    "method-name-read-as-a-key": (
        "inputs.obj.items",
        "`inputs.obj` has no key 'items'; it has: a, b",
        "if you meant the method `items()`, call it: `inputs.obj.items()`",
    ),
    "list-position-as-text": (
        "inputs.lst['0']",
        "`inputs.lst` is a list, so it has no key '0'",
        "list positions are numbers, not text: write `inputs.lst[0]`",
    ),
    "key-of-a-list": (
        "inputs.lst.items",
        "`inputs.lst` is a list, so it has no key 'items'",
        "a list has no keys: it has 3 item(s), read by position: "
        "`inputs.lst[0]` to `inputs.lst[2]`",
    ),
    "key-of-a-list-of-objects": (
        "vars.people.name",
        "`vars.people` is a list, so it has no key 'name'",
        "a list has no keys: it has 2 item(s), read by position: "
        "`vars.people[0]` to `vars.people[1]` (e.g. `vars.people[0].name`)",
    ),
    "negative-position": (
        "inputs.lst[-4]",
        "`inputs.lst` has no item -4; it has 3 item(s)",
        "items are numbered from 0 to 2, or from -1 to -3 counting from the end",
    ),
}
