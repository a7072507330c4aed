"""The store behind provgate: SQLite in the workspace by default, or a shared PostgreSQL
database (`store = "postgresql://..."` in provgate.toml). `Store(location)` opens either;
`open_store(workspace)` opens the one a workspace is configured for, at its facility."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from provenance.stores.base import Row, TransientStoreError, noindex, now_iso
from provenance.stores.records import FileRow, NewEvent, Store
from provenance.stores.schema import MIGRATIONS
from provenance.stores.url import is_postgres_url, postgres_url_problem

if TYPE_CHECKING:
    from provenance.workspace import Workspace

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
    "postgres_url_problem",
]


def open_store(workspace: Workspace, **options: Any) -> Store:
    """The workspace's store: its configured PostgreSQL URL, else provgate.db beside
    provgate.toml; events and files are recorded at the configured facility."""
    config = workspace.config
    return Store(config.store or workspace.store_path, facility=config.facility, **options)
