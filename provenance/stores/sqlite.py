"""The default store: one SQLite file in the workspace (WAL, one writer at a time).

Readable with sqlite-utils or Datasette; `store.db` gives it as a sqlite_utils Database.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from provenance.errors import StoreError
from provenance.stores.anchor import LogKeys, load_log_keys
from provenance.stores.base import Row
from provenance.stores.records import Store
from provenance.stores.text import from_store_bytes, storable, storable_rows


class SQLiteStore(Store):
    """A store in a SQLite file; writers take the file's write lock (BEGIN IMMEDIATE)."""

    dialect: ClassVar[str] = "sqlite"
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = (sqlite3.Error,)

    def __init__(
        self,
        location: str | Path,
        host: str | None = None,
        timeout: float = 60.0,
        facility: str | None = None,
        log_keys: LogKeys | None = None,
    ) -> None:
        if log_keys is None:  # a workspace's store: provgate.db beside keys/
            log_keys = load_log_keys(Path(location).parent / "keys")
        super().__init__(Path(location), host, facility, log_keys)
        self.path = Path(location)
        try:
            conn = sqlite3.connect(
                str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.text_factory = from_store_bytes
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            # A new store gets 8 KB pages (an existing one keeps its own): rows of hashes and
            # paths fill them in fewer, shallower trees; recording is ~12% cheaper.
            conn.execute("PRAGMA page_size = 8192")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # Savepoint and statement journals in memory: on disk they were ~60,000 small
            # writes to /var/tmp in a 10,000-file first scan. A larger page cache (16 MB,
            # filled only as pages are used) keeps a growing store's index pages between
            # batches instead of re-reading them from the WAL.
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA cache_size = -16384")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store: {exc}", self.path) from exc
        self.conn = conn
        try:
            self._migrate()
        except BaseException:
            self.conn.close()
            raise

    @property
    def db(self) -> Any:
        """The store as a sqlite_utils Database, for ad-hoc queries and exports."""
        import sqlite_utils  # imported on use: it costs start-up time every command would pay

        return sqlite_utils.Database(self.conn)

    def close(self) -> None:
        self.conn.close()

    # -- statements ----------------------------------------------------------------------

    def _run(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        return self.conn.execute(sql, storable(params))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            return self._run(sql, params).rowcount
        except sqlite3.Error as exc:
            raise self._error("store write failed", exc) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self.conn.executemany(sql, storable_rows(rows))
        except sqlite3.Error as exc:
            raise self._error("store write failed", exc) from exc

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return self._run(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error("store read failed", exc) from exc

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        try:
            yield from self._run(sql, params)
        except sqlite3.Error as exc:
            raise self._error("store read failed", exc) from exc

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        try:
            return self._run(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise self._error("store read failed", exc) from exc

    def bulk_insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        marks = ",".join("?" * len(columns))
        count = 0

        def counted() -> Iterable[Sequence[Any]]:
            nonlocal count
            for row in rows:
                count += 1
                yield row

        self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", counted())
        return count

    def _raw(self, sql: str) -> None:
        self.execute(sql)

    # -- transactions --------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def _begin(self) -> None:
        """Take the write lock (BEGIN IMMEDIATE), waiting for other writers in turn."""
        for attempt in range(100):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.Error as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StoreError(f"store write failed: {exc}", self.path) from exc
                time.sleep(min(0.05 * (attempt + 1), 1.0))
        raise StoreError("store stayed locked by another writer for too long", self.path)

    def _commit(self) -> None:
        if self.conn.in_transaction:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self.rollback()
                raise StoreError(f"store commit failed: {exc}", self.path) from exc

    def _rollback(self) -> None:
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the connection already rolled back (SQLite does on disk-full errors)

    def _triggers(self) -> set[str]:
        rows = self.query(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            " AND tbl_name IN ('events', 'checkpoints')"
        )
        return {r[0] for r in rows}

    def _schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _set_schema_version(self, version: int) -> None:
        self.execute(f"PRAGMA user_version = {int(version)}")
