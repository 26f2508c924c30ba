"""Did-you-mean: the closest known names to a misspelt one (the only implementation).

Every hint that guesses what was meant asks :func:`closest`; :func:`did_you_mean` words
it as the hint sentence, or lists what is allowed when nothing is close.
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


def did_you_mean(word: str, candidates: Iterable[str], *, listing: bool = True) -> str | None:
    """A hint sentence: "did you mean 'with'?", else the list of what is allowed.

    >>> did_you_mean("wiht", ["with", "tool"])
    "did you mean 'with'?"
    >>> did_you_mean("zzz", ["with", "tool"])
    'expected one of: tool, with'
    """
    pool = sorted(set(candidates))
    match = closest(word, pool)
    if match is not None:
        return f"did you mean '{match}'?"
    if listing and pool:
        shown = ", ".join(pool[:20]) + (", …" if len(pool) > 20 else "")
        return f"expected one of: {shown}"
    return None
