"""Tests for engine.plugins.archives: hostile archives are refused and leave nothing behind."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.plugins.archives import (
    ArchiveError,
    ArchiveLimits,
    extract_archive,
    sha256_file,
)
from engine.plugins.packing import create_archive

KB = 1024
MB = 1024 * KB
PackFormat = Literal["zip", "tar.gz"]

# -- building archives -----------------------------------------------------------------

ZipMember = tuple[str, bytes] | zipfile.ZipInfo | tuple[zipfile.ZipInfo, bytes]


def make_zip(path: Path, members: list[ZipMember], *, method: int = zipfile.ZIP_DEFLATED) -> Path:
    """Write a zip with zipfile itself, duplicates allowed (zipfile only warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name" is what some tests want
        with zipfile.ZipFile(path, "w", compression=method) as archive:
            for member in members:
                if isinstance(member, zipfile.ZipInfo):
                    archive.writestr(member, b"")
                else:
                    name, data = member
                    archive.writestr(name, data)
    return path


def zip_info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


TarMember = tarfile.TarInfo | tuple[str, bytes]


def make_tar(path: Path, members: list[TarMember], *, gz: bool = True) -> Path:
    """Write a tar or tar.gz with tarfile itself: any member type, any name."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    data = buffer.getvalue()
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def tar_info(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def tree(root: Path) -> list[str]:
    """Everything under root, relative, sorted (empty when root does not exist)."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def expect_refusal(
    archive: Path, dest: Path, code: str, *, limits: ArchiveLimits | None = None
) -> ArchiveError:
    with pytest.raises(ArchiveError) as caught:
        if limits is None:
            extract_archive(archive, dest)
        else:
            extract_archive(archive, dest, limits=limits)
    assert caught.value.code == code, caught.value.message
    assert tree(dest) == []
    assert caught.value.hint
    return caught.value


# -- names -------------------------------------------------------------------------------

UNSAFE_NAMES = [
    pytest.param("../evil.txt", "goes up with '..'", id="zip-slip"),
    pytest.param("a/../../evil.txt", "goes up with '..'", id="zip-slip-inner"),
    pytest.param("/etc/passwd", "is absolute", id="absolute"),
    pytest.param("C:/Windows/evil.txt", "drive letter", id="drive-letter"),
    pytest.param("c:evil.txt", "drive letter", id="drive-relative"),
    pytest.param("..\\evil.txt", "backslash", id="backslash"),
    pytest.param("a\x07b.txt", "control character", id="control-character"),
]


@pytest.mark.parametrize(("name", "why"), UNSAFE_NAMES)
@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_unsafe_names_are_refused(tmp_path: Path, name: str, why: str, fmt: str) -> None:
    members: list[tuple[str, bytes]] = [("ok.txt", b"fine"), (name, b"boom")]
    if fmt == "zip":
        archive = make_zip(tmp_path / "a.zip", list(members))
    else:
        archive = make_tar(tmp_path / "a.tgz", list(members))
    error = expect_refusal(archive, tmp_path / "out", "archive-unsafe-path")
    assert repr(name) in error.message
    assert why in error.message
    assert not (tmp_path / "evil.txt").exists()


def test_nul_byte_in_a_zip_name_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", [("evil.txtQsafe.yaml", b"x")])
    archive.write_bytes(archive.read_bytes().replace(b"evil.txtQ", b"evil.txt\x00"))
    error = expect_refusal(archive, tmp_path / "out", "archive-unsafe-path")
    assert "NUL byte" in error.message


def test_empty_name_is_refused(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "a.tgz", [("", b"x")])
    error = expect_refusal(archive, tmp_path / "out", "archive-unsafe-path")
    assert error.message == "unsafe name '' in the archive: the name is empty"


def test_nesting_deeper_than_the_limit_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", [("a/b/c/d.txt", b"x")])
    error = expect_refusal(
        archive, tmp_path / "out", "archive-unsafe-path", limits=ArchiveLimits(max_depth=3)
    )
    assert "nested 4 levels deep (the limit is 3)" in error.message


