"""Static analysis of a template: its problems, the names it reads, whether it is one value.

Longer than 400 lines: one visitor over Jinja's node tree, a method per kind of node,
and the results it gathers.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

from jinja2 import nodes
from jinja2.environment import Environment
from jinja2.exceptions import TemplateSyntaxError
from jinja2.lexer import Token
from jinja2.parser import Parser

from engine.diagnostics.suggestions import did_you_mean
from engine.lang._template_filters import CONCAT
from engine.lang.sandbox.lookups import ALLOWED_METHODS, method_hint
from engine.lang.sandbox.references import (
    Chain,
    PathPart,
    Problem,
    Reference,
    format_reference,
    private_key_hint,
)
from engine.lang.sandbox.sizes import MAX_INT_BITS, number_too_long

if TYPE_CHECKING:
    from engine.lang.templates import TemplateEngine


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """What static analysis found in one template string.

    ``is_native`` is True when the text is exactly one ``{{ expr }}`` (its value keeps
    its type).

    >>> from engine.lang.templates import TemplateEngine
    >>> info = TemplateEngine().analyze("{{ inputs.count | default(1) }}")
    >>> info.is_native, info.references[0].guarded
    (True, True)
    """

    problems: tuple[Problem, ...]
    references: tuple[Reference, ...]
    is_native: bool


_REMOVED: Final[Mapping[str, str]] = {
    "center": "padding filters are not available (they can build huge strings)",
    "format": "join text with `~`, or format a number with `'%.2f' % value`",
    "pprint": "use `value | tojson(2)`",
    "xmlattr": "build the text with `~`",
    "urlize": "links are not made automatically; write the text as it should be",
    "attr": "read keys with `value.name` or `value['name']`",
    "safe": "templates are not HTML-escaped, so this is not needed",
    "forceescape": "use `escape`",
    "lipsum": "not available in km-actions templates",
    "cycler": "not available: templates have no loops; use a `foreach` step",
    "joiner": "not available: use `items | join(', ')`",
    "namespace": "not available: templates cannot set variables; use a `set` step",
}
# Expression functions and the template form to write instead.
_TEMPLATE_FORMS: Final[Mapping[str, str]] = {
    "len": "value | length",
    "lower": "value | lower",
    "upper": "value | upper",
    "str": "value | string",
    "int": "value | int",
    "float": "value | float",
    "default": "value | default(fallback)",
    "defined": "value is defined",
    "join": "items | join(separator)",
    "replace": "text | replace(old, new)",
    "split": "text | split(separator)",
    "trim": "text | trim",
    "title": "text | title",
    "round": "number | round",
    "sorted": "items | sort",
    "sum": "items | sum",
    "min": "items | min",
    "max": "items | max",
    "abs": "number | abs",
    "matches": "text | regex_search(pattern)",
    "contains": "item in container",
    "keys": "object.keys()",
    "values": "object.values()",
    "items": "object | items",
    "to_json": "value | tojson",
    "from_json": "text | from_json",
    "type_of": "value is string (or number, mapping, sequence, boolean, none)",
}
_JINJA_SPECIAL: Final = frozenset({"self", "super", "caller", "varargs", "kwargs"})
_STATEMENT_HINT: Final = "templates are expressions only; use a `foreach`/`if`/`set` step"
SYNTAX_HINT: Final = (
    "check the `{{ … }}` parts: brackets, quotes, and filters as `value | name(args)`"
)
_STRAY_BRACE_HINT: Final = (
    "`{{ … }}` closes with two braces, `}}`: add the missing `}`, or remove this one"
)
_MAX_DEPTH: Final = 100
# Filters that do not change their value's text: those whose result holds it as it is
# (``~`` and ``join`` join it, ``default`` passes it on, ``tojson`` escapes it as masking
# finds it: a secret in it is still found, and masked), and those whose result is not
# made of it (a length).
_KEEP_TEXT: Final = frozenset(
    {CONCAT, "default", "d", "string", "trim", "join", "tojson", "length", "count"}
)


@dataclass(frozen=True, slots=True)
class Analysis:
    """A template's analysis, cached per text by the engine."""

    info: TemplateInfo
    chains: tuple[Chain, ...]  # every constant chain, to name the parent of a missing key


def _constant_key(node: nodes.Node) -> PathPart | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, str | int):
        return None if isinstance(node.value, bool) else node.value
    if isinstance(node, nodes.Neg) and isinstance(node.node, nodes.Const):
        value = node.node.value
        return -value if isinstance(value, int) and not isinstance(value, bool) else None
    return None


