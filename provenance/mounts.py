"""Which filesystem a path lives on, read from the mount table.

Used twice: the store refuses network filesystems (SQLite locking is unsafe there), and the
watcher polls them (a change made by another host raises no inotify event here).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

NETWORK_FS_TYPES = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "fuse.sshfs",
        "sshfs",
        "9p",
        "afs",
        "ceph",
        "fuse.ceph",
        "glusterfs",
        "fuse.glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "fuse.s3fs",
        "fuse.rclone",
        "davfs",
        "fuse.davfs2",
        "ncpfs",
        "coda",
        "ocfs2",
        "fuse.gcsfuse",
    }
)


@dataclass(frozen=True)
class Mount:
    mount_point: str
    fs_type: str
    source: str

    @property
    def is_network(self) -> bool:
        return self.fs_type in NETWORK_FS_TYPES


def _unescape(field: str) -> str:
    # The kernel writes spaces, tabs, newlines and backslashes in mount points as octal escapes.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def read_mount_table(text: str | None = None) -> list[Mount]:
    """Parse /proc/self/mountinfo (or the given text of it); [] where there is none."""
    if text is None:
        try:
            text = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return []
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        parts, rest = left.split(), right.split()
        if not sep or len(parts) < 5 or len(rest) < 2:
            continue
        mounts.append(Mount(mount_point=_unescape(parts[4]), fs_type=rest[0], source=rest[1]))
    return mounts


def mount_of(path: Path, table: list[Mount] | None = None) -> Mount | None:
    """The mount holding `path` (the longest mount point that contains it)."""
    table = read_mount_table() if table is None else table
    target = os.path.realpath(path)
    best: Mount | None = None
    for mount in table:
        mp = mount.mount_point.rstrip("/") or "/"
        inside = target == mp or target.startswith(mp + "/") or mp == "/"
        if inside and (best is None or len(mp) >= len(best.mount_point.rstrip("/") or "/")):
            best = mount
    return best


def is_network_path(path: Path, table: list[Mount] | None = None) -> bool:
    mount = mount_of(path, table)
    return mount is not None and mount.is_network
