"""The catalog page (engine.plugins.docs_html): rendered from the docs model, everything escaped,
and looked at in a real headless browser (Debian's Chromium; ``.ci/run`` installs it).

On a machine without Chromium these tests are skipped, saying so; CI (``.ci/run``)
installs it and sets ``KM_ACTIONS_REQUIRE_BROWSER=1``, under which a missing Chromium
fails them instead.
"""

from __future__ import annotations

import html.parser
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine.plugins.docs import plugin_doc
from engine.plugins.docs_html import catalog_html, write_catalog

HOSTILE = "<script>document.body.setAttribute('data-pwned', 'yes')</script>"
IMAGE = "<img src=x onerror=\"document.body.setAttribute('data-pwned', 'img')\">"


def browser() -> str:
    """The Chromium to render pages with (see the module docs)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is not None:
        return found
    missing = "chromium is not installed: `apt-get install -y chromium` (.ci/run installs it)"
    if os.environ.get("KM_ACTIONS_REQUIRE_BROWSER") == "1":
        pytest.fail(missing)
    pytest.skip(missing)


def _chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *extra,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@dataclass
class Seen:
    """What a person sees of a page (the DOM after the browser ran it): its text, the
    attributes of its body, and the tags of its elements."""

    text: str
    body: dict[str, str | None]
    tags: list[str] = field(default_factory=list)


class _Reader(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen = Seen("", {})
        self._hidden = 0
        self._parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.tags.append(tag)
        if tag == "body":
            self.seen.body = dict(attrs)
        if tag in ("style", "title", "script"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title", "script"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._parts.append(data)

    def close(self) -> None:
        super().close()
        self.seen.text = " ".join(" ".join(self._parts).split())


def look(page: Path, profile: Path) -> Seen:
    """Render ``page`` in headless Chromium and read the DOM it ends with."""
    dom = _chromium(page, profile, "--dump-dom").stdout
    reader = _Reader()
    reader.feed(dom)
    reader.close()
    return reader.seen


def screenshot(page: Path, profile: Path, out: Path) -> Path:
    """A PNG of ``page`` as Chromium shows it, 1200 pixels wide."""
    _chromium(page, profile, "--window-size=1200,2000", f"--screenshot={out}")
    return out


def hostile_plugin() -> dict[str, object]:
    """A plugin whose every text tries to be markup."""
    return {
        "identifier": "evil",
        "name": f"Evil {HOSTILE}",
        "version": "1.0.0",
        "plugin_type": "utility",
        "description": f"Says {HOSTILE} and {IMAGE}",
        "author": "</code></p><script>alert(1)</script>",
        "permissions": ["km_variable_manager:get"],
        "configuration_schema": {
            "type": "object",
            "properties": {
                "token": {"type": "string", "secret": True, "default": "tok-s3cr3t"},
                "note": {"type": "string", "default": HOSTILE, "description": IMAGE},
            },
        },
    }


HOSTILE_ACTION = {
    "name": "steal",
    "description": HOSTILE,
    "inputs": {
        "who": {"type": "string", "description": IMAGE, "enum": ["<b>x</b>", "y"]},
        "key": {"type": "string", "secret": True, "default": "in-s3cr3t"},
    },
    "steps": [{"tool": "km_variable_manager", "with": {"operation": "get", "name": "x"}}],
    "outputs": {"said": "{{ vars.x }}"},
    "tests": [
        {
            "name": f"example {HOSTILE}",
            "inputs": {"who": "<b>x</b>"},
            "expect": {"outputs": {"said": HOSTILE}},
        }
    ],
}


def test_everything_a_plugin_writes_is_escaped() -> None:
    doc = plugin_doc(hostile_plugin(), [HOSTILE_ACTION])
    page = catalog_html([doc], title="<i>T</i>", source="a <test>", generated="today")
    assert "<script>" not in page
    assert "<img" not in page
    assert "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;document.body.setAttribute(&#39;data-pwned&#39;" in page
    assert "tok-s3cr3t" not in page and "in-s3cr3t" not in page  # secrets: never the value
    assert "script-src" not in page and "default-src 'none'" in page  # and no script runs


def test_a_page_shows_each_plugin_action_input_and_permission_in_chromium(
    tmp_path: Path,
) -> None:
    doc = plugin_doc(hostile_plugin(), [HOSTILE_ACTION])
    calm = plugin_doc(
        {
            "identifier": "text-basics",
            "name": "Text basics",
            "version": "1.0.0",
            "description": "Trim text.",
        },
        [{"name": "trim", "description": "Trim it.", "steps": [{"set": {"x": 1}}]}],
    )
    page = write_catalog(
        tmp_path / "site", [calm, doc], title="Team plugins", source="a test", generated="now"
    )
    seen = look(page, tmp_path / "profile")
    assert "data-pwned" not in seen.body  # neither the script nor the image ran
    assert "script" not in seen.tags and "img" not in seen.tags
    for shown in (
        "Team plugins",
        "2 plugins, 2 actions",
        f"Evil {HOSTILE}",  # shown as the text it is
        f"Says {HOSTILE} and {IMAGE}",
        "Text basics text-basics 1.0.0",
        "steal evil/steal",
        "trim text-basics/trim",
        "Input Type Required Default Description who text yes",
        'one of "<b>x</b>" , "y"',
        "key text no (secret)",
        "km_variable_manager:get read-only",  # what the action calls, per operation
        "km_variable_manager:get km_variable_manager:get (read-only)",  # what it asks for
        "token string (secret)",
        f'example {HOSTILE}: inputs {{"who": "<b>x</b>"}} give {{"said": "{HOSTILE}"}}',
        "km-actions run evil/steal --input 'who=<b>x</b>'",
        "Takes no inputs.",
        "Calls no tool.",
    ):
        assert shown in seen.text, f"{shown!r} is not on the page:\n{seen.text}"
    assert "s3cr3t" not in seen.text
    shot = screenshot(page, tmp_path / "profile", tmp_path / "page.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_empty_catalog_says_so(tmp_path: Path) -> None:
    page = write_catalog(tmp_path, [], title="Nothing", source="a test", generated="now")
    assert "0 plugins, 0 actions" in look(page, tmp_path / "profile").text
    assert "No plugins." in look(page, tmp_path / "profile").text
