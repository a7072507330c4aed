"""The watch service: reconcile, observe, settle, process through the shared pipeline, record.

Threads: watchdog's observer threads only translate events and put them on a bounded queue
(a full queue blocks them: back-pressure, never a dropped event); worker threads read and tag
files; the service's own thread owns the store and is the only one that writes it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from errno import EMFILE, ENOSPC
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from provenance.config import Config
from provenance.errors import ProvgateError
from provenance.history.intents import resolve_pending
from provenance.history.recorder import Change, record
from provenance.history.registry import Registry
from provenance.history.scan import ScanSummary, scan_paths
from provenance.mounts import is_network_path
from provenance.pipeline.pool import worker_count
from provenance.pipeline.transport import FileOutcome
from provenance.pipeline.walk import FileStat, own_folders, stat_of
from provenance.pipeline.workers import process_file
from provenance.stores import Store

from .events import FileEvent, Kind, translate
from .polling import CompactPollingObserver
from .settle import Settler

log = logging.getLogger("provgate.watch")

QUEUE_SIZE = 10_000
TICK = 0.1
BUSY_TICK = 0.005  # while files settle or are processed: the loop must not idle a full tick
DEFAULT_POLL = 10.0
ROOT_CHECK = 5.0  # seconds between checks that every watched folder is still there


class _Enqueue(FileSystemEventHandler):
    """The only code that runs on watchdog's threads: translate and enqueue."""

    def __init__(
        self, events: queue.Queue[FileEvent], ignore: tuple[str, ...], own: frozenset[str]
    ) -> None:
        self.events = events
        self.ignore = ignore
        self.own = own

    def dispatch(self, event: FileSystemEvent) -> None:
        for ours in translate(event, self.ignore, self.own):
            self.events.put(ours)  # blocks when full: back-pressure on the observer


