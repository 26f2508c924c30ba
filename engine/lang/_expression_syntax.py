"""Expression syntax: parsing, positions in the user's text, and constant-key chains.

Also finds the Jinja-isms (``{% %}``, ``{{ }}`` inside, ``~``) that make an expression
unparsable, with the form to write instead.
"""

from __future__ import annotations

import ast
import io
import itertools
import re
import tokenize
import warnings
from collections.abc import Mapping
from typing import Any, Final

from engine.lang.sandbox.references import PathPart, Problem, format_reference

CONSTANT_NAMES: Final[Mapping[str, Any]] = {
    "true": True,
    "false": False,
    "null": None,
    "none": None,
    "True": True,
    "False": False,
    "None": None,
}

SYNTAX = "expression-syntax"
JINJA = "expression-jinja"
SYNTAX_HINT = "expressions look like `inputs.count > 2 and steps.read.status == 'succeeded'`"

BITWISE: Final[Mapping[type[ast.AST], str]] = {
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
    ast.Invert: "~",
}
_BRACES = re.compile(r"\A\s*\{\{-?(.*?)-?\}\}\s*\Z", re.S)


def _constant_key(node: ast.expr) -> PathPart | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int):
        return None if isinstance(node.value, bool) else node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) is int
    ):
        return -node.operand.value
    return None


def chain_links(node: ast.expr) -> tuple[ast.expr, list[tuple[PathPart | None, bool, ast.expr]]]:
    """The base of an attribute/subscript chain and its links, root first."""
    links: list[tuple[PathPart | None, bool, ast.expr]] = []
    while True:
        if isinstance(node, ast.Attribute):
            links.append((node.attr, True, node))
            node = node.value
        elif isinstance(node, ast.Subscript):
            links.append((_constant_key(node.slice), False, node))
            node = node.value
        else:
            links.reverse()
            return node, links


def constant_chain(node: ast.expr) -> tuple[str, list[tuple[PathPart, bool]]] | None:
    """The root and constant links of ``node``, when it is a plain reference; else None."""
    base, links = chain_links(node)
    if not isinstance(base, ast.Name) or base.id in CONSTANT_NAMES or base.id.startswith("_"):
        return None
    constant = [(key, is_attribute) for key, is_attribute, _ in links if key is not None]
    if len(constant) != len(links) or any(str(k).startswith("_") for k, a in constant if a):
        return None
    return base.id, constant


class Source:
    """The text handed to :func:`ast.parse` and how its positions map to the user's text."""

    def __init__(self, text: str) -> None:
        match = _BRACES.match(text)
        start, end = 0, len(text)
        if match and "{{" not in match.group(1) and "}}" not in match.group(1):
            start, end = match.span(1)
        self.inner = text[start:end]
        self.line = text.count("\n", 0, start) + 1
        self.column = start - (text.rfind("\n", 0, start) + 1) + 1
        # Parentheses let an expression span lines, as YAML block scalars do.
        self.parsed = "(\n" + self.inner + "\n)"
        self.lines = self.parsed.split("\n")

    def position(self, line: int | None, byte_column: int | None) -> tuple[int | None, int | None]:
        if line == len(self.lines) and len(self.lines) > 2:  # the closing parenthesis: the end
            line, last = line - 1, self.lines[-2].rstrip()
            byte_column = len(last.encode())
        if line is None or line < 2 or line > len(self.lines) - 1:
            return None, None
        column = 0
        if byte_column is not None:
            column = len(self.lines[line - 1].encode()[:byte_column].decode("utf-8", "replace"))
        inner_line = line - 1
        if inner_line == 1:
            return self.line, self.column + column
        return self.line + inner_line - 1, column + 1

    def segment(self, node: ast.AST) -> str:
        chain = constant_chain(node) if isinstance(node, ast.expr) else None
        if chain is not None:
            return format_reference(chain[0], [key for key, _ in chain[1]])
        text = ast.get_source_segment(self.parsed, node)
        return " ".join(text.split()) if text else "the value"


