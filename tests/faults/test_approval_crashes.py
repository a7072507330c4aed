"""kill -9 of approve, revoke and tag at their worst moments: the store and the files agree."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import copy_fixture

ROOT = Path(__file__).resolve().parents[2]


def _cli(ws: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "cli", "--workspace", str(ws), *args]


def _run(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cli(ws, *args), cwd=ROOT, capture_output=True, text=True, check=False)


def _wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


def test_kill_9_after_the_rename_and_before_the_commit_outlives_no_revocation(
    workspace, tmp_path: Path
) -> None:
    """The issue's crash: approve renames the approved tag into place and is killed before it
    records the new bytes. The next command finds them; revoke then revokes them too."""
    ws = workspace.root
    art = copy_fixture("generators/comfyui.png", tmp_path / "show")
    assert _run(ws, "scan", "--no-tag", str(art.parent)).returncode == 0
    inode = art.stat().st_ino
    db = sqlite3.connect(ws / "provgate.db", isolation_level=None, timeout=60)
    proc = subprocess.Popen(
        _cli(ws, "approve", str(art), "--ref", "S-1", "--by", "J"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Once the intent is committed, hold the store's write lock: the rename goes ahead,
        # the commit that would record it cannot; kill -9 in that window.
        _wait_for(lambda: db.execute("SELECT count(*) FROM intents").fetchone()[0], "the intent")
        db.execute("BEGIN IMMEDIATE")
        _wait_for(lambda: art.stat().st_ino != inode, "the rename")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()
        if proc.poll() is None:
            proc.kill()
    # The next command finishes the write on a host without the approval key: the carried
    # approval's signature was made before the rename and kept with the intent.
    key = ws / "keys" / "approval-key.pem"
    kept = key.read_bytes()
    key.unlink()
    inspected = json.loads(_run(ws, "inspect", "--json", str(art)).stdout)
    assert inspected["c2pa"]["provgate_tag"]["status"] == "approved"
    assert inspected["status"] == "approved"  # the next command recorded the rewrite
    assert [a["signed_by"] for a in inspected["approvals"]][-1] is not None
    assert _run(ws, "check", str(art)).returncode == 0
    key.write_bytes(kept)
    revoked = _run(ws, "revoke", str(art), "--ref", "S-1", "--by", "J", "--reason", "withdrawn")
    assert revoked.returncode == 0, revoked.stderr
    inspected = json.loads(_run(ws, "inspect", "--json", str(art)).stdout)
    assert inspected["status"] == "revoked"
    check = _run(ws, "check", str(art))
    assert check.returncode == 1, check.stdout
    assert _run(ws, "log", "verify").returncode == 0


@pytest.mark.slow
def test_a_handful_of_random_kills_during_approve_revoke_and_tag_leave_no_inconsistency() -> None:
    """The small version of bench/faults.py (which makes 60 kills on a 200 MB MP4)."""
    done = subprocess.run(
        [sys.executable, "bench/faults.py", "--mb", "4", "--kills", "8", "--seed", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    total = [line for line in done.stdout.splitlines() if line.startswith("total")]
    assert total and total[0].split()[-1] == "0", done.stdout
