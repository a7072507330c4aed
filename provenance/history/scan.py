"""`scan`: walk the trees, skip what has not changed, process the rest on all cores, record."""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from provenance.config import Config
from provenance.errors import PackageError, ProvgateError
from provenance.history.recorder import Change, record_many
from provenance.history.registry import Registry
from provenance.pipeline.pool import map_files
from provenance.pipeline.shard import Shard
from provenance.pipeline.transport import FileOutcome
from provenance.pipeline.walk import FileStat, own_folders, walk_files
from provenance.pipeline.workers import process_file
from provenance.stores import Store

# A scan commits once a second: other writers (an approve, the watcher) wait at most that
# long for the write lock, and a fast first scan does not rewrite most of a growing store's
# pages several times a second (every commit writes each page it touched to the WAL).
_COMMIT_SECONDS = 1.0
# Files recorded together (a few statements for a whole batch of new files).
_BATCH = 500

ProgressFn = Callable[[int], None]


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


@dataclass
class ScanSummary:
    files: int = 0
    unchanged: int = 0
    new: int = 0
    changed: int = 0
    moved: int = 0
    copied: int = 0
    deleted: int = 0
    ai: int = 0
    tagged: int = 0
    errors: int = 0
    interrupted: bool = False  # stopped by a signal: the files in hand were still recorded
    # Every file that could not be read, recorded or tagged: (path, reason), in the order met.
    failures: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, path: str, reason: str) -> None:
        self.errors += 1
        self.failures.append((path, reason))

    @property
    def error_lines(self) -> list[str]:
        return [f"{path}: {reason}" for path, reason in self.failures]

    def to_json(self) -> dict[str, Any]:
        """The summary object `scan --json` ends with."""
        counts = {k: v for k, v in vars(self).items() if k != "failures"}
        errors = [{"path": path, "reason": reason} for path, reason in self.failures]
        return {"summary": counts, "errors": errors}

    def line(self) -> str:
        return (
            f"{self.files} files: {self.new} new, {self.changed} changed, {self.moved} moved,"
            f" {self.copied} copied, {self.deleted} deleted, {self.unchanged} unchanged;"
            f" {self.ai} AI found, {self.tagged} tagged, {self.errors} errors"
        )


def scan_paths(
    paths: Iterable[Path],
    config: Config,
    store: Store,
    *,
    tag: bool = True,
    on_change: Callable[[Change], None] | None = None,
    progress: ProgressFn | None = None,
    shard: Shard | None = None,
    stop: StopFlag | None = None,
) -> ScanSummary:
    """Index, classify and tag every file under `paths`; re-scans skip unchanged files.
    With `shard`, only this shard's share of each tree (files and deletions alike).

    Once `stop` is set (SIGINT, SIGTERM), no new file is started; the files in hand are
    finished and recorded (so the store knows every tag written), deletions are not decided
    (the walk did not finish), and the summary says `interrupted`."""
    summary = ScanSummary()
    roots = [Path(os.path.abspath(p)) for p in paths]
    for root in roots:
        if not root.exists():
            raise PackageError("no such file or folder", root)
    bad_paths: set[str] = set()
    seen: set[str] = set()
    # Files the store held under each root when the walk began and the walk did not meet:
    # the candidates for deletion (a first scan has none, and needs no second look).
    unmet: list[str] = []

    def walk_error(root: Path, path: str, reason: str) -> None:
        if shard and not shard.owns(str(root), path):
            return
        summary.fail(path, reason)
        store.append_event("error", path=path, detail={"reason": reason})

    own = own_folders(config.root)

    def changed_files() -> Iterator[FileStat]:
        """The files to read: new, or changed since the store saw them. Drawn by the workers
        as they free up, so reading starts while the walk goes on."""
        for root in roots:
            known = store.stamps_under(str(root))
            bad = store.unreadable_under(str(root))
            bad_paths.update(bad)
            on_error = functools.partial(walk_error, root)
            walk = walk_files(root, config.ignore_globs, on_error=on_error, skip_folders=own)
            for st in walk:
                if stop is not None and stop.is_set():
                    summary.interrupted = True
                    return
                if st.path in seen:
                    continue
                seen.add(st.path)
                if shard and not shard.owns(str(root), st.path):
                    continue
                summary.files += 1
                # A file that failed last time (unreadable, or its tag not written) is not
                # done: it is read again, so the failure is reported (exit 2) until it is fixed.
                if st.path not in bad and known.get(st.path) == (st.size, st.mtime_ns, st.inode):
                    summary.unchanged += 1
                    if progress:
                        progress(1)
                    continue
                yield st
            unmet.extend(
                path
                for path in known
                if path not in seen and not (shard and not shard.owns(str(root), path))
            )
            del known

    pending: list[FileOutcome] = []
    since = time.monotonic()
    # One registry for the whole scan: AI assets recorded by it join the near-duplicate test.
    # Workers fingerprint every image for that test only when the store already knows AI
    # fingerprints (decoding every image of a first scan would cost more than the scan).
    registry = Registry(store, config)
    near = registry.has_hashes

    def flush() -> None:
        for change in record_many(store, pending, config, bad_paths, registry=registry, tag=tag):
            _count(summary, change)
            if on_change:
                on_change(change)
            if progress:
                progress(1)
        pending.clear()

    store.begin()
    try:
        outcomes = map_files(
            process_file,
            changed_files(),
            config,
            tag,
            near,
            weigh=_size,
            large_apart=True,
            stop=stop,
        )
        for outcome in outcomes:
            pending.append(outcome)
            if len(pending) >= _BATCH:
                flush()
            if time.monotonic() - since > _COMMIT_SECONDS:
                flush()
                store.commit()
                store.begin()
                since = time.monotonic()
        flush()
        summary.interrupted = summary.interrupted or bool(stop is not None and stop.is_set())
        for path in [] if summary.interrupted else unmet:
            if path in seen or os.path.lexists(path):
                continue
            row = store.file(path)
            if row is None or row.gone:  # moved away in this scan: recorded as a move
                continue
            store.mark_gone(path)
            store.append_event("deleted", content_id=row.content_id, path=path)
            summary.deleted += 1
        store.commit()
    except BaseException as exc:
        if not isinstance(exc, ProvgateError):
            # Interrupted: record what the workers finished (a file tagged but not recorded
            # would lose the link to the content it was tagged from).
            with contextlib.suppress(Exception):
                flush()
        store.commit()  # keep what was recorded: every row is complete
        raise
    return summary


def _size(st: FileStat) -> int:
    return st.size


def _count(summary: ScanSummary, change: Change) -> None:
    if change.kind == "error":
        summary.fail(change.path, change.error or "unreadable")
        return
    if change.kind in ("seen", "changed", "moved", "copied"):
        setattr(
            summary,
            {"seen": "new"}.get(change.kind, change.kind),
            getattr(summary, {"seen": "new"}.get(change.kind, change.kind)) + 1,
        )
    if change.origin in ("ai-generated", "ai-modified"):
        summary.ai += 1
    if change.tagged_content_id or change.tag_sidecar:  # embedded, or a sidecar beside it
        summary.tagged += 1
    if change.tag_error:
        summary.fail(change.path, f"tag not written: {change.tag_error}")
