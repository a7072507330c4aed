"""kill -9 at random moments: nothing damaged, the chain verifies, the next run catches up."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from provenance.stores import Store

ROOT = Path(__file__).resolve().parents[2]


def _cli(ws: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "cli", "--workspace", str(ws), *args]


def _tree(root: Path, count: int) -> dict[str, bytes]:
    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters", "harbour at night\nSteps: 20, Sampler: Euler a, Seed: 3, Model: sd15"
    )
    for i in range(count):
        img = Image.effect_noise((160, 120), 40 + i % 30).convert("RGB")
        folder = root / f"sh{i // 25:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        if i % 3 == 0:
            img.save(folder / f"gen_{i}.png", pnginfo=info)
        else:
            img.save(folder / f"plate_{i}.jpg", quality=85)
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _decodes(path: Path) -> bool:
    try:
        with Image.open(path) as img:
            img.load()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.slow
def test_kill_9_during_scan_never_damages_an_asset_or_the_chain(tmp_path: Path, workspace) -> None:
    show = tmp_path / "show"
    originals = _tree(show, 150)
    rng = random.Random(11)
    for _ in range(6):
        proc = subprocess.Popen(
            _cli(workspace.root, "scan", str(show)),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 3.0))
        proc.kill()
        proc.wait(30)
        for path in originals:
            assert _decodes(Path(path)), path
        verify = subprocess.run(
            _cli(workspace.root, "log", "verify"), cwd=ROOT, capture_output=True, text=True
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
    final = subprocess.run(
        _cli(workspace.root, "scan", str(show)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert final.returncode == 0, final.stderr
    leftovers = [p for p in show.rglob("*") if "provgate-tmp" in p.name]
    assert leftovers == []
    with Store(workspace.store_path) as store:
        live = store.files_under(str(show))
        assert set(live) == set(originals)
        ai = store.conn.execute(
            "SELECT COUNT(*) FROM files f JOIN assets a ON"
            " a.content_id = f.content_id WHERE f.gone = 0 AND"
            " a.origin = 'ai-generated' AND a.tagged = 1"
        ).fetchone()[0]
        assert ai == sum(1 for p in originals if p.endswith(".png"))
    again = subprocess.run(
        _cli(workspace.root, "scan", str(show)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "0 new, 0 changed" in again.stdout and f"{len(originals)} unchanged" in again.stdout
