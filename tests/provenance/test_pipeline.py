"""The worker pool every scan, watch and check goes through: order, errors, bounded memory."""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance.config import Config
from provenance.pipeline import pool as pipeline
from provenance.pipeline.pool import map_files
from provenance.pipeline.transport import FileOutcome, TagOutcome
from provenance.pipeline.walk import FileStat, stat_of
from provenance.pipeline.workers import process_file
from tests.conftest import copy_fixture


def _square_with_pid(n: int, offset: int) -> tuple[int, int]:
    return n * n + offset, os.getpid()


def _fail_on_seven(n: int) -> int:
    if n == 7 * 100:
        raise ValueError("seven hundred")
    return n


def test_results_come_back_in_order_from_several_processes() -> None:
    if pipeline.worker_count() == 1:
        pytest.skip("one core: map_files runs in this process")
    out = list(map_files(_square_with_pid, list(range(500)), 3))
    assert [v for v, _ in out] == [n * n + 3 for n in range(500)]
    assert os.getpid() not in {pid for _, pid in out}


def test_a_few_items_run_here_without_a_pool() -> None:
    out = list(map_files(_square_with_pid, range(5), 0))
    assert out == [(n * n, os.getpid()) for n in range(5)]


def test_a_few_heavy_items_use_every_core() -> None:
    """Three 300 MB plates are hashed side by side, not one after another in the scan's own
    process; a few light items still run here."""
    if pipeline.worker_count() == 1:
        pytest.skip("one core: map_files runs in this process")
    heavy = [(f"plate{n}", pipeline.POOL_BYTES // 3 + 1) for n in range(3)]
    out = list(map_files(_name_with_pid, heavy, weigh=_weight, large_apart=True))
    assert sorted(name for name, _ in out) == ["plate0", "plate1", "plate2"]
    assert os.getpid() not in {pid for _, pid in out}
    light = [(f"f{n}", pipeline.POOL_BYTES // 3 - 1) for n in range(3)]
    assert {pid for _, pid in map_files(_name_with_pid, light, weigh=_weight)} == {os.getpid()}


def _name_with_pid(item: tuple[str, int]) -> tuple[str, int]:
    return item[0], os.getpid()


def test_a_long_walk_is_drawn_as_workers_free_up_not_all_at_once() -> None:
    """A scan of a million files must not hold a million pending results: the generator is
    drawn a bounded distance ahead of what the caller has consumed."""
    if pipeline.worker_count() == 1:
        pytest.skip("one core: map_files runs in this process")
    drawn = 0

    def walk() -> Iterator[int]:
        nonlocal drawn
        for n in range(20_000):
            drawn += 1
            yield n

    results = map_files(_square_with_pid, walk(), 0)
    assert next(results)[0] == 0
    assert drawn <= pipeline.POOL_THRESHOLD + pipeline._AHEAD_FILES + pipeline._CHUNK
    assert sum(1 for _ in results) == 19_999
    assert drawn == 20_000


def _slow_when_large(item: tuple[str, int]) -> str:
    if item[1] >= pipeline._CHUNK_BYTES:
        time.sleep(0.5)
    return item[0]


def _weight(item: tuple[str, int]) -> int:
    return item[1]


def test_large_items_apart_do_not_hold_back_the_small_ones() -> None:
    """A scan records the small files read while a worker hashes a large plate; each kind
    keeps its own order (identical files are the same size, so they stay in order)."""
    if pipeline.worker_count() == 1:
        pytest.skip("one core: map_files runs in this process")
    big = pipeline._CHUNK_BYTES
    items = [("plate1", big), ("plate2", big + 1)] + [(f"f{n}", 10) for n in range(300)]
    apart = list(map_files(_slow_when_large, items, weigh=_weight, large_apart=True))
    assert sorted(apart) == sorted(name for name, _ in items)
    assert apart.index("f299") < apart.index("plate1") < apart.index("plate2")
    assert [n for n in apart if n.startswith("f")] == [f"f{n}" for n in range(300)]
    in_order = list(map_files(_slow_when_large, items, weigh=_weight))
    assert in_order == [name for name, _ in items]


def _sleepy(item: tuple[str, int]) -> str:
    time.sleep(0.3 if item[1] >= pipeline._CHUNK_BYTES else 0.0005)
    return item[0]


def test_a_large_item_waiting_for_a_worker_is_not_queued_behind_the_whole_walk() -> None:
    """While a large item waits for a worker to spare, only a few small chunks are queued
    ahead of it, so it starts soon after the large one before it ends. Behind a whole window
    of small files, the last plate of a scan was hashed alone at the end, cores idle."""
    workers = pipeline.worker_count()
    if workers == 1:
        pytest.skip("one core: map_files runs in this process")
    big = pipeline._CHUNK_BYTES
    plates = [(f"plate{n}", big) for n in range(workers)]  # one more than may run at once
    small = [(f"f{n}", 10) for n in range(1500 * workers)]
    apart = list(map_files(_sleepy, plates + small, weigh=_weight, large_apart=True))
    assert apart.index(f"plate{workers - 1}") < apart.index(small[-1][0])


def test_an_error_in_a_worker_reaches_the_caller() -> None:
    with pytest.raises(ValueError, match="seven hundred"):
        list(map_files(_fail_on_seven, range(0, 100_000, 100)))


def test_outcomes_cross_to_the_parent_whole(tmp_path: Path) -> None:
    """What a worker found reaches the recorder unchanged: evidence, C2PA, errors, tags."""
    outcomes = []
    for rel in ("generators/comfyui.png", "c2pa/CA.jpg", "c2pa/no_manifest.jpg"):
        target = copy_fixture(rel, tmp_path)
        outcomes.append(process_file(stat_of(str(target)), Config(), False))
    assert outcomes[0].reading.evidence and outcomes[1].reading.c2pa is not None
    stat = FileStat(str(tmp_path / "x"), 1, 2, 3)
    outcomes.append(FileOutcome(stat, error="unreadable"))
    tagged = TagOutcome(content_id="ab" * 32, stat=stat, written=None)
    outcomes.append(FileOutcome(outcomes[0].stat, outcomes[0].reading, None, "00" * 16, tagged))
    elsewhere = FileOutcome(stat, outcomes[2].reading)  # a reading of another path
    outcomes.append(elsewhere)
    back = pickle.loads(pickle.dumps(outcomes))
    assert back == outcomes
    assert back[-1].reading.path == outcomes[2].reading.path != Path(stat.path)
