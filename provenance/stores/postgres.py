"""The shared store: a PostgreSQL database several facilities and farm machines write at once.

Chosen by `store = "postgresql://user@host:port/db"` in provgate.toml. libpq finds the
password in PGPASSWORD or ~/.pgpass; a URL that carries one is refused.

Every write transaction takes one transaction-scoped advisory lock before anything else, so
writers take turns exactly as they do on SQLite (BEGIN IMMEDIATE): the event chain's "read the
last hash, insert the next event" can never interleave, reads inside a write see everything
committed before it, and writers never deadlock on each other's row locks. Transactions run
READ COMMITTED (never a serialization failure); a deadlock or serialization failure caused by
something else is retried inside the store for the work it owns.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, ClassVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

from provenance.errors import StoreError
from provenance.stores.anchor import LogKeys
from provenance.stores.base import Row, TransientStoreError
from provenance.stores.records import Store
from provenance.stores.text import storable, storable_rows, stored_row
from provenance.stores.url import postgres_url_problem

# pg_advisory_xact_lock(class, key): the class says "provgate's write lock"; the key is the
# store's schema, so stores kept side by side in one database do not wait for each other.
LOCK_CLASS = 0x70726F76  # "prov"
TRANSIENT = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


class Record(tuple[Any, ...]):
    """A result row: by position like a tuple, by name like sqlite3.Row, and `dict(row)`."""

    __slots__ = ()
    _names: ClassVar[list[str]] = []
    _index: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


@lru_cache(maxsize=512)
def _record_class(names: tuple[str, ...]) -> type[Record]:
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name, i)  # a repeated name answers with its first column
    return type("Record", (Record,), {"__slots__": (), "_names": list(names), "_index": index})


def _record_factory(cursor: Any) -> Any:
    """Rows as Records, every text in the form it was given in (names that are not UTF-8
    are stored escaped: provenance/stores/text.py)."""
    desc = cursor.description
    if not desc:
        return tuple
    record = _record_class(tuple(c.name for c in desc))
    return lambda values: record(stored_row(values))


@lru_cache(maxsize=2048)
def to_pyformat(sql: str) -> str:
    """`?` placeholders → psycopg's `%s` (a `?` inside quotes stays; every `%` is doubled)."""
    out, quoted = [], False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "%":
            out.append("%%")
        elif ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