def test_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    info = tarfile.TarInfo("caf\udce9.txt")  # the raw byte 0xE9: Latin-1, not UTF-8
    header = info.tobuf(format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape")
    (tmp_path / "a.tar").write_bytes(header + bytes(1024))
    error = expect_refusal(tmp_path / "a.tar", tmp_path / "out", "archive-unsafe-path")
    assert "is not valid UTF-8" in error.message


@pytest.mark.parametrize(
    ("name", "why"),
    [
        pytest.param("n" * 256, "a name is longer than 255 bytes", id="long-name"),
        pytest.param("/".join(["d" * 200] * 6), "the path is longer than 1024 bytes", id="long"),
    ],
)
def test_overlong_names_are_refused(tmp_path: Path, name: str, why: str) -> None:
    archive = make_tar(tmp_path / "a.tgz", [(name, b"x")])
    error = expect_refusal(archive, tmp_path / "out", "archive-unsafe-path")
    assert why in error.message


def test_dot_slash_prefixes_and_root_entries_are_accepted(tmp_path: Path) -> None:
    root = tar_info("./", tarfile.DIRTYPE)
    archive = make_tar(tmp_path / "a.tgz", [root, ("./plugin.yaml", b"x"), ("./a//b.txt", b"y")])
    written = extract_archive(archive, tmp_path / "out")
    assert written == [PurePosixPath("plugin.yaml"), PurePosixPath("a"), PurePosixPath("a/b.txt")]
    assert (tmp_path / "out" / "a" / "b.txt").read_bytes() == b"y"


# -- member types ------------------------------------------------------------------------


def test_tar_symlink_then_file_through_it_is_refused_at_the_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    link = tar_info("evil", tarfile.SYMTYPE, str(outside))
    archive = make_tar(tmp_path / "a.tgz", [link, ("evil/payload.txt", b"boom")])
    error = expect_refusal(archive, tmp_path / "out", "archive-link")
    assert error.message == (
        "'evil' in the archive is a symbolic link; plugin archives may hold only files and folders"
    )
    assert list(outside.iterdir()) == []


def test_tar_hardlink_is_refused(tmp_path: Path) -> None:
    link = tar_info("passwd", tarfile.LNKTYPE, "/etc/passwd")
    archive = make_tar(tmp_path / "a.tgz", [("ok.txt", b"x"), link])
    error = expect_refusal(archive, tmp_path / "out", "archive-link")
    assert "is a hard link" in error.message


def test_zip_symlink_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", [zip_info("link", stat.S_IFLNK | 0o777)])
    error = expect_refusal(archive, tmp_path / "out", "archive-link")
    assert "'link' in the archive is a symbolic link" in error.message


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(tarfile.CHRTYPE, id="char-device"),
        pytest.param(tarfile.BLKTYPE, id="block-device"),
        pytest.param(tarfile.FIFOTYPE, id="fifo"),
        pytest.param(b"Z", id="unknown-type"),
    ],
)
def test_tar_special_files_are_refused(tmp_path: Path, kind: bytes) -> None:
    archive = make_tar(tmp_path / "a.tar", [tar_info("dev", kind)], gz=False)
    error = expect_refusal(archive, tmp_path / "out", "archive-special-file")
    assert "'dev' in the archive is a device, FIFO or other special file" in error.message


def test_zip_device_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", [zip_info("dev", stat.S_IFCHR | 0o644)])
    expect_refusal(archive, tmp_path / "out", "archive-special-file")


# -- duplicates and collisions ---------------------------------------------------------------

