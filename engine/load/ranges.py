"""Plugin versions (semver) and the version ranges users write for dependencies.

Longer than 400 lines: each way of writing a range (PEP 440, and the npm forms of 1.0
files: caret, tilde, x-ranges) has its translation and its own message when written wrong.

A plugin version is semver: ``MAJOR.MINOR.PATCH`` with an optional pre-release tag
(``-alpha``, ``-beta``, ``-rc``, each optionally numbered: ``1.2.3-beta.1``). It is
parsed into a :class:`packaging.version.Version` so that it compares the way people
expect (``1.2.3-beta.1 < 1.2.3 < 1.10.0``).

A range is what a plugin writes next to a dependency: a PEP 440 version specifier, as
:class:`packaging.specifiers.SpecifierSet` reads it (``>=1.2,<2``, ``~=1.2``,
``==1.4.*``, ``==1.2.3``, ``!=1.3.0``), or ``*`` for any version. :func:`parse_range`
reads the ranges of the current manifest language (api_version 1.1). Api_version 1.0
also accepted the npm forms; :func:`upgrade_range` rewrites one into PEP 440 (used to
upgrade a 1.0 file, and as the fix when such a range is written in a 1.1 one):

======================  ===============================  ==========================
npm form (1.0)          means                            PEP 440
======================  ===============================  ==========================
``x``, ``*``           any version                      ``*``
``1.2.3``, ``=1.2.3``   exactly 1.2.3                    ``==1.2.3``
``1``, ``1.x``          any 1.y.z                        ``>=1,<2``
``1.2``, ``1.2.x``      any 1.2.z                        ``>=1.2,<1.3``
``^1.2.3``              compatible (same major)          ``>=1.2.3,<2``
``^0.2.3``              compatible (same 0.minor)        ``>=0.2.3,<0.3``
``~1.2.3``              same minor                       ``>=1.2.3,<1.3``
``>=1.0 <2.0``          space-separated                  ``>=1.0,<2.0``
======================  ===============================  ==========================

**Pre-releases** are chosen only when a range on that plugin names one
(``>=2.0.0-beta.1``), or when no final release satisfies the ranges at all; a
pre-release admitted by a range is compared by PEP 440 rules, so ``<2.0.0`` never
admits ``2.0.0-beta.1``. :func:`matching_versions` applies this policy.

>>> format_version(parse_version("1.2.3-beta.1"))
'1.2.3-beta.1'
>>> format_range(parse_range("<2,>=1.2"))
'>=1.2,<2'
>>> upgrade_range("^1.2")
'>=1.2,<2'
>>> [str(v) for v in matching_versions(
...     [parse_version(t) for t in ("1.0.0", "1.5.0", "2.0.0-beta.1")], [parse_range("*")])]
['1.5.0', '1.0.0']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from engine.diagnostics.errors import PluginError

MAX_VERSION_LENGTH = 64
MAX_RANGE_LENGTH = 256
#: The api_versions whose plugins may write npm ranges (read as their PEP 440 spelling).
NPM_RANGE_API_VERSIONS = frozenset({"1.0"})
_MAX_DIGITS = 15

_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?"
)
_PRE_TAG = re.compile(r"(alpha|beta|rc)(?:\.?(0|[1-9]\d*))?")
_RANGE_TOKEN = re.compile(r"(?P<op>===|~=|==|!=|>=|<=|>|<|=|\^|~)?(?P<ver>.*)")
_PARTIAL = re.compile(
    r"(?P<c0>\d+|[xX*])(?:\.(?P<c1>\d+|[xX*]))?(?:\.(?P<c2>\d+|[xX*]))?"
    r"(?:-?(?P<pre>alpha|beta|rc|a|b)(?:\.?(?P<pre_n>\d+))?)?"
)
_OPERATORS = frozenset({"~=", "==", "!=", ">=", "<=", ">", "<", "=", "^", "~", "==="})
_PRE_WORDS = {"a": "alpha", "b": "beta", "rc": "rc"}
_PEP440_PRE = {"alpha": "a", "a": "a", "beta": "b", "b": "b", "rc": "rc"}
_OP_ORDER = {"===": 0, "==": 1, "~=": 2, ">=": 3, ">": 4, "<=": 5, "<": 6, "!=": 7}

_VERSION_HINT = "write three numbers MAJOR.MINOR.PATCH, e.g. '1.2.0' or '2.0.0-beta.1'"
_RANGE_HINT = (
    "write a PEP 440 range such as '>=1.2,<2', '~=1.2', '==1.4.*', '==1.2.3' or '*' for any version"
)


class VersionError(PluginError):
    """A plugin version is not semver text."""

    code = "invalid-version"


class RangeError(VersionError):
    """A dependency's version range cannot be understood or matches nothing."""

    code = "invalid-range"


