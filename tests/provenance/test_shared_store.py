"""One store, many writers: facilities watching and scanning at once, sharded scans.

The writers are real `provgate` processes against a real store; the PostgreSQL tests skip
with the reason when PROVGATE_TEST_PG is not set.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

import pytest

from provenance.pipeline.shard import Shard
from provenance.stores import Store, open_store
from tests.backends import pg_schema, pg_url, workspace_on
from tests.conftest import copy_fixture

ROOT = Path(__file__).resolve().parents[2]
AI_ART = ("generators/a1111.png", "generators/comfyui.png", "generators/a1111.jpg")
FAILURES = ("could not serialize", "deadlock", "Traceback", "locked")


def cli(ws, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "--workspace", str(ws.root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> tuple[str, str]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    assert not any(word in err for word in FAILURES), err
    return out, err


def distinct_files(folder: Path, count: int, start: int = 0) -> list[Path]:
    """Files whose contents all differ (each one a new asset)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(start, start + count):
        path = folder / f"take_{i:03d}.bin"
        path.write_bytes(os.urandom(64) + f"take {i}".encode())
        made.append(path)
    return made


def wait_until(what, timeout: float = 60.0, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def live_files(store: Store, facility: str) -> int:
    row = store.one("SELECT count(*) FROM files WHERE facility = ? AND gone = 0", (facility,))
    return int(row[0])


def test_four_writers_at_once_keep_one_unbroken_history(tmp_path: Path) -> None:
    """Two watchers (two facilities), a scan and a run of approvals, all at once."""
    with pg_schema(pg_url()) as url:
        ws = {
            name: workspace_on(tmp_path / f"ws-{name}", url, facility=name)
            for name in ("vendor-a", "vendor-b", "office")
        }
        art = tmp_path / "art"
        for rel in AI_ART:
            copy_fixture(rel, art)
        finish(cli(ws["office"], "scan", str(art)))
        trees = {name: tmp_path / name for name in ("vendor-a", "vendor-b", "office")}
        for name in ("vendor-a", "vendor-b"):
            distinct_files(trees[name], 5)  # found by the watcher's reconciliation
        distinct_files(trees["office"], 150)
        watchers = {
            name: cli(ws[name], "watch", str(trees[name]), "--settle", "0.3")
            for name in ("vendor-a", "vendor-b")
        }
        try:
            with Store(url) as probe:
                for name in watchers:
                    wait_until(lambda n=name: live_files(probe, n) == 5, message=f"{name} start")
                scan = cli(ws["office"], "scan", str(trees["office"]))
                approvals = [
                    cli(ws["office"], "approve", str(p), "--ref", f"STU-{i}", "--by", "J. Legal")
                    for i, p in enumerate(sorted(art.iterdir()))
                ]
                for name in watchers:  # files arriving while everyone writes
                    distinct_files(trees[name], 40, start=5)
                finish(scan)
                for proc in approvals:
                    finish(proc)
                for name in watchers:
                    wait_until(lambda n=name: live_files(probe, n) == 45, message=f"{name} files")
        finally:
            for proc in watchers.values():
                proc.send_signal(signal.SIGTERM)
        for proc in watchers.values():
            finish(proc, timeout=60)

        with Store(url) as store:
            count, broken = store.verify_events()
            assert broken is None
            assert count == store.one("SELECT count(*) FROM events")[0]
            seen = Counter(
                (r[0], r[1])
                for r in store.query(
                    "SELECT facility, path FROM events WHERE kind = 'seen' UNION ALL"
                    " SELECT e.facility, l.path FROM event_leaves l JOIN events e"
                    " ON e.seq = l.seq WHERE l.kind = 'seen'"
                )
            )
            assert all(n == 1 for n in seen.values()), "a file was recorded twice"
            by_facility = Counter(facility for facility, _ in seen)
            assert by_facility["vendor-a"] == by_facility["vendor-b"] == 45
            assert by_facility["office"] == 150 + len(AI_ART)
            approved = [
                r[0]
                for r in store.query(
                    "SELECT content_id, detail FROM events WHERE kind = 'approved'"
                )
                if not json.loads(r[1]).get("carried_from")  # not the carries onto new tags
            ]
            assert len(approved) == len(set(approved)) == len(AI_ART)
            facilities = {r[0] for r in store.query("SELECT DISTINCT facility FROM events")}
            assert facilities == {"vendor-a", "vendor-b", "office"}


def test_every_path_belongs_to_exactly_one_shard() -> None:
    paths = [f"/show/sh{i % 7:03d}/plate_{i}.{i % 3}.exr" for i in range(600)]
    shards = [Shard(k, 3) for k in (1, 2, 3)]
    owners = Counter(sum(s.owns("/show", p) for s in shards) for p in paths)
    assert owners == {1: 600}
    shares = [sum(s.owns("/show", p) for p in paths) for s in shards]
    assert min(shares) > 150  # a fair split, not everything on one machine
    assert Shard.parse("2/3") == Shard(2, 3)
    assert Shard(2, 3).owns("/a/show", "/a/show/x/y.exr") == Shard(2, 3).owns("/b", "/b/x/y.exr")


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0"])
def test_a_shard_must_be_k_of_n(text: str) -> None:
    with pytest.raises(ValueError):
        Shard.parse(text)


def _tree(root: Path) -> Path:
    for i in range(4):
        for rel in ("generators/a1111.png", "c2pa/no_manifest.jpg"):
            copy_fixture(rel, root / f"sh{i:03d}")  # the same content in four folders
    for rel in ("generators/comfyui.png", "generators/novelai.png", "c2pa/CA.jpg"):
        copy_fixture(rel, root / "refs")
    distinct_files(root / "takes", 30)
    return root


def _recorded(store: Store, root: Path) -> tuple[set, set]:
    files = {
        (os.path.relpath(r[0], root), r[1], r[2])
        for r in store.query(
            "SELECT f.path, f.content_id, a.origin FROM files f JOIN assets a"
            " ON a.content_id = f.content_id WHERE f.gone = 0"
        )
    }
    assets = {tuple(r) for r in store.query("SELECT content_id, origin, tool FROM assets")}
    return files, assets


def test_three_sharded_scans_in_parallel_give_what_one_scan_gives(backend, tmp_path: Path) -> None:
    tree = _tree(tmp_path / "show")
    sharded = workspace_on(tmp_path / "ws-sharded", backend)
    shards = [cli(sharded, "scan", "--no-tag", "--shard", f"{k}/3", str(tree)) for k in (1, 2, 3)]
    outs = [finish(p)[0] for p in shards]
    total = sum(1 for p in tree.rglob("*") if p.is_file())
    assert sum(int(o.strip().splitlines()[-1].split(" files")[0]) for o in outs) == total
    with _single_location(backend) as single_location:
        single = workspace_on(tmp_path / "ws-single", single_location)
        finish(cli(single, "scan", "--no-tag", str(tree)))
        with open_store(sharded) as a, open_store(single) as b:
            assert _recorded(a, tree) == _recorded(b, tree)
            assert a.verify_events()[1] is None
        shutil.rmtree(tree / "takes")  # deletions: each shard decides only for its own share
        counts = []
        for k in (1, 2, 3):
            finish(cli(sharded, "scan", "--no-tag", "--shard", f"{k}/3", str(tree)))
            with open_store(sharded) as a:
                counts.append(a.one("SELECT count(*) FROM events WHERE kind = 'deleted'")[0])
        assert 0 < counts[0] < counts[1] < counts[2] == 30  # each shard its own share only
        finish(cli(single, "scan", "--no-tag", str(tree)))
        with open_store(sharded) as a, open_store(single) as b:
            assert _recorded(a, tree) == _recorded(b, tree)
            deleted = a.one("SELECT count(*) FROM events WHERE kind = 'deleted'")[0]
            assert deleted == 30


def _single_location(backend):
    """A second, fresh store on the same backend (None: the workspace's own SQLite file)."""
    return nullcontext(None) if isinstance(backend, Path) else pg_schema(pg_url())
