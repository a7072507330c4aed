"""Storage faults: read-only shares, a full disk under the store, files changing mid-scan."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from provenance import api
from provenance.errors import ProvgateError
from provenance.workspace import init_workspace
from tests.conftest import copy_fixture

ROOT = Path(__file__).resolve().parents[2]


def provgate(workspace: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user does, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "cli", "--workspace", str(workspace), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@contextmanager
def tmpfs(where: Path, size: str, *options: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    opts = ",".join((f"size={size}", *options))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.mark.skipif(not IS_ROOT, reason="mounting a read-only tmpfs needs root")
def test_a_read_only_share_is_recorded_untagged_and_the_asset_left_intact(
    tmp_path, workspace, store
):
    with tmpfs(tmp_path / "share", "8m") as share:
        art = copy_fixture("generators/comfyui.png", share)
        before = art.read_bytes()
        subprocess.run(["mount", "-o", "remount,ro", str(share)], check=True)
        summary = api.scan([share], workspace.config, store)
        assert summary.new == 1 and summary.ai == 1 and summary.tagged == 0
        assert summary.errors == 1 and "tag not written" in summary.error_lines[0]
        assert art.read_bytes() == before
        kinds = [e["kind"] for e in api.history(str(art), store)]
        assert kinds == ["seen", "tag-failed"]


@pytest.mark.skipif(not IS_ROOT, reason="mounting a tiny tmpfs needs root")
def test_a_full_disk_under_the_store_is_one_clear_error_and_loses_nothing(tmp_path):
    with tmpfs(tmp_path / "small", "2m") as small:
        ws = init_workspace(small / "ws")
        show = tmp_path / "show"
        for i in range(400):
            copy_fixture("c2pa/no_manifest.jpg", show / f"d{i:03d}")
            (show / f"d{i:03d}" / "no_manifest.jpg").rename(show / f"d{i:03d}" / f"p{i}.jpg")
        filler = small / "filler"
        with open(filler, "wb") as fh:  # leave the store only a little room
            try:
                while True:
                    fh.write(b"\0" * 65536)
            except OSError:
                pass
        filler.write_bytes(b"\0" * (max(filler.stat().st_size - 300_000, 0)))
        result = provgate(ws.root, "scan", "--no-tag", str(show))
        if result.returncode == 0:
            pytest.skip("the store fit in the space left; nothing to observe")
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        filler.unlink()
        verify = provgate(ws.root, "log", "verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        again = provgate(ws.root, "scan", "--no-tag", str(show))
        assert again.returncode == 0, again.stderr
        assert "400 files" in again.stdout


def test_files_deleted_or_replaced_during_a_scan_never_stop_it(tmp_path, workspace, store):
    show = tmp_path / "show"
    for i in range(120):
        copy_fixture(
            "generators/a1111.png" if i % 4 == 0 else "c2pa/no_manifest.jpg", show / f"d{i:03d}"
        )
    victims = sorted(show.rglob("*"))[::3]
    stop = threading.Event()

    def vandal() -> None:
        while not stop.is_set():
            for path in victims:
                if path.is_file():
                    try:
                        path.unlink()
                        path.write_bytes(b"replaced while being read")
                    except OSError:
                        pass

    thread = threading.Thread(target=vandal)
    thread.start()
    try:
        summary = api.scan([show], workspace.config, store)
    except ProvgateError as exc:  # pragma: no cover - the point of the test
        pytest.fail(f"scan stopped: {exc}")
    finally:
        stop.set()
        thread.join()
    assert summary.files >= 100
    assert store.verify_events()[1] is None
    shutil.rmtree(show)
    assert api.scan([tmp_path], workspace.config, store).deleted >= 100
