"""The store following assets through scans: renames, moves, copies, changes, approvals —
on both backends (SQLite, and PostgreSQL when PROVGATE_TEST_PG is set)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from provenance import api
from provenance.errors import ApprovalError, UnknownAsset
from provenance.gate.decision import DeliveryGate
from provenance.stores import open_store
from tests.conftest import copy_fixture


@pytest.fixture
def workspace(backend_workspace):
    """This module's workspaces keep their store on each backend in turn."""
    return backend_workspace


@pytest.fixture
def store(workspace):
    s = open_store(workspace)
    yield s
    s.close()


@pytest.fixture
def show(tmp_path: Path) -> Path:
    root = tmp_path / "show"
    copy_fixture("generators/comfyui.png", root / "sh010")
    copy_fixture("c2pa/no_manifest.jpg", root / "sh010")
    return root


def kinds(events: list[dict]) -> list[str]:
    return [e["kind"] for e in events]


def test_history_follows_a_rename_a_move_and_a_copy(show: Path, workspace, store) -> None:
    cfg = workspace.config
    api.scan([show], cfg, store)
    plate = show / "sh010" / "no_manifest.jpg"
    renamed = show / "sh010" / "plate_v001.jpg"
    plate.rename(renamed)
    api.scan([show], cfg, store)
    (show / "sh020").mkdir()
    moved = show / "sh020" / "plate_v001.jpg"
    renamed.rename(moved)
    api.scan([show], cfg, store)
    copied = show / "sh010" / "plate_copy.jpg"
    shutil.copy2(moved, copied)
    summary = api.scan([show], cfg, store)
    assert summary.copied == 1
    events = api.history(str(copied), store)
    assert kinds(events) == ["seen", "moved", "moved", "copied"]
    assert events[1]["detail"]["from"] == str(plate)
    assert events[2]["path"] == str(moved) and events[2]["detail"]["from"] == str(renamed)
    assert api.history(str(plate), store) == events  # the old name still answers


def test_a_second_scan_of_an_unchanged_tree_reads_nothing(show: Path, workspace, store) -> None:
    first = api.scan([show], workspace.config, store)
    assert first.new == 2 and first.ai == 1 and first.tagged == 1
    again = api.scan([show], workspace.config, store)
    assert (again.new, again.changed, again.unchanged) == (0, 0, 2)


def test_a_changed_file_is_a_new_asset(show: Path, workspace, store) -> None:
    api.scan([show], workspace.config, store)
    plate = show / "sh010" / "no_manifest.jpg"
    before = store.file(str(plate)).content_id
    with plate.open("ab") as fh:
        fh.write(b"\0")
    summary = api.scan([show], workspace.config, store)
    assert summary.changed == 1
    assert store.file(str(plate)).content_id != before


def test_deleted_files_are_recorded(show: Path, workspace, store) -> None:
    api.scan([show], workspace.config, store)
    (show / "sh010" / "no_manifest.jpg").unlink()
    assert api.scan([show], workspace.config, store).deleted == 1
    assert kinds(api.history(str(show / "sh010" / "no_manifest.jpg"), store))[-1] == "deleted"


def test_an_approval_survives_a_rename_but_not_a_content_change(
    show: Path, workspace, store
) -> None:
    cfg = workspace.config
    api.scan([show], cfg, store)
    art = show / "sh010" / "comfyui.png"
    api.approve([str(art)], cfg, store, reference="STU-7", by="J. Legal", use="ideation")
    gate = DeliveryGate(cfg, store)
    assert gate.check([str(art)]).verdict == "pass"
    renamed = show / "sh010" / "concept_final.png"
    art.rename(renamed)
    api.scan([show], cfg, store)
    assert gate.check([str(renamed)]).verdict == "pass"
    data = bytearray(renamed.read_bytes())
    data[-30] ^= 0x01
    renamed.write_bytes(bytes(data))
    report = gate.check([str(renamed)])
    assert report.verdict == "blocked"
    assert "without a valid written approval" in report.assets[0].reasons[0]


def test_revoking_blocks_again_and_the_tag_says_so(show: Path, workspace, store) -> None:
    cfg = workspace.config
    api.scan([show], cfg, store)
    art = show / "sh010" / "comfyui.png"
    api.approve([str(art)], cfg, store, reference="STU-8", by="J. Legal")
    api.revoke([str(art)], cfg, store, reference="STU-8", by="J. Legal", reason="recast")
    report = DeliveryGate(cfg, store).check([str(art)])
    assert report.verdict == "blocked"
    info = api.inspect_file(art, cfg, store)
    assert info["c2pa"]["provgate_tag"]["status"] == "revoked"


def test_approvals_are_refused_for_non_ai_and_missing_consent(show: Path, workspace, store) -> None:
    cfg = workspace.config
    api.scan([show], cfg, store)
    with pytest.raises(ApprovalError, match="not AI material"):
        api.approve([str(show / "sh010" / "no_manifest.jpg")], cfg, store, reference="X", by="Y")
    with pytest.raises(ApprovalError, match="consent"):
        api.approve(
            [str(show / "sh010" / "comfyui.png")],
            cfg,
            store,
            reference="X",
            by="Y",
            use="talent-likeness",
        )


