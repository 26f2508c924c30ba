"""What is at a path a user names, and why it cannot be read (engine.load.files)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from engine.diagnostics.errors import EngineError
from engine.load.files import Found, look, unreadable


def test_what_is_at_a_path(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x", "utf-8")
    os.mkfifo(tmp_path / "pipe")
    assert [look(tmp_path / n) for n in ("a.yaml", ".", "pipe", "gone", "a.yaml/x")] == [
        Found.FILE,
        Found.FOLDER,
        Found.OTHER,
        Found.NOTHING,
        Found.NOTHING,  # ENOTDIR: nothing is there either
    ]


def test_a_nul_in_the_path_is_said(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as raised:
        look(Path("a\0b.yaml"), "a\\0b.yaml")
    assert (raised.value.code, raised.value.message, raised.value.hint) == (
        "io-error",
        "cannot read a\\0b.yaml: the path holds a NUL character",
        "give the path without it",
    )


@pytest.mark.parametrize(
    ("code", "message", "hint"),
    [
        pytest.param(
            errno.EACCES,
            "cannot read x/a.yaml: permission denied",
            "check that you may read the file and open each folder above it",
            id="permission",
        ),
        pytest.param(
            errno.ENAMETOOLONG,
            "cannot read x/a.yaml: the path is longer than the system allows",
            "give a shorter path",
            id="path-too-long",
        ),
        pytest.param(errno.EIO, "cannot read x/a.yaml: Input/output error", None, id="other"),
    ],
)
def test_why_a_path_cannot_be_read(code: int, message: str, hint: str | None) -> None:
    error = unreadable("x/a.yaml", OSError(code, os.strerror(code)))
    assert (error.code, error.message, error.hint, error.first.file) == (
        "io-error",
        message,
        hint,
        "x/a.yaml",
    )
