"""Did-you-mean: the closest known names to a misspelt one (the only implementation).

Every hint that guesses what was meant asks :func:`closest`, and words the guess with
:func:`you_mean` (the one sentence); :func:`did_you_mean` does both, or lists what is
allowed when nothing is close. A name (a key, an input, a tool, a value) is quoted as
'name'; code (a reference such as `inputs.name`, a filter, a function) as `code`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: object, candidates: Iterable[object], *, cutoff: float = 0.6) -> str | None:
    """The best match for ``word`` among ``candidates``, if one is close enough (each
    compared as text: keys of a mapping may be numbers).

    >>> closest("wiht", ["with", "tool", "id"])
    'with'
    >>> closest("zzz", ["with"]) is None
    True
    >>> closest("Clipboard", ["clipboard", "board"])
    'clipboard'
    """
    word = str(word)
    pool = [str(candidate) for candidate in candidates]
    lowered = {c.lower(): c for c in pool}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return lowered[word.lower()]
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=cutoff)
    return matches[0] if matches else None


def you_mean(guess: str, *, code: bool = False) -> str:
    """The did-you-mean sentence for a guess: a name in quotes, ``code`` in backticks.

    >>> you_mean("with")
    "did you mean 'with'?"
    >>> you_mean("inputs.name", code=True)
    'did you mean `inputs.name`?'
    """
    return f"did you mean `{guess}`?" if code else f"did you mean '{guess}'?"


def did_you_mean(
    word: str,
    candidates: Iterable[str],
    *,
    listing: bool = True,
    code: bool = False,
) -> str | None:
    """A hint sentence: "did you mean 'with'?", else the list of what is allowed (with
    ``listing``); ``code``: the candidates are code, quoted as such (see :func:`you_mean`).

    >>> did_you_mean("wiht", ["with", "tool"])
    "did you mean 'with'?"
    >>> did_you_mean("lenght", ["length", "lower"], code=True)
    'did you mean `length`?'
    >>> did_you_mean("zzz", ["with", "tool"])
    'expected one of: tool, with'
    """
    pool = sorted(set(candidates))
    match = closest(word, pool)
    if match is not None:
        return you_mean(match, code=code)
    if listing and pool:
        shown = ", ".join(pool[:20]) + (", …" if len(pool) > 20 else "")
        return f"expected one of: {shown}"
    return None
