"""Fixtures of the attack tests: a workspace made by `provgate init`, as its CLI arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import cli


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]
