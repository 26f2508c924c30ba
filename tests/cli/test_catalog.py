"""``km-actions docs --html FOLDER [--index URL_OR_FILE]``: the catalog page of the installed
plugins, or of a marketplace index, as a person sees it in headless Chromium."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import DEMO_PLUGIN, HELLO, Cli
from tests.cli.test_publish import Folder, pack
from tests.test_docs_html import look, screenshot

CLIPBOARD_TOOLS = Path(__file__).resolve().parents[2] / "actions" / "clipboard-tools"


def test_the_installed_plugins(cli: Cli) -> None:
    cli.write("demo/plugin.yaml", DEMO_PLUGIN)
    cli.write("demo/actions/hello.yaml", HELLO)
    assert cli("install", "demo", "--yes").code == 0
    assert cli("install", str(CLIPBOARD_TOOLS), "--yes").code == 0
    assert cli("configure", "demo", "greeting=Howdy-private").code == 0
    done = cli("docs", "--html", "site")
    assert (done.code, done.out, done.err) == (
        0,
        "Wrote the catalog of 2 plugins to site/index.html.\n",
        "",
    )
    seen = look(cli.folder / "site" / "index.html", cli.folder / "profile")
    for shown in (
        "Installed plugins 2 plugins, 5 actions: the plugins installed here.",
        "Clipboard tools clipboard-tools 1.0.0 clean-clipboard preview-clipboard "
        "share-clipboard sign-clipboard",
        "hello demo/hello",
        'greeting string "Hello" How to greet.',
        "share_token string (secret)",
        "km_clipboard_manager:get read-only km_clipboard_manager:set write",
        'greets with the default: inputs {"who": "Ann"} give {"msg": "Hello Ann"}',
    ):
        assert shown in seen.text, f"{shown!r} is not on the page:\n{seen.text}"
    assert "Howdy-private" not in seen.text  # the user's settings stay theirs
    shot = screenshot(
        cli.folder / "site" / "index.html", cli.folder / "profile", cli.folder / "a.png"
    )
    assert shot.stat().st_size > 10_000


def test_the_plugins_a_served_index_lists(cli: Cli) -> None:
    pack(cli, "1.0.0", said="old")
    pack(cli, "1.1.0", said="new")
    assert cli("index", "build", "site").code == 0
    with Folder(cli.folder / "site") as site:
        done = cli("docs", "--html", "catalog", "--index", site.url("index.json"))
    assert (done.code, done.err) == (0, "")
    assert done.out == "Wrote the catalog of 1 plugin to catalog/index.html.\n"
    seen = look(cli.folder / "catalog" / "index.html", cli.folder / "profile")
    for shown in (
        f"Plugin catalog 1 plugin, 1 action: the marketplace index {site.url('index.json')}.",
        "Greeter greeter 1.1.0 greet",  # the newest version
        "greeter version 1.1.0, utility plugin, by Ann",
        'says it: inputs {} give {"said": "new"}',
    ):
        assert shown in seen.text, f"{shown!r} is not on the page:\n{seen.text}"


def test_docs_html_usage(cli: Cli) -> None:
    assert cli("docs").err == "km-actions docs: give ID_OR_PATH, or --html FOLDER\n"
    assert cli("docs", "--index", "index.json").err == (
        "km-actions docs: --index is for the catalog page\n     = hint: add --html FOLDER\n"
    )
    one = cli("docs", "demo", "--html", "site")
    assert (one.code, one.err) == (
        2,
        "km-actions docs: --html writes every installed plugin (or those --index lists), not "
        "one\n     = hint: drop 'demo', or print its Markdown with `km-actions docs demo`\n",
    )
    missing = cli("docs", "--html", "site", "--index", "nowhere.json")
    assert missing.code == 1
    assert missing.err.startswith("km-actions docs: cannot read the index ")
    (cli.folder / "file").write_text("")
    blocked = cli("docs", "--html", "file/site")
    assert blocked.code == 1
    assert blocked.err.startswith("km-actions docs: cannot write file/site: ")