class _OverflowWatch(logging.Handler):
    """watchdog only logs an inotify queue overflow; we turn it into a rescan request."""

    def __init__(self, events: queue.Queue[FileEvent], roots: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.events, self.roots = events, roots

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            for root in self.roots:
                self.events.put(FileEvent(Kind.RESCAN, root))


@dataclass
class WatchOptions:
    settle: float = 2.0
    poll: float | None = None  # seconds; forces the polling observer everywhere
    reconcile_every: float = 3600.0
    workers: int = 0


class WatchService:
    def __init__(
        self,
        roots: list[Path],
        config: Config,
        store: Store,
        options: WatchOptions | None = None,
        on_change: Callable[[Change], None] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.roots = [os.path.abspath(r) for r in roots]
        self.progress = progress  # for the first reconciliation (a terminal's progress bar)
        self.first_pass: ScanSummary | None = None
        self.config = config
        self.store = store
        self.options = options or WatchOptions(settle=config.settle_seconds)
        self.on_change = on_change or (lambda change: None)
        self.events: queue.Queue[FileEvent] = queue.Queue(maxsize=QUEUE_SIZE)
        self.settler = Settler(self.options.settle)
        self.stop_requested = threading.Event()
        self._observers: dict[str, BaseObserver] = {}
        self._handler = _Enqueue(self.events, config.ignore_globs, own_folders(config.root))
        self._pool = ThreadPoolExecutor(
            max_workers=self.options.workers or worker_count(), thread_name_prefix="provgate-worker"
        )
        self._in_flight: dict[str, Future[FileOutcome]] = {}
        self._deletes: dict[str, float] = {}
        self._polled: set[str] = set()  # roots that fell back to polling (watch limit)
        self._overflow = _OverflowWatch(self.events, self.roots)
        self.ready = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------

    def observer_for(self, root: str) -> BaseObserver:
        """Native events on local disks; polling where other hosts write (NFS, SMB, sshfs) and
        where the inotify watch limit left folders unwatched."""
        if self.options.poll is not None:
            return CompactPollingObserver(timeout=self.options.poll)
        if root in self._polled:
            return CompactPollingObserver(timeout=DEFAULT_POLL)
        if is_network_path(Path(root)):
            log.info("%s is on a network filesystem: polling every %ss", root, DEFAULT_POLL)
            return CompactPollingObserver(timeout=DEFAULT_POLL)
        return Observer()

    def start(self) -> None:
        for root in self.roots:
            if not os.path.isdir(root):
                raise ProvgateError("not a folder to watch", root)
        logging.getLogger("watchdog").addHandler(self._overflow)
        # Tag writes a crash interrupted (this watcher's, or an approve's) are settled first.
        resolve_pending(self.config, self.store)
        # Observe first, then reconcile: nothing that lands during reconciliation is missed.
        for root in self.roots:
            self._observe(root)
        self.first_pass = self.reconcile(progress=self.progress)
        self.progress = None
        self.check_watch_limit()
        self.ready.set()

    @property
    def observers(self) -> list[BaseObserver]:
        return list(self._observers.values())

    def _observe(self, root: str) -> None:
        observer = self.observer_for(root)
        observer.schedule(self._handler, root, recursive=True)
        try:
            observer.start()
        except OSError as exc:
            # watchdog 7.1.1 and later raise at start when the inotify watch or instance limit
            # is reached (earlier releases skipped folders silently: `check_watch_limit`).
            if isinstance(observer, PollingObserver) or exc.errno not in (ENOSPC, EMFILE):
                raise
            with contextlib.suppress(Exception):
                observer.stop()
            log.warning(
                "inotify watch limit reached (%s; raise fs.inotify.max_user_watches): "
                "polling %s instead",
                exc.strerror or exc,
                root,
            )
            self._polled.add(root)
            observer = self.observer_for(root)
            observer.schedule(self._handler, root, recursive=True)
            observer.start()
        self._observers[root] = observer

    def _unobserve(self, root: str) -> None:
        observer = self._observers.pop(root, None)
        if observer is not None:
            observer.stop()
            observer.join(timeout=10)

    def check_roots(self) -> None:
        """A watched folder that vanished (an unmounted share) is waited for, not fatal; when it
        returns, or when an observer thread died, observing restarts and the folder is
        reconciled."""
        for root in self.roots:
            present = os.path.isdir(root)
            observer = self._observers.get(root)
            if not present:
                if observer is not None:
                    log.warning("%s is gone (unmounted?): waiting for it to come back", root)
                    self._unobserve(root)
                continue
            if observer is not None and observer.is_alive():
                continue
            if observer is not None:
                log.warning("%s: the observer stopped; restarting it", root)
                self._unobserve(root)
            else:
                log.info("%s is back: catching up", root)
            try:
                self._observe(root)
            except OSError as exc:
                log.error("%s: cannot observe: %s (will retry)", root, exc.strerror or exc)
                continue
            self.reconcile([root])

    def check_watch_limit(self) -> None:
        """watchdog skips folders silently once the inotify watch limit is reached; count the
        watches we hold against the folders we watch natively, and poll any tree that lost."""
        native = [r for r, o in self._observers.items() if not isinstance(o, PollingObserver)]
        held = inotify_watches()
        if not native or held is None:
            return
        folders = sum(count_folders(r) for r in native)
        if held >= folders:
            return
        for root in native:
            log.warning(
                "inotify watch limit reached (%d watches for %d folders; raise "
                "fs.inotify.max_user_watches): polling %s instead, and rescanning it",
                held,
                folders,
                root,
            )
            self._polled.add(root)
            self._unobserve(root)
            self._observe(root)
        self.reconcile(native)

    def reconcile(
        self, roots: list[str] | None = None, progress: Callable[[int], None] | None = None
    ) -> ScanSummary | None:
        """Catch up with what changed while nobody watched (the same code as `scan`); a stop
        request ends it early, with every file in hand recorded."""
        present = [Path(r) for r in (roots or self.roots) if os.path.isdir(r)]
        if not present:
            return None
        try:
            summary = scan_paths(
                present,
                self.config,
                self.store,
                on_change=self._changed,
                progress=progress,
                stop=self.stop_requested,
            )
        except (ProvgateError, OSError) as exc:
            log.error("reconciliation failed (will retry): %s", exc, extra={"event": "error"})
            return None
        for path, reason in summary.failures:
            log.error(
                "%s: %s",
                path,
                reason,
                extra={"event": "error", "fields": {"path": path, "reason": reason}},
            )
        counts = summary.to_json()["summary"]
        log.info("reconciled %s", summary.line(), extra={"event": "reconciled", "fields": counts})
        return summary

    def run(self, once: bool = False) -> None:
        """Serve until stop() is called; in-flight work is finished before returning. With
        `once`, only the first reconciliation."""
        self.start()
        if once:
            self.shutdown()
            return
        next_reconcile = time.monotonic() + self.options.reconcile_every
        next_root_check = time.monotonic() + ROOT_CHECK
        try:
            while not self.stop_requested.is_set():
                try:
                    next_root_check, next_reconcile = self._turn(next_root_check, next_reconcile)
                except Exception as exc:  # noqa: BLE001 - the store busy, a disk failing...
                    # Nothing is lost: unrecorded files are caught by the next reconciliation.
                    log.error("watcher: %s (continuing)", exc)
                    self.stop_requested.wait(1.0)
        finally:
            self.shutdown()

    def _turn(self, next_root_check: float, next_reconcile: float) -> tuple[float, float]:
        """One turn of the loop: take events, record finished work, start settled work."""
        busy = bool(self._in_flight) or len(self.settler) > 0
        self._drain(timeout=BUSY_TICK if busy else TICK)
        self._collect(block=False)
        self._dispatch_settled()
        self._record_deletes()
        now = time.monotonic()
        if now >= next_root_check:
            self.check_roots()
            next_root_check = now + ROOT_CHECK
        if now >= next_reconcile:
            self.reconcile()
            self.check_watch_limit()
            next_reconcile = time.monotonic() + self.options.reconcile_every
        return next_root_check, next_reconcile

    def stop(self) -> None:
        self.stop_requested.set()

    def shutdown(self) -> None:
        for observer in self.observers:
            observer.stop()
        for observer in self.observers:
            observer.join(timeout=10)
        self._observers.clear()
        self._collect(block=True)
        self._pool.shutdown(wait=True)
        for path in list(self._deletes):
            self._deleted(path)
        self._deletes.clear()
        logging.getLogger("watchdog").removeHandler(self._overflow)

    # -- the loop -------------------------------------------------------------------------

    def _drain(self, timeout: float) -> None:
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        handled = 0
        while True:
            self._handle(event)
            handled += 1
            if handled >= 5000:
                return
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return

    def _handle(self, event: FileEvent) -> None:
        try:
            if event.kind is Kind.CHANGED:
                self.settler.touch(event.path)
            elif event.kind is Kind.MOVED and event.dest:
                self._moved(event.path, event.dest)
            elif event.kind is Kind.DELETED:
                self.settler.forget(event.path)
                self._deletes.setdefault(event.path, time.monotonic())
            elif event.kind is Kind.DIR_MOVED and event.dest:
                for path in list(self.store.files_under(event.path)):
                    self._moved(path, event.dest + path[len(event.path) :])
            elif event.kind is Kind.DIR_DELETED:
                for path in list(self.store.files_under(event.path)):
                    self._deletes.setdefault(path, time.monotonic())
            elif event.kind is Kind.RESCAN:
                log.warning("events may have been lost below %s: rescanning", event.path)
                self.reconcile()
        except Exception as exc:  # noqa: BLE001 - one bad event must not stop the watcher
            log.error("%s: %s", event.path, exc)

    def _moved(self, src: str, dest: str) -> None:
        """A rename is a move of the recorded asset. When the bytes changed too (written, then
        renamed before settling), the move is recorded with the content we knew and the new
        bytes are read once they settle: the history shows a move, then a change."""
        self.settler.forget(src)
        row = self.store.file(src)
        try:
            st = stat_of(dest)
        except OSError:
            return
        if row is None or row.gone:
            self.settler.touch(dest)  # not recorded yet: read it like any new file
            return
        changed = (row.size, row.mtime_ns) != (st.size, st.mtime_ns)
        with self.store.transaction():
            self.store.mark_gone(src)
            if changed:  # keep the old stat, so the settled file reads as changed
                self.store.upsert_file(dest, row.content_id, row.size, row.mtime_ns, row.inode)
            else:
                self.store.upsert_file(dest, row.content_id, st.size, st.mtime_ns, st.inode)
            self.store.append_event(
                "moved", content_id=row.content_id, path=dest, detail={"from": src}
            )
        self._changed(Change(kind="moved", path=dest, content_id=row.content_id, previous=src))
        if changed:
            self.settler.touch(dest)

    def _deleted(self, path: str) -> None:
        row = self.store.file(path)
        if row is None or row.gone or os.path.lexists(path):
            return
        with self.store.transaction():
            self.store.mark_gone(path)
            self.store.append_event("deleted", content_id=row.content_id, path=path)
        self._changed(Change(kind="deleted", path=path, content_id=row.content_id))

    def _record_deletes(self) -> None:
        """Deletions wait out the settle time too: a file that vanishes here and reappears
        elsewhere (a move whose destination watchdog saw as a new file) is then a move."""
        due = time.monotonic() - self.options.settle - 0.5
        for path, since in list(self._deletes.items()):
            if since <= due:
                del self._deletes[path]
                self._deleted(path)

    def _dispatch_settled(self) -> None:
        room = 4 * (self.options.workers or worker_count()) - len(self._in_flight)
        if room <= 0:
            return
        for path in self.settler.due(limit=room):
            if path in self._in_flight:
                self.settler.touch(path)  # still being processed: look again later
                continue
            try:
                st = stat_of(path)
            except OSError:
                continue
            row = self.store.file(path)
            if (
                row
                and not row.gone
                and (row.size, row.mtime_ns, row.inode) == (st.size, st.mtime_ns, st.inode)
            ):
                continue  # what we recorded (our own tag write lands here too)
            self._in_flight[path] = self._pool.submit(self._process, st)

    def _process(self, st: FileStat) -> FileOutcome:
        # Every image is fingerprinted: a stripped copy of a known AI still is recorded as AI.
        return process_file(st, self.config, near=True)

    def _collect(self, block: bool) -> None:
        registry = Registry(self.store, self.config)  # sees what other writers recorded since
        for path, future in list(self._in_flight.items()):
            if not block and not future.done():
                continue
            del self._in_flight[path]
            try:
                outcome = future.result()
                change = record(self.store, outcome, self.config, registry=registry, tag=True)
            except Exception as exc:  # noqa: BLE001 - one bad file must never stop the watcher
                log.error("%s: %s (will retry)", path, exc)
                if not block:
                    self.settler.touch(path)  # not recorded: look at it again once settled
                continue
            self._changed(change)

    def _changed(self, change: Change) -> None:
        if change.kind == "touched":
            return
        self.on_change(change)


def inotify_watches() -> int | None:
    """How many inotify watches this process holds (from /proc), or None where unknown."""
    total, seen = 0, False
    try:
        fds = os.listdir("/proc/self/fdinfo")
    except OSError:
        return None
    for fd in fds:
        try:
            with open(f"/proc/self/fdinfo/{fd}") as fh:
                text = fh.read()
        except OSError:
            continue
        count = text.count("inotify wd:")
        if count or "inotify" in text:
            seen = True
            total += count
    return total if seen else None


def count_folders(root: str) -> int:
    """Folders an observer of `root` must watch (the root included; symlinks not followed)."""
    count = 0
    for _dirpath, _dirs, _files in os.walk(root):
        count += 1
    return count


def describe(change: Change) -> dict[str, Any]:
    """One log record per recorded change."""
    out: dict[str, Any] = {"change": change.kind, "path": change.path}
    for key in (
        "content_id",
        "origin",
        "previous",
        "tagged_content_id",
        "tag_sidecar",
        "tag_error",
        "error",
    ):
        value = getattr(change, key)
        if value:
            out[key] = value
    return out
