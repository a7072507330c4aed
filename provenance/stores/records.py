"""The store's domain: the hash-chained event log, files per facility, assets.

`Store(location)` opens the backend the location names — a `postgresql://` URL or a SQLite
file path — and every query here is SQL both backends run, so the rest of provgate cannot
tell which one it has.
"""

from __future__ import annotations

import contextlib
import hmac
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from provenance.stores.anchor import checkpoint_body
from provenance.stores.base import Row, StoreBase, noindex, now_iso
from provenance.stores.chain import (
    DETAIL_JSON,
    GENESIS,
    ChainBreak,
    event_hash,
    row_hash,
    verify_chain,
)
from provenance.stores.url import is_postgres_url

EVENT_COLUMNS = "seq, at, kind, content_id, path, host, facility, detail, prev_hash, hash"
FILE_COLUMNS = "facility, path, content_id, size, mtime_ns, inode, gone"
_VERIFY_PAGE = 20_000
_INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
# Rows looked up per statement (SQLite allows 32,766 parameters; old builds 999).
_IN_CHUNK = 500
# An asset row, in the column order of `_UPSERT_ASSET` (see `AssetRow`). Re-recording content
# keeps the richer of two answers: a tool and a fingerprint once known stay known, a tag once
# written stays written, and the first sighting never moves.
_UPSERT_ASSET = (
    "INSERT INTO assets (content_id, media_type, size, origin, tool, use_category, status,"
    " phash, tagged, first_seen, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT(content_id) DO UPDATE SET media_type=excluded.media_type,"
    " origin=excluded.origin, tool=COALESCE(excluded.tool, assets.tool),"
    " use_category=excluded.use_category, status=excluded.status,"
    " phash=COALESCE(excluded.phash, assets.phash),"
    " tagged=CASE WHEN assets.tagged > excluded.tagged THEN assets.tagged"
    " ELSE excluded.tagged END, updated_at=excluded.updated_at"
)
_INSERT_EVIDENCE = (
    "INSERT INTO evidence (content_id, source, marker, signal, detail, validation)"
    " VALUES (?,?,?,?,?,?)"
)


class AssetRow(NamedTuple):
    """One `assets` row as the recorder writes it."""

    content_id: str
    media_type: str
    size: int
    origin: str
    tool: str | None
    use_category: str | None
    status: str | None
    phash: str | None
    tagged: int
    first_seen: str
    updated_at: str


class EvidenceRow(NamedTuple):
    """One `evidence` row."""

    content_id: str
    source: str
    marker: str
    signal: str
    detail: str
    validation: str | None


# The triggers that keep the log append-only (both backends name them alike).
APPEND_ONLY_TRIGGERS = frozenset(
    {"events_no_update", "events_no_delete", "checkpoints_no_update", "checkpoints_no_delete"}
)


@dataclass(frozen=True)
class ChainState:
    """What the gate may rely on: the chain verified to `head`, anchored (covered by a signed
    checkpoint trusted here) up to `anchored`; `broken` says why nothing counts."""

    head: int
    anchored: int
    broken: ChainBreak | None = None


class NewEvent(NamedTuple):
    """An event to append: what happened, to which content, at which path."""

    kind: str
    content_id: str | None = None
    path: str | None = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class FileRow:
    path: str
    content_id: str
    size: int
    mtime_ns: int
    inode: int
    gone: bool
    facility: str = ""


