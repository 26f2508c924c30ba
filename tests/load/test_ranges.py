"""Tests for engine.load.ranges: semver versions, PEP 440 ranges, npm ones upgraded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from engine.load.ranges import (
    RangeError,
    VersionError,
    dependency_range,
    format_range,
    format_version,
    matching_versions,
    names_prerelease,
    parse_range,
    parse_version,
    satisfies,
    upgrade_range,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1.2.3", "1.2.3", id="plain"),
        pytest.param("0.0.0", "0.0.0", id="zeros"),
        pytest.param("10.20.30", "10.20.30", id="multi-digit"),
        pytest.param("1.2.3-beta.1", "1.2.3-beta.1", id="beta"),
        pytest.param("1.2.3-alpha", "1.2.3-alpha.0", id="alpha-unnumbered"),
        pytest.param("2.0.0-rc.2", "2.0.0-rc.2", id="rc"),
        pytest.param("2.0.0-rc2", "2.0.0-rc.2", id="rc-without-dot"),
        pytest.param(" 1.2.3 ", "1.2.3", id="surrounding-space"),
    ],
)
def test_parse_version_accepts_semver(text: str, expected: str) -> None:
    assert format_version(parse_version(text)) == expected


def test_dependency_ranges_of_1_0_plugins_are_read_as_their_pep_440_spelling() -> None:
    assert str(dependency_range("^1.2", "1.0")) == str(SpecifierSet(">=1.2,<2"))
    assert str(dependency_range("~=1.2", "1.0")) == "~=1.2"
    with pytest.raises(RangeError) as caught:
        dependency_range("^1.2", "1.1")  # the language after 1.0 reads PEP 440 only
    assert caught.value.hint == "write '>=1.2,<2'"


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        pytest.param(
            "1.2",
            "'1.2' is not a valid version: expected three numbers MAJOR.MINOR.PATCH, found 2",
            "write '1.2.0'",
            id="two-numbers",
        ),
        pytest.param(
            "v1.0.0",
            "'v1.0.0' is not a valid version: it starts with 'v'",
            "leave out the 'v': write '1.0.0'",
            id="v-prefix",
        ),
        pytest.param(
            "01.2.3",
            "'01.2.3' is not a valid version: a number has a leading zero",
            "write '1.2.3'",
            id="leading-zero",
        ),
        pytest.param(
            "1.2.3-foo",
            "'1.2.3-foo' is not a valid version: the pre-release tag 'foo' is not one of "
            "alpha, beta or rc",
            "write e.g. '-alpha.1', '-beta.2' or '-rc.1' after the three numbers",
            id="unknown-pre-release",
        ),
        pytest.param(
            "1.2.3+build.5",
            "'1.2.3+build.5' is not a valid version: build metadata ('+build.5') is not supported",
            "remove it: write '1.2.3'",
            id="build-metadata",
        ),
        pytest.param(
            "latest",
            "'latest' is not a valid version: expected MAJOR.MINOR.PATCH made of digits, "
            "such as '1.2.0'",
            "write three numbers MAJOR.MINOR.PATCH, e.g. '1.2.0' or '2.0.0-beta.1'",
            id="word",
        ),
        pytest.param(
            "",
            "'' is not a valid version: it is empty",
            "write three numbers MAJOR.MINOR.PATCH, e.g. '1.2.0' or '2.0.0-beta.1'",
            id="empty",
        ),
    ],
)
def test_parse_version_explains_what_is_wrong(text: str, message: str, hint: str) -> None:
    with pytest.raises(VersionError) as caught:
        parse_version(text)
    assert caught.value.code == "invalid-version"
    assert caught.value.message == message
    assert caught.value.hint == hint


def test_parse_version_rejects_non_text_and_huge_text() -> None:
    with pytest.raises(VersionError) as caught:
        parse_version(1.0)  # type: ignore[arg-type]  # YAML `version: 1.0` is a float
    assert caught.value.message == "a version must be text, not float (1.0)"
    with pytest.raises(VersionError):
        parse_version("1" * 5000 + ".0.0")


def test_versions_compare_as_semver() -> None:
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta.2", "1.0.0-rc.1", "1.0.0", "1.10.0"]
    versions = [parse_version(t) for t in ordered]
    assert versions == sorted(versions)


PEP440_RANGES = [
    pytest.param("*", "*", id="any"),
    pytest.param("==1.2.3", "==1.2.3", id="exact"),
    pytest.param("==1.2", "==1.2", id="exact-short"),
    pytest.param("==1.2.*", "==1.2.*", id="wildcard"),
    pytest.param("~=1.2", "~=1.2", id="compatible"),
    pytest.param(">=1.0,<2", ">=1.0,<2", id="both-bounds"),
    pytest.param("<2, >=1.0", ">=1.0,<2", id="reading-order"),
    pytest.param(">= 1.0 , < 2", ">=1.0,<2", id="spaces-after-operators"),
    pytest.param(">=1.0,<2,!=1.5.0", ">=1.0,<2,!=1.5.0", id="exclusion"),
    pytest.param("!=1.2.*", "!=1.2.*", id="exclude-wildcard"),
    pytest.param(">=2.0.0-rc.1", ">=2.0.0-rc.1", id="pre-release-bound"),
]


@pytest.mark.parametrize(("text", "expected"), PEP440_RANGES)
def test_parse_range_reads_pep_440(text: str, expected: str) -> None:
    assert format_range(parse_range(text)) == expected


# The ranges api_version 1.0 also read, and their PEP 440 spelling.
NPM_RANGES = [
    pytest.param("x", "*", id="any-x"),
    pytest.param("1.2.3", "==1.2.3", id="bare-exact"),
    pytest.param("=1.2.3", "==1.2.3", id="npm-exact"),
    pytest.param("1", ">=1,<2", id="bare-major"),
    pytest.param("1.x", ">=1,<2", id="x-range-major"),
    pytest.param("1.2", ">=1.2,<1.3", id="bare-minor"),
    pytest.param("1.2.*", ">=1.2,<1.3", id="star-minor"),
    pytest.param("1.2.X", ">=1.2,<1.3", id="capital-x"),
    pytest.param("^1.2.3", ">=1.2.3,<2", id="caret"),
    pytest.param("^1.2", ">=1.2,<2", id="caret-short"),
    pytest.param("^0.2.3", ">=0.2.3,<0.3", id="caret-zero-major"),
    pytest.param("^0.0.3", ">=0.0.3,<0.0.4", id="caret-zero-minor"),
    pytest.param("^0", ">=0,<1", id="caret-zero"),
    pytest.param("^1.x", ">=1,<2", id="caret-x"),
    pytest.param("~1.2.3", ">=1.2.3,<1.3", id="tilde"),
    pytest.param("~1", ">=1,<2", id="tilde-major"),
    pytest.param(">=1.0 <2.0", ">=1.0,<2.0", id="npm-space"),
    pytest.param(">=1.0 <2 !=1.5.0", ">=1.0,<2,!=1.5.0", id="exclusion"),
    pytest.param("!=1.2.x", "!=1.2.*", id="exclude-x-range"),
    pytest.param(">1.x", ">=2", id="greater-than-x-range"),
    pytest.param("<=1.2.x", "<1.3", id="at-most-x-range"),
    pytest.param("^2.0.0-beta.1", ">=2.0.0-beta.1,<3", id="caret-pre-release"),
    pytest.param("~=1.2 <1.8", "~=1.2,<1.8", id="pep-440-space-separated"),
]


@pytest.mark.parametrize(("text", "expected"), NPM_RANGES)
def test_npm_ranges_are_refused_with_their_pep_440_spelling(text: str, expected: str) -> None:
    assert upgrade_range(text) == expected
    assert upgrade_range(expected) == expected
    with pytest.raises(RangeError) as caught:
        parse_range(text)
    assert caught.value.code == "invalid-range"
    assert caught.value.message == (
        f"the range {text!r} is written the npm way; ranges are PEP 440 version specifiers"
    )
    assert caught.value.hint == f"write {expected!r}"


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        pytest.param(
            "", "the version range is empty", "write '*' to accept any version", id="empty"
        ),
        pytest.param(
            "^1 || ^2",
            "the range '^1 || ^2' uses '||' (either-or), which is not supported",
            "choose one range, e.g. '>=1.2,<2', or widen it: '>=1.2,<3'",
            id="either-or",
        ),
        pytest.param(
            "1.2.3 - 2.0.0",
            "the range '1.2.3 - 2.0.0' uses a hyphen range, which is not supported",
            "write both bounds, e.g. '>=1.2.0,<=2.3.0'",
            id="hyphen",
        ),
        pytest.param(
            ">=2,<1",
            "the range '>=2,<1' matches no version: no version is >=2,<1",
            "check the bounds: the lower one must be below the upper one, e.g. '>=1.0,<2.0'",
            id="swapped-bounds",
        ),
        pytest.param(
            ">2,<=2",
            "the range '>2,<=2' matches no version: no version is >2,<=2",
            "check the bounds: the lower one must be below the upper one, e.g. '>=1.0,<2.0'",
            id="touching-bounds",
        ),
        pytest.param(
            "==1.0.0,==2.0.0",
            "the range '==1.0.0,==2.0.0' matches no version: no version is ==1.0.0,==2.0.0",
            "check the bounds: the lower one must be below the upper one, e.g. '>=1.0,<2.0'",
            id="two-exact-versions",
        ),
        pytest.param(
            ">=2 <1",
            "the range '>=2 <1' matches no version: no version is >=2,<1",
            "check the bounds: the lower one must be below the upper one, e.g. '>=1.0,<2.0'",
            id="swapped-bounds-npm",
        ),
        pytest.param(
            "latest",
            "in the range 'latest', 'latest' is not a version constraint",
            "write a PEP 440 range such as '>=1.2,<2', '~=1.2', '==1.4.*', '==1.2.3' or '*' "
            "for any version",
            id="word",
        ),
        pytest.param(
            "^v1.2",
            "in the range '^v1.2', '^v1.2' is not a version constraint",
            "leave out the leading 'v': write '^1.2'",
            id="v-prefix",
        ),
        pytest.param(
            ">=",
            "in the range '>=', the operator '>=' has no version after it",
            "write a PEP 440 range such as '>=1.2,<2', '~=1.2', '==1.4.*', '==1.2.3' or '*' "
            "for any version",
            id="dangling-operator",
        ),
        pytest.param(
            "1.x.3",
            "in the range '1.x.3', '1.x.3' has a number after a wildcard",
            "put wildcards last, e.g. '==1.2.*'",
            id="number-after-wildcard",
        ),
        pytest.param(
            "~=1",
            "in the range '~=1', '~=1' needs at least two numbers and no wildcard",
            "write e.g. '~=1.2' (any 1.x from 1.2) or '~=1.2.3' (any 1.2.x from 1.2.3)",
            id="compatible-one-number",
        ),
        pytest.param(
            "!=*",
            "in the range '!=*', '!=*' excludes every version",
            "remove it, or exclude one version: '!=1.2.3'",
            id="exclude-everything",
        ),
        pytest.param(
            ">*",
            "in the range '>*', '>*' matches no version",
            "compare with a version, e.g. '>=1.0'",
            id="above-everything",
        ),
        pytest.param(
            "1.2-beta",
            "in the range '1.2-beta', '1.2-beta' has a pre-release tag without all three numbers",
            "write the full version, e.g. '>=2.0.0-beta.1'",
            id="short-pre-release",
        ),
        pytest.param(
            "===1.0",
            "in the range '===1.0', '===' (arbitrary equality) is not supported",
            "write '==' for an exact version",
            id="arbitrary-equality",
        ),
        pytest.param(
            "===1.0 <2",
            "in the range '===1.0 <2', '===' (arbitrary equality) is not supported",
            "write '==' for an exact version",
            id="arbitrary-equality-npm",
        ),
    ],
)
def test_parse_range_explains_nonsense(text: str, message: str, hint: str) -> None:
    with pytest.raises(RangeError) as caught:
        parse_range(text)
    assert caught.value.code == "invalid-range"
    assert caught.value.message == message
    assert caught.value.hint == hint


def test_parse_range_bounds_its_input() -> None:
    with pytest.raises(RangeError) as caught:
        parse_range(">=1.0," * 100)
    assert "characters long (at most 256)" in caught.value.message
    with pytest.raises(RangeError) as caught:
        upgrade_range("9" * 20)
    assert "more than 15 digits" in caught.value.message
    with pytest.raises(RangeError) as caught:
        upgrade_range(1.0)  # type: ignore[arg-type]  # YAML `lib: 1.0` is a float
    assert caught.value.message == "a version range must be text, not float (1.0)"


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        pytest.param(">=1.2.3,<2", ["1.2.3", "1.9.0"], ["1.2.2", "2.0.0", "2.0.0-beta.1"]),
        pytest.param("~=1.2.3", ["1.2.3", "1.2.9"], ["1.3.0", "1.2.2"]),
        pytest.param("==1.*", ["1.0.0", "1.99.0"], ["0.9.0", "2.0.0"]),
        pytest.param(">=1.0,<2.0", ["1.0.0", "1.5.0"], ["2.0.0", "0.1.0"]),
    ],
)
def test_ranges_match_what_they_say(text: str, inside: list[str], outside: list[str]) -> None:
    spec = parse_range(text)
    assert all(satisfies(parse_version(v), spec) for v in inside)
    assert not any(satisfies(parse_version(v), spec) for v in outside)


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        pytest.param("^1.2.3", ["1.2.3", "1.9.0"], ["1.2.2", "2.0.0", "2.0.0-beta.1"], id="caret"),
        pytest.param("~1.2.3", ["1.2.3", "1.2.9"], ["1.3.0", "1.2.2"], id="tilde"),
        pytest.param("1.x", ["1.0.0", "1.99.0"], ["0.9.0", "2.0.0", "1.0.0-beta.1"], id="x-range"),
        pytest.param(">=1.0 <2.0", ["1.0.0", "1.5.0"], ["2.0.0", "0.1.0"], id="space-separated"),
    ],
)
def test_upgraded_npm_ranges_mean_what_1_0_read(
    text: str, inside: list[str], outside: list[str]
) -> None:
    spec = parse_range(upgrade_range(text))
    assert all(satisfies(parse_version(v), spec) for v in inside)
    assert not any(satisfies(parse_version(v), spec) for v in outside)


VERSIONS = [Version(v) for v in ("1.0.0", "1.5.0", "2.0.0b1", "2.0.0b2", "3.0.0a1")]

PRE_RELEASE_POLICY = [
    pytest.param(["*"], ["1.5.0", "1.0.0"], id="finals-preferred"),
    pytest.param([">=2.0.0-beta.1"], ["3.0.0a1", "2.0.0b2", "2.0.0b1"], id="range-names-one"),
    pytest.param([">=1.6"], ["3.0.0a1", "2.0.0b2", "2.0.0b1"], id="nothing-else-fits"),
    pytest.param(["<2"], ["1.5.0", "1.0.0"], id="upper-bound-excludes-its-pre-releases"),
    pytest.param([">=1,<2", ">=1.2"], ["1.5.0"], id="several-ranges"),
    pytest.param([">=4"], [], id="nothing-fits"),
]


@pytest.mark.parametrize(("ranges", "expected"), PRE_RELEASE_POLICY)
def test_pre_releases_only_when_named_or_nothing_else_fits(
    ranges: list[str], expected: list[str]
) -> None:
    chosen = matching_versions(VERSIONS, [parse_range(r) for r in ranges])
    assert [str(v) for v in chosen] == expected


def test_names_prerelease() -> None:
    assert names_prerelease(parse_range(">=2.0.0-rc.1,<3"))
    assert not names_prerelease(parse_range(">=2.0.0,<3"))
    assert not names_prerelease(SpecifierSet("!=1.2.*"))


def test_format_version_falls_back_for_non_semver_versions() -> None:
    assert format_version(Version("1.2")) == "1.2"
    assert format_version(Version("1.2.3.post1")) == "1.2.3.post1"


SEMVER = st.builds(
    "{}.{}.{}{}".format,
    st.integers(0, 999),
    st.integers(0, 999),
    st.integers(0, 999),
    st.sampled_from(["", "-alpha", "-beta.1", "-rc.12"]),
)


@given(SEMVER)
def test_semver_text_round_trips(text: str) -> None:
    version = parse_version(text)
    assert parse_version(format_version(version)) == version
    assert satisfies(version, parse_range("==" + format_version(version)))


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_range_error(text: str) -> None:
    try:
        spec = parse_range(text)
    except RangeError as error:
        assert error.hint
    else:
        assert isinstance(spec, SpecifierSet)
    try:
        upgraded = upgrade_range(text)
    except RangeError as error:
        assert error.hint
    else:
        assert isinstance(parse_range(upgraded), SpecifierSet)


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_version_error(text: str) -> None:
    try:
        version = parse_version(text)
    except VersionError as error:
        assert error.hint
    else:
        assert len(version.release) == 3