COLLISIONS = [
    pytest.param(["a.txt", "a.txt"], "'a.txt' appears twice in the archive", id="duplicate"),
    pytest.param(["x/a.txt", "x//a.txt"], "'x/a.txt' appears twice", id="duplicate-normalized"),
    pytest.param(
        ["README.md", "readme.md"],
        "'README.md' and 'readme.md' in the archive differ only in upper/lower case",
        id="case",
    ),
    pytest.param(["Docs/a.md", "docs/b.md"], "'Docs' and 'docs'", id="case-of-folders"),
    pytest.param(["caf\u00e9.txt", "cafe\u0301.txt"], "differ only", id="unicode-normalization"),
    pytest.param(["a", "a/b.txt"], "'a' is both a file and a folder", id="file-then-folder"),
    pytest.param(["a/b.txt", "a"], "'a' is both a file and a folder", id="folder-then-file"),
]


@pytest.mark.parametrize(("names", "message"), COLLISIONS)
@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_duplicates_and_collisions_are_refused(
    tmp_path: Path, names: list[str], message: str, fmt: str
) -> None:
    members = [(name, name.encode()) for name in names]
    if fmt == "zip":
        archive = make_zip(tmp_path / "a.zip", list(members))
    else:
        archive = make_tar(tmp_path / "a.tgz", list(members))
    error = expect_refusal(archive, tmp_path / "out", "archive-duplicate")
    assert message in error.message


def test_folder_entry_after_its_files_is_not_a_duplicate(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "a.zip", [("a/b.txt", b"x"), zip_info("a/", stat.S_IFDIR | 0o755)]
    )
    assert extract_archive(archive, tmp_path / "out") == [
        PurePosixPath("a"),
        PurePosixPath("a/b.txt"),
    ]


# -- sizes, counts and bombs -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["zip", "tar.gz", "tar"])
def test_too_many_members_are_refused(tmp_path: Path, fmt: str) -> None:
    members = [(f"f{i}.txt", b"x") for i in range(6)]
    if fmt == "zip":
        archive = make_zip(tmp_path / "a.zip", list(members))
    else:
        archive = make_tar(tmp_path / "a.tar", list(members), gz=fmt == "tar.gz")
    error = expect_refusal(
        archive, tmp_path / "out", "archive-too-many-files", limits=ArchiveLimits(max_members=5)
    )
    assert error.message == "there are more than 5 files and folders in the archive"


def test_zip_whose_end_record_lies_about_its_member_count_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", [(f"{i:04}" + "n" * 200, b"") for i in range(40)])
    raw = bytearray(archive.read_bytes())
    end = raw.rfind(b"PK\x05\x06")
    raw[end + 8 : end + 12] = (1).to_bytes(2, "little") * 2  # "1 member" on disk and in all
    archive.write_bytes(bytes(raw))
    limits = ArchiveLimits(max_members=2, max_path_length=10)
    error = expect_refusal(archive, tmp_path / "out", "archive-too-many-files", limits=limits)
    assert error.message == "there are more than 2 files and folders in the archive"


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_member_larger_than_the_limit_is_refused(tmp_path: Path, fmt: str) -> None:
    data = os.urandom(3 * KB)
    members = [("big.bin", data)]
    if fmt == "zip":
        archive = make_zip(tmp_path / "a.zip", list(members))
    else:
        archive = make_tar(tmp_path / "a.tgz", list(members))
    error = expect_refusal(
        archive, tmp_path / "out", "archive-too-large", limits=ArchiveLimits(max_member_size=KB)
    )
    assert error.message == "'big.bin' in the archive is larger than 1,024 bytes"


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_total_size_is_counted_on_bytes_read(tmp_path: Path, fmt: str) -> None:
    members = [(f"f{i}.bin", os.urandom(600)) for i in range(4)]
    if fmt == "zip":
        archive = make_zip(tmp_path / "a.zip", list(members))
    else:
        archive = make_tar(tmp_path / "a.tgz", list(members))
    limits = ArchiveLimits(max_total_size=2 * KB)
    error = expect_refusal(archive, tmp_path / "out", "archive-too-large", limits=limits)
    assert error.message.startswith("the archive unpacks to more than 2,048 bytes")


