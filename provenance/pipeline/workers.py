"""The one pipeline shared by scan, watch and check: file → content id → evidence → origin →
tag → store.

`process_file` touches only the file (it runs in worker processes); `Recorder` turns its
outcome into store rows and events (it runs in the one process that writes the store).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
import operator
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from provenance.config import Config
from provenance.errors import ProvgateError
from provenance.model import Origin, Status, made
from provenance.pipeline.classify import AssetReading, needs_fingerprint, read_asset
from provenance.pipeline.fingerprints import fingerprint as fingerprint_of
from provenance.pipeline.walk import FileStat, stat_of


@dataclass(frozen=True)
class TagOutcome:
    content_id: str | None  # the content id of the bytes after tagging (None: sidecar only)
    stat: FileStat | None
    written: str | None
    error: str | None = None


@dataclass(frozen=True)
class FileOutcome:
    """What one file turned out to be; `error` is set when it could not be read."""

    stat: FileStat
    reading: AssetReading | None = None
    error: str | None = None
    phash: str | None = None
    tag: TagOutcome | None = None

    @property
    def path(self) -> str:
        return self.stat.path

    def __reduce__(self) -> tuple[Any, ...]:
        # A scan sends one outcome per file from the workers: flat, and without the reading's
        # path when it is the stat's, it pickles and loads in about half the time.
        st, r = self.stat, self.reading
        values = None
        if r is not None:
            values = list(_reading_values(r))
            values[_PATH] = None if str(r.path) == st.path else r.path
            values[_ORIGIN] = r.origin.value
        return _outcome, (st.path, st.size, st.mtime_ns, st.inode, values, self.error,
                          self.phash, self.tag)  # fmt: skip


# Every field of a reading, in order: one added later crosses between processes unchanged.
_READING_FIELDS = tuple(f.name for f in fields(AssetReading))
_reading_values = operator.attrgetter(*_READING_FIELDS)
_PATH, _ORIGIN = _READING_FIELDS.index("path"), _READING_FIELDS.index("origin")
_ORIGINS = {o.value: o for o in Origin}


def _outcome(
    path: str,
    size: int,
    mtime_ns: int,
    inode: int,
    values: list[Any] | None,
    error: str | None,
    phash: str | None,
    tag: TagOutcome | None,
) -> FileOutcome:
    # Built as pickle builds any dataclass, without the frozen __init__ (one guarded
    # setattr per field): the recorder's process loads one of these for every file.
    reading = None
    if values is not None:
        values[_PATH] = values[_PATH] or Path(path)
        values[_ORIGIN] = _ORIGINS[values[_ORIGIN]]
        reading = made(AssetReading, **dict(zip(_READING_FIELDS, values, strict=True)))
    stat = FileStat(path, size, mtime_ns, inode)
    return made(FileOutcome, stat=stat, reading=reading, error=error, phash=phash, tag=tag)


# One signer per thread and configuration: a c2pa Signer is not shared between threads.
_signers = threading.local()
T = TypeVar("T")


def _signer_for(config: Config, *, approval: bool = False) -> Any:
    """The tagging signer, or the approval identity's (only it may sign an approved tag)."""
    from provenance.c2pa.signing import signer_from_config

    cache: dict[Any, Any] = _signers.__dict__.setdefault("by_config", {})
    key = (config.approval_signer if approval else config.signer, config.trust_anchors, approval)
    if key not in cache:
        cache[key] = signer_from_config(config, approval=approval)
    return cache[key]


def has_own_tag(reading: AssetReading) -> bool:
    return reading.c2pa is not None and reading.c2pa.provgate_tag is not None


def should_tag(reading: AssetReading, config: Config) -> bool:
    """Scan and watch tag AI material (per the workspace's mode) that does not carry our tag."""
    return (
        config.tag_mode != "off"
        and reading.origin.value in config.tag_origins
        and not has_own_tag(reading)
    )


def process_file(
    stat: FileStat, config: Config, tag: bool = True, near: bool = False
) -> FileOutcome:
    """Read one file, and tag it when it is AI material that is not tagged yet. Never raises
    for a bad file: the error is part of the outcome, so the caller can record it and go on.

    AI images, clips and sounds are fingerprinted (`pipeline/fingerprints.py`) so that copies
    of them can be found; with `near` (the store knows AI fingerprints), so is every one
    without positive evidence of its own, for the recorder's near-duplicate test."""
    try:
        reading = read_asset(Path(stat.path), config)
    except ProvgateError as exc:
        return FileOutcome(stat=stat, error=exc.reason)
    fingerprint = reading.origin.is_ai or (near and needs_fingerprint(reading))
    phash = fingerprint_of(Path(stat.path), reading.media_type).value if fingerprint else None
    outcome = made(FileOutcome, stat=stat, reading=reading, error=None, phash=phash, tag=None)
    if tag and should_tag(reading, config):
        outcome = FileOutcome(
            stat=stat,
            reading=reading,
            phash=phash,
            tag=write_status_tag(reading, config, Status.TEMPORARY, fingerprint=phash),
        )
    return outcome


