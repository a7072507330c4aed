"""The asset store: a plain SQLite file (WAL, migrations, one writer at a time).

Tables, readable with sqlite-utils or Datasette:
  files      where content has been seen: path, size, mtime_ns, inode, content_id, gone
  assets     one row per content id: media type, origin, tool, use category, status, phash
  evidence   what was observed about each asset (source, marker, signal, detail, validation)
  approvals  written approvals bound to one content id, and their revocation
  links      content ids provgate produced from others (tag rewrites): approvals follow them
  unreadable files that could not be read, so an unchanged bad file is not re-read every scan
  events     the append-only, hash-chained history of everything above
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import StoreError
from .events import GENESIS, ChainBreak, event_hash, verify_chain

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE files (
        path TEXT PRIMARY KEY,
        content_id TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        gone INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX files_content ON files(content_id);
    CREATE TABLE assets (
        content_id TEXT PRIMARY KEY,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        origin TEXT NOT NULL,
        tool TEXT,
        use_category TEXT,
        status TEXT,
        phash TEXT,
        tagged INTEGER NOT NULL DEFAULT 0,
        first_seen TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX assets_origin ON assets(origin, status);
    CREATE TABLE evidence (
        id INTEGER PRIMARY KEY,
        content_id TEXT NOT NULL,
        source TEXT NOT NULL,
        marker TEXT NOT NULL,
        signal TEXT NOT NULL,
        detail TEXT NOT NULL,
        validation TEXT
    );
    CREATE INDEX evidence_content ON evidence(content_id);
    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        content_id TEXT NOT NULL,
        reference TEXT NOT NULL,
        approver TEXT NOT NULL,
        approved_at TEXT NOT NULL,
        expires TEXT,
        use_category TEXT NOT NULL,
        consent TEXT NOT NULL DEFAULT '[]',
        note TEXT,
        carried_from TEXT,
        revoked_at TEXT,
        revoked_by TEXT,
        revoke_reason TEXT
    );
    CREATE INDEX approvals_content ON approvals(content_id);
    CREATE TABLE links (
        from_id TEXT NOT NULL,
        to_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (from_id, to_id)
    );
    CREATE INDEX links_to ON links(to_id);
    CREATE TABLE unreadable (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        reason TEXT NOT NULL,
        seen_at TEXT NOT NULL
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        content_id TEXT,
        path TEXT,
        host TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX events_content ON events(content_id);
    CREATE INDEX events_path ON events(path);
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    """,
    # 2: the review page (`provgate serve`) pages its queue newest first, by status, and
    # lists tools and delivery checks without scanning whole tables
    """
    CREATE INDEX assets_queue ON assets(status, first_seen, content_id);
    CREATE INDEX assets_newest ON assets(first_seen, content_id);
    CREATE INDEX assets_tool ON assets(tool, origin);
    CREATE INDEX events_kind ON events(kind);
    """,
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class FileRow:
    path: str
    content_id: str
    size: int
    mtime_ns: int
    inode: int
    gone: bool


