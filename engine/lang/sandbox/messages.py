"""Turning any failure into the message, hint and StepError a user sees."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from engine.diagnostics.errors import ErrorKind, StepError
from engine.diagnostics.suggestions import closest, you_mean
from engine.diagnostics.words import PYTHON_TYPE_NAMES, TYPE_WORDS, describe_value
from engine.lang.sandbox.failures import MissingValue, SandboxFailure, division_by_zero, listing
from engine.lang.sandbox.lookups import MAPPING_METHODS, STRING_METHODS
from engine.lang.sandbox.references import IDENTIFIER, PathPart, format_reference
from engine.lang.secrets import secret_label


def _child_text(parent_text: str, key: Any) -> str:
    if isinstance(key, str | int) and not isinstance(key, bool):
        path: tuple[PathPart, ...] = (key,)
        return format_reference(parent_text, path)
    return f"{parent_text}[{key!r}]"


def describe_missing(error: MissingValue, guard: str) -> tuple[str, str]:
    """Message and hint for a missing name, key or item.

    ``guard`` shows how to tolerate a missing value in this language; ``{ref}`` in it is
    replaced by the reference.

    >>> describe_missing(MissingValue("inputs", {"name": 1, "count": 2}, "nmae"), "")
    ('`inputs.nmae` is undefined', 'did you mean `inputs.name`? inputs has: count, name')
    """
    parent, key, parent_text = error.parent, error.key, error.parent_text
    label = secret_label(key) if parent_text is not None else None
    if label is not None:  # `data[config.token]`: the key is named, never shown or matched
        where = f"`{parent_text}`" if parent_text else describe_value(parent)
        return f"{where} has no key given by {label}", "check the key the template looks up"
    if parent_text is None:
        names = list(parent) if isinstance(parent, Mapping) else []
        match = closest(key, names)
        hint = f"names you can use here: {listing(names)}" if names else "no names are set here"
        if match is not None:
            hint = f"{you_mean(match, code=True)} {hint}"
        return f"`{key}` is undefined", hint
    method = _method_meant(error)
    if isinstance(parent, Mapping) and IDENTIFIER.match(parent_text):
        keys = list(parent)
        match = closest(key, keys) if isinstance(key, str) else None
        hint = f"{parent_text} has: {listing(keys)}" if keys else f"{parent_text} is empty"
        if match is not None:
            hint = f"{you_mean(_child_text(parent_text, match), code=True)} {hint}"
        if method is not None:
            hint = f"{hint}; {method}"
        return f"`{_child_text(parent_text, key)}` is undefined", hint
    step = _STEP_RESULT.fullmatch(parent_text or "")
    if parent is None and step is not None:
        return _no_result(step.group(1), key, guard)
    message, better = _describe_missing_key(parent, key, parent_text or "")
    if method is not None:
        better = method if better is None else f"{better} {method}"
    if better is None:
        better = guard.format(ref=_child_text(parent_text, key)) if parent_text else _NO_GUARD
    return message[0].upper() + message[1:], better


def _method_meant(error: MissingValue) -> str | None:
    """For ``x.items`` on an object without that key: how to call the method instead."""
    if not (error.attribute and isinstance(error.parent, Mapping)):
        return None
    if error.key not in MAPPING_METHODS:
        return None
    meant = f"if you meant the method `{error.key}()`"
    if not error.parent_text:  # a computed object: no reference to show the call on
        return f"{meant}, add the parentheses"
    return f"{meant}, call it: `{_child_text(error.parent_text, error.key)}()`"


_NO_GUARD: Final = "check the key name"
_STEP_RESULT: Final = re.compile(r"steps\.([A-Za-z_][\w-]*)\.result")


def _no_result(step: str, key: Any, guard: str) -> tuple[str, str]:
    """Reading into the result of a step that failed (the action went on after it, under
    `continue_on_error` or `catch`) or was skipped: it has no result.

    >>> message, hint = _no_result("read", "data", "add a fallback: `{ref} | default('')`")
    >>> message
    "`steps.read.result` is null: the step `read` failed or was skipped, so it has no key 'data'"
    >>> hint.endswith("or add a fallback: `steps.read.result.data | default('')`")
    True
    """
    ref = _child_text(f"steps.{step}.result", key)
    fallback = guard.removeprefix("if it may be missing, ").format(ref=ref)
    return (
        f"`steps.{step}.result` is null: the step `{step}` failed or was skipped, so it "
        f"has no key {key!r}",
        "a step that fails (with continue_on_error or catch) or is skipped gives no result: "
        f"read it only if `steps.{step}.status == 'succeeded'`, or {fallback}",
    )


def _describe_missing_key(parent: Any, key: Any, text: str) -> tuple[str, str | None]:
    """Message (and a hint, when there is a better one than the guard) for ``parent[key]``;
    ``text`` is the parent's reference ("" when it has none)."""
    kind = describe_value(parent)
    subject = f"`{text}`" if text else ""
    if isinstance(parent, Mapping):
        keys = list(parent)
        has = f"it has: {listing(keys)}" if keys else "it is empty"
        match = closest(key, keys) if isinstance(key, str) else None
        hint = you_mean(match) if match is not None else None
        return f"{subject or kind} has no key {key!r}; {has}", hint
    if isinstance(parent, list | tuple | range | str) and isinstance(key, int):
        count = len(parent)
        noun = "character" if isinstance(parent, str) else "item"
        numbered = f"{noun}s are numbered from 0 to {count - 1}" if count else "it is empty"
        if count and key < 0:  # -1 is the last: negative positions count from the end
            numbered += f", or from -1 to {-count} counting from the end"
        return f"{subject or kind} has no {noun} {key}; it has {count} {noun}(s)", numbered
    what = f"{subject} is {kind}, so it" if subject else kind
    if isinstance(parent, list | tuple | range):
        return f"{what} has no key {key!r}", _list_has_no_keys(parent, key, text)
    if isinstance(parent, str):
        hint = f"string methods you can use: {listing(STRING_METHODS, 40)}"
        return f"{what} has no key or method {key!r}", hint
    if callable(parent):
        name = getattr(parent, "__name__", "")
        hint = f"the object has no key {name!r}, so `.{name}` found its built-in method instead"
        return f"{subject or 'a method'} is a method, so it has no key {key!r}", hint
    return f"{what} has no key {key!r}", None