def _jinja_syntax_problem(source: Source) -> Problem | None:
    """A Jinja-ism that makes an expression unparsable, with the form to write instead."""
    stripped = source.inner.strip()
    if "{%" in stripped or "%}" in stripped:
        return Problem(
            JINJA,
            "`{% %}` statements do not belong in expressions",
            "write the condition alone, e.g. `inputs.count > 2`",
        )
    if "{{" in stripped or "}}" in stripped:
        bare = " ".join(stripped.replace("{{", " ").replace("}}", " ").split())
        return Problem(JINJA, "`{{ }}` may only wrap a whole expression, once", f"write `{bare}`")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source.inner).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    tildes = [t for t in tokens if t.type == tokenize.OP and t.string == "~"]
    if not tildes or tildes[0] is tokens[0]:
        return None
    parts: list[str] = []
    previous = 0
    lines = source.inner.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for token in tildes:
        index = offsets[token.start[0] - 1] + token.start[1]
        parts.append(source.inner[previous:index].strip())
        previous = index + 1
    parts.append(source.inner[previous:].strip())
    pieces = [p if re.fullmatch(r"'[^'\\]*'|\"[^\"\\]*\"", p) else f"str({p})" for p in parts]
    return Problem(
        JINJA, "`~` joins text in templates; expressions use `+`", f"write `{' + '.join(pieces)}`"
    )


def _strict_equality(source: Source) -> Problem | None:
    """JavaScript's `===` or `!==` (read as `==` or `!=` then `=`), at the operator.

    >>> _strict_equality(Source("inputs.n === 3")).hint
    'use `==`'
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source.inner).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    for first, second in itertools.pairwise(tokens):
        if first.string in ("==", "!=") and second.string == "=" and first.end == second.start:
            wrote = f"{first.string}="
            (row, column) = first.start
            line = source.line + row - 1
            column = source.column + column if row == 1 else column + 1
            return Problem(
                SYNTAX,
                f"expression syntax error: `{wrote}` is not an operator of expressions",
                f"use `{first.string}`",
                line,
                column,
                3,
            )
    return None


def parse_expression(text: str) -> tuple[Source, ast.expr | None, list[Problem]]:
    """The source, its parsed tree (None when it cannot be parsed) and the problems found."""
    source = Source(text)
    if not source.inner.strip():
        return (
            source,
            None,
            [Problem(SYNTAX, "the expression is empty", "write a condition, e.g. `inputs.notify`")],
        )
    if any(marker in source.inner for marker in ("{{", "}}", "{%", "%}")):
        jinja = _jinja_syntax_problem(source)
        if jinja is not None:
            return source, None, [jinja]
    try:
        with warnings.catch_warnings():
            # "invalid escape sequence" warnings: '\d' in a pattern means what users expect.
            warnings.simplefilter("ignore")
            tree = ast.parse(source.parsed, mode="eval")
    except SyntaxError as exc:
        other = _jinja_syntax_problem(source) or _strict_equality(source)
        if other is not None:
            return source, None, [other]
        line, column = source.position(exc.lineno, None)
        closing = exc.lineno == len(source.lines)  # at our closing parenthesis: the end
        if line is not None and exc.offset is not None and not closing:
            column = (source.column + exc.offset - 1) if exc.lineno == 2 else exc.offset
        message = f"expression syntax error: {exc.msg}"
        return source, None, [Problem(SYNTAX, message, SYNTAX_HINT, line, column)]
    except ValueError as exc:  # a null byte, say
        return source, None, [Problem(SYNTAX, f"expression syntax error: {exc}", SYNTAX_HINT)]
    except (RecursionError, MemoryError):
        message = "the expression is nested too deeply"
        return source, None, [Problem(SYNTAX, message, SYNTAX_HINT)]
    return source, tree.body, []
