"""The store on a real SQLite file: migrations, the event chain, concurrent writers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.store import MIGRATIONS, Store


def test_migrates_a_new_store_and_reopens_it(tmp_path: Path) -> None:
    path = tmp_path / "provgate.db"
    with Store(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.append_event("seen", content_id="ab" * 32, path="/show/a.png")
    with Store(path) as store:
        assert store.verify_events() == (1, None)


def test_refuses_a_store_from_a_newer_provgate(tmp_path: Path) -> None:
    path = tmp_path / "provgate.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(Exception, match="newer than this provgate"):
        Store(path)


def test_events_cannot_be_updated_or_deleted(store: Store) -> None:
    store.append_event("seen", path="/a")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE events SET kind = 'approved'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("DELETE FROM events")


@pytest.mark.parametrize(
    "tamper, bad_seq, why",
    [
        ('UPDATE events SET detail = \'{"origin":"non-ai"}\' WHERE seq = 3', 3, "edited"),
        ("DELETE FROM events WHERE seq = 2", 2, "missing"),
        ("UPDATE events SET prev_hash = hash WHERE seq = 4", 4, "previous-hash"),
    ],
    ids=["edited-row", "deleted-row", "relinked-row"],
)
def test_verify_names_the_first_bad_record_after_triggers_are_dropped(
    store: Store, tamper: str, bad_seq: int, why: str
) -> None:
    for i in range(5):
        store.append_event("seen", path=f"/show/{i}.png", detail={"origin": "ai-generated"})
    assert store.verify_events() == (5, None)
    store.conn.execute("DROP TRIGGER events_no_update")
    store.conn.execute("DROP TRIGGER events_no_delete")
    store.conn.execute(tamper)
    count, broken = store.verify_events()
    assert broken is not None and broken.seq == bad_seq and why in broken.reason
    assert count == bad_seq - 1


def test_a_failed_record_leaves_no_half_written_rows(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert_file("/show/a.png", "ab" * 32, 1, 1, 1)
        with store.transaction():
            store.append_event("seen", path="/show/a.png")
        raise RuntimeError("crash between writes")
    assert store.file("/show/a.png") is None
    assert store.verify_events() == (0, None)


_WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from provenance.store import Store
s = Store(Path({db!r}))
for i in range({n}):
    with s.transaction():
        s.upsert_file(f"/show/{tag}/{{i}}.exr", "cd" * 32, i, i, i)
        s.append_event("seen", path=f"/show/{tag}/{{i}}.exr")
"""


def test_two_processes_writing_at_once_both_succeed(tmp_path: Path) -> None:
    db = tmp_path / "provgate.db"
    Store(db).close()
    root = str(Path(__file__).resolve().parents[2])
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER.format(root=root, db=str(db), n=200, tag=tag)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("scan", "approve")
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with Store(db) as store:
        count, broken = store.verify_events()
        assert (count, broken) == (400, None)
        assert len(store.files_under("/show")) == 400