class Store(StoreBase):
    """The store: events, files and assets, over whichever backend the location names."""

    def __new__(cls, location: str | Path, *args: Any, **kwargs: Any) -> Store:
        if cls is Store:
            if is_postgres_url(location):
                from provenance.stores.postgres import PostgresStore

                cls = PostgresStore
            else:
                from provenance.stores.sqlite import SQLiteStore

                cls = SQLiteStore
        return super().__new__(cls)

    # -- events --------------------------------------------------------------------------

    def append_event(
        self,
        kind: str,
        *,
        content_id: str | None = None,
        path: str | None = None,
        detail: dict[str, Any] | None = None,
        at: str | None = None,
    ) -> int:
        """Append one event to the chain (inside the caller's transaction, or its own). The
        write lock every transaction holds serialises appends across processes and hosts."""
        return self.append_events([NewEvent(kind, content_id, path, detail)], at=at)

    def append_events(self, events: Sequence[NewEvent], at: str | None = None) -> int:
        """Append events to the chain in order, in one statement, and return the last one's
        sequence number (inside the caller's transaction, or its own)."""
        texts = [DETAIL_JSON.encode(e.detail or {}) for e in events]

        def append() -> int:
            # The chain head is read once per transaction: nobody else can append while we
            # hold the write lock.
            if self._head is None:
                last = self.one("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
                self._head = (int(last[0]), str(last[1])) if last else (0, GENESIS)
            seq, prev = self._head
            when = at or now_iso()
            rows = []
            for event, text in zip(events, texts, strict=True):
                seq += 1
                digest = event_hash(
                    prev, seq, when, event.kind, event.content_id, event.path, self.host, text,
                    self.facility,
                )  # fmt: skip
                rows.append(
                    (seq, when, event.kind, event.content_id, event.path, self.host,
                     self.facility, text, prev, digest)
                )  # fmt: skip
                prev = digest
            if len(rows) == 1:
                self.execute(_INSERT_EVENT, rows[0])
            else:
                self.executemany(_INSERT_EVENT, rows)
            self._head = (seq, prev)
            self._appended = True
            return seq

        return self.atomic(append)

    def _checkpoint(self) -> None:
        head = self._head
        if head is None:
            last = self.one("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
            if last is None:
                return
            head = (int(last[0]), str(last[1]))
        at = now_iso()
        kid, signature = self.log_keys.sign(self.facility, head[0], head[1], at)
        self.execute(
            "INSERT INTO checkpoints (facility, seq, hash, at, key_id, signature)"
            " VALUES (?,?,?,?,?,?)",
            (self.facility, head[0], head[1], at, kid, signature),
        )

    def verify_events(self) -> tuple[int, ChainBreak | None]:
        """Verify the whole chain against itself and against the signed checkpoints; how many
        events verified and the first one lost or changed (see stores/anchor.py)."""
        count, broken = verify_chain(self._all_events())
        last = self.one("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        anchor_break = self._checkpoint_break(int(last[0]) if last else 0)
        if anchor_break is not None and (
            broken is None or (anchor_break.seq or 0) <= (broken.seq or 0)
        ):
            return min(count, (anchor_break.seq or 1) - 1), anchor_break
        if broken is None:
            broken = self._trigger_break()
        return count, broken

    def anchoring(self) -> dict[str, Any]:
        """How far the chain is anchored: the last event covered by a checkpoint trusted here,
        and how many checkpoints were signed by keys this workspace does not trust."""
        anchored, untrusted = 0, 0
        for cp in self.query(
            "SELECT facility, seq, hash, at, key_id, signature FROM checkpoints ORDER BY seq"
        ):
            body = checkpoint_body(cp[0], int(cp[1]), cp[2], cp[3])
            ok = self.log_keys.verifies(cp[4], cp[5], body)
            if ok:
                anchored = max(anchored, int(cp[1]))
            elif ok is None:
                untrusted += 1
        last = self.one("SELECT max(seq) FROM events")
        return {
            "anchored": anchored,
            "head": int(last[0]) if last and last[0] is not None else 0,
            "untrusted_checkpoints": untrusted,
            "can_sign": self.log_keys.signing is not None,
        }

    def _trigger_break(self) -> ChainBreak | None:
        missing = sorted(APPEND_ONLY_TRIGGERS - self._triggers())
        if not missing:
            return None
        return ChainBreak(
            None,
            f"the append-only triggers were dropped ({', '.join(missing)}): "
            "the log and its checkpoints could have been edited",
        )

    def _checkpoint_break(self, last: int, since: int = 0) -> ChainBreak | None:
        """The first event a trusted checkpoint (at or after event `since`) shows lost or
        changed: a tail cut off, or events re-hashed under a signed head."""
        good = since
        rows = self.query(
            "SELECT c.facility, c.seq, c.hash, c.at, c.key_id, c.signature, e.hash"
            " FROM checkpoints c LEFT JOIN events e ON e.seq = c.seq"
            " WHERE c.seq >= ? ORDER BY c.seq, c.id",
            (since,),
        )
        for facility, seq, signed_hash, at, kid, signature, stored in rows:
            seq = int(seq)
            ok = self.log_keys.verifies(
                kid, signature, checkpoint_body(facility, seq, signed_hash, at)
            )
            if ok is None:
                continue  # another facility's key, not trusted here: it anchors nothing
            if not ok:
                return ChainBreak(
                    seq, f"the checkpoint of event {seq} ({at}) has a bad signature: forged"
                )
            if stored is None and seq > last:
                return ChainBreak(
                    last + 1,
                    f"event {last + 1} is missing: the log ends at event {last}, but event "
                    f"{seq} was checkpointed by {facility} at {at} (the tail was deleted)",
                )
            if stored is not None and stored != signed_hash:
                first = good + 1
                span = f"event {first}" if first == seq else f"events {first}..{seq}"
                return ChainBreak(
                    first,
                    f"{span} were rewritten and re-hashed: event {seq} no longer matches the "
                    f"head {facility} signed at {at}"
                    + ("" if first == seq else f"; the first that may have changed is {first}"),
                )
            good = seq
        return None

    def chain_state(self) -> ChainState:
        """Verify what was appended since the last verified head (kept in memory and, under a
        MAC with the log key, in `verified_heads`), and how far the chain is anchored. Cheap
        when little has been appended: the gate calls it for every approval it relies on."""
        last = self.one("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        head = (int(last[0]), str(last[1])) if last else (0, GENESIS)
        if self._state is not None and self._state[0] == head and not self.in_transaction:
            return self._state[1]  # type: ignore[no-any-return]
        state = self._chain_state(head)
        if not self.in_transaction:
            self._state = (head, state)
        return state

    def _chain_state(self, head: tuple[int, str]) -> ChainState:
        start = self._verified or self._stored_verified_head() or (0, GENESIS)
        if start[0]:
            row = self.one("SELECT hash FROM events WHERE seq = ?", (start[0],))
            if row is None or row[0] != start[1]:
                what = "is missing" if row is None else "has changed"
                return ChainState(
                    head[0], 0, ChainBreak(start[0], f"event {start[0]}, verified before, {what}")
                )
        if head != start:
            _, broken = verify_chain(self._all_events(after=start[0]), after=start)
            if broken is not None:
                return ChainState(head[0], 0, broken)
        broken = (
            self._checkpoint_break(head[0], since=max(0, start[0] - 1)) or self._trigger_break()
        )
        if broken is not None:
            return ChainState(head[0], 0, broken)
        anchored = self._anchored_head(head[0])
        if self._appended and self.log_keys.signing is not None:
            anchored = head[0]  # what this transaction appended, it signs at commit
        if head != start and not self.in_transaction:  # a transaction's events may roll back
            self._verified = head
            self._remember_verified(head)
        return ChainState(head[0], anchored)

    def _anchored_head(self, last: int) -> int:
        for cp in self.query(
            "SELECT facility, seq, hash, at, key_id, signature FROM checkpoints"
            " WHERE seq <= ? ORDER BY seq DESC, id DESC LIMIT 64",
            (last,),
        ):
            if self.log_keys.verifies(
                cp[4], cp[5], checkpoint_body(cp[0], int(cp[1]), cp[2], cp[3])
            ):
                return int(cp[1])
        return 0

    def _stored_verified_head(self) -> tuple[int, str] | None:
        row = self.one(
            "SELECT seq, hash, mac FROM verified_heads WHERE facility = ?", (self.facility,)
        )
        if row is None:
            return None
        mac = self.log_keys.mac(f"{self.facility}\0{int(row[0])}\0{row[1]}")
        if mac is None or not hmac.compare_digest(mac, str(row[2])):
            return None  # not ours, or edited: verify from the start
        return int(row[0]), str(row[1])

    def _remember_verified(self, head: tuple[int, str]) -> None:
        mac = self.log_keys.mac(f"{self.facility}\0{head[0]}\0{head[1]}")
        if mac is None or self.in_transaction:
            return

        def save() -> None:
            self.execute(
                "INSERT INTO verified_heads (facility, seq, hash, mac) VALUES (?,?,?,?)"
                " ON CONFLICT (facility) DO UPDATE SET seq = excluded.seq,"
                " hash = excluded.hash, mac = excluded.mac",
                (self.facility, head[0], head[1], mac),
            )

        self.atomic(save)

    def event_is_sound(self, event: dict[str, Any]) -> bool:
        """This event's fields hash to its stored hash, and the next event links to it: an
        event the gate relies on cannot have been edited under a verified head."""
        if row_hash(event) != event["hash"]:
            return False
        nxt = self.one("SELECT prev_hash FROM events WHERE seq = ?", (int(event["seq"]) + 1,))
        return nxt is None or nxt[0] == event["hash"]

    def approval_events(self, content_ids: Sequence[str] | None) -> list[dict[str, Any]]:
        """The approved and revoked events of these contents (None: of every content), in
        order, with every field."""
        found: list[dict[str, Any]] = []
        if content_ids is None:
            rows = self.query(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE kind IN ('approved', 'revoked')"
                " ORDER BY seq"
            )
            return [dict(r) for r in rows]
        for chunk, marks in _in_chunks(content_ids):
            for kind in ("approved", "revoked"):
                found += [
                    dict(r)
                    for r in self.query(
                        f"SELECT {EVENT_COLUMNS} FROM events WHERE kind = ?"
                        f" AND content_id IN ({marks})",
                        (kind, *chunk),
                    )
                ]
        return sorted(found, key=lambda e: int(e["seq"]))

    def revoked_references(self) -> set[str]:
        """Every approval reference the store has revoked, on any content (rows or events)."""
        refs = {
            r[0]
            for r in self.query(
                "SELECT DISTINCT reference FROM approvals WHERE revoked_at IS NOT NULL"
            )
        }
        for r in self.query("SELECT detail FROM events WHERE kind = 'revoked'"):
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                refs.add(str(json.loads(r[0]).get("reference")))
        return refs

    def _all_events(self, after: int = 0) -> Iterator[dict[str, Any]]:
        """Every event (after `after`) in order, a page at a time (a long log never sits in
        memory whole)."""
        while True:
            rows = self.query(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, _VERIFY_PAGE),
            )
            for row in rows:
                yield dict(row)
            if len(rows) < _VERIFY_PAGE:
                return
            after = rows[-1][0]

    # -- tag writes in flight (see history/intents.py) ------------------------------------

    def add_intent(self, path: str, old_id: str, new_id: str, detail: dict[str, Any]) -> int:
        """Record, committed, that `path` is about to become `new_id` (written from `old_id`)."""

        def add() -> int:
            self.execute(
                "INSERT INTO intents (at, facility, path, old_id, new_id, detail)"
                " VALUES (?,?,?,?,?,?)",
                (now_iso(), self.facility, path, old_id, new_id, DETAIL_JSON.encode(detail)),
            )
            row = self.one("SELECT max(id) FROM intents WHERE facility = ?", (self.facility,))
            return int(row[0])

        return self.atomic(add)

    def intents(self) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT id, path, old_id, new_id, detail FROM intents WHERE facility = ? ORDER BY id",
            (self.facility,),
        )
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    def drop_intent(self, intent_id: int) -> None:
        self.execute("DELETE FROM intents WHERE id = ?", (intent_id,))

    # -- approvals -----------------------------------------------------------------------

    def insert_approval(self, row: dict[str, Any]) -> None:
        self.execute(
            "INSERT INTO approvals (content_id, reference, approver, approved_at, expires,"
            " use_category, consent, note, carried_from, declaration)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            tuple(
                row.get(k)
                for k in (
                    "content_id", "reference", "approver", "approved_at", "expires",
                    "use_category", "consent", "note", "carried_from", "declaration",
                )
            ),
        )  # fmt: skip

    def mark_revoked(self, content_id: str, reference: str, by: str, reason: str) -> int:
        """Revoke the named approval on this content; how many rows were revoked."""
        return self.execute(
            "UPDATE approvals SET revoked_at = ?, revoked_by = ?, revoke_reason = ?"
            " WHERE content_id = ? AND reference = ? AND revoked_at IS NULL",
            (now_iso(), by, reason, content_id, reference),
        )

    def events_for(
        self, content_ids: list[str], places: list[tuple[str, str]]
    ) -> list[dict[str, Any]]:
        """Every event that names one of these contents or (facility, path) places, oldest
        first. Events recorded before facilities existed match a place by its path."""
        paths = sorted({p for _, p in places})
        if not content_ids and not paths:
            return []
        cq = ",".join("?" * len(content_ids)) or "NULL"
        pq = ",".join("?" * len(paths)) or "NULL"
        rows = self.query(
            "SELECT seq, at, kind, content_id, path, host, facility, detail FROM events"
            f" WHERE content_id IN ({cq}) OR path IN ({pq}) ORDER BY seq",
            (*content_ids, *paths),
        )
        cids, where, anywhere = set(content_ids), set(places), set(paths)
        return [
            {**dict(r), "detail": json.loads(r["detail"])}
            for r in rows
            if r["content_id"] in cids
            or (r["facility"], r["path"]) in where
            or (r["facility"] is None and r["path"] in anywhere)
        ]

    # -- files (at this store's facility unless said otherwise) --------------------------

    def _file_row(self, r: Row) -> FileRow:
        return FileRow(r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[0])

    def file(self, path: str) -> FileRow | None:
        row = self.one(
            f"SELECT {FILE_COLUMNS} FROM files WHERE facility = ? AND path = ?",
            (self.facility, path),
        )
        return self._file_row(row) if row else None

    def files_under(self, root: str) -> dict[str, FileRow]:
        """Live file rows at or below a folder, keyed by path (one query for a whole re-scan)."""
        prefix = root.rstrip("/") + "/"
        rows = self.query(
            f"SELECT {FILE_COLUMNS} FROM files WHERE facility = ? AND gone = 0"
            " AND (path = ? OR (path >= ? AND path < ?))",
            (self.facility, root, prefix, prefix[:-1] + "0"),
        )
        return {r[1]: self._file_row(r) for r in rows}

    def files_with_content(
        self, content_id: str, live_only: bool = True, *, everywhere: bool = False
    ) -> list[FileRow]:
        """The files holding this content here (or, `everywhere`, at every facility)."""
        sql = f"SELECT {FILE_COLUMNS} FROM files WHERE content_id = ?"
        args: list[Any] = [content_id]
        if live_only:
            sql += " AND gone = 0"
        if not everywhere:
            sql += " AND facility = ?"
            args.append(self.facility)
        order = " ORDER BY first_seen, facility, path"  # the first place it was seen first
        return [self._file_row(r) for r in self.query(sql + order, args)]

    def file_listing(
        self,
        *,
        origin: str | None = None,
        status: str | None = None,
        use: str | None = None,
        tool: str | None = None,
        under: str | None = None,
        since: str | None = None,
        include_gone: bool = False,
        facility: str | None = None,
    ) -> list[dict[str, Any]]:
        """Recorded files joined with their asset rows, in path order (`provgate ls`)."""
        store = self
        where, args = ["1=1"], []
        if not include_gone:
            where.append("f.gone = 0")
        for column, value in (
            ("a.origin", origin),
            ("a.status", status),
            ("a.use_category", use),
            ("f.facility", facility),
        ):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if tool:
            where.append("lower(a.tool) LIKE ?")
            args.append(f"%{tool.lower()}%")
        if under:
            prefix = under.rstrip("/") + "/"
            where.append("f.path >= ? AND f.path < ?")
            args += [prefix, prefix[:-1] + "0"]
        if since:
            where.append("f.first_seen >= ?")
            args.append(since)
        # Filtered by what the asset is, the few matching assets drive the query through their
        # indexes and their files are sorted after; unfiltered, the files are walked in path order.
        by_asset = any((origin, status, use, tool))
        order = f"{noindex('f.path')}, f.facility" if by_asset else "f.path, f.facility"
        rows = store.query(
            "SELECT f.path, f.content_id, a.media_type, a.origin, a.status, a.use_category, a.tool,"
            " f.size, f.first_seen, f.last_seen, f.gone, f.facility FROM files f JOIN assets a"
            f" ON a.content_id = f.content_id WHERE {' AND '.join(where)} ORDER BY {order}",
            args,
        )
        names = rows[0].keys() if rows else []
        return [dict(zip(names, r, strict=True)) for r in rows]  # a million rows: no per-key calls

    def ai_assets(self) -> Iterator[dict[str, Any]]:
        """Every AI asset row, oldest first."""
        yield from self.query(
            "SELECT * FROM assets WHERE origin IN ('ai-generated', 'ai-modified')"
            " ORDER BY first_seen, content_id"
        )

    def save_assets(self, rows: Sequence[AssetRow]) -> None:
        """Insert or update asset rows (see `_UPSERT_ASSET` for what an update keeps)."""
        self.executemany(_UPSERT_ASSET, rows)

    def add_evidence(self, rows: Sequence[EvidenceRow]) -> None:
        self.executemany(_INSERT_EVIDENCE, rows)

    def replace_evidence(self, content_id: str, rows: Sequence[EvidenceRow]) -> None:
        """This content's evidence is now `rows` (a new judgement replaces the last one)."""
        self.execute("DELETE FROM evidence WHERE content_id = ?", (content_id,))
        self.executemany(_INSERT_EVIDENCE, rows)

    def mark_tagged(self, content_id: str) -> None:
        self.execute("UPDATE assets SET tagged = 1 WHERE content_id = ?", (content_id,))

    def set_use(self, content_id: str, use: str | None) -> None:
        """Set this content's use category (None leaves it as it is)."""
        self.execute(
            "UPDATE assets SET use_category = COALESCE(?, use_category) WHERE content_id = ?",
            (use, content_id),
        )

    def link(self, from_id: str, to_id: str, reason: str) -> None:
        """provgate wrote `to_id` from `from_id` (a tag rewrite): one lineage."""
        self.execute(
            "INSERT INTO links (from_id, to_id, reason) VALUES (?,?,?)"
            " ON CONFLICT (from_id, to_id) DO NOTHING",
            (from_id, to_id, reason),
        )

    def upsert_file(self, path: str, content_id: str, size: int, mtime_ns: int, inode: int) -> None:
        self.upsert_files([(path, content_id, size, mtime_ns, inode)])

    def upsert_files(self, files: Sequence[tuple[str, str, int, int, int]]) -> None:
        """Record (path, content id, size, mtime_ns, inode) for each file, live, seen now."""
        now = now_iso()
        rows = [(self.facility, *f, now, now) for f in files]
        sql = (
            "INSERT INTO files (facility, path, content_id, size, mtime_ns, inode, first_seen,"
            " last_seen, gone) VALUES (?,?,?,?,?,?,?,?,0)"
            " ON CONFLICT (facility, path) DO UPDATE SET content_id=excluded.content_id,"
            " size=excluded.size, mtime_ns=excluded.mtime_ns, inode=excluded.inode,"
            " last_seen=excluded.last_seen, gone=0"
        )
        if len(rows) == 1:
            self.execute(sql, rows[0])
        else:
            self.executemany(sql, rows)

    def live_paths_named(self, name: str, limit: int = 50) -> list[str]:
        """Live file paths here whose last component is `name` (the media linker's last resort)."""
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.query(
            "SELECT path FROM files WHERE facility = ? AND gone = 0 AND path LIKE ? ESCAPE '\\'"
            " ORDER BY path LIMIT ?",
            (self.facility, "%/" + escaped, limit),
        )
        return [r[0] for r in rows]

    def recorded_paths(self, paths: Iterable[str]) -> set[str]:
        """Which of these paths have a file row here, live or gone."""
        return self._present(
            "SELECT path FROM files WHERE facility = ? AND path IN ({})", paths, self.facility
        )

    def known_contents(self, content_ids: Iterable[str]) -> set[str]:
        """Which of these content ids the store has an asset for."""
        return self._present("SELECT content_id FROM assets WHERE content_id IN ({})", content_ids)

    def _present(self, sql: str, values: Iterable[str], *first: Any) -> set[str]:
        found: set[str] = set()
        for chunk, marks in _in_chunks(values):
            found.update(r[0] for r in self.query(sql.format(marks), (*first, *chunk)))
        return found

    def mark_gone(self, path: str) -> None:
        self.execute(
            "UPDATE files SET gone = 1, last_seen = ? WHERE facility = ? AND path = ?",
            (now_iso(), self.facility, path),
        )

    def unreadable_under(self, root: str) -> dict[str, tuple[int, int, int]]:
        prefix = root.rstrip("/") + "/"
        rows = self.query(
            "SELECT path, size, mtime_ns, inode FROM unreadable WHERE facility = ?"
            " AND (path = ? OR (path >= ? AND path < ?))",
            (self.facility, root, prefix, prefix[:-1] + "0"),
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def set_unreadable(
        self, path: str, size: int, mtime_ns: int, inode: int, reason: str | None
    ) -> None:
        """Remember (or, with reason None, forget) that this version of a file is unreadable."""
        if reason is None:
            self.execute(
                "DELETE FROM unreadable WHERE facility = ? AND path = ?", (self.facility, path)
            )
            return
        self.execute(
            "INSERT INTO unreadable (facility, path, size, mtime_ns, inode, reason, seen_at)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT (facility, path) DO UPDATE SET"
            " size=excluded.size, mtime_ns=excluded.mtime_ns, inode=excluded.inode,"
            " reason=excluded.reason, seen_at=excluded.seen_at",
            (self.facility, path, size, mtime_ns, inode, reason, now_iso()),
        )

    # -- assets --------------------------------------------------------------------------

    def asset(self, content_id: str) -> dict[str, Any] | None:
        row = self.one("SELECT * FROM assets WHERE content_id = ?", (content_id,))
        return dict(row) if row else None

    def assets_of(self, content_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The asset rows the store has among these content ids, by content id."""
        found: dict[str, dict[str, Any]] = {}
        for chunk, marks in _in_chunks(content_ids):
            for r in self.query(f"SELECT * FROM assets WHERE content_id IN ({marks})", chunk):
                found[r["content_id"]] = dict(r)
        return found

    def evidence_of(
        self, content_ids: Iterable[str], sources: tuple[str, ...]
    ) -> dict[str, list[dict[str, Any]]]:
        """The evidence rows from these sources of these content ids, by content id, in
        order."""
        found: dict[str, list[dict[str, Any]]] = {}
        kinds = ",".join("?" * len(sources))
        for chunk, marks in _in_chunks(content_ids):
            for r in self.query(
                "SELECT content_id, source, marker, signal, detail, validation FROM evidence"
                f" WHERE source IN ({kinds}) AND content_id IN ({marks}) ORDER BY id",
                (*sources, *chunk),
            ):
                row = dict(r)
                found.setdefault(row.pop("content_id"), []).append(row)
        return found

    def ai_fingerprints(self) -> list[tuple[str, str, str, str]]:
        """(perceptual hash, content id, origin, first seen) of every AI asset that has one."""
        return [
            (r[0], r[1], r[2], r[3])
            for r in self.query(
                "SELECT phash, content_id, origin, first_seen FROM assets"
                " WHERE phash IS NOT NULL AND origin IN ('ai-generated', 'ai-modified')"
            )
        ]

    def approval_rows(self, content_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """The approval rows of these content ids, oldest first, by content id."""
        found: dict[str, list[dict[str, Any]]] = {}
        for chunk, marks in _in_chunks(content_ids):
            for r in self.query(
                f"SELECT * FROM approvals WHERE content_id IN ({marks}) ORDER BY id", chunk
            ):
                found.setdefault(r["content_id"], []).append(dict(r))
        return found

    def approved_contents(self) -> list[str]:
        """Every content id that has an approval row."""
        return [r[0] for r in self.query("SELECT DISTINCT content_id FROM approvals")]

    def keep_first_seen(self, content_id: str, lineage_of: str) -> None:
        """Rewritten bytes keep the first sighting of the content they were written from."""
        self.execute(
            "UPDATE assets SET first_seen = (SELECT first_seen FROM assets WHERE content_id = ?)"
            " WHERE content_id = ? AND EXISTS (SELECT 1 FROM assets WHERE content_id = ?)",
            (lineage_of, content_id, lineage_of),
        )

    def keep_fingerprints(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Store perceptual hashes computed for known content that had none (a cache: the
        same bytes always give the same hash)."""
        with self.transaction():
            self.executemany(
                "UPDATE assets SET phash = ? WHERE content_id = ? AND phash IS NULL",
                [(ph, cid) for cid, ph in pairs],
            )

    def keep_watermark_findings(
        self, findings: Sequence[tuple[str, Sequence[Any]]], *, none_marker: str
    ) -> None:
        """Keep what decoding known stills found (watermark evidence, or a note that there
        was none), so the same bytes are not decoded again: a cache like `keep_fingerprints`."""
        rows = []
        for cid, marks in findings:
            if not marks:
                rows.append((cid, "watermark", none_marker, "none", "no invisible watermark", None))
            for e in marks:
                rows.append((cid, e.source, e.marker, e.signal.value, e.detail, None))
        with self.transaction():
            self.executemany(_INSERT_EVIDENCE, rows)

    def set_status(self, content_id: str, status: str) -> None:
        """Cache the status `provenance.history.status` decided for this content."""
        self.execute("UPDATE assets SET status = ? WHERE content_id = ?", (status, content_id))

    def approved_with_expiry(self) -> list[str]:
        """Content recorded as approved that holds an approval with an expiry date."""
        return [
            r[0]
            for r in self.query(
                "SELECT DISTINCT a.content_id FROM assets a JOIN approvals p"
                " ON p.content_id = a.content_id WHERE a.status = 'approved'"
                " AND p.expires IS NOT NULL"
            )
        ]

    def evidence(self, content_id: str) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.query(
                "SELECT source, marker, signal, detail, validation FROM evidence"
                " WHERE content_id = ? ORDER BY id",
                (content_id,),
            )
        ]

    def resolve_prefix(self, prefix: str) -> list[str]:
        rows = self.query(
            "SELECT content_id FROM assets WHERE content_id >= ? AND content_id < ?"
            " ORDER BY content_id LIMIT 2",
            (prefix, prefix + "g"),
        )
        return [r[0] for r in rows]

    def linked(self, content_id: str) -> list[str]:
        """This content id and every one provgate derived it from or wrote from it."""
        seen = {content_id}
        frontier = [content_id]
        while frontier:
            cid = frontier.pop()
            for row in self.query(
                "SELECT to_id AS other FROM links WHERE from_id = ?"
                " UNION SELECT from_id FROM links WHERE to_id = ?",
                (cid, cid),
            ):
                if row[0] not in seen:
                    seen.add(row[0])
                    frontier.append(row[0])
        return sorted(seen)

    def facilities(self) -> list[str]:
        """Every facility that has recorded a file in this store."""
        return [r[0] for r in self.query("SELECT DISTINCT facility FROM files ORDER BY facility")]


def _in_chunks(values: Iterable[str]) -> Iterator[tuple[list[str], str]]:
    """The distinct values in sorted chunks small enough for one `IN (...)`, each with its
    placeholders."""
    wanted = sorted(set(values))
    for i in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[i : i + _IN_CHUNK]
        yield chunk, ",".join("?" * len(chunk))
