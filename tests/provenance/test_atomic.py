"""provenance.atomic: whole-or-nothing writes that keep what the user set on the file."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from provenance import atomic


def posix_acl(*entries: tuple[int, int, int]) -> bytes:
    """The Linux xattr encoding of a POSIX ACL: version 2, then (tag, perm, id) entries."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


# user::rw-, user:1234:rw-, group::r--, mask::rw-, other::r--
ACL = posix_acl((1, 6, 0xFFFFFFFF), (2, 6, 1234), (4, 4, 0xFFFFFFFF), (0x10, 6, 0xFFFFFFFF),
                (0x20, 4, 0xFFFFFFFF))  # fmt: skip


@pytest.mark.parametrize("length", [1, 200, 240, 255], ids=lambda n: f"{n}-byte-name")
def test_names_of_any_legal_length_get_a_short_enough_temporary_name(tmp_path, length):
    dest = tmp_path / ("é" * (length // 2) + "x" * (length % 2))
    assert len(os.fsencode(dest.name)) == length
    atomic.write_bytes(dest, b"one")
    atomic.write_bytes(dest, b"two")
    assert dest.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == [dest.name]
    tmp = atomic.temp_path(dest)
    assert len(os.fsencode(tmp.name)) <= 255 and atomic.is_temp_file(tmp)


def test_a_name_that_is_not_utf8_round_trips(tmp_path):
    dest = Path(os.fsdecode(os.fsencode(tmp_path) + b"/plate_\xff\xfe" + b"y" * 240))
    atomic.write_bytes(dest, b"bytes")
    assert os.listdir(os.fsencode(tmp_path)) == [os.fsencode(dest.name)]


def test_a_replacement_keeps_mode_owner_xattrs_and_acls(tmp_path):
    dest = tmp_path / "plate.png"
    dest.write_bytes(b"old")
    os.chmod(dest, 0o640)
    os.setxattr(dest, "user.studio.shot", b"sh010")
    os.setxattr(dest, "system.posix_acl_access", ACL)
    if os.geteuid() == 0:
        os.chown(dest, 1234, 4321)
    before = os.stat(dest)
    with atomic.atomic_write(dest, like=before, preserve_xattrs=dest) as fh:
        fh.write(b"new")
    after = os.stat(dest)
    assert dest.read_bytes() == b"new" and after.st_ino != before.st_ino
    assert (after.st_mode, after.st_uid, after.st_gid) == (
        before.st_mode,
        before.st_uid,
        before.st_gid,
    )
    assert os.getxattr(dest, "user.studio.shot") == b"sh010"
    assert os.getxattr(dest, "system.posix_acl_access") == ACL


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    dest = tmp_path / "users.toml"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic.atomic_write(dest) as fh:
        fh.write(b"half")
        raise RuntimeError
    assert dest.read_bytes() == b"old" and os.listdir(tmp_path) == ["users.toml"]


def test_replace_false_never_replaces_an_existing_file(tmp_path):
    dest = tmp_path / "signer.key"
    atomic.write_bytes(dest, b"first", mode=0o600, replace=False)
    atomic.write_bytes(dest, b"second", mode=0o600, replace=False)
    assert dest.read_bytes() == b"first" and os.stat(dest).st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["signer.key"]


def test_a_locked_temporary_refuses_a_second_writer(tmp_path):
    dest = tmp_path / "plate.png"
    with atomic.atomic_write(dest, locked=True) as fh:
        fh.write(b"a")
        with pytest.raises(atomic.TempBusy), atomic.atomic_write(dest, locked=True):
            pass
    assert dest.read_bytes() == b"a"
