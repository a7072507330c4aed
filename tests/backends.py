"""Store backends for tests: SQLite always, PostgreSQL when PROVGATE_TEST_PG names a database.

Each PostgreSQL test gets a schema of its own in that database (the store's URL sets its
search_path), dropped afterwards, so tests never see each other's rows. `.ci/run` starts a
throwaway cluster and sets the variable; locally:

    PROVGATE_TEST_PG=postgresql://provgate@127.0.0.1:54329/provgate_test python -m pytest
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_ENV = "PROVGATE_TEST_PG"
BACKENDS = ["sqlite", "postgresql"]


def pg_url() -> str:
    """The test database's URL, or skip the test with the reason."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL database to test against")
    return url


@contextmanager
def pg_schema(url: str) -> Iterator[str]:
    """A fresh schema in the test database; yields a store URL that uses it."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


@contextmanager
def location_of(kind: str, tmp_path: Path) -> Iterator[str | Path]:
    """Where a fresh store of this kind lives: a SQLite file, or a PostgreSQL URL."""
    if kind == "sqlite":
        yield tmp_path / "provgate.db"
        return
    with pg_schema(pg_url()) as url:
        yield url


def workspace_on(root: Path, location: str | Path | None, facility: str | None = None):
    """A workspace (default policy, development identity) whose provgate.toml names this
    store (a URL; a SQLite path means the default) and facility."""
    from provenance.workspace import CONFIG_NAME, init_workspace, open_workspace

    ws = init_workspace(root)
    lines = []
    if isinstance(location, str):
        lines.append(f'store = "{location}"')
    if facility:
        lines.append(f'facility = "{facility}"')
    if lines:
        config = ws.root / CONFIG_NAME
        config.write_text("\n".join(lines) + "\n" + config.read_text("utf-8"), "utf-8")
        ws = open_workspace(ws.root)
    return ws


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    """A fresh store location on each backend (the PostgreSQL one skips without a server)."""
    with location_of(request.param, tmp_path) as location:
        yield location


@pytest.fixture
def backend_workspace(backend: str | Path, tmp_path: Path):
    """A fresh workspace whose store is on each backend."""
    return workspace_on(tmp_path / "ws", backend)
