"""Packages read in place: archives never write outside a private temp dir."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

from provenance.errors import PackageError
from provenance.gate.packages import iter_package


def _names(members) -> dict[str, str | None]:
    return {m.name: m.problem for m in members}


def test_a_folder_lists_every_file_relative_to_the_package(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "stills").mkdir(parents=True)
    (tmp_path / "pkg" / "stills" / "a.png").write_bytes(b"a")
    (tmp_path / "pkg" / "notes.tmp").write_bytes(b"b")  # a package is checked whole
    names = sorted(m.name for m in iter_package(str(tmp_path / "pkg")))
    assert names == ["notes.tmp", "stills/a.png"]


def test_a_missing_package_root_is_an_operational_error(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="no such file"):
        list(iter_package(str(tmp_path / "nope")))


def test_zip_slip_absolute_and_link_members_are_refused_without_writing(
    tmp_path: Path, monkeypatch
) -> None:
    spool_root = tmp_path / "tmp"
    spool_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_root))
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../escaped.png", b"x" * 10)
        z.writestr("/etc/evil.png", b"y" * 10)
        link = zipfile.ZipInfo("link.png")
        link.external_attr = 0o120777 << 16
        z.writestr(link, "/etc/passwd")
        z.writestr("ok/fine.png", b"z" * 10)
    members = list(iter_package(str(archive)))
    problems = _names(members)
    assert "refused" in problems["../../escaped.png"]
    assert "refused" in problems["/etc/evil.png"]
    assert "link" in problems["link.png"]
    assert problems["ok/fine.png"] is None
    assert not (tmp_path.parent / "escaped.png").exists()
    assert not list(tmp_path.glob("**/escaped.png"))
    assert list(spool_root.iterdir()) == []  # the private spool is gone afterwards


def test_a_zip_bomb_is_refused_from_its_declared_sizes(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with (
        zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z,
        z.open("huge.exr", "w", force_zip64=True) as fh,
    ):
        block = b"\0" * (1 << 20)
        for _ in range(300):
            fh.write(block)
    assert archive.stat().st_size < 2 << 20
    (member,) = list(iter_package(str(archive)))
    assert member.local is None and "decompression bomb" in member.problem


def test_a_zip_that_lies_about_sizes_is_stopped_while_reading(tmp_path: Path) -> None:
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.png", b"\0" * (4 << 20))
    data = bytearray(archive.read_bytes())
    # Rewrite the declared uncompressed size in the central directory to 100 bytes.
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (100).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    (member,) = list(iter_package(str(archive)))
    assert member.local is None and member.problem


def test_tar_links_and_traversal_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        for name, kind, target in (
            ("../up.png", tarfile.REGTYPE, ""),
            ("sym.png", tarfile.SYMTYPE, "/etc/passwd"),
            ("hard.png", tarfile.LNKTYPE, "../../etc/shadow"),
            ("good.png", tarfile.REGTYPE, ""),
        ):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            payload = b"data" if kind == tarfile.REGTYPE else b""
            info.size = len(payload)
            t.addfile(info, io.BytesIO(payload))
    problems = _names(iter_package(str(archive)))
    assert "refused" in problems["../up.png"]
    assert "link" in problems["sym.png"] and "link" in problems["hard.png"]
    assert problems["good.png"] is None
    assert not (tmp_path.parent / "up.png").exists()


def test_stdin_lists_paths_and_missing_ones_block(tmp_path: Path) -> None:
    f = tmp_path / "a.png"
    f.write_bytes(b"a")
    members = list(iter_package("-", io.StringIO(f"{f}\n\n{tmp_path / 'gone.png'}\n")))
    assert [(m.local is not None, m.problem) for m in members] == [
        (True, None),
        (False, "file not found"),
    ]


def test_spooled_members_keep_their_extension_and_nothing_else(tmp_path: Path) -> None:
    archive = tmp_path / "p.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("deep/dir/shot.0001.exr", b"v" * 5)
    for m in iter_package(str(archive)):
        assert m.local is not None and m.local.suffix == ".exr"
        assert "deep" not in str(m.local)
        assert os.stat(m.local.parent).st_mode & 0o077 == 0
