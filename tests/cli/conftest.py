"""Fixtures for the command-line tests: ``km-actions`` run in-process in a private folder.

``cli`` is a :class:`Cli`: it runs :func:`engine.cli.main` with the test's temporary
folder as the current directory and ``KM_ACTIONS_HOME`` pointing at ``home/`` inside it,
and returns a :class:`Outcome` (exit status, stdout, stderr). ``cli.write(name, text)``
writes a file there (text dedented), so diagnostics show short relative names.
``action_text`` builds an action manifest with the standard header.

>>> action_text("hi", "steps:\\n  - set: {x: 1}\\n").splitlines()[:3]
['api_version: "1.1"', 'kind: action', 'name: hi']
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main


@dataclass(frozen=True)
class Outcome:
    """What one command did: its exit status and everything it printed."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Standard output read as JSON."""
        return json.loads(self.out)


class Cli:
    """Runs ``km-actions`` in-process and writes files into the working folder."""

    def __init__(self, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.folder = folder
        self.home = folder / "home"
        self._capsys = capsys

    def __call__(self, *argv: str) -> Outcome:
        self._capsys.readouterr()  # what earlier set-up printed is not this command's
        code = main(list(argv))
        out, err = self._capsys.readouterr()
        return Outcome(code, out, err)

    def usage_error(self, *argv: str) -> Outcome:
        """A command argparse refuses: it exits with status 2 (or 0 for --help)."""
        self._capsys.readouterr()
        with pytest.raises(SystemExit) as stopped:
            main(list(argv))
        out, err = self._capsys.readouterr()
        code = stopped.value.code
        return Outcome(code if isinstance(code, int) else 1, out, err)

    def write(self, name: str, text: str) -> Path:
        """Write ``text`` (dedented) to ``name`` under the working folder."""
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), "utf-8")
        return path


def action_text(name: str, body: str, *, description: str | None = "Does a thing.") -> str:
    """An action manifest: the standard header, then ``body`` (dedented)."""
    head = f'api_version: "1.1"\nkind: action\nname: {name}\n'
    if description is not None:
        head += f"description: {description}\n"
    return head + textwrap.dedent(body)


def plugin_text(identifier: str, extra: str = "", *, version: str = "1.0.0") -> str:
    """A ``plugin.yaml``: the required fields, then ``extra`` (dedented)."""
    return (
        f'api_version: "1.1"\nkind: plugin\nidentifier: {identifier}\n'
        f"name: {identifier.title()}\nversion: {version}\n"
        f"description: The {identifier} plugin.\n" + textwrap.dedent(extra)
    )


#: A plugin with one setting, ``greeting``; and ``HELLO``, an action of it that uses the
#: setting, with two tests (the setting's default, and a test's own ``config``).
DEMO_PLUGIN = plugin_text(
    "demo",
    """\
    permissions: [km_variable_manager]
    configuration_schema:
      type: object
      properties:
        greeting: {type: string, default: Hello, description: How to greet.}
    """,
)
HELLO = action_text(
    "hello",
    """\
    inputs:
      who: {type: string, description: Who.}
    steps:
      - set: {msg: "{{ config.greeting }} {{ inputs.who }}"}
    outputs:
      msg: "{{ vars.msg }}"
    tests:
      - name: greets with the default
        inputs: {who: Ann}
        expect: {outputs: {msg: Hello Ann}}
      - name: greets with a setting
        inputs: {who: Ann}
        config: {greeting: Hi}
        expect: {outputs: {msg: Hi Ann}}
    """,
)


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``km-actions`` in ``tmp_path`` (the current folder), with a private data folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KM_ACTIONS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KM_ACTIONS_CONFIG", raising=False)
    return Cli(tmp_path, capsys)
