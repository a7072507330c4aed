"""provgate on a real terminal: the README's quick start and progress bars (issue 18, item 1)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.terminal import PROVGATE, on_pty, user_env
from tests.conftest import copy_fixture

CHECKOUT = Path(__file__).resolve().parents[2]


def fresh_copy(dest: Path) -> Path:
    """The checkout's files as a clone would have them (git's tracked files when it is a
    git checkout, else everything but the venv), in a new folder."""
    listed = subprocess.run(
        ["git", "-C", str(CHECKOUT), "ls-files", "-z"], capture_output=True, check=False
    )
    if listed.returncode == 0 and listed.stdout:
        for rel in listed.stdout.decode().split("\0"):
            src = CHECKOUT / rel
            if rel and src.is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / rel)
    else:
        shutil.copytree(CHECKOUT, dest, ignore=shutil.ignore_patterns(".venv", ".git"))
    return dest


def quick_start_command(readme: Path) -> str:
    """The README's quick-start line, run with this venv's installed provgate (the suite does
    not build a venv of its own; installing is what CI's own run does)."""
    section = readme.read_text("utf-8").split("## Quick start", 1)[1]
    line = re.search(r"```sh\n(.+?)\n```", section, re.S)[1].strip()  # type: ignore[index]
    install = "python3 -m venv .venv && .venv/bin/pip install -q -e . && "
    assert line.startswith(install), f"the quick start changed shape: {line}"
    return line.removeprefix(install).replace(".venv/bin/provgate", PROVGATE)


def test_the_readme_quick_start_passes_on_a_pseudo_terminal(tmp_path):
    clone = fresh_copy(tmp_path / "provgate")
    command = quick_start_command(clone / "README.md")
    ran = on_pty(["bash", "-c", command], cwd=clone, env=user_env(tmp_path / "home"))
    assert "internal error" not in ran.output and "Traceback" not in ran.output, ran.output
    # what the README says it prints: BLOCKED, the AI still, the reason, the command to clear
    assert "BLOCKED" in ran.output and "exit code: 1" in ran.output, ran.output
    assert "without a valid written approval" in ran.output
    assert "provgate approve" in ran.output
    assert (tmp_path / "home/.local/share").is_dir()  # the workspace made on first use
    assert sorted(p.name for p in (clone / "sample_media").rglob("*.c2pa")) == []  # --no-tag


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    root = tmp_path / "show"
    for i in range(12):
        copy_fixture("c2pa/no_manifest.jpg", root / f"sh{i:03d}")
    copy_fixture("generators/comfyui.png", root / "sh000")
    return root


def test_scan_and_check_show_progress_with_counts_and_rate_on_a_terminal(tmp_path, shots):
    env = user_env(tmp_path / "home")
    ws = ["--workspace", str(tmp_path / "ws")]
    assert on_pty([PROVGATE, "init", ws[1]], cwd=tmp_path, env=env).code == 0
    scan = on_pty([PROVGATE, "scan", *ws, str(shots)], cwd=tmp_path, env=env)
    assert scan.code == 0, scan.output
    assert re.search(r"scanning  \d+ files  [\d,]+/s  0:0\d", scan.output), scan.output
    assert "\r\x1b[K13 files: 2 new, 0 changed, 0 moved, 11 copied" in scan.output  # wiped first
    check = on_pty([PROVGATE, "check", str(shots), *ws], cwd=tmp_path, env=env)
    assert check.code == 1, check.output
    assert re.search(r"checking  \d+ files  [\d,]+/s", check.output), check.output


def test_progress_is_quiet_when_piped_and_with_quiet_on_a_terminal(tmp_path, shots):
    env = user_env(tmp_path / "home")
    ws = ["--workspace", str(tmp_path / "ws")]
    assert on_pty([PROVGATE, "init", ws[1]], cwd=tmp_path, env=env).code == 0
    piped = subprocess.run(
        [PROVGATE, *ws, "scan", str(shots)], env=env, capture_output=True, text=True, check=False
    )
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr
    assert "13 files: 2 new" in piped.stdout
    quiet = on_pty([PROVGATE, "-q", *ws, "check", str(shots)], cwd=tmp_path, env=env)
    assert quiet.code == 1 and "checking" not in quiet.output and "BLOCKED" in quiet.output


def test_store_migrate_shows_rows_copied_on_a_terminal(tmp_path, shots):
    from tests.backends import pg_schema, pg_url

    url = pg_url()  # skips, saying why, without PROVGATE_TEST_PG
    env = user_env(tmp_path / "home")
    ws = ["--workspace", str(tmp_path / "ws")]
    assert on_pty([PROVGATE, "init", ws[1]], cwd=tmp_path, env=env).code == 0
    assert on_pty([PROVGATE, *ws, "scan", str(shots)], cwd=tmp_path, env=env).code == 0
    with pg_schema(url) as target:
        ran = on_pty([PROVGATE, "store", "migrate", "--to", target, *ws], cwd=tmp_path, env=env)
    assert ran.code == 0, ran.output
    assert re.search(r"migrating  \[[# ]{20}\]\s+\d+%  [\d,]+/[\d,]+ rows", ran.output), ran.output
