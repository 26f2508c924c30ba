"""Regular expressions: time-limited, refusing patterns and results that are too large.

``regex`` copies fixed repeats while it compiles, before any timeout applies, so a
pattern's expanded size is measured first.
"""

from __future__ import annotations

import re
from typing import Any, Final, NoReturn

import regex  # type: ignore[import-untyped, unused-ignore]  # ships no type information

from engine.lang.sandbox.budget import remaining, spend
from engine.lang.sandbox.failures import SandboxFailure, text_argument
from engine.lang.sandbox.sizes import check_size, size_limit, sized_text, to_text
from engine.lang.secrets import show

REGEX_TIMEOUT: Final = 0.2  # seconds one regular expression operation may run


def _timeout() -> float:
    """Seconds the next operation may run: REGEX_TIMEOUT, or what is left of the time
    budget of the evaluation (see :mod:`engine.lang.sandbox.budget`)."""
    return min(REGEX_TIMEOUT, remaining())


_QUANTIFIER = re.compile(r"\{(\d*)(?:,(\d*))?\}")
_MAX_PATTERN_COPIES: Final = 50_000


def _expanded_size(pattern: str) -> int:
    """About how many atoms ``regex`` builds for a pattern: it copies fixed repeats such as
    ``(?:a{100}){100}`` while compiling (10,000 copies), before any timeout applies.

    >>> _expanded_size("a{5}b"), _expanded_size("(?:ab{1,9}){3}")
    (6, 9)
    """
    groups: list[list[int]] = [[0, 0]]  # per open group: [size so far, size of last atom]
    index = 0
    while index < len(pattern) and groups[0][0] <= _MAX_PATTERN_COPIES:
        char, atom = pattern[index], 1
        quantifier = _QUANTIFIER.match(pattern, index) if char == "{" else None
        if char == "\\":
            index += 1
            if pattern[index + 1 : index + 2] == "{" and pattern[index : index + 1] in "pPNg":
                index = pattern.find("}", index) if "}" in pattern[index:] else len(pattern)
        elif char == "[":
            index += 2 if pattern[index + 1 : index + 2] in ("]", "^") else 1
            while index < len(pattern) and pattern[index] != "]":
                index += 2 if pattern[index] == "\\" else 1
        elif char == "(":
            groups.append([0, 0])
            index += 1
            continue
        elif char == ")" and len(groups) > 1:
            atom = groups.pop()[0]
        elif quantifier is not None and any(quantifier.groups()):
            count = max(int(quantifier.group(1)[:7] or 0), 1)  # regex copies the minimum
            current = groups[-1]
            current[0] += current[1] * (count - 1)
            current[1] *= count
            index = quantifier.end()
            continue
        elif char in "*+?|^$":
            index += 1
            continue
        groups[-1][0] += atom
        groups[-1][1] = atom
        index += 1
    return sum(group[0] for group in groups)


def _pattern(pattern: Any, ignorecase: bool = False) -> Any:
    source = text_argument(pattern, "a regular expression")
    size = _expanded_size(source)
    if size > _MAX_PATTERN_COPIES:
        raise SandboxFailure(
            f"the regular expression repeats too much (about {size:,} copies; at most "
            f"{_MAX_PATTERN_COPIES:,})",
            "use + or a range such as {1,100} instead of large fixed counts",
        )
    try:
        return regex.compile(source, regex.IGNORECASE if ignorecase else 0)
    except (regex.error, ValueError, OverflowError) as exc:
        raise SandboxFailure(
            f"invalid regular expression {show(source, 40)}: {exc}",
            "check its brackets and escapes; in YAML, single-quote a pattern with backslashes",
        ) from None


def _too_slow() -> NoReturn:
    spend()  # out of the evaluation's time, rather than of the expression's own
    raise SandboxFailure(
        f"the regular expression took longer than {REGEX_TIMEOUT} s",
        "simplify the pattern (nested repeats such as (a+)+ can take forever), "
        "or work on less text",
    )


def regex_matches(text: Any, pattern: Any, ignorecase: bool = False) -> bool:
    """True when ``pattern`` matches somewhere in ``text``.

    >>> regex_matches("Invoice 42", r"\\d+")
    True
    """
    compiled = _pattern(pattern, ignorecase)
    try:
        return compiled.search(to_text(text), timeout=_timeout()) is not None
    except TimeoutError:
        _too_slow()


def regex_search(text: Any, pattern: Any, ignorecase: bool = False) -> str | None:
    """The first text ``pattern`` matches, or null.

    >>> regex_search("Invoice 42", r"\\d+")
    '42'
    """
    compiled = _pattern(pattern, ignorecase)
    try:
        match = compiled.search(to_text(text), timeout=_timeout())
    except TimeoutError:
        _too_slow()
    return None if match is None else str(match.group(0))


def _count_matches(compiled: Any, source: str, count: int = 0) -> tuple[int, int]:
    """How many matches (up to ``count``, 0 for all) and how many characters they cover,
    counted in C without building them."""
    stripped, matches = compiled.subn("", source, count=count, timeout=_timeout())
    return matches, len(source) - len(stripped)


def regex_findall(text: Any, pattern: Any, ignorecase: bool = False) -> list[Any]:
    """Every match of ``pattern`` (the group's text when it has one group).

    >>> regex_findall("a1 b22", r"\\d+")
    ['1', '22']
    """
    compiled = _pattern(pattern, ignorecase)
    source = to_text(text)
    try:
        check_size(_count_matches(compiled, source)[0], "max_collection_size")
        found = compiled.findall(source, timeout=_timeout())
    except TimeoutError:
        _too_slow()
    return [list(item) if isinstance(item, tuple) else item for item in found]


def regex_replace(
    text: Any, pattern: Any, replacement: Any = "", count: int = 0, ignorecase: bool = False
) -> str:
    """``text`` with matches of ``pattern`` replaced (``\\1`` refers to a group).

    >>> regex_replace("a  b   c", r"\\s+", " ")
    'a b c'
    """
    compiled = _pattern(pattern, ignorecase)
    source, template = to_text(text), text_argument(replacement, "the replacement")
    try:
        matches, covered = _count_matches(compiled, source, count)
        # Each group reference (a backslash) adds at most the text its match covers.
        size = len(source) - covered + matches * len(template) + template.count("\\") * covered
        if size > size_limit("max_string_length") and "\\" in template:
            return _replace_measured(compiled, source, template, count)
        check_size(size, "max_string_length")
        return sized_text(compiled.sub(template, source, count=count, timeout=_timeout()))
    except TimeoutError:
        _too_slow()
    except (regex.error, IndexError) as exc:
        raise SandboxFailure(f"invalid replacement {show(template, 40)}: {exc}") from None


def _replace_measured(compiled: Any, source: str, template: str, count: int) -> str:
    """Replacement with group references whose worst case is too big: measure as we go."""
    limit = size_limit("max_string_length")
    pieces: list[str] = []
    size = last = done = 0
    for match in compiled.finditer(source, timeout=_timeout()):
        if count and done >= count:
            break
        start, end = match.span()
        piece = match.expand(template)
        size += start - last + len(piece)
        if size > limit:
            check_size(size, "max_string_length")
        pieces += (source[last:start], piece)
        last, done = end, done + 1
    check_size(size + len(source) - last, "max_string_length")
    pieces.append(source[last:])
    return "".join(pieces)