def test_zip_bomb_member_is_refused_by_its_ratio(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", [("ok.txt", b"x"), ("zeros.bin", bytes(5 * MB))])
    assert archive.stat().st_size < 10 * KB
    error = expect_refusal(archive, tmp_path / "out", "archive-ratio")
    assert error.message.startswith("'zeros.bin' in the archive says it unpacks to more than 100")


def test_zip_bomb_with_a_tiny_claimed_compressed_size_is_refused(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("claims-small.bin")
    archive = make_zip(tmp_path / "bomb.zip", [(info, bytes(2 * MB))])
    raw = bytearray(archive.read_bytes())
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 20 : central + 24] = (1).to_bytes(4, "little")  # compressed size: 1 byte
    archive.write_bytes(bytes(raw))
    expect_refusal(archive, tmp_path / "out", "archive-ratio")


def test_many_small_zeros_are_refused_by_the_overall_ratio(tmp_path: Path) -> None:
    members = [(f"z{i}.bin", bytes(900 * KB)) for i in range(3)]
    archive = make_zip(tmp_path / "bomb.zip", list(members))
    error = expect_refusal(archive, tmp_path / "out", "archive-ratio")
    assert error.message.startswith("the archive unpacks to more than 100 times its own size")


def test_tar_gz_bomb_is_refused_by_the_overall_ratio(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "bomb.tgz", [("zeros.bin", bytes(8 * MB))])
    expect_refusal(archive, tmp_path / "out", "archive-ratio")


def test_tar_header_claiming_a_huge_size_is_refused_before_reading(tmp_path: Path) -> None:
    info = tarfile.TarInfo("huge.bin")
    info.size = 5 * 1024 * MB  # 5 GB claimed, nothing behind it
    (tmp_path / "a.tar").write_bytes(info.tobuf(format=tarfile.GNU_FORMAT) + bytes(1024))
    error = expect_refusal(tmp_path / "a.tar", tmp_path / "out", "archive-too-large")
    assert error.message == "'huge.bin' in the archive is larger than 10,485,760 bytes"


def test_tar_pax_header_with_a_huge_size_is_capped(tmp_path: Path) -> None:
    """A pax header is read whole by tarfile: its claimed size must not allocate freely."""
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = 200 * MB
    block = header.tobuf(format=tarfile.USTAR_FORMAT)
    (tmp_path / "a.tgz").write_bytes(gzip.compress(block + bytes(80 * MB), mtime=0))
    expect_refusal(tmp_path / "a.tgz", tmp_path / "out", "archive-ratio")
    limits = ArchiveLimits(max_ratio=10_000)
    expect_refusal(tmp_path / "a.tgz", tmp_path / "out2", "archive-too-large", limits=limits)


# -- damage ------------------------------------------------------------------------------


def _good_zip(tmp_path: Path) -> Path:
    return make_zip(tmp_path / "good.zip", [("a.txt", os.urandom(3000)), ("b.txt", b"second")])


def _good_tgz(tmp_path: Path) -> Path:
    return make_tar(tmp_path / "good.tgz", [("a.txt", os.urandom(3000)), ("b.txt", b"second")])


def _good_tar(tmp_path: Path) -> Path:
    return make_tar(tmp_path / "good.tar", [("a.txt", os.urandom(3000)), ("b.txt", b"x")], gz=False)


def _truncate(fraction: float) -> Callable[[bytes], bytes]:
    return lambda data: data[: int(len(data) * fraction)]


def _flip(at: int) -> Callable[[bytes], bytes]:
    return lambda data: data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _zip_lies_about_size(data: bytes) -> bytes:
    raw = bytearray(data)
    central = raw.rfind(b"PK\x01\x02", 0, raw.rfind(b"PK\x01\x02"))  # first member's entry
    raw[central + 24 : central + 28] = (10).to_bytes(4, "little")  # uncompressed size: 10
    return bytes(raw)


DAMAGE = [
    pytest.param(_good_zip, _truncate(0.5), id="zip-truncated"),
    pytest.param(_good_zip, _flip(100), id="zip-data-flipped"),
    pytest.param(_good_zip, _zip_lies_about_size, id="zip-header-lies-about-size"),
    pytest.param(_good_tgz, _truncate(0.6), id="tgz-truncated"),
    pytest.param(_good_tgz, _flip(40), id="tgz-data-flipped"),
    pytest.param(_good_tgz, _flip(-6), id="tgz-crc-wrong"),
    pytest.param(_good_tar, _truncate(0.3), id="tar-truncated-inside-a-member"),
    pytest.param(_good_tar, lambda d: d[: 512 + 3072], id="tar-truncated-between-members"),
    pytest.param(_good_tar, lambda d: d[:3584] + b"garbage!" * 64 + d[4096:], id="tar-bad-header"),
]


@pytest.mark.parametrize(("build", "damage"), DAMAGE)
def test_damaged_archives_are_refused(
    tmp_path: Path, build: Callable[[Path], Path], damage: Callable[[bytes], bytes]
) -> None:
    archive = build(tmp_path)
    archive.write_bytes(damage(archive.read_bytes()))
    error = expect_refusal(archive, tmp_path / "out", "archive-corrupt")
    assert error.message.startswith("the archive is damaged or truncated")


def test_damage_after_a_good_member_removes_what_was_written(tmp_path: Path) -> None:
    archive = make_tar(
        tmp_path / "a.tar", [("a.txt", b"a" * 600), ("b.txt", b"b" * 3000)], gz=False
    )
    archive.write_bytes(archive.read_bytes()[:2048])  # cut inside b.txt
    dest = tmp_path / "out"
    dest.mkdir()
    expect_refusal(archive, dest, "archive-corrupt")
    assert dest.is_dir()  # it existed before, so it stays (empty)


# -- formats -------------------------------------------------------------------------------

UNSUPPORTED = [
    pytest.param(b"hello, I am plain text\n" * 40, "not a zip, tar or tar.gz", id="text"),
    pytest.param(b"BZh91AY&SY" + bytes(100), "bzip2", id="bzip2"),
    pytest.param(b"\xfd7zXZ\x00" + bytes(100), "xz", id="xz"),
    pytest.param(b"", "not a zip, tar or tar.gz", id="empty-file"),
    pytest.param(gzip.compress(b"just text, no tar\n" * 100), "does not hold a tar", id="gz-text"),
]


@pytest.mark.parametrize(("content", "message"), UNSUPPORTED)
def test_unsupported_content_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "plugin.zip").write_bytes(content)
    error = expect_refusal(tmp_path / "plugin.zip", tmp_path / "out", "archive-unsupported")
    assert message in error.message


