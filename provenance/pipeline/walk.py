"""Which files provgate looks at: one walk and one ignore rule for scan, watch and check."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from provenance.atomic import TEMP_MARKER

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
SIDECAR_SUFFIX = ".c2pa"
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
    if TAG_TEMP_MARKER in name or name.endswith(SIDECAR_SUFFIX):
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
    """Every regular file under `root` (or `root` itself), with one stat each.

    Symlinked folders are not followed (they loop, and point outside the show); unreadable
    folders are reported through `on_error(path, reason)` and skipped, and so are the
    `skip_folders` (absolute paths: the workspace). `include_all` (the gate) skips only our
    sidecars and temporaries: a delivery package is checked whole.
    """
    globs = tuple(extra_globs)

    def skip(name: str) -> bool:
        if include_all:
            return TAG_TEMP_MARKER in name or name.endswith(SIDECAR_SUFFIX)
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
