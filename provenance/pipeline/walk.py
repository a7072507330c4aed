"""Which files provgate looks at: one walk and one ignore rule for scan and watch, and the
package walk for the delivery gate, which ignores nothing."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import stat as statmod
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from provenance.atomic import TEMP_MARKER
from provenance.model import is_sidecar_name

# Temporary and system files (SPEC §6). Matched against the file name.
DEFAULT_IGNORES = (
    "*.part",
    "*.tmp",
    "*.crdownload",
    "~$*",
    ".DS_Store",
    "._*",
    "Thumbs.db",
    "desktop.ini",
    ".*.swp",
    "*~",
    # rsync writes `.name.XXXXXX` beside the target before renaming it into place
    ".*.??????",
)
# Our own temporary files while a tag is written, and our sidecars (read with their asset).
TAG_TEMP_MARKER = TEMP_MARKER
SKIP_DIRS = frozenset(
    {
        ".provgate",
        ".git",
        ".svn",
        "__pycache__",
        ".Trash",
        ".Trashes",
        ".snapshot",
        ".zfs",
        "@eaDir",
        "$RECYCLE.BIN",
    }
)


def is_ignored(name: str, extra_globs: Iterable[str] = ()) -> bool:
    """True for files provgate never records: temporaries, system files, its own writes."""
    if TAG_TEMP_MARKER in name or is_sidecar_name(name):
        return True
    return _ignore_pattern(tuple(extra_globs)).match(name) is not None


@functools.lru_cache(maxsize=16)
def _ignore_pattern(extra_globs: tuple[str, ...]) -> re.Pattern[str]:
    """Every ignore glob as one expression: one match per file name instead of one per glob."""
    return re.compile("|".join(fnmatch.translate(g) for g in (*DEFAULT_IGNORES, *extra_globs)))


class FileStat(NamedTuple):
    """One file as the walk met it: a scan makes one for every file it looks at, sends it
    to a worker and back, and a tuple is made and pickled in a fraction of a dataclass's
    time."""

    path: str
    size: int
    mtime_ns: int
    inode: int


def stat_of(path: str) -> FileStat:
    st = os.stat(path)
    return FileStat(path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino)


def own_folders(config_root: Path | None) -> frozenset[str]:
    """The workspace's folder as the walk and the watcher meet it (as named and resolved):
    provgate never records its own store, keys and thumbnails, wherever the workspace is."""
    if config_root is None:
        return frozenset()
    return frozenset({os.path.abspath(config_root), os.path.realpath(config_root)})


def is_own_path(path: str, own: frozenset[str]) -> bool:
    """True for a path inside one of the `own_folders`."""
    return any(path == folder or path.startswith(folder + os.sep) for folder in own)


def walk_files(
    root: Path,
    extra_globs: Iterable[str] = (),
    on_error: object = None,
    include_all: bool = False,
    skip_folders: frozenset[str] = frozenset(),
) -> Iterator[FileStat]:
    """Every regular file under `root` (or `root` itself), with one stat each: what scan and
    watch record.

    Symlinked folders are not followed (they loop, and point outside the show); unreadable
    folders are reported through `on_error(path, reason)` and skipped, and so are the
    `skip_folders` (absolute paths: the workspace). `include_all` keeps the temporary and
    system names a watcher ignores, but still skips our sidecars and temporaries: the
    delivery gate uses `walk_package`, which skips nothing.
    """
    globs = tuple(extra_globs)

    def skip(name: str) -> bool:
        if include_all:
            return TAG_TEMP_MARKER in name or is_sidecar_name(name)
        return is_ignored(name, globs)

    top = os.path.abspath(root)
    if os.path.isfile(top):
        if not skip(os.path.basename(top)):
            yield stat_of(top)
        return
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                subdirs = []
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if include_all or not (
                                entry.name in SKIP_DIRS or entry.path in skip_folders
                            ):
                                subdirs.append(entry.path)
                        elif entry.is_file() and not skip(entry.name):
                            st = entry.stat()
                            yield FileStat(entry.path, st.st_size, st.st_mtime_ns, st.st_ino)
                    except OSError as exc:
                        if callable(on_error):
                            on_error(entry.path, exc.strerror or str(exc))
                stack.extend(sorted(subdirs, reverse=True))
        except OSError as exc:
            if callable(on_error):
                on_error(folder, exc.strerror or str(exc))


class PackageEntry(NamedTuple):
    """One entry of a delivery package: a regular file to judge (no problem), or why it
    cannot be."""

    path: str  # as met in the package (a link keeps its own name)
    problem: str | None = None


_SPECIAL_KINDS = (
    (statmod.S_ISFIFO, "a FIFO"),
    (statmod.S_ISSOCK, "a socket"),
    (statmod.S_ISCHR, "a character device"),
    (statmod.S_ISBLK, "a block device"),
)


def special_kind(mode: int) -> str:
    """What a non-regular, non-folder file is, in words."""
    return next((name for test, name in _SPECIAL_KINDS if test(mode)), "not a regular file")


def _inside(real: str, real_top: str) -> bool:
    return real == real_top or real.startswith(os.path.join(real_top, ""))


def walk_package(root: Path) -> Iterator[PackageEntry]:
    """Every entry of a delivery package, whatever its name: nothing is ignored.

    Links that stay inside the package are followed once (a folder reached twice is walked
    once; a link back into its own ancestors is a loop and is refused); links that leave the
    package, dangling links, FIFOs, sockets and devices, and folders that cannot be read are
    entries with a problem: the gate blocks them. Files come in a stable order (sorted per
    folder).
    """
    top = os.path.abspath(root)
    real_top = os.path.realpath(top)
    if not os.path.isdir(top):
        yield _file_entry(top, os.path.islink(top))
        return
    walked = {real_top}
    stack: list[tuple[str, str, frozenset[str]]] = [(top, real_top, frozenset({real_top}))]
    while stack:
        folder, real_folder, ancestors = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield PackageEntry(folder, f"folder cannot be read: {exc.strerror or exc}")
            continue
        subdirs: list[tuple[str, str, frozenset[str]]] = []
        for entry in entries:
            try:
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if not _inside(target, real_top):
                        yield PackageEntry(
                            entry.path,
                            f"link that leaves the package (to {os.readlink(entry.path)}): refused",
                        )
                    elif os.path.isdir(target):
                        if target in ancestors:
                            yield PackageEntry(
                                entry.path, "link loop (points to a folder above it): refused"
                            )
                        elif target not in walked:  # else its files are judged where they are
                            walked.add(target)
                            subdirs.append((entry.path, target, ancestors | {target}))
                    else:
                        yield _file_entry(entry.path, True)
                elif entry.is_dir(follow_symlinks=False):
                    real = os.path.join(real_folder, entry.name)
                    if real not in walked:
                        walked.add(real)
                        subdirs.append((entry.path, real, ancestors | {real}))
                elif entry.is_file(follow_symlinks=False):
                    # A regular file, as the folder's listing says (no stat: the reader
                    # opens it and refuses anything else it finds there then).
                    yield PackageEntry(entry.path)
                else:
                    yield _file_entry(entry.path, False, entry.stat(follow_symlinks=False))
            except OSError as exc:
                yield PackageEntry(entry.path, f"cannot be read: {exc.strerror or exc}")
        stack.extend(reversed(subdirs))


def _file_entry(path: str, link: bool, st: os.stat_result | None = None) -> PackageEntry:
    try:
        st = st or os.stat(path)
    except FileNotFoundError:
        target = os.readlink(path) if link else path
        return PackageEntry(path, f"link to a missing file ({target})")
    except OSError as exc:
        return PackageEntry(path, f"cannot be read: {exc.strerror or exc}")
    if not statmod.S_ISREG(st.st_mode):
        return PackageEntry(path, f"{special_kind(st.st_mode)}, not a file: refused")
    return PackageEntry(path)