def parse_version(text: str) -> Version:
    """Parse a semver plugin version such as ``1.2.3`` or ``1.2.3-beta.1``.

    >>> parse_version("1.10.0") > parse_version("1.9.2")
    True
    >>> parse_version("2.0.0-rc.1") < parse_version("2.0.0")
    True
    >>> parse_version("1.2")
    Traceback (most recent call last):
    ...
    engine.load.ranges.VersionError: '1.2' is not a valid version: ...
    """
    if not isinstance(text, str):
        raise VersionError(
            f"a version must be text, not {type(text).__name__} ({text!r})",
            hint='quote it in YAML: version: "1.2.0"',
        )
    raw = text.strip()
    if len(raw) > MAX_VERSION_LENGTH:
        raise VersionError(
            f"the version {raw[:20]!r}... is {len(raw)} characters long "
            f"(at most {MAX_VERSION_LENGTH})",
            hint=_VERSION_HINT,
        )
    match = _SEMVER.fullmatch(raw)
    if match is None:
        reason, hint = _diagnose_version(raw)
        raise VersionError(f"{raw!r} is not a valid version: {reason}", hint=hint)
    if match["build"] is not None:
        raise VersionError(
            f"{raw!r} is not a valid version: build metadata ('+{match['build']}') "
            "is not supported",
            hint=f"remove it: write {raw.split('+', 1)[0]!r}",
        )
    if any(len(part) > _MAX_DIGITS for part in match.groups()[:3]):
        raise VersionError(
            f"{raw!r} is not a valid version: a number has more than {_MAX_DIGITS} digits",
            hint=_VERSION_HINT,
        )
    pre = match["pre"]
    if pre is not None and _PRE_TAG.fullmatch(pre) is None:
        raise VersionError(
            f"{raw!r} is not a valid version: the pre-release tag {pre!r} is not one of "
            "alpha, beta or rc",
            hint="write e.g. '-alpha.1', '-beta.2' or '-rc.1' after the three numbers",
        )
    return Version(raw)


def _diagnose_version(raw: str) -> tuple[str, str]:
    """Say what is wrong with text that is not semver, and what to write instead."""
    if not raw:
        return "it is empty", _VERSION_HINT
    if raw[0] in "vV" and raw[1:2].isdigit():
        return f"it starts with {raw[0]!r}", f"leave out the {raw[0]!r}: write {raw[1:]!r}"
    core = re.split(r"[-+]", raw, maxsplit=1)[0]
    numbers = core.split(".")
    if all(n.isdigit() for n in numbers):
        if len(numbers) < 3:
            padded = ".".join([*numbers, "0", "0"][:3])
            return f"expected three numbers MAJOR.MINOR.PATCH, found {len(numbers)}", (
                f"write {padded!r}"
            )
        if len(numbers) > 3:
            return f"expected three numbers MAJOR.MINOR.PATCH, found {len(numbers)}", (
                _VERSION_HINT
            )
        fixed = ".".join(str(int(n)) for n in numbers)
        return "a number has a leading zero", f"write {fixed!r}"
    return "expected MAJOR.MINOR.PATCH made of digits, such as '1.2.0'", _VERSION_HINT


