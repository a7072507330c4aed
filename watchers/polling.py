"""Polling for changes (network shares, trees past the inotify watch limit) with a compact
picture of the tree, as watchdog events.

watchdog's own poller keeps an `os.stat_result` per file in two full snapshots, and builds
several sets of every path to compare them: about 2.5 KB a file and a second of CPU a cycle
for 100,000 files. Here each folder keeps one small dict, name -> one integer packing the
file's mtime (ns), size and inode, and a cycle compares each folder as it is read.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from watchdog.events import (
    DirDeletedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
)
from watchdog.observers.api import (
    DEFAULT_EMITTER_TIMEOUT,
    DEFAULT_OBSERVER_TIMEOUT,
    BaseObserver,
    EventEmitter,
)
from watchdog.observers.polling import PollingObserver

log = logging.getLogger("provgate.watch")

_INODE_BITS = 64
_SIZE_BITS = 64
_INODE = (1 << _INODE_BITS) - 1

# folder -> {file name -> packed stamp}
Tree = dict[str, dict[str, int]]


def stamp(st: os.stat_result) -> int:
    """A file's mtime (ns), size and inode as one integer: equal stamps, unchanged file."""
    return (st.st_mtime_ns << (_INODE_BITS + _SIZE_BITS)) | (st.st_size << _INODE_BITS) | st.st_ino


class Changes:
    """What one cycle found, as watchdog would name it."""

    def __init__(self) -> None:
        self.created: dict[str, int] = {}  # path -> inode
        self.deleted: dict[str, int] = {}
        self.modified: list[str] = []
        self.dirs_deleted: list[str] = []

    def events(self) -> list[Any]:
        """Deletions, changes, creations and moves (a file gone from one path and found, by
        its inode, at another), then the folders that went."""
        gone = {inode: path for path, inode in self.deleted.items()}
        moved = []
        for path, inode in list(self.created.items()):
            src = gone.pop(inode, None)
            if src is not None:
                moved.append(FileMovedEvent(src, path))
                del self.created[path]
                del self.deleted[src]
        return [
            *(FileDeletedEvent(p) for p in self.deleted),
            *(FileModifiedEvent(p) for p in self.modified),
            *(FileCreatedEvent(p) for p in self.created),
            *moved,
            *(DirDeletedEvent(p) for p in self.dirs_deleted),
        ]


def poll(root: str, tree: Tree, changes: Changes | None) -> Tree:
    """Read the tree under `root` once (folders not followed through links, as the walk) and
    return its new picture; with `changes`, note how it differs from `tree`. A folder that
    cannot be read keeps what it had, and so does everything below it. Raises OSError when
    `root` itself cannot be read."""
    new: Tree = {}
    stack = [root]
    while stack:
        folder = stack.pop()
        old = tree.get(folder, {})
        try:
            entries = os.scandir(folder)
        except OSError:
            if folder == root:
                raise
            prefix = folder + os.sep
            new.update((f, seen) for f, seen in tree.items() if f == folder or f.startswith(prefix))
            continue
        now: dict[str, int] = {}
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                        continue
                    if not entry.is_file():
                        continue
                    value = stamp(entry.stat())
                except OSError:
                    continue
                now[entry.name] = value
                if changes is None:
                    continue
                before = old.get(entry.name)
                if before == value:
                    continue
                if before is None:
                    changes.created[entry.path] = value & _INODE
                elif before & _INODE != value & _INODE:  # another file under the same name
                    changes.deleted[entry.path] = before & _INODE
                    changes.created[entry.path] = value & _INODE
                else:
                    changes.modified.append(entry.path)
        if changes is not None:
            for name in old.keys() - now.keys():
                changes.deleted[os.path.join(folder, name)] = old[name] & _INODE
        new[folder] = now
    if changes is not None:
        for folder in tree.keys() - new.keys():
            for name, value in tree[folder].items():
                changes.deleted[os.path.join(folder, name)] = value & _INODE
            changes.dirs_deleted.append(folder)
    return new


class CompactPollingEmitter(EventEmitter):
    """Every `timeout` seconds, the watched tree read again and compared folder by folder."""

    def __init__(
        self,
        event_queue: Any,
        watch: Any,
        *,
        timeout: float = DEFAULT_EMITTER_TIMEOUT,
        event_filter: Any = None,
    ) -> None:
        super().__init__(event_queue, watch, timeout=timeout, event_filter=event_filter)
        self._tree: Tree = {}
        self._failing = False

    def on_thread_start(self) -> None:
        try:
            self._tree = poll(self.watch.path, {}, None)
        except OSError:
            self._tree = {}

    def queue_events(self, timeout: float) -> None:
        if self.stopped_event.wait(timeout):
            return
        if not self.should_keep_running():
            return
        changes = Changes()
        try:
            tree = poll(self.watch.path, self._tree, changes)
        except (FileNotFoundError, NotADirectoryError):
            self.queue_event(DirDeletedEvent(self.watch.path))
            self.stop()
            return
        except OSError as exc:  # a share briefly away: keep the picture, try again
            if not self._failing:
                self._failing = True
                log.warning("cannot read %s, will retry: %s", self.watch.path, exc)
            return
        self._failing = False
        self._tree = tree
        for event in changes.events():
            self.queue_event(event)


class CompactPollingObserver(PollingObserver):
    """A polling observer (it is one: the service tells polled roots by that) whose emitter
    keeps the compact picture."""

    def __init__(self, *, timeout: float = DEFAULT_OBSERVER_TIMEOUT) -> None:
        BaseObserver.__init__(self, CompactPollingEmitter, timeout=timeout)
