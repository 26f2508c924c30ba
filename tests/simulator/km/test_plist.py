"""Property lists in and out of the model's JSON form."""

from __future__ import annotations

import pytest

from engine.simulator.km import plist


def test_a_bare_dict_and_a_whole_document_read_the_same() -> None:
    bare = "<dict><key>A</key><integer>1</integer><key>B</key><true/></dict>"
    assert plist.parse_dict(bare) == {"A": 1, "B": True}
    assert plist.parse_dict(plist.document({"A": 1, "B": True})) == {"A": 1, "B": True}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("<array/>", id="not-a-dict"),
        pytest.param("<dict><key>A</key>", id="unterminated"),
        pytest.param("not xml at all", id="text"),
    ],
)
def test_text_that_is_no_plist_dict_reads_as_none(text: str) -> None:
    assert plist.parse_dict(text) is None


def test_parse_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"^not a property list: "):
        plist.parse("<dict><key>A</key>")


def test_data_and_dates_survive_the_round_trip() -> None:
    text = "<dict><key>D</key><data>AAE=</data><key>T</key><date>2026-05-04T09:30:15Z</date></dict>"
    value = plist.parse_dict(text)
    assert value == {"D": {"$data": "AAE="}, "T": {"$date": "2026-05-04T09:30:15+00:00"}}
    assert plist.parse_dict(plist.document(value)) == value


def test_documents_sort_keys_as_cocoa_writes_them() -> None:
    text = plist.document({"b": [1.5, "x"], "a": {}})
    assert text.index("<key>a</key>") < text.index("<key>b</key>")
    assert "<real>1.5</real>" in text
    assert text.endswith("</plist>\n")