def format_version(version: Version) -> str:
    """The semver spelling of a version (``1.2.3b1`` → ``1.2.3-beta.1``).

    >>> format_version(Version("1.2.3rc2"))
    '1.2.3-rc.2'
    """
    if (
        len(version.release) != 3
        or version.epoch
        or version.post is not None
        or version.dev is not None
        or version.local is not None
    ):
        return str(version)
    text = ".".join(str(n) for n in version.release)
    if version.pre is not None:
        tag, number = version.pre
        text += f"-{_PRE_WORDS[tag]}.{number}"
    return text


def format_range(spec: SpecifierSet) -> str:
    """A range in reading order: lower bounds first (``>=2,<3``); ``*`` for any.

    >>> format_range(SpecifierSet("<3,>=2"))
    '>=2,<3'
    """
    parts = sorted(spec, key=lambda s: (_OP_ORDER.get(s.operator, 9), s.version))
    return ",".join(str(p) for p in parts) or "*"


def satisfies(version: Version, spec: SpecifierSet) -> bool:
    """Whether ``version`` is inside ``spec``, pre-releases included (PEP 440 rules).

    >>> satisfies(Version("2.0.0b1"), SpecifierSet(">=1"))
    True
    >>> satisfies(Version("2.0.0b1"), SpecifierSet("<2"))
    False
    """
    return spec.contains(version, prereleases=True)


def names_prerelease(spec: SpecifierSet) -> bool:
    """Whether a range mentions a pre-release, which lets it choose pre-releases.

    >>> names_prerelease(parse_range(">=2.0.0-beta.1")), names_prerelease(parse_range(">=2"))
    (True, False)
    """
    for part in spec:
        try:
            if Version(part.version).is_prerelease:
                return True
        except InvalidVersion:
            continue  # a wildcard such as 1.2.*
    return False


def matching_versions(versions: Iterable[Version], ranges: Iterable[SpecifierSet]) -> list[Version]:
    """The versions inside every range, best first, following the pre-release policy.

    Final releases are preferred; pre-releases are offered only when a range names one
    or when no final release is inside every range.

    >>> vs = [Version(t) for t in ("1.0.0", "2.0.0b1", "2.0.0b2")]
    >>> [str(v) for v in matching_versions(vs, [SpecifierSet(">=1")])]
    ['1.0.0']
    >>> [str(v) for v in matching_versions(vs, [SpecifierSet(">=2.0.0b1")])]
    ['2.0.0b2', '2.0.0b1']
    >>> [str(v) for v in matching_versions(vs, [SpecifierSet(">=1.5")])]
    ['2.0.0b2', '2.0.0b1']
    """
    specs = list(ranges)
    inside = sorted({v for v in versions if all(satisfies(v, s) for s in specs)}, reverse=True)
    if any(names_prerelease(s) for s in specs):
        return inside
    finals = [v for v in inside if not v.is_prerelease]
    return finals or inside


@dataclass(frozen=True, slots=True)
class _Partial:
    """A version as written in a range: up to three numbers, maybe wildcards."""

    numbers: tuple[int, ...]  # the concrete leading numbers (0 to 3 of them)
    wildcard: bool  # an explicit x / X / * was written
    pre: str  # the pre-release suffix in semver spelling ("-beta.1") or ""

    @property
    def any(self) -> bool:
        return not self.numbers

    def text(self, numbers: tuple[int, ...] | None = None, *, pre: bool = True) -> str:
        """The numbers as written (PEP 440 pads the missing ones with zeros)."""
        nums = self.numbers if numbers is None else numbers
        return ".".join(str(n) for n in nums) + (self.pre if pre else "")

    def prefix(self) -> str:
        """The block of versions starting with these numbers (``1.2.*``)."""
        return ".".join(str(n) for n in self.numbers) + ".*"