def test_format_comes_from_content_not_the_name(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "looks-like.zip", [("a.txt", b"tar inside")])
    assert extract_archive(archive, tmp_path / "out") == [PurePosixPath("a.txt")]


def test_encrypted_zip_members_are_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", [("a.txt", b"secret")])
    raw = bytearray(archive.read_bytes())
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 8] |= 0x1  # general purpose flag: encrypted
    archive.write_bytes(bytes(raw))
    error = expect_refusal(archive, tmp_path / "out", "archive-unsupported")
    assert error.message == "'a.txt' in the archive is encrypted"


def test_unusual_zip_compression_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", [("a.txt", b"x" * 100)], method=zipfile.ZIP_BZIP2)
    error = expect_refusal(archive, tmp_path / "out", "archive-unsupported")
    assert "compression method 12" in error.message


def test_zip_needing_a_newer_zip_reader_is_unsupported(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", [("a.txt", b"x")])
    raw = bytearray(archive.read_bytes())
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 6 : central + 8] = (100).to_bytes(2, "little")  # needs zip version 10.0
    archive.write_bytes(bytes(raw))
    error = expect_refusal(archive, tmp_path / "out", "archive-unsupported")
    assert error.message == (
        "the archive uses a feature that is not supported: zip file version 10.0"
    )


# -- destination and source -----------------------------------------------------------------


