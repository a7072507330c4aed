"""Shared fixtures: real workspaces, real stores, the real third-party sample files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

# Store backends (SQLite, and PostgreSQL when PROVGATE_TEST_PG is set): `backend`,
# `backend_workspace`.
pytest_plugins = ["tests.backends"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures"


def fixture_file(rel: str) -> Path:
    path = FIXTURES / rel
    if not path.exists():
        pytest.skip(f"../shared/fixtures/{rel} is not beside the checkout")
    return path


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not beside the checkout")
    return FIXTURES


@pytest.fixture
def workspace(tmp_path: Path):
    """A fresh workspace (default policy, development identity) in a temp folder."""
    from provenance.workspace import init_workspace

    return init_workspace(tmp_path / "ws")


@pytest.fixture
def store(workspace):
    from provenance.stores import Store

    s = Store(workspace.store_path)
    yield s
    s.close()


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """A CLI runner that never touches the real user's data directory."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("PROVGATE_WORKSPACE", raising=False)
    return CliRunner()


def copy_fixture(rel: str, dest: Path) -> Path:
    """Copy a shared fixture into a test folder (tests may change it)."""
    src = fixture_file(rel)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / src.name
    shutil.copy2(src, target)
    os.chmod(target, 0o644)  # the shared fixtures are read-only; provgate never rewrites those
    return target