def chain_links(
    node: nodes.Node,
) -> tuple[nodes.Node, list[tuple[PathPart | None, bool, nodes.Node]]]:
    """The base of a Getattr/Getitem chain and its links, root first."""
    links: list[tuple[PathPart | None, bool, nodes.Node]] = []
    while True:
        if isinstance(node, nodes.Getattr):
            links.append((node.attr, True, node))
            node = node.node
        elif isinstance(node, nodes.Getitem):
            links.append((_constant_key(node.arg), False, node))
            node = node.node
        else:
            links.reverse()
            return node, links


# Filters that take another filter or test by name, and the position of that argument.
_NAMED_BY_ARGUMENT: Final = {
    "map": ("filter", 0),
    "select": ("test", 0),
    "reject": ("test", 0),
    "selectattr": ("test", 1),
    "rejectattr": ("test", 1),
}


@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _tokens(environment: Environment, text: str) -> list[tuple[int, int, str, str]]:
    """Jinja's tokens with exact 1-based line and column."""
    found: list[tuple[int, int, str, str]] = []
    cursor, line = 0, 1
    for _, kind, value in environment.lex(text):
        index = text.find(value, cursor) if value else cursor
        index = cursor if index < 0 else index
        line += text.count("\n", cursor, index)
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        found.append((line, column, kind, value))
        line += value.count("\n")
        cursor = index + len(value)
    return found


def _lexer_stop(environment: Environment, text: str) -> tuple[int, int, str] | None:
    """Where Jinja's lexer refused ``text`` (1-based line and column, and the character
    there), or None when it reads the whole text."""
    cursor, line = 0, 1
    try:
        with _quiet():
            for _, _, value in environment.lex(text):
                index = text.find(value, cursor) if value else cursor
                index = cursor if index < 0 else index
                line += text.count("\n", cursor, index + len(value))
                cursor = index + len(value)
    except TemplateSyntaxError:
        while cursor < len(text) and text[cursor].isspace():
            line += text[cursor] == "\n"
            cursor += 1
        if cursor >= len(text):
            return None
        return line, cursor - (text.rfind("\n", 0, cursor) + 1) + 1, text[cursor]
    return None