def test_history_of_something_never_seen_is_an_error(workspace, store, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.png"
    stranger.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(UnknownAsset):
        api.history(str(stranger), store)
    with pytest.raises(UnknownAsset):
        api.history("deadbeef", store)


def test_log_verify_passes_on_a_real_store_after_scans(show: Path, workspace, store) -> None:
    api.scan([show], workspace.config, store)
    api.approve(
        [str(show / "sh010" / "comfyui.png")], workspace.config, store, reference="STU-9", by="J"
    )
    count, broken, audit = api.verify_log(store, workspace.config)
    assert broken is None and count >= 4
    assert audit.unsigned == () and audit.notes == ()


def test_a_scan_and_an_approve_at_the_same_time_both_succeed(tmp_path: Path, workspace) -> None:
    show = tmp_path / "big"
    for i in range(60):
        copy_fixture("c2pa/no_manifest.jpg", show / f"d{i}")
    art = copy_fixture("generators/a1111.png", tmp_path / "art")
    env_ws = ["--workspace", str(workspace.root)]
    first = subprocess.run(
        [sys.executable, "-m", "cli", *env_ws, "scan", str(art.parent)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    scan = subprocess.Popen(
        [sys.executable, "-m", "cli", *env_ws, "scan", str(show)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    approve = subprocess.run(
        [sys.executable, "-m", "cli", *env_ws, "approve", str(art), "--ref", "STU-1", "--by", "J"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out, err = scan.communicate(timeout=300)
    assert scan.returncode == 0, err
    assert approve.returncode == 0, approve.stderr
    assert "60 files: 1 new" in out and "59 copied" in out and "0 errors" in out
    verify = subprocess.run(
        [sys.executable, "-m", "cli", *env_ws, "log", "verify"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout


def _recorded(store) -> tuple[list, list, list, list]:
    """Everything a scan writes, without the times it was written at."""
    files = store.query(
        "SELECT path, content_id, size, mtime_ns, inode, gone FROM files ORDER BY path"
    )
    assets = store.query(
        "SELECT content_id, media_type, size, origin, tool, use_category, status, phash, tagged"
        " FROM assets ORDER BY content_id"
    )
    evidence = store.query(
        "SELECT content_id, source, marker, signal, detail, validation FROM evidence"
        " ORDER BY content_id, id"
    )
    events = store.query("SELECT seq, kind, content_id, path, detail FROM events ORDER BY seq")
    return tuple([tuple(r) for r in rows] for rows in (files, assets, evidence, events))


def test_recording_in_bulk_writes_exactly_what_recording_one_by_one_writes(
    tmp_path: Path, backend, workspace
) -> None:
    """A first scan records new files in bulk; every row and event must be the one `record`
    writes, in the same order — including the files in the batch that are not simple."""
    from provenance.history.recorder import record, record_many
    from provenance.pipeline.walk import walk_files
    from provenance.pipeline.workers import process_file
    from provenance.stores import Store
    from tests.backends import location_of

    cfg = workspace.config
    show = tmp_path / "show"
    earlier = copy_fixture("c2pa/no_manifest.jpg", show / "old")
    for i in range(60):
        (show / "plain").mkdir(parents=True, exist_ok=True)
        (show / "plain" / f"note_{i:03d}.txt").write_text(f"note {i}\n")
    (show / "plain" / "note_dup.txt").write_text("note 7\n")  # a copy inside the batch
    copy_fixture("generators/comfyui.png", show / "ai")  # AI: its status needs approvals
    copy_fixture("c2pa/C.jpg", show / "plain")  # not AI, but with evidence to keep
    (show / "plain" / "empty.png").write_bytes(b"")  # unreadable: an error in the batch
    stats = list(walk_files(show))
    outcomes = [process_file(st, cfg, False) for st in stats]
    first = [o for o in outcomes if o.path == str(earlier)]

    results = []
    for name in ("one_by_one", "bulk"):
        (tmp_path / name).mkdir()
        with location_of(_kind(backend), tmp_path / name) as location, Store(location) as store:
            store.begin()
            record(store, first[0], cfg)  # already known: the moved file below
            store.commit()
            moved = show / "new" / "plate.jpg"
            moved.parent.mkdir(exist_ok=True)
            earlier.rename(moved)
            rest = [replace_path(o, moved) if o.path == str(earlier) else o for o in outcomes]
            store.begin()
            if name == "bulk":
                changes = record_many(store, rest, cfg)
            else:
                changes = [record(store, o, cfg) for o in rest]
            store.commit()
            moved.rename(earlier)
            results.append(([(c.kind, c.path, c.content_id) for c in changes], _recorded(store)))
            assert store.verify_events()[1] is None
    assert results[0] == results[1]
    kinds_seen = {c[0] for c in results[1][0]}
    assert {"seen", "copied", "moved", "error"} <= kinds_seen


def _kind(backend) -> str:
    return "postgresql" if isinstance(backend, str) else "sqlite"


def replace_path(outcome, path: Path):
    from dataclasses import replace

    from provenance.pipeline.walk import stat_of

    return replace(outcome, stat=stat_of(str(path)))
