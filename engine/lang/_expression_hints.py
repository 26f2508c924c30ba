"""Jinja-isms in expressions: template filters and tests, and the expression to write instead."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any, Final

from jinja2.filters import FILTERS as JINJA_FILTERS

from engine.lang._expression_syntax import Source

# Template filters and the expression to write instead ({value} is the filtered value).
FILTER_FORMS: Final[Mapping[str, str]] = {
    "length": "len({value})",
    "count": "len({value})",
    "lower": "lower({value})",
    "upper": "upper({value})",
    "title": "title({value})",
    "trim": "trim({value}{args})",
    "string": "str({value})",
    "int": "int({value})",
    "float": "float({value})",
    "abs": "abs({value})",
    "round": "round({value}{args})",
    "min": "min({value})",
    "max": "max({value})",
    "sum": "sum({value})",
    "sort": "sorted({value})",
    "first": "{value}[0]",
    "last": "{value}[-1]",
    "reverse": "{value}[::-1]",
    "list": "{value}",
    "default": "default({value}{args})",
    "d": "default({value}{args})",
    "join": "join({value}{args})",
    "replace": "replace({value}{args})",
    "split": "split({value}{args})",
    "items": "items({value})",
    "tojson": "to_json({value})",
    "from_json": "from_json({value})",
    "regex_search": "matches({value}{args})",
}
_FILTER_NAMES: Final = frozenset(JINJA_FILTERS) | frozenset(FILTER_FORMS) | {
    "regex_replace", "regex_findall", "b64encode", "b64decode",
}  # fmt: skip

TEST_NAMES: Final = frozenset(
    {"defined", "undefined", "none", "None", "null", "true", "false", "True", "False", "string",
     "number", "integer", "float", "mapping", "sequence", "iterable", "boolean", "even", "odd",
     "divisibleby"}
)  # fmt: skip


def filter_name(node: ast.BinOp) -> str | None:
    """The template filter that ``x | name`` or ``x | name(…)`` applies, if ``node`` is one."""
    right = node.right
    if isinstance(right, ast.Call):
        right = right.func
    if isinstance(node.op, ast.BitOr) and isinstance(right, ast.Name):
        return right.id if right.id in _FILTER_NAMES else None
    return None


def filter_form(source: Source, node: ast.expr) -> str:
    """The expression to write for ``node``, a chain of filters ``x | a | b`` or a value."""
    if isinstance(node, ast.BinOp) and filter_name(node) is not None:
        name = filter_name(node) or ""
        value = filter_form(source, node.left)
        right = node.right
        args = right.args if isinstance(right, ast.Call) else []
        form = FILTER_FORMS.get(name, name + "({value}{args})")
        return form.format(value=value, args="".join(", " + filter_form(source, a) for a in args))
    return source.segment(node)


def filter_suggestion(
    source: Source, functions: Mapping[str, Callable[..., Any]], node: ast.BinOp
) -> str | None:
    """The hint for a template filter written in an expression; None when it is not one."""
    name = filter_name(node)
    if name is None:
        return None
    if name not in FILTER_FORMS:
        known = ", ".join(sorted(functions))
        return f"filters only work in templates; expressions call functions: {known}"
    return f"write `{filter_form(source, node)}`"


def jinja_test_suggestion(source: Source, left: ast.expr, right: ast.expr, negated: bool) -> str:
    """The hint for a template test ``left is [not] right`` written in an expression."""
    value = source.segment(left)
    args: list[str] = []
    if isinstance(right, ast.Call) and isinstance(right.func, ast.Name):
        args = [source.segment(a) for a in right.args]
        right = right.func
    name = right.id if isinstance(right, ast.Name) else ""
    if isinstance(right, ast.Constant) and right.value in (None, True, False):
        name = str(right.value)
    if name in ("defined", "undefined"):
        negated = negated != (name == "undefined")
        return f"write `{'not ' if negated else ''}defined({value})`"
    if name in ("none", "None", "null", "true", "false", "True", "False"):
        constant = {"none": "null", "None": "null", "True": "true", "False": "false"}.get(
            name, name
        )
        return f"write `{value} {'!=' if negated else '=='} {constant}`"
    kinds = {
        "string": "string",
        "number": "number",
        "integer": "number",
        "float": "number",
        "mapping": "object",
        "sequence": "list",
        "iterable": "list",
        "boolean": "boolean",
    }
    equal = "!=" if negated else "=="
    if name in kinds:
        return f"write `type_of({value}) {equal} '{kinds[name]}'`"
    if name in ("even", "odd"):
        return f"write `{value} % 2 {equal} {0 if name == 'even' else 1}`"
    if name == "divisibleby" and args:
        return f"write `{value} % {args[0]} {equal} 0`"
    return f"compare with == or !=, e.g. `{value} == null`, or use defined({value})"