class PostgresStore(Store):
    """A store in a PostgreSQL database (psycopg 3, autocommit; transactions by hand)."""

    dialect: ClassVar[str] = "postgresql"
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = (psycopg.Error,)

    def __init__(
        self,
        location: str,
        host: str | None = None,
        timeout: float = 60.0,
        facility: str | None = None,
        log_keys: LogKeys | None = None,
    ) -> None:
        problem = postgres_url_problem(location)
        if problem:
            raise StoreError(problem, "store URL")
        super().__init__(location, host, facility, log_keys)
        self.timeout = timeout
        self.conn, schema = _connect(location, timeout)
        # the write lock's key: stores kept side by side in one database do not wait for
        # each other
        self._lock_key = zlib.crc32(schema.encode()) - 2**31
        try:
            self._migrate()
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        self.conn.close()

    # -- statements ----------------------------------------------------------------------

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        try:
            if params:
                return self.conn.execute(to_pyformat(sql), storable(params))  # type: ignore[arg-type]
            return self.conn.execute(sql)  # type: ignore[arg-type]
        except TRANSIENT as exc:
            raise TransientStoreError(f"store write lost a race: {_first_line(exc)}") from exc
        except pg_errors.LockNotAvailable as exc:
            raise StoreError(
                "store stayed locked by another writer for too long", self.location
            ) from exc
        except psycopg.Error as exc:
            raise self._error("store failed", exc) from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        if not self.in_transaction:  # a write takes the write lock, even one on its own
            return self.atomic(lambda: self.execute(sql, params))
        return int(self._run(sql, params).rowcount)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if not self.in_transaction:
            rows = list(rows)
            self.atomic(lambda: self.executemany(sql, rows))
            return
        try:
            with self.conn.cursor() as cur:
                cur.executemany(to_pyformat(sql), storable_rows(rows))  # type: ignore[arg-type]
        except TRANSIENT as exc:
            raise TransientStoreError(f"store write lost a race: {_first_line(exc)}") from exc
        except psycopg.Error as exc:
            raise self._error("store write failed", exc) from exc

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._reconnect_if_lost()
        for attempt in range(self.RETRIES):
            try:
                return list(self._run(sql, params).fetchall())
            except TransientStoreError:
                if self.in_transaction or attempt == self.RETRIES - 1:
                    raise
                time.sleep(min(0.01 * 2**attempt, 0.5))
        raise AssertionError("unreachable")

    def bulk_insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        if not self.in_transaction:
            return self.atomic(lambda: self.bulk_insert(table, columns, rows))
        count = 0
        try:
            with (
                self.conn.cursor() as cur,
                cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in storable_rows(rows):
                    copy.write_row(row)
                    count += 1
        except psycopg.Error as exc:
            raise self._error("store write failed", exc) from exc
        return count

    def _raw(self, sql: str) -> None:
        self._run(sql, ())

    # -- transactions --------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        status = self.conn.info.transaction_status
        return status not in (TransactionStatus.IDLE, TransactionStatus.UNKNOWN)

    def _reconnect_if_lost(self) -> None:
        """A connection the server dropped (a restart, a failover) is opened again before
        the next transaction or read; the statement that met the drop has failed already."""
        if self.conn.closed and not self.in_transaction:
            self.conn, _ = _connect(str(self.location), self.timeout)

    def _begin(self) -> None:
        """Open a READ COMMITTED transaction and take the store's write lock, waiting for
        the writer that holds it (on this host or any other) to commit."""
        self._reconnect_if_lost()
        try:  # one round trip: both statements in one simple query
            self._run(
                "BEGIN ISOLATION LEVEL READ COMMITTED;"
                f" SELECT pg_advisory_xact_lock({LOCK_CLASS}, {int(self._lock_key)})",
                (),
            )
        except BaseException:
            self.rollback()
            raise

    def _commit(self) -> None:
        status = self.conn.info.transaction_status
        if status == TransactionStatus.IDLE:
            return
        if status == TransactionStatus.INERROR:  # COMMIT would quietly roll back
            self.rollback()
            raise StoreError(
                "store commit failed: an earlier statement failed, nothing was kept",
                self.location,
            )
        try:
            self.conn.execute("COMMIT")
        except psycopg.Error as exc:
            self.rollback()
            raise self._error("store commit failed", exc) from exc

    def _rollback(self) -> None:
        try:
            if self.in_transaction:
                self.conn.execute("ROLLBACK")
        except psycopg.Error:
            pass  # the connection is gone: the server rolled back

    def _triggers(self) -> set[str]:
        rows = self.query(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE c.relname IN ('events', 'checkpoints') AND NOT t.tgisinternal"
            " AND t.tgenabled <> 'D' AND pg_table_is_visible(c.oid)"
        )
        return {r[0] for r in rows}

    def _schema_version(self) -> int:
        self.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self.one("SELECT max(version) FROM schema_version")
        return int(row[0]) if row and row[0] is not None else 0

    def _set_schema_version(self, version: int) -> None:
        self.execute("DELETE FROM schema_version")
        self.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    def reset_sequences(self) -> None:
        """After rows were copied in with their ids, number new rows after the highest."""
        for table in ("evidence", "approvals", "checkpoints"):
            self.query(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )


def _connect(location: str, timeout: float) -> tuple[psycopg.Connection[Any], str]:
    """An autocommit connection whose rows answer by name and position, and its schema."""
    settings = psycopg.conninfo.conninfo_to_dict(location)
    defaults: dict[str, Any] = {
        "connect_timeout": 10,
        "application_name": "provgate",
        "client_encoding": "UTF8",
    }
    extra = {k: v for k, v in defaults.items() if k not in settings}
    conn: psycopg.Connection[Any] | None = None
    try:
        conn = psycopg.connect(location, autocommit=True, row_factory=_record_factory, **extra)
        # a lock wait past this (a writer stuck with the lock held) becomes an error
        conn.execute(f"SET lock_timeout = '{int(timeout * 1000)}ms'")
        found = conn.execute(
            "SELECT current_schema(), current_setting('server_encoding')"
        ).fetchone()
    except psycopg.Error as exc:
        if conn is not None:
            conn.close()
        raise StoreError(f"cannot open store: {_first_line(exc)}", location) from exc
    schema, encoding = found if found else (None, None)
    problem = None
    if schema is None:
        problem = "no schema to create tables in (check the role's search_path)"
    elif encoding != "UTF8":  # paths and details are Unicode text
        problem = f"the database's encoding is {encoding}; create it with ENCODING 'UTF8'"
    if problem:
        conn.close()
        raise StoreError(f"cannot open store: {problem}", location)
    return conn, str(schema)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