def write_status_tag(
    reading: AssetReading,
    config: Config,
    status: Status,
    *,
    use: str | None = None,
    note: str | None = None,
    approval_ref: str | None = None,
    approved_by: str | None = None,
    approved_content_id: str | None = None,
    tool: str | None = None,
    origin: Origin | None = None,
    expected_content_id: str | None = None,
    before_replace: Any = None,
    fingerprint: str | None = None,
) -> TagOutcome:
    """Write our tag onto the file and report the bytes it left behind (see `write_tag` for
    `expected_content_id`, the bytes that must be the ones signed, and `before_replace`). The
    tag carries the content's fingerprint as a soft binding (computed here unless the caller
    has it)."""
    from provenance.c2pa.tagging import Tag, write_tag

    if fingerprint is None:
        fingerprint = fingerprint_of(reading.path, reading.media_type).value
    tag = Tag(
        origin=origin or reading.origin,
        status=status,
        tool=tool or reading.tool,
        use=use or config.policy.default_use,
        note=note,
        approval_ref=approval_ref,
        approved_by=approved_by,
        approved_content_id=approved_content_id,
        fingerprint=fingerprint,
    )
    try:
        result = write_tag(
            reading.path,
            tag,
            config,
            _signer_for(config, approval=status is Status.APPROVED),
            media_type=reading.media_type,
            expected_content_id=expected_content_id,
            before_replace=before_replace,
        )
        new_stat = stat_of(str(reading.path)) if result.content_id else None
    except ProvgateError as exc:
        return TagOutcome(content_id=None, stat=None, written=None, error=exc.reason)
    except OSError as exc:
        return TagOutcome(
            content_id=None,
            stat=None,
            written=None,
            error=f"tagged, but the file vanished afterwards: {exc.strerror}",
        )
    except Exception as exc:  # noqa: BLE001 - the write is atomic: the asset is as it was
        return TagOutcome(
            content_id=None,
            stat=None,
            written=None,
            error=f"unexpected error while tagging ({type(exc).__name__}: {exc})",
        )
    written = str(result.written) if result.written else None
    return TagOutcome(content_id=result.content_id, stat=new_stat, written=written)


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


# Below this many files, worker processes cost more to start than they save.
POOL_THRESHOLD = 48
# A chunk (one round trip to a worker) holds this many files, or fewer when they are large, so
# that large files are read on different cores. Each round trip waits on the executor's thread
# in the parent, which shares the GIL with the recorder: at 16 files a chunk, workers spent
# ~30% of a first scan of small images waiting between chunks; at 64, under 10%.
_CHUNK = 64
_CHUNK_BYTES = 32 << 20
# Files in flight ahead of the caller: enough that the other workers keep going while one reads
# a file of several GB (results come back in order), few enough that pending results stay a
# few MB however large the tree.
_AHEAD_FILES = 4096


