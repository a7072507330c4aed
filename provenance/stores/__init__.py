"""The store behind provgate: SQLite in the workspace by default, or a shared PostgreSQL
database (`store = "postgresql://..."` in provgate.toml). `Store(location)` opens either;
`open_store(workspace)` opens the one a workspace is configured for, at its facility."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from provenance.stores.anchor import LOG_KEY, LogKeys, create_log_key, load_log_keys
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
    if "log_keys" not in options:
        options["log_keys"] = workspace_log_keys(workspace)
    return Store(config.store or workspace.store_path, facility=config.facility, **options)


def workspace_log_keys(workspace: Workspace) -> LogKeys:
    """The workspace's log key (made now for a workspace from before there were any) and the
    other facilities' public keys it trusts (`[log] trusted_keys`)."""
    keys_dir = workspace.keys_dir
    if keys_dir.is_dir() and not (keys_dir / LOG_KEY).exists():
        with contextlib.suppress(OSError):
            create_log_key(keys_dir)
    return load_log_keys(keys_dir, workspace.config.log_trusted_keys)
