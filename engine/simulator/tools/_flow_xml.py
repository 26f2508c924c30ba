"""The control-flow actions km_control_flow writes: For, While, Until, Try/Catch and Switch.

Each is one action ``<dict>`` around runs of inner action ``<dict>``s (If Then Else is in
``conditions``). A For action iterates one collection of Keyboard Maestro's 13 kinds; a
Switch compares one source against its cases.

>>> print(collection_xml("Range", {"end": 3}))
<dict><key>CollectionType</key><string>Range</string><key>EndExpression</key><string>3</string>\
<key>StartExpression</key><string>1</string><key>Upwards</key><true/></dict>
>>> collection_xml("Weeks", {})
Traceback (most recent call last):
...
ValueError: collection_type 'Weeks' not supported. Supported: ['Applications', 'Dictionaries', \
'DictionaryKeys', 'Files', 'FinderSelection', 'FoundImages', 'JSON', 'LinesIn', \
'PastClipboards', 'Range', 'SubstringsIn', 'Variables', 'Volumes'].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.simulator.tools._plistxml import array, entries, flag, integer, string
from engine.simulator.tools.conditions import conditions_block
from engine.simulator.tools.context import ServerCrash

__all__ = [
    "CASE_CONDITIONS",
    "SWITCH_SOURCES",
    "case_xml",
    "collection_xml",
    "for_xml",
    "loop_xml",
    "switch_xml",
    "try_catch_xml",
]

Config = Mapping[str, Any]
Pair = tuple[str, str]

SWITCH_SOURCES = ("Calculation", "Clipboard", "NamedClipboard", "Text", "Variable")
CASE_CONDITIONS = ("Contains", "DoesNotContain", "Is", "IsNot", "Otherwise")


def _nothing(config: Config) -> list[Pair]:
    return []


def _dictionary_keys(config: Config) -> list[Pair]:
    return [("Dictionary", string(config.get("dictionary", "")))]


def _files(config: Config) -> list[Pair]:
    pairs = [("Path", string(config.get("path", "")))]
    if "include_invisibles" in config:
        pairs.append(("IncludeInvisibles", flag(config["include_invisibles"])))
    if "recursive" in config:
        pairs.append(("Recursive", flag(config["recursive"])))
    return [*pairs, ("SortOrder", string(config.get("sort_order", "Alphabetical")))]


def _whole_number(value: Any) -> int:
    """``int(value)`` as the server calls it: ValueError for text that is not a number, and
    an uncaught TypeError (a server crash) for a value of the wrong kind."""
    try:
        return int(value)
    except TypeError as problem:
        raise ServerCrash(str(problem)) from None


def _found_images(config: Config) -> list[Pair]:
    area = entries(("ScreenAreaType", string(config.get("screen_area_type", "ScreenAll"))))
    return [
        ("DisplayMatches", flag(config.get("display_matches", False))),
        ("Fuzz", integer(_whole_number(config.get("fuzz", 15)))),
        ("ScreenArea", area),
    ]


def _json(config: Config) -> list[Pair]:
    return [
        ("ResultType", string(config.get("result_type", "Key"))),
        ("Text", string(config.get("text", ""))),
    ]


def _lines_in(config: Config) -> list[Pair]:
    pairs = [
        ("IncludeBlankLines", flag(config.get("include_blank_lines", False))),
        ("Source", string(config.get("source", "Clipboard"))),
    ]
    if "variable" in config:
        pairs.append(("Variable", string(config["variable"])))
    if "path" in config:
        pairs.append(("Path", string(config["path"])))
    return pairs


def _range(config: Config) -> list[Pair]:
    return [
        ("EndExpression", string(config.get("end", "10"))),
        ("StartExpression", string(config.get("start", "1"))),
        ("Upwards", flag(config.get("upwards", True))),
    ]


def _substrings_in(config: Config) -> list[Pair]:
    pairs = [
        ("ResultType", string(config.get("result_type", "String"))),
        ("Search", string(config.get("search", ""))),
        ("SearchKind", string(config.get("search_kind", "Match"))),
        ("Source", string(config.get("source", "Clipboard"))),
    ]
    if "variable" in config:
        pairs.append(("Variable", string(config["variable"])))
    return pairs


def _volumes(config: Config) -> list[Pair]:
    return [("AsPath", flag(config.get("as_path", False)))]


# What each collection kind writes besides its CollectionType (absent settings are left
# to Keyboard Maestro's defaults, or get the server's).
COLLECTIONS: Mapping[str, Callable[[Config], list[Pair]]] = {
    "Applications": _nothing,
    "Dictionaries": _nothing,
    "DictionaryKeys": _dictionary_keys,
    "Files": _files,
    "FinderSelection": _nothing,
    "FoundImages": _found_images,
    "JSON": _json,
    "LinesIn": _lines_in,
    "PastClipboards": _nothing,
    "Range": _range,
    "SubstringsIn": _substrings_in,
    "Variables": _nothing,
    "Volumes": _volumes,
}


def collection_xml(kind: str, config: Config) -> str:
    """One CollectionList entry; ValueError for a kind Keyboard Maestro does not have."""
    settings = COLLECTIONS.get(kind)
    if settings is None:
        raise ValueError(
            f"collection_type {kind!r} not supported. Supported: {sorted(COLLECTIONS)}."
        )
    return entries(("CollectionType", string(kind)), *settings(config))


def for_xml(variable: str, collection: str, actions: str) -> str:
    return entries(
        ("Actions", array(actions)),
        ("Collections", entries(("CollectionList", array(collection)))),
        ("MacroActionType", string("For")),
        ("TimeOutAbortsMacro", flag(True)),
        ("Variable", string(variable)),
    )


def loop_xml(kind: str, condition: str, actions: str) -> str:
    """A While or Until action (``kind``): the same shape, another MacroActionType."""
    return entries(
        ("Actions", array(actions)),
        ("Conditions", conditions_block(condition)),
        ("MacroActionType", string(kind)),
        ("TimeOutAbortsMacro", flag(True)),
    )


def try_catch_xml(try_actions: str, catch_actions: str) -> str:
    return entries(
        ("CatchActions", array(catch_actions)),
        ("MacroActionType", string("TryCatch")),
        ("TimeOutAbortsMacro", flag(True)),
        ("TryActions", array(try_actions)),
    )


def case_xml(condition: str, test_value: str, actions: str) -> str:
    """One CaseEntry; ValueError for a test Keyboard Maestro's Switch does not have."""
    if condition not in CASE_CONDITIONS:
        raise ValueError(
            f"condition_type {condition!r} not supported. Supported: {sorted(CASE_CONDITIONS)}."
        )
    return entries(
        ("Actions", array(actions)),
        ("ConditionType", string(condition)),
        ("TestValue", string(test_value)),
    )


def _source_settings(source: str, value: str) -> list[Pair]:
    if source in ("Variable", "Calculation", "Text"):
        return [(source, string(value))]
    if source == "NamedClipboard":
        # The server never passes a clipboard name; "Redundand" is Keyboard Maestro's spelling.
        return [("NamedClipboardName", string("")), ("RedundandDisplayName", string(""))]
    return []


def switch_xml(source: str, value: str, cases: str) -> str:
    """A Switch action over ``source`` (the variable, calculation or text in ``value``)."""
    return entries(
        *_source_settings(source, value),
        ("CaseEntries", array(cases)),
        ("MacroActionType", string("Switch")),
        ("Source", string(source)),
    )
