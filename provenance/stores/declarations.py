"""The SQL of declared uses: the `declarations` table (what was declared and its state now)
and the declaration events in the chain (how it got there). The chain is the record; the
table is what the listings read."""

from __future__ import annotations

import json
from typing import Any

from provenance.stores.base import StoreBase

DECLARATION_EVENTS = ("declared", "declaration-changed")
_COLUMNS = (
    "id, reference, declared_at, declared_by, facility, tool, tool_version, purpose,"
    " use_category, scope, talent, personal_data, third_party, note, state, state_at,"
    " state_by, state_reference, state_note"
)


def next_declaration_number(store: StoreBase) -> int:
    """The number of the next declaration. Called inside the write transaction that inserts
    it: writers take turns, so two declarations never get the same number."""
    row = store.one("SELECT COALESCE(MAX(id), 0) + 1 FROM declarations")
    return int(row[0]) if row else 1


def insert_declaration(store: StoreBase, row: dict[str, Any]) -> None:
    names = [c.strip() for c in _COLUMNS.split(",")]
    store.execute(
        f"INSERT INTO declarations ({_COLUMNS}) VALUES ({','.join('?' * len(names))})",
        [row[n] for n in names],
    )


def set_declaration_state(
    store: StoreBase,
    reference: str,
    state: str,
    at: str,
    by: str,
    state_reference: str | None,
    note: str | None,
) -> None:
    store.execute(
        "UPDATE declarations SET state = ?, state_at = ?, state_by = ?, state_reference = ?,"
        " state_note = ? WHERE reference = ?",
        (state, at, by, state_reference, note, reference),
    )


def declaration_rows(store: StoreBase, state: str | None = None) -> list[dict[str, Any]]:
    """Every declaration (or those in one state), oldest first."""
    if state:
        rows = store.query(
            f"SELECT {_COLUMNS} FROM declarations WHERE state = ? ORDER BY id", (state,)
        )
    else:
        rows = store.query(f"SELECT {_COLUMNS} FROM declarations ORDER BY id")
    return [dict(r) for r in rows]


def declaration_row(store: StoreBase, reference: str) -> dict[str, Any] | None:
    row = store.one(
        f"SELECT {_COLUMNS} FROM declarations WHERE lower(reference) = lower(?)", (reference,)
    )
    return dict(row) if row else None


def declaration_events(store: StoreBase, after_seq: int = 0) -> list[dict[str, Any]]:
    """The declaration events after `after_seq`, oldest first, with their details."""
    rows = store.query(
        "SELECT seq, at, kind, host, facility, detail FROM events"
        " WHERE kind IN (?, ?) AND seq > ? ORDER BY seq",
        (*DECLARATION_EVENTS, after_seq),
    )
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


def last_event(store: StoreBase, kind: str) -> dict[str, Any] | None:
    """The newest event of one kind, with its detail (the last digest, for one)."""
    row = store.one(
        "SELECT seq, at, kind, detail FROM events WHERE kind = ? ORDER BY seq DESC LIMIT 1",
        (kind,),
    )
    return {**dict(row), "detail": json.loads(row["detail"])} if row else None


def head_seq(store: StoreBase) -> int:
    row = store.one("SELECT COALESCE(MAX(seq), 0) FROM events")
    return int(row[0]) if row else 0


def approvals_under(store: StoreBase, reference: str) -> list[dict[str, Any]]:
    """The approvals recorded with `approve --declaration REF`."""
    rows = store.query(
        "SELECT content_id, reference, approver, approved_at, use_category, revoked_at"
        " FROM approvals WHERE declaration = ? ORDER BY id",
        (reference,),
    )
    return [dict(r) for r in rows]