def map_files(
    fn: Callable[..., T],
    items: Iterable[Any],
    *args: Any,
    weigh: Callable[[Any], int] | None = None,
    large_apart: bool = False,
    stop: Any = None,
) -> Iterator[T]:
    """`fn(item, *args)` for every item, in order, on all cores when there are enough items.

    `items` may be a generator (a scan's walk): it is drawn as workers free up, so they start
    on the first files while the walk goes on, and memory holds a bounded number of results
    however many items there are. `weigh(item)` (bytes) keeps large items out of each other's
    chunks. Workers are forked (nothing re-imported) from a single-threaded process; a
    process that runs threads (the watcher) spawns them instead, as forking a threaded process
    can deadlock. `fn` and `args` reach each worker once.

    `large_apart`: items of `_CHUNK_BYTES` or more come back as soon as they are done, in
    order among themselves, and the rest in order among themselves, so that the caller goes
    on with the small files read while a worker hashes a 300 MB plate instead of waiting for
    it (and one worker stays on the small files). Items of the same weight (identical files)
    stay in order.

    Once `stop` (an Event) is set, chunks no worker has taken yet are cancelled and nothing
    more is drawn; the results of those already taken still come back (their files may be
    tagged on disk, and must be recorded)."""
    source = iter(items)
    first = list(itertools.islice(source, POOL_THRESHOLD))
    if len(first) < POOL_THRESHOLD or worker_count() == 1:
        for item in itertools.chain(first, source):
            yield fn(item, *args)
        return
    workers = worker_count()
    forking = threading.active_count() == 1
    ctx = multiprocessing.get_context("fork" if forking else "spawn")
    chunks = _chunked(itertools.chain(first, source), weigh)
    if forking:
        # Forked workers share the parent's memory until it is written to; the collector
        # writes to every object it visits, so the objects that exist now are kept out of
        # its sight while the workers run.
        gc.freeze()
    try:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_set_job, initargs=(fn, args)
        ) as pool:
            small: deque[Future[list[T]]] = deque()  # in flight, in order
            large: deque[Future[list[T]]] = deque()  # (large_apart) in flight, in order
            held: deque[list[Any]] = deque()  # large chunks waiting for a worker to spare
            drained = stopped = False

            def release() -> None:
                # Large items run on at most all workers but one, so that the small files go
                # on and the caller can use their results meanwhile; once the walk is over
                # the rest go at once, so that no worker idles at the end.
                while held and (drained or sum(not f.done() for f in large) < workers - 1):
                    large.append(pool.submit(_run_chunk, held.popleft()))

            def top_up() -> None:
                """Draw chunks until `window` are in flight. While a large item waits for its
                turn, only a few small chunks are queued (not yet given to a worker): the
                large one goes behind them when a worker is spared, not behind a whole window
                of them (a plate that only started then would be hashed alone at the end,
                while the other cores idle)."""
                nonlocal drained
                while not drained and len(small) + len(large) + len(held) < window:
                    if held and sum(_queued(f) for f in small) >= queued_while_held:
                        break
                    drawn = next(chunks, None)
                    if drawn is None:
                        drained = True
                        break
                    chunk, weight = drawn
                    # An item of _CHUNK_BYTES or more is always alone in its chunk.
                    if large_apart and len(chunk) == 1 and weight >= _CHUNK_BYTES:
                        held.append(chunk)
                    else:
                        small.append(pool.submit(_run_chunk, chunk))
                    release()
                release()

            window = max(workers * 4, _AHEAD_FILES // _CHUNK)
            queued_while_held = workers * 2
            top_up()
            while small or large:
                if stop is not None and not stopped and stop.is_set():
                    drained = stopped = True
                    held.clear()
                    small = deque(f for f in small if not f.cancel())
                    large = deque(f for f in large if not f.cancel())
                    if not (small or large):
                        break
                ready = small if small and (not large or small[0].done()) else large
                if small and large and not ready[0].done():
                    wait((small[0], large[0]), return_when=FIRST_COMPLETED)
                    ready = small if small[0].done() else large
                done = ready.popleft()
                top_up()
                yield from done.result()
    finally:
        if forking:
            gc.unfreeze()


def _queued(future: Future[Any]) -> bool:
    """Submitted, and not yet taken by a worker."""
    return not (future.running() or future.done())


def _chunked(
    items: Iterator[Any], weigh: Callable[[Any], int] | None
) -> Iterator[tuple[list[Any], int]]:
    """Chunks of items, each with its weight."""
    chunk: list[Any] = []
    weight = 0
    for item in items:
        size = weigh(item) if weigh else 0
        if chunk and weight + size > _CHUNK_BYTES:
            yield chunk, weight
            chunk, weight = [], 0
        chunk.append(item)
        weight += size
        if len(chunk) >= _CHUNK:
            yield chunk, weight
            chunk, weight = [], 0
    if chunk:
        yield chunk, weight


_job: tuple[Callable[..., Any], tuple[Any, ...]] | None = None


def _set_job(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    global _job
    _job = (fn, args)
    # Ctrl-C and a service manager's SIGTERM reach the whole process group: a worker finishes
    # its chunk (a tag it wrote must reach the parent to be recorded); the parent stops
    # handing out work and then closes the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent()


def _die_with_parent() -> None:
    """A worker whose scan was killed outright (kill -9) must not linger: its siblings hold
    its queues' pipes open, so it would never read end-of-file and would wait forever."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _run_chunk(chunk: list[Any]) -> list[Any]:
    assert _job is not None, "worker started without its job"
    fn, args = _job
    return [fn(item, *args) for item in chunk]


def worker_count() -> int:
    return max(
        1,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
    )
