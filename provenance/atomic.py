"""Atomic file writes: the one way provgate replaces or creates a file whole.

The bytes go to a temporary file in the destination's folder (so the rename cannot cross a
filesystem), are fsynced, and then take the destination's name in one rename (or one link, when
an existing file must never be replaced); the folder is fsynced so the new name survives a
crash. A crash leaves the old file or the new one, never a mix.

Temporary names are `.<name>.provgate-tmp-<suffix>`, shortened (a prefix of the name and a hash
of the whole of it) when that would pass the 255-byte limit on a file name, so a destination of
any legal length can be written. Names are handled as bytes: any name the OS allows works.

Where the caller asks (`like=`), the new file takes the old one's permission bits and owner
(where allowed), and `preserve_xattrs=` copies its extended attributes, which on Linux include
its POSIX ACLs (`system.posix_acl_access`/`_default`). A copy that fails for an attribute the
user set is an error: the destination is left as it was rather than silently losing it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_MARKER = ".provgate-tmp-"  # watchers and walkers skip any dot-name containing it
NAME_MAX = 255
# Namespaces only a privileged process may set: not the user's to lose, and not ours to copy.
_PRIVILEGED_XATTRS = ("security.", "trusted.")


class TempBusy(Exception):
    """Another live process holds the lock on this destination's temporary file."""


def temp_path(dest: Path, suffix: str = "pending") -> Path:
    """The temporary file a write to `dest` goes through (at most 255 bytes of name)."""
    name = os.fsencode(dest.name)
    tail = os.fsencode(f"{TEMP_MARKER}{suffix}")
    full = b"." + name + tail
    if len(full) <= NAME_MAX:
        return dest.with_name(os.fsdecode(full))
    digest = hashlib.sha256(name).hexdigest()[:16].encode()
    room = NAME_MAX - len(tail) - len(digest) - 2
    # Cut the prefix on a character boundary when the name is UTF-8, else anywhere.
    prefix = name[:room]
    with contextlib.suppress(UnicodeDecodeError):
        name.decode("utf-8")
        prefix = prefix.decode("utf-8", "ignore").encode("utf-8")
    return dest.with_name(os.fsdecode(b"." + prefix + b"~" + digest + tail))


def is_temp_file(path: str | os.PathLike[str] | bytes) -> bool:
    """True for provgate's temporary files, which watchers and walkers ignore."""
    name = os.path.basename(os.fsdecode(path))
    return name.startswith(".") and TEMP_MARKER in name


@contextlib.contextmanager
def atomic_write(
    dest: Path,
    *,
    mode: int = 0o600,
    like: os.stat_result | None = None,
    mode_mask: int = 0o7777,
    preserve_xattrs: Path | None = None,
    replace: bool = True,
    locked: bool = False,
) -> Iterator[BinaryIO]:
    """A file that becomes `dest` when the block succeeds, and vanishes if it does not.

    `mode` is the new file's permission bits, or `like`'s (masked by `mode_mask`) when given,
    with `like`'s owner where the process may set it. `preserve_xattrs` names a file whose
    extended attributes (and so ACLs) the new file takes. `replace=False` never replaces an
    existing `dest` (the new file is linked in; if `dest` appeared meanwhile, the other
    writer's file stands and ours is dropped). `locked=True` uses one fixed temporary name per
    destination guarded by an exclusive flock: a second writer gets TempBusy, and a file left
    by a killed process (no lock holder) is reused; otherwise the name is random and new.
    """
    tmp = temp_path(dest) if locked else temp_path(dest, secrets.token_hex(4))
    fd = _open_locked(tmp) if locked else _open_new(tmp)
    try:
        fh = os.fdopen(fd, "w+b")
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with fh:  # closing it releases the lock
        try:
            yield fh
            fh.flush()
            bits = stat.S_IMODE(like.st_mode) & mode_mask if like is not None else mode
            os.fchmod(fd, bits)
            if like is not None and (like.st_uid, like.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(OSError):
                    os.fchown(fd, like.st_uid, like.st_gid)
            if preserve_xattrs is not None:
                copy_xattrs(preserve_xattrs, fd)
            os.fsync(fd)
            if replace:
                os.replace(tmp, dest)
            else:
                with contextlib.suppress(FileExistsError):  # someone else finished first
                    os.link(tmp, dest)
                os.unlink(tmp)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    fsync_dir(dest.parent)


def write_bytes(dest: Path, data: bytes, **options: object) -> None:
    """Write `data` as `dest` atomically (options as for `atomic_write`)."""
    with atomic_write(dest, **options) as fh:  # type: ignore[arg-type]
        fh.write(data)


def copy_xattrs(source: Path, fd: int) -> None:
    """Give the open file `fd` the extended attributes (and ACLs) of `source`."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(source)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return
        raise
    for name in names:
        privileged = name.startswith(_PRIVILEGED_XATTRS)
        try:
            os.setxattr(fd, name, os.getxattr(source, name))
        except OSError:
            if not privileged:
                raise


def fsync_dir(folder: Path) -> None:
    """Make a rename, link or unlink in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_new(tmp: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    return os.open(tmp, flags, 0o600)


def _open_locked(tmp: Path) -> int:
    """Open and exclusively lock `tmp`, emptied, making sure the lock is on that name's file."""
    for _ in range(5):
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise TempBusy("another process is writing this file") from None
            # The holder we waited on may have renamed that file onto the destination meanwhile.
            with contextlib.suppress(FileNotFoundError):
                if os.stat(tmp, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                    os.ftruncate(fd, 0)
                    os.fchmod(fd, 0o600)
                    fd, locked = -1, fd
                    return locked
        finally:
            if fd >= 0:
                os.close(fd)
    raise TempBusy("another process keeps replacing the temporary file")
