"""Copying a whole store into another one: `provgate store migrate --to postgresql://...`.

Every table is copied as it is — ids, facilities, and every event with its own hash and
previous hash — so the copy's chain verifies and an asset's history reads the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from provenance.errors import StoreError
from provenance.stores.records import Store

# Parents before children does not matter (no foreign keys); events last, so a copy that
# fails part-way shows no history for rows it lacks. One transaction makes it all or nothing.
TABLES = (
    "assets", "evidence", "approvals", "links", "files", "unreadable", "event_leaves", "events",
    "checkpoints",
)  # fmt: skip
_ORDER = {
    "evidence": "id", "approvals": "id", "event_leaves": "seq, n", "events": "seq",
    "checkpoints": "id",
}  # fmt: skip


@dataclass(frozen=True)
class CopyResult:
    rows: dict[str, int]
    events_verified: int


def count_rows(store: Store) -> int:
    """How many rows a copy of `store` moves (for a progress bar's total)."""
    return sum(int(store.one(f"SELECT count(*) FROM {table}")[0]) for table in TABLES)


def copy_store(
    source: Store, target: Store, progress: Callable[[int], None] | None = None
) -> CopyResult:
    """Copy every row of `source` into the empty store `target`, then verify the target's
    event chain. Refuses a target that holds anything. `progress(n)` hears of every n rows
    copied (a thousand at a time)."""
    for table in TABLES:
        if target.one(f"SELECT 1 FROM {table} LIMIT 1") is not None:
            raise StoreError(
                f"the target store is not empty (its {table} table has rows); "
                "migrate into a new, empty database",
                target.location,
            )
    counts: dict[str, int] = {}
    with target.transaction():
        for table in TABLES:
            order = f" ORDER BY {_ORDER[table]}" if table in _ORDER else ""
            rows = iter(source.rows(f"SELECT * FROM {table}{order}"))
            first = next(rows, None)
            if first is None:
                counts[table] = 0
                continue
            every: Iterator[tuple[Any, ...]] = (tuple(row) for row in chain([first], rows))
            if progress is not None:
                every = _counted(every, progress)
            counts[table] = target.bulk_insert(table, list(first.keys()), every)
        target.reset_sequences()
    verified, broken = target.verify_events()
    if broken is not None or verified != counts["events"]:
        where = f"event {broken.seq}: {broken.reason}" if broken else f"{verified} events"
        raise StoreError(f"the copied event log does not verify ({where})", target.location)
    return CopyResult(rows=counts, events_verified=verified)


def _counted(rows: Iterator[tuple[Any, ...]], progress: Callable[[int], None]) -> Iterator[Any]:
    pending = 0
    for row in rows:
        yield row
        pending += 1
        if pending == 1000:
            progress(pending)
            pending = 0
    if pending:
        progress(pending)