class TemplateAnalyzer:
    """Parses a template with Jinja and walks it, collecting problems and references."""

    def __init__(self, engine: TemplateEngine, text: str) -> None:
        self.engine = engine
        self.text = text
        self.tokens: list[tuple[int, int, str, str]] = []
        self.problems: list[Problem] = []
        self.references: list[Reference] = []
        self.chains: list[Chain] = []
        self.too_deep = False
        self.changing = False  # inside the value of a filter that changes text

    def run(self) -> Analysis:
        environment = self.engine.environment
        parser: Parser | None = None
        try:
            # "invalid escape sequence": '\d' in a pattern means what users expect. Only a
            # backslash in a quoted string can warn (Jinja decodes its escapes), so the
            # filters are swapped only then.
            with _quiet() if "\\" in self.text else nullcontext():
                if "{%" in self.text:  # a statement or raw block: only ever after `{%`
                    self.tokens = _tokens(environment, self.text)
                    self.check_statements()
                # Jinja's parser itself: ``environment.parse`` would also wrap the body in a
                # Template node and walk it to set the environment, which analysis never reads.
                body = None
                if not self.problems:
                    parser = Parser(environment, self.text)
                    body = parser.subparse()
        except TemplateSyntaxError as exc:
            self.syntax_error(exc, parser.stream.current if parser is not None else None)
        except (RecursionError, MemoryError):
            self.add("template-syntax", "the template is nested too deeply", SYNTAX_HINT)
        except Exception as exc:  # pragma: no cover - Jinja failing in a way it does not document
            self.add("template-syntax", f"template syntax error: {exc}", SYNTAX_HINT)
        if self.problems or body is None:
            return Analysis(TemplateInfo(tuple(self.problems), (), False), ())
        parts: list[str | nodes.Expr] = []
        # The body holds output nodes only: statements start with `{%` and were refused.
        for node in body:
            for child in cast(nodes.Output, node).nodes:
                if isinstance(child, nodes.TemplateData):
                    parts.append(child.data)
                else:
                    parts.append(child)
                    self.visit(child, False, 0)
        native = len(parts) == 1 and not isinstance(parts[0], str)
        info = TemplateInfo(tuple(self.problems), tuple(self.references), native)
        return Analysis(info, tuple(self.chains))

    def add(
        self,
        code: str,
        message: str,
        hint: str | None,
        line: int | None = None,
        value: str | None = None,
        offset: int = 0,
    ) -> None:
        """A problem at the token ``value`` on ``line``, the part of it ``offset``
        characters from either end (a name inside its quotes) at fault."""
        column = None
        width = 1
        if line is not None and value is not None:
            column = next(
                (c + offset for at, c, _, v in self._all_tokens() if at == line and v == value),
                None,
            )
            width = max(len(value) - 2 * offset, 1)
        self.problems.append(Problem(code, message, hint, line, column, width))

    def syntax_error(self, exc: TemplateSyntaxError, current: Token | None) -> None:
        """Jinja's syntax error, at the character its lexer stopped at when it was the
        lexer that refused the text (a stray `}`), else at the token its parser stopped
        at (``current``) when that token stands once on its line (Jinja's tokens carry
        only a line: a second `,` on the line could be either)."""
        message = f"template syntax error: {exc.message}"
        stopped = _lexer_stop(self.engine.environment, self.text)
        if stopped is None:
            tokens = self._all_tokens()
            same = [
                index
                for index, (line, _, _, value) in enumerate(tokens)
                if current is not None and line == exc.lineno and value == current.value
            ]
            if len(same) != 1:
                self.add("template-syntax", message, SYNTAX_HINT, exc.lineno)
                return
            line, column, _, value = tokens[same[0]]
            before = tokens[same[0] - 1] if same[0] else None
            if value == "=" and before is not None and before[3] in ("==", "!="):
                # JavaScript's `===` / `!==`, read as `==` then `=`: as in expressions.
                hint, column, width = f"use `{before[3]}`", before[1], 3
            else:
                hint, width = SYNTAX_HINT, len(value)
            self.problems.append(Problem("template-syntax", message, hint, line, column, width))
            return
        line, column, char = stopped
        hint = _STRAY_BRACE_HINT if char == "}" else SYNTAX_HINT
        self.problems.append(Problem("template-syntax", message, hint, line, column, 1))

    def _all_tokens(self) -> list[tuple[int, int, str, str]]:
        """The tokens with their positions, read when first needed (to place a problem)."""
        if not self.tokens:
            try:
                with _quiet():
                    self.tokens = _tokens(self.engine.environment, self.text)
            except TemplateSyntaxError:
                return []
        return self.tokens

    def check_statements(self) -> None:
        for index, (line, column, kind, _) in enumerate(self.tokens):
            if kind == "raw_begin":
                name = "raw"
            elif kind == "block_begin":
                following = (t for t in self.tokens[index + 1 :] if t[2] != "whitespace")
                name = next((t[3] for t in following if t[2] == "name"), "")
                if name.startswith("end") or name in ("else", "elif"):
                    continue
            else:
                continue
            message = f"`{{% {name} %}}`: statements are not allowed in templates"
            self.problems.append(
                Problem("template-statement", message, _STATEMENT_HINT, line, column)
            )

    def visit(self, node: nodes.Node, guarded: bool, depth: int) -> None:
        if depth > _MAX_DEPTH:
            if not self.too_deep:
                self.too_deep = True
                self.add(
                    "template-syntax",
                    "the template is nested too deeply",
                    SYNTAX_HINT,
                    node.lineno,
                )
            return
        depth += 1
        if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            self.visit_chain(node, guarded, depth)
            return
        if isinstance(node, nodes.Filter):
            self.visit_filter(node)
        elif isinstance(node, nodes.Test):
            self.visit_test(node)
        elif isinstance(node, nodes.Call):
            self.visit_call(node, depth)
            return
        elif (
            isinstance(node, nodes.Const)
            and type(node.value) is int
            and node.value.bit_length() > MAX_INT_BITS
        ):
            self.add("template-syntax", *number_too_long(node.value), node.lineno)
        elif isinstance(node, nodes.CondExpr) and node.expr2 is None:
            self.add(
                "template-syntax",
                "an inline `if` needs an `else`",
                "write `{{ a if condition else b }}`",
                node.lineno,
                "if",
            )
        guard_first = isinstance(node, nodes.Filter) and node.name in ("default", "d")
        guard_first |= isinstance(node, nodes.Test) and node.name in ("defined", "undefined")
        changes = isinstance(node, nodes.Filter) and node.name not in _KEEP_TEXT
        for index, child in enumerate(node.iter_child_nodes()):
            if changes and index == 0:  # the value the filter changes
                outer, self.changing = self.changing, True
                self.visit(child, guard_first, depth)
                self.changing = outer
            else:
                self.visit(child, guard_first and index == 0, depth)

    def visit_chain(self, node: nodes.Node, guarded: bool, depth: int) -> None:
        base, links = chain_links(node)
        root = base.name if isinstance(base, nodes.Name) else None
        for index, (key, is_attribute, link) in enumerate(links):
            if is_attribute and str(key).startswith("_"):
                self.add(
                    "forbidden-name",
                    f"`.{key}` is not allowed: names starting with `_` are private",
                    private_key_hint(root, [k for k, _, _ in links[: index + 1]]),
                    link.lineno,
                    str(key),
                )
        if isinstance(base, nodes.Name):
            name = base.name
            if name.startswith("_") or name in _JINJA_SPECIAL:
                self.add(
                    "forbidden-name",
                    f"`{name}` is not available in templates",
                    "use the names in scope: inputs, vars, steps, …",
                    base.lineno,
                    name,
                )
            elif name not in self.engine.globals:
                constant: list[tuple[PathPart, bool]] = []
                for key, is_attribute, _ in links:
                    if key is None:
                        break
                    constant.append((key, is_attribute))
                path = tuple(key for key, _ in constant)
                text = format_reference(name, path)
                changed = self.changing or len(constant) < len(links)  # a computed key
                self.references.append(Reference(name, path, guarded, text, changed))
                self.chains.append(Chain(name, tuple(constant)))
        else:
            self.visit(base, False, depth)
        for key, is_attribute, link in links:
            if key is None and not is_attribute and isinstance(link, nodes.Getitem):
                self.visit(link.arg, False, depth)

    def visit_filter(self, node: nodes.Filter) -> None:
        name = node.name
        if name in self.engine.filters and name != CONCAT:
            self.visit_named_argument(node)
            return
        if name in _REMOVED:
            hint = _REMOVED[name]
        elif name in _TEMPLATE_FORMS:
            hint = f"in templates, write `{_TEMPLATE_FORMS[name]}`"
        else:
            hint = _suggest(name, self.engine.public_filters(), "filters")
        self.add("unknown-filter", f"unknown filter `{name}`", hint, node.lineno, name)

    def visit_named_argument(self, node: nodes.Filter) -> None:
        """A filter or test named by text in a call: ``map('title')``, ``select('odd')``,
        ``selectattr('done', 'true')``; found when the filter runs, so checked here."""
        kind, index = _NAMED_BY_ARGUMENT.get(node.name, ("", -1))
        if index < 0 or len(node.args) <= index:
            return
        given = node.args[index]
        if not isinstance(given, nodes.Const) or not isinstance(given.value, str):
            return
        wanted = given.value
        known = self.engine.filters if kind == "filter" else self.engine.tests
        if wanted in known and wanted != CONCAT:
            return
        names = self.engine.public_filters() if kind == "filter" else self.engine.tests
        where = next(
            (
                q + wanted + q
                for q in "'\""
                if any(v == q + wanted + q for *_, v in self._all_tokens())
            ),
            None,
        )
        self.add(
            f"unknown-{kind}",
            f"unknown {kind} `{wanted}` (given to `{node.name}` by name)",
            _suggest(wanted, names, f"{kind}s"),
            given.lineno,
            where,
            offset=1,  # the name, inside its quotes
        )

    def visit_test(self, node: nodes.Test) -> None:
        if node.name not in self.engine.tests:
            hint = _suggest(node.name, self.engine.tests, "tests")
            self.add("unknown-test", f"unknown test `{node.name}`", hint, node.lineno, node.name)

    def visit_call(self, node: nodes.Call, depth: int) -> None:
        func = node.node
        if isinstance(func, nodes.Name):
            name = func.name
            if name not in self.engine.globals:
                if name in _REMOVED:
                    hint = _REMOVED[name]
                elif name in _TEMPLATE_FORMS:
                    hint = f"in templates, write `{_TEMPLATE_FORMS[name]}`"
                else:
                    hint = _suggest(name, self.engine.globals, "functions")
                self.add("unknown-function", f"unknown function `{name}`", hint, node.lineno, name)
        elif isinstance(func, nodes.Getattr):
            if func.attr.startswith("_") or func.attr not in ALLOWED_METHODS:
                self.add(
                    "forbidden-name",
                    f"the method `{func.attr}` is not allowed",
                    method_hint(func.attr),
                    node.lineno,
                    func.attr,
                )
            outer, self.changing = self.changing, True  # a method makes another value
            self.visit(func.node, False, depth)
            self.changing = outer
        else:
            self.visit(func, False, depth)
        for child in (*node.args, *node.kwargs, node.dyn_args, node.dyn_kwargs):
            if child is not None:
                self.visit(child, False, depth)


def _suggest(name: str, known: Mapping[str, Any] | Sequence[str], what: str) -> str:
    return did_you_mean(name, known, listing=False, code=True) or (
        f"{what} you can use: {', '.join(sorted(known))}"
    )