def parse_range(text: str) -> SpecifierSet:
    """Parse a version range: a PEP 440 specifier set, or ``*`` for any version.

    A range written the npm way (api_version 1.0 read those too) is refused with its
    PEP 440 spelling as the fix.

    >>> format_range(parse_range(">=1.2, <2"))
    '>=1.2,<2'
    >>> parse_range("^1.2")
    Traceback (most recent call last):
    ...
    engine.load.ranges.RangeError: the range '^1.2' is written the npm way; ...
    >>> parse_range(">=2,<1")
    Traceback (most recent call last):
    ...
    engine.load.ranges.RangeError: the range '>=2,<1' matches no version: ...
    """
    raw = _checked_text(text)
    if raw == "*":
        return SpecifierSet()
    try:
        spec = SpecifierSet(raw)
    except InvalidSpecifier:
        fix = _rewrite(raw)
        raise RangeError(
            f"the range {raw!r} is written the npm way; ranges are PEP 440 version specifiers",
            hint=f"write {fix!r}",
        ) from None
    if any(part.operator == "===" for part in spec):
        raise RangeError(
            f"in the range {raw!r}, '===' (arbitrary equality) is not supported",
            hint="write '==' for an exact version",
        )
    _check_not_empty(spec, raw)
    return spec


def upgrade_range(text: str) -> str:
    """A range as api_version 1.0 read it, written in PEP 440 (unchanged if it is one).

    >>> [upgrade_range(t) for t in ("^0.2.3", "~1.2", "1.x", ">=1.0 <2.0", "~=1.2")]
    ['>=0.2.3,<0.3', '>=1.2,<1.3', '>=1,<2', '>=1.0,<2.0', '~=1.2']
    """
    raw = _checked_text(text)
    if raw == "*":
        return raw
    try:
        SpecifierSet(raw)
    except InvalidSpecifier:
        return _rewrite(raw)
    return raw


def dependency_range(text: str, api_version: str) -> SpecifierSet:
    """A dependency range as a plugin written for ``api_version`` means it: in a 1.0
    one, an npm range is read as its PEP 440 spelling (:func:`upgrade_range`).

    >>> format_range(dependency_range("^1.2", "1.0"))
    '>=1.2,<2'
    """
    return parse_range(upgrade_range(text) if api_version in NPM_RANGE_API_VERSIONS else text)


def _checked_text(text: object) -> str:
    """The range's text, stripped; refused when it is not text, empty or too long."""
    if not isinstance(text, str):
        raise RangeError(
            f"a version range must be text, not {type(text).__name__} ({text!r})",
            hint='quote it in YAML, e.g. lib: ">=1.2,<2"',
        )
    raw = text.strip()
    if len(raw) > MAX_RANGE_LENGTH:
        raise RangeError(
            f"the version range {raw[:20]!r}... is {len(raw)} characters long "
            f"(at most {MAX_RANGE_LENGTH})",
            hint=_RANGE_HINT,
        )
    if not raw:
        raise RangeError("the version range is empty", hint="write '*' to accept any version")
    return raw


def _rewrite(raw: str) -> str:
    """An npm-style range (space-separated, ``^``, ``~``, x-ranges) in PEP 440."""
    if "||" in raw:
        raise RangeError(
            f"the range {raw!r} uses '||' (either-or), which is not supported",
            hint="choose one range, e.g. '>=1.2,<2', or widen it: '>=1.2,<3'",
        )
    parts: list[str] = []
    for token in _tokens(raw):
        parts.extend(_translate(token, raw))
    fixed = ",".join(parts) or "*"
    _check_not_empty(SpecifierSet("" if fixed == "*" else fixed), raw)
    return fixed


