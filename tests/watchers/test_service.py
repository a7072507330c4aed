"""The watcher with real watchdog observers on real folders. No sleeps as synchronisation:
each test polls for the state it expects, with a deadline."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from provenance.stores import Store
from tests.conftest import fixture_file
from watchers.service import WatchOptions, WatchService

ROOT = Path(__file__).resolve().parents[2]


def wait_for(what: Callable[[], object], timeout: float = 20.0, message: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message or what}")


def events(store_path: Path, kind: str | None = None) -> list[tuple]:
    with Store(store_path) as store:
        sql = "SELECT kind, path, content_id FROM events"
        rows = store.conn.execute(
            sql + (" WHERE kind = ?" if kind else "") + " ORDER BY seq", (kind,) if kind else ()
        )
        return [tuple(r) for r in rows]


@pytest.fixture
def watched(tmp_path: Path, workspace) -> Iterator[tuple[Path, Path, WatchService]]:
    root = tmp_path / "show"
    root.mkdir()
    with running(root, workspace, WatchOptions(settle=0.4)) as run:
        yield run


@contextmanager
def running(root: Path, workspace, options: WatchOptions):
    store = Store(workspace.store_path)
    service = WatchService([root], workspace.config, store, options)
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    assert service.ready.wait(30)
    try:
        yield root, workspace.store_path, service
    finally:
        service.stop()
        thread.join(30)
        assert not thread.is_alive()
        store.close()


def test_a_file_written_slowly_is_recorded_once_with_its_final_content(watched) -> None:
    root, db, _ = watched
    target = root / "plate.exr"
    with target.open("wb") as fh:
        for _ in range(6):  # a slow copy: 6 chunks over ~1.2 s, longer than the settle time
            fh.write(os.urandom(64 * 1024))
            fh.flush()
            time.sleep(0.2)
    import hashlib

    final = hashlib.sha256(target.read_bytes()).hexdigest()
    wait_for(lambda: events(db, "seen"), message="the plate to be recorded")
    time.sleep(1.0)  # give a second record, if one were coming, the chance to appear
    seen = [e for e in events(db) if e[1] == str(target)]
    assert seen == [("seen", str(target), final)]


def test_an_ai_file_is_tagged_once_and_not_rewritten_again(watched) -> None:
    root, db, _ = watched
    art = root / "concept.png"
    art.write_bytes(fixture_file("generators/comfyui.png").read_bytes())
    wait_for(lambda: events(db, "tagged"), message="the tag")
    first = art.read_bytes()
    time.sleep(1.5)  # our own write lands as events too; they must not loop
    assert len(events(db, "tagged")) == 1
    assert art.read_bytes() == first
    assert not [p for p in root.iterdir() if "provgate-tmp" in p.name]


def test_a_rename_is_recorded_as_a_move(watched) -> None:
    root, db, _ = watched
    plate = root / "a.jpg"
    plate.write_bytes(fixture_file("c2pa/no_manifest.jpg").read_bytes())
    wait_for(lambda: events(db, "seen"), message="the plate")
    (root / "sub").mkdir()
    plate.rename(root / "sub" / "b.jpg")
    moved = wait_for(lambda: events(db, "moved"), message="the move")
    assert moved[0][1] == str(root / "sub" / "b.jpg")
    assert len(events(db, "seen")) == 1


def test_a_deleted_file_is_recorded(watched) -> None:
    root, db, _ = watched
    plate = root / "a.jpg"
    plate.write_bytes(fixture_file("c2pa/no_manifest.jpg").read_bytes())
    wait_for(lambda: events(db, "seen"), message="the plate")
    plate.unlink()
    wait_for(lambda: events(db, "deleted"), message="the deletion")


def test_temporary_files_are_ignored(watched) -> None:
    root, db, _ = watched
    (root / "download.crdownload").write_bytes(b"partial")
    (root / ".DS_Store").write_bytes(b"x")
    real = root / "real.jpg"
    real.write_bytes(fixture_file("c2pa/no_manifest.jpg").read_bytes())
    wait_for(lambda: events(db, "seen"), message="the real file")
    assert [e[1] for e in events(db, "seen")] == [str(real)]


def test_files_added_while_down_are_caught_at_start(tmp_path, workspace) -> None:
    root = tmp_path / "show"
    root.mkdir()
    (root / "early.jpg").write_bytes(fixture_file("c2pa/no_manifest.jpg").read_bytes())
    db = workspace.store_path
    with running(root, workspace, WatchOptions(settle=0.3)):
        wait_for(lambda: events(db, "seen"), message="reconciliation")
    (root / "while_down.png").write_bytes(fixture_file("generators/a1111.png").read_bytes())
    with running(root, workspace, WatchOptions(settle=0.3)):
        wait_for(lambda: len(events(db, "seen")) == 2, message="catch-up at start")
        assert events(db, "tagged")


def test_the_polling_observer_sees_a_change(tmp_path, workspace) -> None:
    root = tmp_path / "nfs_like"
    root.mkdir()
    db = workspace.store_path
    with running(root, workspace, WatchOptions(settle=0.3, poll=0.2)) as (_, _, service):
        from watchdog.observers.polling import PollingObserver

        assert isinstance(service.observers[0], PollingObserver)
        (root / "x.jpg").write_bytes(fixture_file("c2pa/no_manifest.jpg").read_bytes())
        wait_for(lambda: events(db, "seen"), message="the polled change")


def _start_cli(workspace, root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "--workspace",
            str(workspace.root),
            "watch",
            str(root),
            "--settle",
            "0.3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def test_sigterm_finishes_and_exits_zero(tmp_path, workspace) -> None:
    root = tmp_path / "show"
    root.mkdir()
    proc = _start_cli(workspace, root)
    try:
        wait_for(
            lambda: events(workspace.store_path) is not None and workspace.store_path.exists(),
            message="start",
        )
        (root / "a.png").write_bytes(fixture_file("generators/a1111.png").read_bytes())
        wait_for(lambda: events(workspace.store_path, "tagged"), message="the tag")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in err


def _decodes(path: Path) -> bool:
    try:
        with Image.open(path) as img:
            img.load()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.slow
def test_kill_9_during_tagging_damages_nothing_and_a_restart_catches_up(
    tmp_path, workspace
) -> None:
    root = tmp_path / "show"
    root.mkdir()
    rng = random.Random(7)
    for i in range(8):
        img = Image.effect_noise((1200, 900), 64).convert("RGB")
        img.save(root / f"gen_{i}.png", pnginfo=_a1111_info())
    originals = {p.name: p.read_bytes() for p in root.iterdir()}
    for _ in range(4):
        proc = _start_cli(workspace, root)
        time.sleep(rng.uniform(0.5, 2.5))
        proc.kill()
        proc.communicate(timeout=30)
        for p in root.iterdir():
            if "provgate-tmp" in p.name:
                continue
            assert _decodes(p), p
    proc = _start_cli(workspace, root)
    try:

        def caught_up() -> bool:
            with Store(workspace.store_path) as store:
                rows = store.conn.execute(
                    "SELECT COUNT(*) FROM assets a JOIN files f ON f.content_id = a.content_id"
                    " WHERE f.gone = 0 AND a.tagged = 1"
                ).fetchone()[0]
            return rows == len(originals)

        wait_for(caught_up, timeout=120, message="every asset tagged after restart")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert not [p for p in root.iterdir() if "provgate-tmp" in p.name]
    for p in root.iterdir():
        assert _decodes(p)
        assert p.read_bytes() != originals[p.name]  # tagged: a manifest was added
    verify = subprocess.run(
        [sys.executable, "-m", "cli", "--workspace", str(workspace.root), "log", "verify"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert verify.returncode == 0, verify.stdout


def _a1111_info():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "castle\nSteps: 20, Sampler: Euler a, Seed: 1, Model: sd15")
    return info


def test_a_folder_renamed_under_the_watcher_moves_its_files(watched) -> None:
    root, db, _ = watched
    shot = root / "sh010"
    shot.mkdir()
    for i in range(3):
        (shot / f"plate.{1001 + i}.jpg").write_bytes(
            fixture_file("c2pa/no_manifest.jpg").read_bytes()[:-2] + bytes([i, 0xD9])
        )
    wait_for(lambda: len(events(db, "seen")) == 3, message="three frames")
    shot.rename(root / "sh010_v2")
    wait_for(lambda: len(events(db, "moved")) == 3, message="three moves")
    with Store(db) as store:
        live = sorted(Path(p).parent.name for p in store.files_under(str(root)))
    assert live == ["sh010_v2"] * 3
    assert not events(db, "deleted")


@pytest.mark.slow
def test_a_burst_with_queries_running_loses_nothing(tmp_path, workspace) -> None:
    """A render landing at once (a short version of bench/soak.py's load), with `ls` queries
    running against the store at the same time."""
    root = tmp_path / "render"
    root.mkdir()
    count = 2000
    with running(root, workspace, WatchOptions(settle=0.3)):
        stop = threading.Event()
        failures: list[str] = []

        def query() -> None:
            while not stop.is_set():
                result = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "cli",
                        "--workspace",
                        str(workspace.root),
                        "ls",
                        "--json",
                    ],
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                )
                if result.returncode != 0:
                    failures.append(result.stderr)

        reader = threading.Thread(target=query)
        reader.start()
        payload = fixture_file("c2pa/no_manifest.jpg").read_bytes()
        for i in range(count):
            (root / f"frame.{i:05d}.jpg").write_bytes(
                payload[:-2] + i.to_bytes(4, "big") + b"\xff\xd9"
            )
        try:

            def recorded() -> bool:
                with Store(workspace.store_path) as store:
                    return len(store.files_under(str(root))) == count

            wait_for(recorded, timeout=300, message=f"{count} files recorded")
        finally:
            stop.set()
            reader.join()
        assert failures == []


def test_a_watched_folder_that_vanishes_and_returns_is_caught_up(
    tmp_path, workspace, monkeypatch
) -> None:
    """An unmounted share: the watcher waits for it instead of dying, then catches up."""
    import watchers.service as service_module

    monkeypatch.setattr(service_module, "ROOT_CHECK", 0.2)
    root = tmp_path / "share"
    root.mkdir()
    db = workspace.store_path
    with running(root, workspace, WatchOptions(settle=0.3)) as (_, _, service):
        away = tmp_path / "share_unmounted"
        root.rename(away)
        wait_for(lambda: not service.observers, message="the observer to stop")
        (away / "landed_while_gone.jpg").write_bytes(
            fixture_file("c2pa/no_manifest.jpg").read_bytes()
        )
        away.rename(root)
        wait_for(lambda: events(db, "seen"), message="catch-up after the folder returned")
        assert service.observers and service.observers[0].is_alive()
        (root / "after.png").write_bytes(fixture_file("generators/a1111.png").read_bytes())
        wait_for(lambda: len(events(db, "seen")) == 2, message="events after the return")


def test_a_file_changed_then_renamed_before_settling_is_a_move_then_a_change(watched) -> None:
    root, db, _ = watched
    first = root / "a.jpg"
    first.write_bytes(fixture_file("c2pa/no_manifest.jpg").read_bytes())
    wait_for(lambda: events(db, "seen"), message="the first version")
    first.write_bytes(fixture_file("c2pa/no_manifest.jpg").read_bytes() + b"\0\0")
    first.rename(root / "b.jpg")
    wait_for(lambda: events(db, "changed"), message="the change after the move")
    kinds = [e[0] for e in events(db)]
    assert kinds == ["seen", "moved", "changed"]
    with Store(db) as store:
        assert sorted(store.files_under(str(root))) == [str(root / "b.jpg")]


def test_the_inotify_watch_limit_falls_back_to_polling(tmp_path, workspace) -> None:
    """watchdog skips folders silently past the limit; the watcher notices, says so, polls."""
    import shutil as _shutil

    if _shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    probe = subprocess.run(
        ["unshare", "-Ur", "sh", "-c", "echo 20 > /proc/sys/user/max_inotify_watches"],
        capture_output=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"no user namespace to lower the limit in: {probe.stderr.decode().strip()}")
    root = tmp_path / "show"
    for i in range(40):
        (root / f"sh{i:03d}").mkdir(parents=True)
    script = (
        f"echo 20 > /proc/sys/user/max_inotify_watches && exec {sys.executable} -m cli "
        f"--workspace {workspace.root} watch {root} --settle 0.3"
    )
    proc = subprocess.Popen(
        ["unshare", "-Ur", "sh", "-c", script],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        wait_for(
            lambda: any("watch limit" in line for line in lines),
            timeout=60,
            message="the watcher to notice the limit",
        )
        for i in range(40):
            (root / f"sh{i:03d}" / "plate.jpg").write_bytes(
                fixture_file("c2pa/no_manifest.jpg").read_bytes()[:-2] + bytes([i, 0xD9])
            )
        wait_for(
            lambda: len(events(workspace.store_path, "seen")) == 40,
            timeout=60,
            message="every folder's file, watched or not",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        reader.join(10)
        proc.stderr.close()
    assert proc.returncode == 0


def test_a_store_failure_while_recording_is_retried_not_fatal(watched, monkeypatch) -> None:
    """Fault injection: the first attempt to record a file fails (the store briefly unusable);
    the watcher logs it, keeps running, and records the file on a later attempt."""
    import watchers.service as service_module

    root, db, service = watched
    real = service_module.record
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database is busy")
        return real(*args, **kwargs)

    monkeypatch.setattr(service_module, "record", flaky)
    (root / "a.jpg").write_bytes(fixture_file("c2pa/no_manifest.jpg").read_bytes())
    wait_for(lambda: events(db, "seen"), message="the retried record")
    assert calls["n"] >= 2


def test_a_stripped_copy_of_a_known_ai_still_is_recorded_as_ai_by_the_watcher(
    tmp_path: Path, workspace
) -> None:
    """One judgement (issue 15): the watcher records what the gate would decide."""
    from provenance import api

    known = tmp_path / "gen" / "comfyui.png"
    known.parent.mkdir()
    known.write_bytes(fixture_file("generators/comfyui.png").read_bytes())
    with Store(workspace.store_path) as store:
        api.scan([known.parent], workspace.config, store, tag=False)
        original = store.file(str(known)).content_id
    root = tmp_path / "show"
    root.mkdir()
    with running(root, workspace, WatchOptions(settle=0.4)):
        with Image.open(known) as img:  # re-saved: no metadata survives
            img.convert("RGB").save(root / "sh010_comp.jpg", "JPEG", quality=60)

        def recorded() -> dict | None:
            with Store(workspace.store_path) as store:
                row = store.file(str(root / "sh010_comp.jpg"))
                return store.asset(row.content_id) if row else None

        asset = wait_for(recorded, message="the copy to be recorded")
    assert asset["origin"] == "ai-generated"
    with Store(workspace.store_path) as store:
        details = [e["detail"] for e in store.evidence(asset["content_id"])]
    assert any(d.startswith(f"near-duplicate of {original} (distance ") for d in details)
