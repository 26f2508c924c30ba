"""Finding and loading manifests named on the command line (engine.cli._files)."""

from __future__ import annotations

from pathlib import Path

from engine.cli._files import collect, iter_manifest_paths, load_file


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("api_version: '1.1'\n", "utf-8")


def test_manifests_in_a_folder_are_found_sorted_without_tool_folders(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "b.yaml", "a.JSON", "sub/c.yml", "notes.txt", ".git/x.yaml", ".venv/y.yaml",
        "venv/z.yaml", "node_modules/m.json", "__pycache__/p.yaml", ".hypothesis/h.yaml",
        "sub/.cache/deep.yaml", ".hidden.yaml",
    )  # fmt: skip
    found = [p.relative_to(tmp_path).as_posix() for p in iter_manifest_paths(tmp_path)]
    assert found == [".hidden.yaml", "a.JSON", "b.yaml", "sub/c.yml"]


def test_a_file_that_cannot_be_read_keeps_its_error(tmp_path: Path) -> None:
    loaded = load_file(tmp_path / "gone.yaml", display="gone.yaml")
    assert (loaded.document, loaded.text) == (None, "")
    assert loaded.error is not None
    assert (loaded.error.code, loaded.error.message, loaded.error.first.file) == (
        "io-error",
        "cannot read gone.yaml: No such file or directory",
        "gone.yaml",
    )


def test_a_file_that_does_not_parse_keeps_its_text(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"a: [1,\n\xff")
    loaded = load_file(path)
    assert loaded.display == str(path)
    assert loaded.error is not None and loaded.document is None
    assert loaded.text == "a: [1,\n\ufffd"


def test_collect_keeps_order_drops_repeats_and_lists_what_is_missing(tmp_path: Path) -> None:
    _touch(tmp_path, "one/a.yaml", "one/b.yaml", "c.yaml")
    found = collect(
        [str(tmp_path / "c.yaml"), str(tmp_path / "one"), str(tmp_path / "one/a.yaml"), "nope"]
    )
    assert [f.path.name for f in found.files] == ["c.yaml", "a.yaml", "b.yaml"]
    assert found.missing == ["nope"]
    assert all(f.document is not None for f in found.files)