def _tokens(raw: str) -> list[str]:
    """Split on commas and spaces; glue a lone operator to the version after it."""
    words = raw.replace(",", " ").split()
    tokens: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "-":
            raise RangeError(
                f"the range {raw!r} uses a hyphen range, which is not supported",
                hint="write both bounds, e.g. '>=1.2.0,<=2.3.0'",
            )
        if word in _OPERATORS:
            if index + 1 == len(words):
                raise RangeError(
                    f"in the range {raw!r}, the operator {word!r} has no version after it",
                    hint=_RANGE_HINT,
                )
            word += words[index + 1]
            index += 1
        tokens.append(word)
        index += 1
    return tokens


def _translate(token: str, raw: str) -> list[str]:
    """One written constraint → PEP 440 specifiers (none for "any version")."""
    match = _RANGE_TOKEN.fullmatch(token)
    op, written = (match["op"], match["ver"]) if match else (None, token)
    if op == "===":
        raise RangeError(
            f"in the range {raw!r}, '===' (arbitrary equality) is not supported",
            hint="write '==' for an exact version",
        )
    version = _parse_partial(written, token, raw)
    translate = _TRANSLATORS.get(op or "=", _translate_comparison)
    return translate(op or "=", version, token, raw)


def _parse_partial(written: str, token: str, raw: str) -> _Partial:
    match = _PARTIAL.fullmatch(written)
    if match is None:
        hint = _RANGE_HINT
        if written[:1] in "vV" and written[1:2].isdigit():
            fixed = token.replace(written, written[1:])
            hint = f"leave out the leading {written[0]!r}: write {fixed!r}"
        raise RangeError(f"in the range {raw!r}, {token!r} is not a version constraint", hint=hint)
    components = [match["c0"], match["c1"], match["c2"]]
    numbers: list[int] = []
    wildcard = False
    for component in components:
        if component is None:
            break
        if not component.isdigit():
            wildcard = True
        elif wildcard:
            raise RangeError(
                f"in the range {raw!r}, {token!r} has a number after a wildcard",
                hint="put wildcards last, e.g. '==1.2.*'",
            )
        elif len(component) > _MAX_DIGITS:
            raise RangeError(
                f"in the range {raw!r}, {token!r} has a number with more than {_MAX_DIGITS} digits",
                hint=_RANGE_HINT,
            )
        else:
            numbers.append(int(component))
    pre = ""
    if match["pre"] is not None:
        if len(numbers) != 3:
            raise RangeError(
                f"in the range {raw!r}, {token!r} has a pre-release tag without all three numbers",
                hint="write the full version, e.g. '>=2.0.0-beta.1'",
            )
        pre = f"-{_PRE_WORDS[_PEP440_PRE[match['pre']]]}.{int(match['pre_n'] or 0)}"
    return _Partial(tuple(numbers), wildcard, pre)


def _upper_of_prefix(numbers: tuple[int, ...]) -> tuple[int, ...]:
    """The first version past every version that starts with ``numbers``."""
    return (*numbers[:-1], numbers[-1] + 1)


def _translate_equal(op: str, v: _Partial, token: str, raw: str) -> list[str]:
    if v.any:
        return []
    if len(v.numbers) == 3:
        return [f"=={v.text()}"]
    if op == "==" and not v.wildcard:
        return [f"=={v.text()}"]  # PEP 440: ==1.2 means 1.2.0
    # Bounds rather than ==1.2.*, which would also admit 1.2.0's pre-releases.
    return [f">={v.text()}", f"<{v.text(_upper_of_prefix(v.numbers), pre=False)}"]


def _translate_not_equal(op: str, v: _Partial, token: str, raw: str) -> list[str]:
    if v.any:
        raise RangeError(
            f"in the range {raw!r}, {token!r} excludes every version",
            hint="remove it, or exclude one version: '!=1.2.3'",
        )
    if v.wildcard:
        return [f"!={v.prefix()}"]
    return [f"!={v.text()}"]