class Store:
    """One connection to the store; writes go through `transaction()` (BEGIN IMMEDIATE)."""

    def __init__(self, path: Path, host: str | None = None, timeout: float = 60.0) -> None:
        self.path = path
        self.host = host or socket.gethostname()
        try:
            conn = sqlite3.connect(
                str(path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store: {exc}", path) from exc
        self.conn = conn
        self._depth = 0
        self._head: tuple[int, str] | None = None  # chain head, valid inside a transaction
        self._migrate()

    @property
    def db(self) -> Any:
        """The store as a sqlite_utils Database, for ad-hoc queries and exports."""
        import sqlite_utils  # imported on use: it costs start-up time every command would pay

        return sqlite_utils.Database(self.conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        with self.transaction():
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"store schema {version} is newer than this provgate "
                    f"({len(MIGRATIONS)}); upgrade provgate",
                    self.path,
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number}")

    def begin(self) -> None:
        """Take the write lock (BEGIN IMMEDIATE), waiting for other writers in turn."""
        self._head = None
        for attempt in range(100):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StoreError(f"store write failed: {exc}", self.path) from exc
                time.sleep(min(0.05 * (attempt + 1), 1.0))
        raise StoreError("store stayed locked by another writer for too long", self.path)

    def commit(self) -> None:
        self._head = None
        if self.conn.in_transaction:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(f"store commit failed: {exc}", self.path) from exc

    def _rollback(self) -> None:
        self._head = None
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the connection already rolled back (SQLite does on disk-full errors)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock up front (no upgrade deadlocks).

        Inside an open transaction it simply joins it; use `savepoint()` where a part must be
        undone on its own (one file's record inside a scan's batch).
        """
        if self.conn.in_transaction:
            yield self.conn
            return
        self.begin()
        try:
            yield self.conn
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"store write failed: {exc}", self.path) from exc
        except BaseException:
            self._rollback()
            raise
        self.commit()

    @contextmanager
    def savepoint(self) -> Iterator[sqlite3.Connection]:
        """All or nothing for one unit of work inside a longer transaction."""
        if not self.conn.in_transaction:
            with self.transaction() as conn:
                yield conn
            return
        self._depth += 1
        name = f"sp{self._depth}"
        self.conn.execute(f"SAVEPOINT {name}")
        head = self._head
        try:
            yield self.conn
        except BaseException as exc:
            self._head = head
            if self.conn.in_transaction:
                self.conn.execute(f"ROLLBACK TO {name}")
                self.conn.execute(f"RELEASE {name}")
            else:
                self._head = None
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"store write failed: {exc}", self.path) from exc
            raise
        else:
            self.conn.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1

    # -- events ---------------------------------------------------------------------------

    def append_event(
        self,
        kind: str,
        *,
        content_id: str | None = None,
        path: str | None = None,
        detail: dict[str, Any] | None = None,
        at: str | None = None,
    ) -> int:
        """Append one event to the chain (inside the caller's transaction, or its own)."""
        with self.transaction() as conn:
            # The chain head is read once per transaction: nobody else can append while we
            # hold the write lock.
            if self._head is None:
                last = conn.execute(
                    "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                self._head = (last["seq"], last["hash"]) if last else (0, GENESIS)
            seq, prev = self._head[0] + 1, self._head[1]
            at = at or now_iso()
            text = json.dumps(
                detail or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            )
            digest = event_hash(prev, seq, at, kind, content_id, path, self.host, text)
            conn.execute(
                "INSERT INTO events (seq, at, kind, content_id, path, host, detail, prev_hash,"
                " hash) VALUES (?,?,?,?,?,?,?,?,?)",
                (seq, at, kind, content_id, path, self.host, text, prev, digest),
            )
            self._head = (seq, digest)
            return seq

    def verify_events(self) -> tuple[int, ChainBreak | None]:
        rows = self.conn.execute(
            "SELECT seq, at, kind, content_id, path, host, detail, prev_hash, hash"
            " FROM events ORDER BY seq"
        )
        return verify_chain(dict(r) for r in rows)

    def events_for(self, content_ids: list[str], paths: list[str]) -> list[dict[str, Any]]:
        """Every event that names one of these contents or paths, oldest first."""
        if not content_ids and not paths:
            return []
        cq = ",".join("?" * len(content_ids)) or "NULL"
        pq = ",".join("?" * len(paths)) or "NULL"
        rows = self.conn.execute(
            f"SELECT seq, at, kind, content_id, path, host, detail FROM events"
            f" WHERE content_id IN ({cq}) OR path IN ({pq}) ORDER BY seq",
            (*content_ids, *paths),
        )
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    # -- files ----------------------------------------------------------------------------

    def file(self, path: str) -> FileRow | None:
        row = self.conn.execute("SELECT * FROM files WHERE path = ?", (path,)).fetchone()
        return _file_row(row) if row else None

    def files_under(self, root: str) -> dict[str, FileRow]:
        """Live file rows at or below a folder, keyed by path (one query for a whole re-scan)."""
        prefix = root.rstrip("/") + "/"
        rows = self.conn.execute(
            "SELECT * FROM files WHERE gone = 0 AND (path = ? OR (path >= ? AND path < ?))",
            (root, prefix, prefix[:-1] + "0"),
        )
        return {r["path"]: _file_row(r) for r in rows}

    def files_with_content(self, content_id: str, live_only: bool = True) -> list[FileRow]:
        sql = "SELECT * FROM files WHERE content_id = ?" + (" AND gone = 0" if live_only else "")
        return [_file_row(r) for r in self.conn.execute(sql, (content_id,))]

    def upsert_file(self, path: str, content_id: str, size: int, mtime_ns: int, inode: int) -> None:
        now = now_iso()
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO files (path, content_id, size, mtime_ns, inode, first_seen,"
                " last_seen, gone) VALUES (?,?,?,?,?,?,?,0)"
                " ON CONFLICT(path) DO UPDATE SET content_id=excluded.content_id,"
                " size=excluded.size, mtime_ns=excluded.mtime_ns, inode=excluded.inode,"
                " last_seen=excluded.last_seen, gone=0",
                (path, content_id, size, mtime_ns, inode, now, now),
            )

    def unreadable_under(self, root: str) -> dict[str, tuple[int, int, int]]:
        prefix = root.rstrip("/") + "/"
        rows = self.conn.execute(
            "SELECT path, size, mtime_ns, inode FROM unreadable"
            " WHERE path = ? OR (path >= ? AND path < ?)",
            (root, prefix, prefix[:-1] + "0"),
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def set_unreadable(
        self, path: str, size: int, mtime_ns: int, inode: int, reason: str | None
    ) -> None:
        """Remember (or, with reason None, forget) that this version of a file is unreadable."""
        with self.transaction() as conn:
            if reason is None:
                conn.execute("DELETE FROM unreadable WHERE path = ?", (path,))
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO unreadable (path, size, mtime_ns, inode, reason,"
                    " seen_at) VALUES (?,?,?,?,?,?)",
                    (path, size, mtime_ns, inode, reason, now_iso()),
                )

    def mark_gone(self, path: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE files SET gone = 1, last_seen = ? WHERE path = ?", (now_iso(), path)
            )

    # -- assets ---------------------------------------------------------------------------

    def asset(self, content_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT * FROM assets WHERE content_id = ?", (content_id,)
        ).fetchone()
        return dict(row) if row else None

    def evidence(self, content_id: str) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.conn.execute(
                "SELECT source, marker, signal, detail, validation FROM evidence"
                " WHERE content_id = ? ORDER BY id",
                (content_id,),
            )
        ]

    def resolve_prefix(self, prefix: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT content_id FROM assets WHERE content_id >= ? AND content_id < ? LIMIT 2",
            (prefix, prefix + "g"),
        )
        return [r[0] for r in rows]

    def linked(self, content_id: str) -> list[str]:
        """This content id and every one provgate derived it from or wrote from it."""
        seen = {content_id}
        frontier = [content_id]
        while frontier:
            cid = frontier.pop()
            for row in self.conn.execute(
                "SELECT to_id AS other FROM links WHERE from_id = ?"
                " UNION SELECT from_id FROM links WHERE to_id = ?",
                (cid, cid),
            ):
                if row[0] not in seen:
                    seen.add(row[0])
                    frontier.append(row[0])
        return sorted(seen)


def _file_row(row: sqlite3.Row) -> FileRow:
    return FileRow(
        path=row["path"],
        content_id=row["content_id"],
        size=row["size"],
        mtime_ns=row["mtime_ns"],
        inode=row["inode"],
        gone=bool(row["gone"]),
    )


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (trigger bodies keep their semicolons)."""
    out, buf = [], []
    for line in script.strip().splitlines():
        buf.append(line)
        joined = "\n".join(buf).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            out.append(joined)
            buf = []
    if "\n".join(buf).strip():
        out.append("\n".join(buf).strip())
    return out