def _list_has_no_keys(items: Sequence[Any], key: Any, text: str) -> str:
    """The hint for reading a key of a list: positions are numbers (``lst['0']``), and a
    list has no keys, only items by position (an item's key, when the items have it).

    >>> _list_has_no_keys([1, 2], "0", "inputs.lst")
    'list positions are numbers, not text: write `inputs.lst[0]`'
    """
    position = position_hint(text, key)
    if position is not None:
        return position
    count = len(items)
    if not count:
        return "a list has no keys, and this one is empty"
    shown = f"`{_child_text(text, 0)}`"
    if count > 1:
        shown += f" to `{_child_text(text, count - 1)}`"
    first = items[0]
    if isinstance(first, Mapping) and isinstance(key, str) and key in first:
        shown += f" (e.g. `{_child_text(_child_text(text, 0), key)}`)"
    return f"a list has no keys: it has {count} item(s), read by position: {shown}"


def position_hint(text: str, key: Any) -> str | None:
    """For a list's "key" that is a position written as text (``lst['0']``), the hint to
    write it as a number; None for any other key.

    >>> position_hint("inputs.lst", "-1"), position_hint("inputs.lst", "name")
    ('list positions are numbers, not text: write `inputs.lst[-1]`', None)
    """
    if not (isinstance(key, str) and _POSITION.fullmatch(key)):
        return None
    return f"list positions are numbers, not text: write `{_child_text(text, int(key))}`"


_POSITION: Final = re.compile(r"-?[0-9]+")
_TYPE_NAMES = re.compile(r"""(['"]?)\b(str|int|float|bool|NoneType|None|dict|list|tuple)\b\1""")


#: For a value that is null where another was needed.
NULL_HINT: Final = (
    "a value is null (an optional input not given, a step that was skipped or failed): "
    "give a fallback, `x | default(…)` in a template or `default(x, …)` in an expression"
)

# Python's phrasings of a value that cannot be used so, in a manifest author's words.
_PHRASES: Final = (
    (re.compile(r"object of type '?(\w+)'? has no len\(\)"), "{} has no length"),
    (re.compile(r"'?(\w+)'? object is not iterable"), "{} is not a list of items"),
    (re.compile(r"type '?(\w+)'? doesn't define __round__ method"), "{} cannot be rounded"),
    (re.compile(r"'?(\w+)'? object is not subscriptable"), "{} has no items or keys"),
)


def friendly_type_error(text: str) -> str:
    """A TypeError's text with Python's type names in a manifest author's words.

    >>> friendly_type_error("object of type 'NoneType' has no len()")
    'null has no length'
    >>> friendly_type_error("'int' object is not iterable")
    'a whole number is not a list of items'
    """
    for pattern, words in _PHRASES:
        found = pattern.fullmatch(text)
        if found is not None and found.group(1) in PYTHON_TYPE_NAMES:
            return words.format(TYPE_WORDS[PYTHON_TYPE_NAMES[found.group(1)]])
    return _TYPE_NAMES.sub(lambda m: TYPE_WORDS[PYTHON_TYPE_NAMES[m.group(2)]], text)


def to_step_error(exc: BaseException, kind: ErrorKind, guard: str) -> StepError:
    """The :class:`StepError` (no step, no location) for anything evaluation raised.

    >>> to_step_error(ZeroDivisionError(), ErrorKind.EXPRESSION_ERROR, "").message
    'division by zero'
    """
    if isinstance(exc, StepError):
        return exc
    hint: str | None = None
    if isinstance(exc, MissingValue):
        message, hint = describe_missing(exc, guard)
    elif isinstance(exc, SandboxFailure):
        message, hint = exc.message, exc.hint
    elif isinstance(exc, ZeroDivisionError):
        message, hint = division_by_zero().message, division_by_zero().hint
    elif isinstance(exc, OverflowError):
        message, hint = f"a number is too large: {exc}", "check the arithmetic"
    elif isinstance(exc, RecursionError):
        message, hint = "the value is nested too deeply", "work on a smaller part of the data"
    elif isinstance(exc, MemoryError):
        message, hint = "out of memory", "make the action work on less data"
    elif isinstance(exc, TypeError):
        message = f"wrong kind of value: {friendly_type_error(str(exc))}"
        hint = (
            NULL_HINT
            if re.search(r"\b(None|NoneType)\b", str(exc))
            else "convert values first, e.g. with int(...), float(...) or str(...)"
        )
    elif isinstance(exc, ValueError):
        message = f"invalid value: {exc}"
    else:
        message = str(exc) or type(exc).__name__
    return StepError(kind, message, hint=hint)
