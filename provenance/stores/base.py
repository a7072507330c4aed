"""What every store backend is: a connection with statements, transactions and migrations.

A backend supplies a handful of primitives — `execute`, `executemany`, `query`, `one` (SQL
with `?` placeholders; rows answer both `row["name"]` and `row[0]`), `_begin`/`_commit`/
`_rollback` (a write transaction holds the store's one write lock), the schema version and a
bulk insert — and maps its driver's errors to `StoreError`. Transactions with savepoints,
retries of work that lost a race, and migrations are written once here; the domain's
queries (events, files, assets) once in `records.py`, in SQL both backends run.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

from provenance.errors import StoreError
from provenance.stores.anchor import LogKeys
from provenance.stores.schema import MIGRATIONS

# A row of a result: `row["name"]`, `row[0]`, `row.keys()` and `dict(row)` on every backend.
Row = Any
T = TypeVar("T")


def noindex(column: str) -> str:
    """A text column as an expression no index serves: the portable way to keep SQLite's
    planner from driving a query by that column's index (it would rather walk an index in
    ORDER BY order than sort a few rows); PostgreSQL plans by its statistics either way."""
    return f"({column} || '')"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class TransientStoreError(StoreError):
    """A write lost a race it can win on a second try (deadlock, serialization failure,
    a lock wait that timed out). The store retries what it owns; callers never see it
    unless the retries run out."""


class StoreBase:
    """One connection to a store, at one facility; writes go through `transaction()`."""

    dialect: ClassVar[str] = ""
    RETRIES: ClassVar[int] = 30

    def __init__(
        self,
        location: str | Path,
        host: str | None,
        facility: str | None,
        log_keys: LogKeys | None = None,
    ) -> None:
        self.location = location
        self.host = host or socket.gethostname()
        self.facility = facility or self.host
        self.log_keys = log_keys or LogKeys()
        self._depth = 0
        self._head: tuple[int, str] | None = None  # the chain head, valid inside a transaction
        self._appended = False  # this transaction appended events: checkpoint them at commit
        self._verified: tuple[int, str] | None = None  # the last chain head verified here
        self._state: tuple[tuple[int, str], Any] | None = None  # chain_state at that head

    # -- what a backend provides -------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one writing statement; the number of rows it changed."""
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a reading statement."""
        raise NotImplementedError

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        """The rows of a reading statement one at a time (a backend may stream them)."""
        yield from self.query(sql, params)

    def _begin(self) -> None:
        """Start a write transaction holding the store's write lock."""
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    @property
    def in_transaction(self) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def bulk_insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Insert many rows as they are (ids and hashes included); how many were written."""
        raise NotImplementedError

    def reset_sequences(self) -> None:
        """After `bulk_insert` wrote rows with their ids, number new rows after the highest
        (SQLite does this by itself)."""

    def _schema_version(self) -> int:
        raise NotImplementedError

    def _set_schema_version(self, version: int) -> None:
        raise NotImplementedError

    def _raw(self, sql: str) -> None:
        """A transaction-control statement (SAVEPOINT, RELEASE ...)."""
        raise NotImplementedError

    driver_errors: ClassVar[tuple[type[BaseException], ...]] = ()

    # -- transactions ------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def begin(self) -> None:
        """Start a write transaction, waiting for the other writers (every process, every
        host) in turn: one writer at a time, on both backends."""
        self._head = None
        self._appended = False
        self._begin()

    def commit(self) -> None:
        if self._appended and self.log_keys.signing is not None:
            self._checkpoint()
        self._head = None
        self._appended = False
        self._commit()

    def rollback(self) -> None:
        self._head = None
        self._appended = False
        self._rollback()

    def _checkpoint(self) -> None:
        """Sign the chain head this transaction leaves (see stores/anchor.py)."""
        raise NotImplementedError

    def _triggers(self) -> set[str]:
        """The names of the triggers on the events and checkpoints tables."""
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """A write transaction that takes the write lock up front (no upgrade deadlocks).

        Inside an open transaction it simply joins it; use `savepoint()` where a part must be
        undone on its own (one file's record inside a scan's batch).
        """
        if self.in_transaction:
            yield self
            return
        self.begin()
        try:
            yield self
        except self.driver_errors as exc:
            self.rollback()
            raise self._error("store write failed", exc) from exc
        except BaseException:
            self.rollback()
            raise
        self.commit()

    @contextmanager
    def savepoint(self) -> Iterator[Self]:
        """All or nothing for one unit of work inside a longer transaction."""
        if not self.in_transaction:
            with self.transaction():
                yield self
            return
        self._depth += 1
        name = f"sp{self._depth}"
        self._raw(f"SAVEPOINT {name}")
        head = self._head
        try:
            yield self
        except BaseException as exc:
            self._head = head
            if self.in_transaction:
                self._raw(f"ROLLBACK TO SAVEPOINT {name}")
                self._raw(f"RELEASE SAVEPOINT {name}")
            else:
                self._head = None
            if isinstance(exc, self.driver_errors):
                raise self._error("store write failed", exc) from exc
            raise
        else:
            self._raw(f"RELEASE SAVEPOINT {name}")
        finally:
            self._depth -= 1

    def atomic(self, work: Callable[[], T]) -> T:
        """Run `work` in the caller's transaction, or in one of its own that is retried
        whole when it loses a race (deadlock, serialization failure)."""
        if self.in_transaction:
            return work()
        for attempt in range(self.RETRIES):
            self.begin()
            try:
                result = work()
                self.commit()
                return result
            except TransientStoreError:
                self.rollback()
                if attempt == self.RETRIES - 1:
                    raise
                time.sleep(min(0.01 * 2**attempt, 0.5))
            except BaseException:
                self.rollback()
                raise
        raise AssertionError("unreachable")

    def _error(self, what: str, exc: BaseException) -> StoreError:
        return StoreError(f"{what}: {exc}", self.location)

    def _migrate(self) -> None:
        with self.transaction():
            version = self._schema_version()
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"store schema {version} is newer than this provgate "
                    f"({len(MIGRATIONS)}); upgrade provgate",
                    self.location,
                )
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in migration.statements(self.dialect):
                    self.execute(statement, (self.facility,) if "?" in statement else ())
                self._set_schema_version(number)
