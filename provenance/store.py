"""The asset store (the implementations live in `provenance.stores`).

Tables, readable with sqlite-utils or Datasette on SQLite, psql on PostgreSQL:
  files      where content has been seen, per facility: path, size, mtime_ns, inode, gone
  assets     one row per content id: media type, origin, tool, use category, status, phash
  evidence   what was observed about each asset (source, marker, signal, detail, validation)
  approvals  written approvals bound to one content id, and their revocation
  links      content ids provgate produced from others (tag rewrites): approvals follow them
  unreadable files that could not be read, so an unchanged bad file is not re-read every scan
  events     the append-only, hash-chained history of everything above, with facility and host
"""

from __future__ import annotations

from .stores import (
    MIGRATIONS,
    FileRow,
    NewEvent,
    Row,
    Store,
    TransientStoreError,
    is_postgres_url,
    noindex,
    now_iso,
    open_store,
)

__all__ = [
    "MIGRATIONS",
    "FileRow",
    "NewEvent",
    "Row",
    "Store",
    "TransientStoreError",
    "is_postgres_url",
    "noindex",
    "now_iso",
    "open_store",
]