def test_destination_must_be_empty(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", [("a.txt", b"x")])
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(ArchiveError) as caught:
        extract_archive(archive, dest)
    assert caught.value.code == "archive-destination"
    assert caught.value.message == f"cannot extract into {str(dest)!r}: it is not empty"
    assert tree(dest) == ["keep.txt"]


def test_destination_may_not_be_a_symlink(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", [("a.txt", b"x")])
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(ArchiveError) as caught:
        extract_archive(archive, tmp_path / "link")
    assert caught.value.code == "archive-destination"
    assert tree(real) == []


def test_missing_archive_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError) as caught:
        extract_archive(tmp_path / "nope.zip", tmp_path / "out")
    assert caught.value.code == "archive-unreadable"
    assert not (tmp_path / "out").exists()


# -- packing ---------------------------------------------------------------------------------


def _plugin_folder(root: Path) -> Path:
    folder = root / "plugin"
    (folder / "actions" / "nested").mkdir(parents=True)
    (folder / "plugin.yaml").write_text("identifier: demo\nversion: 1.0.0\n")
    (folder / "actions" / "a.yaml").write_text("name: a\n")
    (folder / "actions" / "nested" / "caf\u00e9.yaml").write_bytes(os.urandom(5000))
    (folder / "empty").mkdir()
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref\n")
    (folder / ".DS_Store").write_bytes(b"\0\0")
    return folder


EXPECTED_TREE = [
    "actions",
    "actions/a.yaml",
    "actions/nested",
    "actions/nested/caf\u00e9.yaml",
    "empty",
    "plugin.yaml",
]


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_pack_then_extract_round_trips(tmp_path: Path, fmt: PackFormat) -> None:
    folder = _plugin_folder(tmp_path)
    archive = tmp_path / f"plugin.{fmt}"
    digest = create_archive(folder, archive, fmt=fmt)
    assert digest == sha256_file(archive)
    written = extract_archive(archive, tmp_path / "out")
    assert sorted(str(p) for p in written) == EXPECTED_TREE
    assert tree(tmp_path / "out") == EXPECTED_TREE
    for name in EXPECTED_TREE:
        source, copy = folder / name, tmp_path / "out" / name
        if source.is_file():
            assert copy.read_bytes() == source.read_bytes()
            assert stat.S_IMODE(copy.stat().st_mode) & 0o111 == 0


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_pack_is_deterministic(tmp_path: Path, fmt: PackFormat) -> None:
    folder = _plugin_folder(tmp_path)
    first = create_archive(folder, tmp_path / f"1.{fmt}", fmt=fmt)
    os.utime(folder / "plugin.yaml", (1_000_000, 1_000_000))
    (folder / "actions" / "a.yaml").chmod(0o600)
    second = create_archive(folder, tmp_path / f"2.{fmt}", fmt=fmt)
    assert first == second
    assert (tmp_path / f"1.{fmt}").read_bytes() == (tmp_path / f"2.{fmt}").read_bytes()


def test_pack_refuses_symlinks(tmp_path: Path) -> None:
    folder = _plugin_folder(tmp_path)
    (folder / "link.yaml").symlink_to(folder / "plugin.yaml")
    with pytest.raises(ArchiveError) as caught:
        create_archive(folder, tmp_path / "p.zip", fmt="zip")
    assert caught.value.code == "archive-link"
    assert caught.value.message == (
        "'link.yaml' in the folder is a symbolic link; plugin archives may hold only files "
        "and folders"
    )
    assert not (tmp_path / "p.zip").exists()


def test_pack_refuses_special_files(tmp_path: Path) -> None:
    folder = _plugin_folder(tmp_path)
    os.mkfifo(folder / "pipe")
    with pytest.raises(ArchiveError) as caught:
        create_archive(folder, tmp_path / "p.tar.gz", fmt="tar.gz")
    assert caught.value.code == "archive-special-file"
    assert list(tmp_path.glob("*.tar.gz*")) == []


def test_pack_refuses_to_write_inside_the_folder(tmp_path: Path) -> None:
    folder = _plugin_folder(tmp_path)
    with pytest.raises(ArchiveError) as caught:
        create_archive(folder, folder / "dist.zip", fmt="zip")
    assert caught.value.code == "archive-destination"


def test_pack_refuses_what_extraction_would_refuse(tmp_path: Path) -> None:
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "back\\slash.yaml").write_text("x")
    with pytest.raises(ArchiveError) as caught:
        create_archive(folder, tmp_path / "p.zip", fmt="zip")
    assert caught.value.code == "archive-unsafe-path"


