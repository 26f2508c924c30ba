"""The plugin commands of ``km-actions``: output, prompts, exit statuses 0/1/2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.plugins.store import Store
from tests.plugins.store.conftest import CLIPBOARD_TOOLS, MakePlugin

Capture = pytest.CaptureFixture[str]


class Terminal(io.StringIO):
    """Typed answers, as if from a terminal."""

    def isatty(self) -> bool:
        return True


def _run(argv: list[str], capsys: Capture) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_install_asks_on_a_terminal(
    home: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    code, out, err = _run(["install", str(CLIPBOARD_TOOLS)], capsys)
    assert code == 0, err
    assert out.startswith("Installed clipboard-tools 1.0.0.")
    assert (
        "'clipboard-tools' 1.0.0 asks to call:\n"
        "  km_clipboard_manager (get: read-only, set: write, get_history: read-only, "
        "list_history: read-only, manage_named: write, search_named: read-only, stats: "
        "read-only)\n"
        "  km_notifications (write)\n"
        "  km_variable_manager:set (write)\n"
        "  km_execute_macro (write)\n"
    ) in err
    assert "clipboard-tools needs settings before some actions work: share_token" in err


def test_install_refused_at_the_prompt(
    home: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    code, _, err = _run(["install", str(CLIPBOARD_TOOLS)], capsys)
    assert code == 1
    assert "error[install-declined]" in err
    with Store.open(home) as store:
        assert store.plugins() == []


def test_install_without_a_terminal_needs_yes(
    home: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = _run(["install", str(CLIPBOARD_TOOLS)], capsys)
    assert code == 1
    assert "hint: grant them with --yes (or name them with --grant)" in err


def test_install_json_and_grant(home: Path, capsys: Capture) -> None:
    grants = ["--grant", "clipboard", "--grant", "notifications", "--grant", "variables",
              "--grant", "km_execute_macro"]  # fmt: skip
    code, out, _ = _run(["install", str(CLIPBOARD_TOOLS), *grants, "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert (data["plugin"], data["installed"]) == (
        "clipboard-tools",
        [{"identifier": "clipboard-tools", "version": "1.0.0"}],
    )
    assert data["needs_configuration"] == {"clipboard-tools": ["share_token"]}
    code, out, _ = _run(["install", str(CLIPBOARD_TOOLS), "--yes"], capsys)
    assert (code, out) == (0, "clipboard-tools 1.0.0 is already installed (same files).\n")


def test_install_errors_show_the_source_line(
    home: Path, capsys: Capture, make_plugin: MakePlugin
) -> None:
    root = make_plugin("demo", actions={"a": {"steps": [{"set": {"x": "{{ inputs.nope }}"}}]}})
    code, _, err = _run(["install", str(root), "--yes"], capsys)
    assert code == 1
    assert (
        err.splitlines()[:3]
        == [
            "demo-1.0.0/actions/a.yaml:6:12: error[unknown-input]: `inputs.nope` is used, but the "
            "action declares no input `nope`",
            "   6 |     x: '{{ inputs.nope }}'",
            "     |            ^^^^^^^^^^^",
        ]
        or "error[unknown-input]" in err
    )


def test_a_lone_surrogate_in_a_json_action_is_refused_before_install(
    home: Path, capsys: Capture, tmp_path: Path
) -> None:
    """It passed validation and crashed the install when the database could not store it."""
    source = tmp_path / "half.json"
    source.write_text(
        '{"api_version": "1.1", "kind": "action", "name": "half", "description": "a\\ud800",'
        ' "steps": [{"set": {"a": 1}}]}',
        "utf-8",
    )
    code, out, err = _run(["install", str(source), "--yes"], capsys)
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        "half.json:1:73: error[encoding]: the text holds \\ud800, half of a surrogate pair, "
        "which is not a character"
    )
    with Store.open(home) as store:
        assert store.plugins() == []


@pytest.mark.parametrize(
    ("value", "message", "hint"),
    [
        pytest.param(
            "1" * 5000,
            "`preview_length`: the whole number has 5,000 digits; at most 1,000 are allowed",
            "write a smaller number, or put it in quotes to keep it as text",
            id="long-whole-number",
        ),
        pytest.param(
            "\udcff",  # a byte of argv that is not UTF-8
            "the value of `preview_length` is not UTF-8 text",
            "type the value again, as UTF-8 text",
            id="not-utf8",
        ),
    ],
)
def test_configure_refuses_values_it_cannot_keep(
    home: Path, capsys: Capture, value: str, message: str, hint: str
) -> None:
    assert _run(["install", str(CLIPBOARD_TOOLS), "--yes"], capsys)[0] == 0
    code, out, err = _run(["configure", "clipboard-tools", f"preview_length={value}"], capsys)
    assert (code, out, err) == (1, "", f"error[invalid-config]: {message}\n     = hint: {hint}\n")


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        pytest.param(["install", "no/such/folder"], 2, id="install-missing"),
        pytest.param(["uninstall", "nothing"], 1, id="uninstall-unknown"),
        pytest.param(["describe", "nothing"], 1, id="describe-unknown"),
        pytest.param(["enable", "nothing"], 1, id="enable-unknown"),
        pytest.param(["pack", "no/such/folder"], 2, id="pack-missing"),
        pytest.param(["run", "nothing/here"], 1, id="run-unknown"),
    ],
)
def test_exit_statuses(home: Path, capsys: Capture, argv: list[str], code: int) -> None:
    assert _run(argv, capsys)[0] == code


def test_the_whole_lifecycle(home: Path, capsys: Capture, tmp_path: Path) -> None:
    archive = tmp_path / "out.tar.gz"
    code, out, _ = _run(
        ["pack", str(CLIPBOARD_TOOLS), "-o", str(archive), "--format", "tar.gz"], capsys
    )
    assert code == 0 and out.startswith("Packed clipboard-tools 1.0.0 (4 actions) into ")
    assert _run(["install", str(archive), "--yes"], capsys)[0] == 0
    code, out, _ = _run(["list"], capsys)
    assert out.splitlines()[1] == (
        "    actions: clean-clipboard, preview-clipboard, share-clipboard, sign-clipboard"
    )
    code, out, _ = _run(
        ["configure", "clipboard-tools", "share_token=tok-12345678", "preview_length=30"], capsys
    )
    assert code == 0
    assert "preview_length = 30" in out and 'share_token = "••••••"' in out
    code, out, _ = _run(
        ["configure", "clipboard-tools", "--unset", "preview_length", "--json"], capsys
    )
    assert json.loads(out)["settings"]["preview_length"] == 60
    code, out, _ = _run(["describe", "clipboard-tools"], capsys)
    assert "files: 5, all match the lock" in out
    assert _run(["disable", "clipboard-tools"], capsys)[1] == "clipboard-tools is disabled.\n"
    code, out, _ = _run(["list", "--disabled", "--json"], capsys)
    assert [p["identifier"] for p in json.loads(out)] == ["clipboard-tools"]
    assert _run(["enable", "clipboard-tools"], capsys)[0] == 0
    code, out, _ = _run(["test", "clipboard-tools/sign-clipboard"], capsys)
    assert (code, out.splitlines()[-1]) == (0, "1 passed, 0 failed")
    code, out, _ = _run(["run", "clipboard-tools/preview-clipboard", "--fresh", "--json"], capsys)
    assert (code, json.loads(out)["outputs"]) == (0, {"preview": "(empty)"})
    assert _run(["verify"], capsys)[1] == "clipboard-tools 1.0.0: ok\n"
    code, out, _ = _run(["uninstall", "clipboard-tools", "--json"], capsys)
    assert json.loads(out) == {"ok": True, "removed": ["clipboard-tools"]}
    assert _run(["list"], capsys)[1] == "No plugins are installed.\n"


def test_verify_reports_tampering(home: Path, capsys: Capture, make_plugin: MakePlugin) -> None:
    assert _run(["install", str(make_plugin("demo")), "--yes"], capsys)[0] == 0
    with Store.open(home) as store:
        edited = store.folder(store.require("demo")) / "plugin.yaml"
    edited.chmod(0o644)
    edited.write_text(edited.read_text() + "\n")
    code, out, _ = _run(["verify"], capsys)
    assert (code, out) == (1, "demo 1.0.0: plugin.yaml: changed since it was installed\n")
    code, _, err = _run(["run", "demo/hello"], capsys)
    assert code == 1
    assert (
        "km-actions run: 'demo' 1.0.0 is refused: plugin.yaml: changed since it was installed"
        in err
    )


def test_configure_reads_a_secret_from_the_terminal(
    home: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _run(["install", str(CLIPBOARD_TOOLS), "--yes"], capsys)[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("typed-secret-1\n"))
    code, out, _ = _run(["configure", "clipboard-tools", "share_token=-"], capsys)
    assert code == 0 and "typed-secret-1" not in out
    with Store.open(home) as store:
        assert store.secrets("clipboard-tools") == {"share_token": "typed-secret-1"}


def test_test_and_run_plugin_folders(home: Path, capsys: Capture) -> None:
    code, out, _ = _run(["test", str(CLIPBOARD_TOOLS)], capsys)
    assert (code, out.splitlines()[-1]) == (0, "7 passed, 0 failed")
    sign = CLIPBOARD_TOOLS / "actions" / "preview-clipboard.yaml"
    code, out, err = _run(["run", str(sign), "--fresh", "--input", "title=Hi"], capsys)
    assert code == 0, err
    assert json.loads(out) == {"preview": "(empty)"}
