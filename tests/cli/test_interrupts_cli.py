"""Ctrl-C and SIGTERM during a scan: the store knows every tag written (issue 18, item 5)."""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from tests.cli.terminal import PROVGATE, on_pty, user_env

FILES = 640  # ten chunks of 64: a few taken by the workers when the signal comes, the rest not


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def generated(tmp_path: Path) -> tuple[Path, dict[Path, str]]:
    """FILES distinct AI stills (A1111 parameters), each to be tagged, and their content ids."""
    root = tmp_path / "show"
    root.mkdir()
    originals = {}
    for i in range(FILES):
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", f"a lighthouse {i}\nSteps: 20, Sampler: Euler a, Seed: {i}")
        path = root / f"gen_{i:04d}.png"
        Image.new("RGB", (24, 24), (i % 256, i // 256, 9)).save(path, pnginfo=info)
        originals[path] = sha256(path)
    return root, originals


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_scan_records_every_file_it_tagged(tmp_path, generated, sig):
    root, originals = generated
    env = user_env(tmp_path / "home")
    ws = tmp_path / "ws"
    assert subprocess.run([PROVGATE, "init", str(ws)], env=env, capture_output=True).returncode == 0
    mtimes = {p: p.stat().st_mtime_ns for p in originals}  # the signal comes once one is tagged
    ran = on_pty(
        [PROVGATE, "scan", "--workspace", str(ws), str(root)],
        cwd=tmp_path,
        env=env,
        send_when=(lambda _out: any(p.stat().st_mtime_ns != m for p, m in mtimes.items()), sig),
    )
    assert ran.code == {signal.SIGINT: 130, signal.SIGTERM: 143}[sig], ran.output
    assert f"interrupted ({sig.name})" in ran.output and "Traceback" not in ran.output
    with sqlite3.connect(ws / "provgate.db") as db:
        recorded = dict(db.execute("SELECT path, content_id FROM files WHERE gone = 0"))
        linked = set(db.execute("SELECT from_id, to_id FROM links"))
    tagged = [p for p, cid in originals.items() if sha256(p) != cid]
    assert 0 < len(tagged) < FILES, "the signal came before any tag or after the scan"
    for path in tagged:  # the store knows the tagged bytes, and the content they came from
        assert recorded.get(str(path)) == sha256(path), path
        assert (originals[path], sha256(path)) in linked, path
    assert not any(p.name.startswith(".") for p in root.iterdir())  # no temporary left
    again = subprocess.run(
        [PROVGATE, "scan", "--workspace", str(ws), str(root)], env=env, capture_output=True
    )
    assert again.returncode == 0, again.stderr
    verify = subprocess.run([PROVGATE, "log", "verify", "--workspace", str(ws)], env=env)
    assert verify.returncode == 0
