"""What static analysis reports (problems, references) and how a reference is written."""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from engine.diagnostics.errors import CompileError, Diagnostic

PathPart = str | int
Scope = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a template or expression, found without evaluating it.

    ``code`` is stable (the validator maps it to a diagnostic); ``line`` and ``column``
    count from 1 within the text, when known; ``width``: how many characters from there
    are at fault (a name's length: what the excerpt underlines).

    >>> Problem("unknown-filter", "unknown filter `uper`", "did you mean `upper`?", 1, 8, 4).width
    4
    """

    code: str
    message: str
    hint: str | None = None
    line: int | None = None
    column: int | None = None
    width: int = 1


@dataclass(frozen=True, slots=True)
class Reference:
    """One use of a name: ``steps.read.result.data.items[0]`` is root ``steps`` and path
    ``("read", "result", "data", "items", 0)``. The path stops at the first part that is
    not a constant. ``guarded`` is True inside ``default(...)`` / ``defined(...)`` (and
    their template forms), where an undefined value is expected. ``changed`` is True
    where a template changes the value before showing it (a filter, a computed key or
    slice, under a filter that changes text): its text is then no longer the value's.

    >>> Reference("inputs", ("name",), False, "inputs.name").root
    'inputs'
    """

    root: str
    path: tuple[PathPart, ...]
    guarded: bool
    text: str
    changed: bool = False


@dataclass(frozen=True, slots=True)
class Chain:
    """A chain of constant keys in a template, as written: ``links`` are ``(key,
    is_attribute)`` pairs (``x.a`` is an attribute link, ``x['a']`` and ``x[0]`` item
    links). A failed render walks them to name the parent of a missing key.

    >>> Chain("steps", (("read", True), (0, False))).links[1]
    (0, False)
    """

    root: str
    links: tuple[tuple[PathPart, bool], ...]


def compile_error(problems: Sequence[Problem]) -> CompileError:
    """The :class:`CompileError` for a list of problems: the first one leads.

    >>> compile_error([Problem("expression-syntax", "the expression is empty")]).code
    'expression-syntax'
    """
    first = problems[0]
    diagnostics = [Diagnostic(p.code, p.message, hint=p.hint) for p in problems]
    return CompileError(first.message, code=first.code, hint=first.hint, diagnostics=diagnostics)


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def is_dot_name(key: str) -> bool:
    """True when ``.key`` reads ``key`` in both templates and expressions: a plain name
    that is not private (``._x`` is refused) nor a word Python's syntax reserves
    (``x.if`` does not parse as an expression).

    >>> is_dot_name("name"), is_dot_name("_id"), is_dot_name("my var"), is_dot_name("if")
    (True, False, False, False)
    """
    return key[:1] != "_" and IDENTIFIER.match(key) is not None and not keyword.iskeyword(key)


def format_reference(root: str, path: Iterable[PathPart]) -> str:
    """The canonical text of a reference, as a user can write it: a key after a dot when
    :func:`is_dot_name` allows it, else in brackets.

    >>> format_reference("steps", ("read", "result", "items", 0))
    'steps.read.result.items[0]'
    >>> format_reference("vars", ("my var",)), format_reference("inputs", ("_id",))
    ("vars['my var']", "inputs['_id']")
    """
    parts = [root]
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif is_dot_name(part):
            parts.append(f".{part}")
        else:
            parts.append(f"[{part!r}]")
    return "".join(parts)


def private_key_hint(root: str | None, keys: Sequence[PathPart | None]) -> str:
    """The hint for ``._key`` (refused: private), naming the reference to write instead
    when it is all constant (``root``: None when the chain starts from a computed value).

    >>> private_key_hint("inputs", ("obj", "_x")), private_key_hint(None, ("_x",))
    ("to read such a key, write `inputs.obj['_x']`", "to read such a key, write `value['_x']`")
    """
    if root is None or any(key is None for key in keys):
        return f"to read such a key, write `value[{keys[-1]!r}]`"
    return f"to read such a key, write `{format_reference(root, cast(Sequence[PathPart], keys))}`"
