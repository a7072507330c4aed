"""Our own immutable events, made from watchdog's; everything after this module ignores
watchdog's types."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum

from watchdog.events import (
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
)

from provenance.pipeline.walk import is_ignored, is_own_path


class Kind(StrEnum):
    CHANGED = "changed"  # created, written, or closed after writing: settle, then process
    MOVED = "moved"
    DELETED = "deleted"
    DIR_MOVED = "dir-moved"
    DIR_DELETED = "dir-deleted"
    RESCAN = "rescan"  # events may have been lost below this folder


@dataclass(frozen=True)
class FileEvent:
    kind: Kind
    path: str
    dest: str | None = None


def translate(
    event: FileSystemEvent,
    ignore_globs: tuple[str, ...] = (),
    own: frozenset[str] = frozenset(),
) -> list[FileEvent]:
    """watchdog event → our events; temporary, system and provgate's own files drop out, and
    so does everything in the `own` folders (the workspace: its store, keys, thumbnails).

    A rename from an ignored name onto a real one (a download finishing, rsync placing a file,
    our own atomic tag write) is a change of the destination, not a move.
    """
    src = os.fsdecode(event.src_path)
    dest = os.fsdecode(event.dest_path) if event.dest_path else None

    def ignored(path: str) -> bool:
        return is_ignored(os.path.basename(path), ignore_globs) or is_own_path(path, own)

    if isinstance(event, DirMovedEvent) and dest:
        return [FileEvent(Kind.DIR_MOVED, src, dest)]
    if isinstance(event, DirDeletedEvent):
        return [FileEvent(Kind.DIR_DELETED, src)]
    if isinstance(event, FileMovedEvent) and dest:
        if ignored(dest):
            return [] if ignored(src) else [FileEvent(Kind.DELETED, src)]
        if ignored(src):
            return [FileEvent(Kind.CHANGED, dest)]
        return [FileEvent(Kind.MOVED, src, dest)]
    if isinstance(event, FileDeletedEvent):
        return [] if ignored(src) else [FileEvent(Kind.DELETED, src)]
    if isinstance(event, FileCreatedEvent | FileModifiedEvent | FileClosedEvent):
        return [] if ignored(src) else [FileEvent(Kind.CHANGED, src)]
    return []
