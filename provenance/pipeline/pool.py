"""Running one function over many files on all cores, in order, with bounded memory.

`map_files` is how scan and check spread reading and hashing over worker processes: chunks
sized by file count and bytes, large files kept apart so small results keep flowing, and a
bounded window of work in flight however large the tree.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")

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
) -> Generator[T, None, None]:
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