def test_pack_refuses_what_install_would_refuse_as_a_bomb(tmp_path: Path) -> None:
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "zeros.bin").write_bytes(bytes(2 * MB))
    with pytest.raises(ArchiveError) as caught:
        create_archive(folder, tmp_path / "p.zip", fmt="zip")
    assert caught.value.code == "archive-ratio"
    assert caught.value.message.startswith("the packed archive would be refused when installed")
    assert list(tmp_path.glob("*.zip*")) == []


def test_extracting_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.zip")
    with pytest.raises(ArchiveError) as caught:
        extract_archive(tmp_path / "pipe.zip", tmp_path / "out")
    assert caught.value.code == "archive-unreadable"
    assert caught.value.message == f"{str(tmp_path / 'pipe.zip')!r} is not a regular file"


def test_pack_needs_a_folder_and_an_existing_place_to_write(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError) as caught:
        create_archive(tmp_path / "missing", tmp_path / "p.zip", fmt="zip")
    assert caught.value.code == "archive-unreadable"
    folder = _plugin_folder(tmp_path)
    with pytest.raises(ArchiveError) as caught:
        create_archive(folder, tmp_path / "no" / "such" / "p.zip", fmt="zip")
    assert caught.value.code == "archive-destination"


def test_pack_refuses_files_over_the_size_limit(tmp_path: Path) -> None:
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "big.bin").write_bytes(bytes(2 * KB))
    with pytest.raises(ArchiveError) as caught:
        create_archive(
            folder, tmp_path / "p.zip", fmt="zip", limits=ArchiveLimits(max_member_size=KB)
        )
    assert caught.value.message == "'big.bin' in the folder is larger than 1,024 bytes"


# -- fuzzing ---------------------------------------------------------------------------------

MAGIC = st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b\x08\x00", b"\x1f\x8b"])
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _extract_or_refuse(archive: Path, dest: Path) -> None:
    """Extraction either succeeds inside dest or raises ArchiveError leaving nothing."""
    try:
        written = extract_archive(archive, dest)
    except ArchiveError:
        assert tree(dest) == []
        return
    assert sorted(str(p) for p in written) == tree(dest)
    for path in dest.rglob("*"):
        assert path.is_file() or path.is_dir()
        assert not path.is_symlink()
        assert path.resolve().is_relative_to(dest.resolve())


@FUZZ
@given(magic=MAGIC, body=st.binary(max_size=2048))
def test_random_bytes_only_raise_archive_error(magic: bytes, body: bytes) -> None:
    with tempfile.TemporaryDirectory() as work:
        archive = Path(work) / "fuzz.bin"
        archive.write_bytes(magic + body)
        _extract_or_refuse(archive, Path(work) / "out")


@FUZZ
@given(data=st.data(), fmt=st.sampled_from(["zip", "tgz", "tar"]))
def test_mutated_archives_only_raise_archive_error(
    tmp_path: Path, data: st.DataObject, fmt: str
) -> None:
    source = tmp_path / f"seed.{fmt}"
    if not source.exists():
        members = [("a.txt", b"alpha" * 50), ("dir/b.txt", b"beta"), ("c.bin", os.urandom(700))]
        if fmt == "zip":
            make_zip(source, list(members))
        else:
            make_tar(source, list(members), gz=fmt == "tgz")
    raw = bytearray(source.read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(raw) // 2, len(raw)))
    with tempfile.TemporaryDirectory() as work:
        archive = Path(work) / "mutant"
        archive.write_bytes(bytes(raw[:cut]))
        _extract_or_refuse(archive, Path(work) / "out")