def _translate_caret(op: str, v: _Partial, token: str, raw: str) -> list[str]:
    if v.any:
        return []
    nums = v.numbers
    if nums[0] > 0 or len(nums) == 1:
        upper: tuple[int, ...] = (nums[0] + 1,)
    elif nums[1] > 0 or len(nums) == 2:
        upper = (0, nums[1] + 1)
    else:
        upper = (0, 0, nums[2] + 1)
    return [f">={v.text()}", f"<{v.text(upper, pre=False)}"]


def _translate_tilde(op: str, v: _Partial, token: str, raw: str) -> list[str]:
    if v.any:
        return []
    upper = _upper_of_prefix(v.numbers[:2])
    return [f">={v.text()}", f"<{v.text(upper, pre=False)}"]


def _translate_compatible(op: str, v: _Partial, token: str, raw: str) -> list[str]:
    if v.wildcard or len(v.numbers) < 2:
        raise RangeError(
            f"in the range {raw!r}, {token!r} needs at least two numbers and no wildcard",
            hint="write e.g. '~=1.2' (any 1.x from 1.2) or '~=1.2.3' (any 1.2.x from 1.2.3)",
        )
    return [f"~={v.text()}"]


def _translate_comparison(op: str, v: _Partial, token: str, raw: str) -> list[str]:
    if v.any:
        if op in (">=", "<="):
            return []
        raise RangeError(
            f"in the range {raw!r}, {token!r} matches no version",
            hint="compare with a version, e.g. '>=1.0'",
        )
    if not v.wildcard:
        return [f"{op}{v.text()}"]
    # npm: an x-range stands for the whole block of versions it covers.
    lower, upper = v.text(), v.text(_upper_of_prefix(v.numbers), pre=False)
    return {
        ">=": [f">={lower}"],
        ">": [f">={upper}"],
        "<": [f"<{lower}"],
        "<=": [f"<{upper}"],
    }[op]


_TRANSLATORS = {
    "=": _translate_equal,
    "==": _translate_equal,
    "!=": _translate_not_equal,
    "^": _translate_caret,
    "~": _translate_tilde,
    "~=": _translate_compatible,
}


def _check_not_empty(spec: SpecifierSet, raw: str) -> None:
    """Reject ranges that plainly match nothing, such as ``>=2 <1``."""
    lower: tuple[Version, bool] | None = None  # (bound, inclusive)
    upper: tuple[Version, bool] | None = None
    pins: list[Version] = []
    for part in spec:
        bounds = _bounds(part)
        if bounds is None:
            continue
        kind, version, inclusive = bounds
        if kind == "pin":
            pins.append(version)
        elif kind == "lower" and (
            lower is None or (version, not inclusive) > (lower[0], not lower[1])
        ):
            lower = (version, inclusive)
        elif kind == "upper" and (upper is None or (version, inclusive) < (upper[0], upper[1])):
            upper = (version, inclusive)
    empty = any(not satisfies(pin, spec) for pin in pins)
    if lower is not None and upper is not None:
        empty = (
            empty or lower[0] > upper[0] or (lower[0] == upper[0] and not (lower[1] and upper[1]))
        )
    if empty:
        raise RangeError(
            f"the range {raw!r} matches no version: no version is {format_range(spec)}",
            hint="check the bounds: the lower one must be below the upper one, e.g. '>=1.0,<2.0'",
        )


def _bounds(part: Specifier) -> tuple[str, Version, bool] | None:
    if part.version.endswith(".*"):
        return None
    version = Version(part.version)
    kinds = {
        "==": ("pin", True),
        ">=": ("lower", True),
        ">": ("lower", False),
        "~=": ("lower", True),
        "<=": ("upper", True),
        "<": ("upper", False),
    }
    found = kinds.get(part.operator)
    if found is None:
        return None
    return found[0], version, found[1]
