"""The store on both backends: migrations, the event chain, facilities, concurrent writers.

Every test taking `backend` runs on a real SQLite file and on a real PostgreSQL database
(skipped, with the reason, when PROVGATE_TEST_PG is not set).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.errors import ConfigError, StoreError
from provenance.stores import MIGRATIONS, Store, TransientStoreError
from provenance.stores.chain import GENESIS, event_hash
from provenance.stores.copy import copy_store
from tests.backends import location_of

ROOT = str(Path(__file__).resolve().parents[2])


def drop_append_only_triggers(store: Store) -> None:
    """What someone with write access to the database could do: remove the guard rails."""
    on = " ON events" if store.dialect == "postgresql" else ""
    for name in ("events_no_update", "events_no_delete"):
        store.execute(f"DROP TRIGGER {name}{on}")


def test_migrates_a_new_store_and_reopens_it(backend) -> None:
    with Store(backend) as store:
        assert store._schema_version() == len(MIGRATIONS)
        store.append_event("seen", content_id="ab" * 32, path="/show/a.png")
    with Store(backend) as store:
        assert store._schema_version() == len(MIGRATIONS)
        assert store.verify_events() == (1, None)


def test_sqlite_store_is_a_wal_file(tmp_path: Path) -> None:
    with Store(tmp_path / "provgate.db") as store:
        assert store.dialect == "sqlite"
        assert store.one("PRAGMA journal_mode")[0] == "wal"


def test_refuses_a_store_from_a_newer_provgate(backend) -> None:
    with Store(backend) as store, store.transaction():
        store._set_schema_version(99)
    with pytest.raises(StoreError, match="newer than this provgate"):
        Store(backend)


def test_rows_answer_by_name_and_by_position(backend) -> None:
    with Store(backend) as store:
        store.upsert_file("/show/a.png", "ab" * 32, 10, 20, 30)
        row = store.one("SELECT path, size FROM files WHERE path = ?", ("/show/a.png",))
        assert row["path"] == row[0] == "/show/a.png"
        assert row["size"] == row[1] == 10
        assert dict(row) == {"path": "/show/a.png", "size": 10}
        assert store.one("SELECT path FROM files WHERE path = ?", ("/nowhere",)) is None


def test_driver_errors_become_store_errors(backend) -> None:
    with Store(backend) as store:
        with pytest.raises(StoreError, match="no_such_table|does not exist"):
            store.query("SELECT * FROM no_such_table")
        with pytest.raises(StoreError), store.transaction():
            store.execute("INSERT INTO no_such_table VALUES (1)")
        store.append_event("seen", path="/a")  # the store is still usable
        assert store.verify_events() == (1, None)


def test_events_cannot_be_updated_or_deleted(backend) -> None:
    with Store(backend) as store:
        store.append_event("seen", path="/a")
        with pytest.raises(StoreError, match="append-only"):
            store.execute("UPDATE events SET kind = 'approved'")
        with pytest.raises(StoreError, match="append-only"):
            store.execute("DELETE FROM events")
        assert store.verify_events() == (1, None)


@pytest.mark.parametrize(
    "tamper, bad_seq, why",
    [
        ('UPDATE events SET detail = \'{"origin":"non-ai"}\' WHERE seq = 3', 3, "edited"),
        ("DELETE FROM events WHERE seq = 2", 2, "missing"),
        ("UPDATE events SET prev_hash = hash WHERE seq = 4", 4, "previous-hash"),
        ("UPDATE events SET facility = 'elsewhere' WHERE seq = 3", 3, "edited"),
        ("UPDATE events SET facility = NULL WHERE seq = 2", 2, "edited"),
    ],
    ids=["edited-row", "deleted-row", "relinked-row", "moved-facility", "cleared-facility"],
)
def test_verify_names_the_first_bad_record_after_triggers_are_dropped(
    backend, tamper: str, bad_seq: int, why: str
) -> None:
    with Store(backend) as store:
        for i in range(5):
            store.append_event("seen", path=f"/show/{i}.png", detail={"origin": "ai-generated"})
        assert store.verify_events() == (5, None)
        drop_append_only_triggers(store)
        store.execute(tamper)
        count, broken = store.verify_events()
        assert broken is not None and broken.seq == bad_seq and why in broken.reason
        assert count == bad_seq - 1


def test_a_failed_record_leaves_no_half_written_rows(backend) -> None:
    with Store(backend) as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.upsert_file("/show/a.png", "ab" * 32, 1, 1, 1)
            with store.savepoint():
                store.append_event("seen", path="/show/a.png")
            raise RuntimeError("crash between writes")
        assert store.file("/show/a.png") is None
        assert store.verify_events() == (0, None)


def test_a_savepoint_undoes_only_its_own_part(backend) -> None:
    with Store(backend) as store:
        with store.transaction():
            store.append_event("seen", path="/show/kept.png")
            with pytest.raises(StoreError), store.savepoint():
                store.append_event("seen", path="/show/lost.png")
                store.execute("INSERT INTO no_such_table VALUES (1)")
            store.append_event("seen", path="/show/after.png")
        events = store.query("SELECT seq, path FROM events ORDER BY seq")
        assert [tuple(r) for r in events] == [(1, "/show/kept.png"), (2, "/show/after.png")]
        assert store.verify_events() == (2, None)


def test_work_that_loses_a_race_is_retried_inside_the_store(backend) -> None:
    with Store(backend) as store:
        tries = []

        def work() -> int:
            tries.append(1)
            store.append_event("seen", path=f"/show/{len(tries)}.png")
            if len(tries) < 3:
                raise TransientStoreError("could not serialize access (simulated)")
            return len(tries)

        assert store.atomic(work) == 3
        assert [r[0] for r in store.query("SELECT path FROM events")] == ["/show/3.png"]
        assert store.verify_events() == (1, None)


def test_paths_compare_bytewise_on_every_backend(backend) -> None:
    paths = ["/show/a", "/show/a/x.exr", "/show/a/ü.exr", "/show/a-b/y.exr", "/show/a0", "/show/ab"]
    with Store(backend) as store:
        for i, path in enumerate(paths):
            store.upsert_file(path, f"{i:064x}", 1, 1, i)
        assert sorted(store.files_under("/show/a")) == ["/show/a", "/show/a/x.exr", "/show/a/ü.exr"]
        ordered = [r[0] for r in store.query("SELECT path FROM files ORDER BY path")]
        assert ordered == sorted(paths, key=lambda p: p.encode())


def test_the_same_path_at_two_facilities_is_two_places(backend) -> None:
    cid_a, cid_b = "aa" * 32, "bb" * 32
    with (
        Store(backend, facility="vendor-a") as a,
        Store(backend, facility="vendor-b") as b,
    ):
        a.upsert_file("/mnt/show/sh010/plate.exr", cid_a, 1, 1, 1)
        b.upsert_file("/mnt/show/sh010/plate.exr", cid_b, 2, 2, 2)
        a.append_event("seen", content_id=cid_a, path="/mnt/show/sh010/plate.exr")
        b.append_event("seen", content_id=cid_b, path="/mnt/show/sh010/plate.exr")
        b.append_event("error", path="/mnt/show/sh010/plate.exr", detail={"reason": "x"})
        assert a.file("/mnt/show/sh010/plate.exr").content_id == cid_a
        assert b.file("/mnt/show/sh010/plate.exr").content_id == cid_b
        assert list(a.files_under("/mnt/show")) == ["/mnt/show/sh010/plate.exr"]
        a.mark_gone("/mnt/show/sh010/plate.exr")
        assert not b.file("/mnt/show/sh010/plate.exr").gone
        everywhere = a.files_with_content(cid_b, everywhere=True)
        assert [(f.facility, f.path) for f in everywhere] == [
            ("vendor-b", "/mnt/show/sh010/plate.exr")
        ]
        assert a.files_with_content(cid_b) == []
        history = a.events_for([cid_a], [("vendor-a", "/mnt/show/sh010/plate.exr")])
        assert [(e["facility"], e["kind"]) for e in history] == [("vendor-a", "seen")]
        assert a.facilities() == ["vendor-a", "vendor-b"]
        assert a.verify_events() == (3, None)


def test_a_connection_the_server_dropped_is_opened_again(backend) -> None:
    if isinstance(backend, Path):
        pytest.skip("a SQLite file has no server to drop the connection")
    with Store(backend) as store:
        store.append_event("seen", path="/show/a.png")
        pid = store.one("SELECT pg_backend_pid()")[0]
        with Store(backend) as admin:
            admin.query("SELECT pg_terminate_backend(?)", (pid,))
        with pytest.raises(StoreError):
            store.query("SELECT 1")  # the statement that met the drop fails, clearly
        store.append_event("seen", path="/show/b.png")
        assert store.verify_events() == (2, None)


def test_a_store_url_with_a_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(StoreError, match="PGPASSWORD") as err:
        Store("postgresql://provgate:s3cret@db.example:5432/show")
    assert "s3cret" not in str(err.value)
    with pytest.raises(StoreError, match="password"):
        Store("postgresql://provgate@db.example/show?password=s3cret")


def test_provgate_toml_may_not_hold_a_store_password(tmp_path: Path) -> None:
    from tests.backends import workspace_on

    with pytest.raises(ConfigError, match="PGPASSWORD"):
        workspace_on(tmp_path / "ws", "postgresql://provgate:s3cret@db.example/show")


def test_an_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot open store"):
        Store("postgresql://provgate@127.0.0.1:1/show?connect_timeout=2")


def test_a_store_from_before_facilities_is_migrated_and_still_verifies(tmp_path: Path) -> None:
    path = tmp_path / "provgate.db"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:2]:
        for statement in migration.statements("sqlite"):
            conn.execute(statement)
    at, detail = "2026-01-01T00:00:00.000000Z", "{}"
    digest = event_hash(GENESIS, 1, at, "seen", "ab" * 32, "/show/a.png", "old-host", detail)
    conn.execute(
        "INSERT INTO events VALUES (1, ?, 'seen', ?, '/show/a.png', 'old-host', ?, ?, ?)",
        (at, "ab" * 32, detail, GENESIS, digest),
    )
    conn.execute(
        "INSERT INTO files VALUES ('/show/a.png', ?, 1, 1, 1, ?, ?, 0)", ("ab" * 32, at, at)
    )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with Store(path, facility="office") as store:
        assert store._schema_version() == len(MIGRATIONS)
        assert store.file("/show/a.png").facility == "office"
        store.append_event("seen", content_id="cd" * 32, path="/show/b.png")
        assert store.verify_events() == (2, None)
        events = store.events_for(["ab" * 32], [("office", "/show/a.png")])
        assert [(e["seq"], e["facility"], e["host"]) for e in events] == [(1, None, "old-host")]


_WRITER = """
import sys
sys.path.insert(0, {root!r})
from provenance.stores import Store
s = Store({location!r}, facility={tag!r})
for i in range({n}):
    with s.transaction():
        s.upsert_file(f"/show/{tag}/{{i}}.exr", "cd" * 32, i, i, i)
        s.append_event("seen", path=f"/show/{tag}/{{i}}.exr")
"""


def test_four_processes_writing_at_once_all_succeed(backend) -> None:
    Store(backend).close()
    location = str(backend)
    tags = ("scan", "watch-a", "watch-b", "approve")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER.format(root=ROOT, location=location, n=200, tag=tag)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in tags
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with Store(backend, facility="scan") as store:
        count, broken = store.verify_events()
        assert (count, broken) == (800, None)
        assert len(store.files_under("/show")) == 200
        assert store.one("SELECT count(*) FROM files")[0] == 800
        per_writer = store.query("SELECT facility, count(*) FROM events GROUP BY facility")
        assert sorted(tuple(r) for r in per_writer) == sorted((t, 200) for t in tags)


# -- signed checkpoints (issue 17), on both backends ------------------------------------------


def _keyed(backend, tmp_path: Path) -> Store:
    from provenance.stores.anchor import create_log_key, load_log_keys

    keys = tmp_path / "log-keys"
    keys.mkdir(exist_ok=True)
    create_log_key(keys)
    return Store(backend, log_keys=load_log_keys(keys))


def _five_transactions(store: Store) -> None:
    for i in range(5):
        store.append_event("seen", path=f"/show/{i}.png", detail={"origin": "ai-generated"})


def _rehash_from(store: Store, seq: int) -> None:
    from provenance.stores.chain import row_hash

    rows = [
        dict(r) for r in store.query("SELECT * FROM events WHERE seq >= ? ORDER BY seq", (seq,))
    ]
    prev = store.one("SELECT hash FROM events WHERE seq = ?", (seq - 1,))[0]
    store.execute("DELETE FROM events WHERE seq >= ?", (seq,))
    for number, row in enumerate(rows, start=seq):
        row.update(seq=number, prev_hash=prev)
        row["hash"] = prev = row_hash(row)
        cols = list(row)
        store.execute(
            f"INSERT INTO events ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [row[c] for c in cols],
        )


def test_every_commit_that_appends_is_checkpointed_and_verifies(backend, tmp_path) -> None:
    with _keyed(backend, tmp_path) as store:
        _five_transactions(store)
        assert store.verify_events() == (5, None)
        assert store.anchoring()["anchored"] == 5
        state = store.chain_state()
        assert (state.head, state.anchored, state.broken) == (5, 5, None)
        with pytest.raises(StoreError, match="append-only"):
            store.execute("DELETE FROM checkpoints")


@pytest.mark.parametrize(
    "tamper, bad_seq, why",
    [
        ("tail", 4, "tail was deleted"),
        ("rewrite", 3, "re-hashed"),
        ("delete-rehash", 2, "re-hashed"),
    ],
    ids=["truncated-tail", "edited-and-rehashed", "deleted-and-rehashed"],
)
def test_checkpoints_name_the_first_event_lost_or_changed(
    backend, tmp_path, tamper: str, bad_seq: int, why: str
) -> None:
    with _keyed(backend, tmp_path) as store:
        _five_transactions(store)
        drop_append_only_triggers(store)
        if tamper == "tail":
            store.execute("DELETE FROM events WHERE seq >= 4")
        elif tamper == "rewrite":
            store.execute("UPDATE events SET path = '/elsewhere' WHERE seq = 3")
            _rehash_from(store, 3)
        else:
            store.execute("DELETE FROM events WHERE seq = 2")
            _rehash_from(store, 2)
        # the hashes agree with each other: only the signed checkpoints can tell
        count, broken = store.verify_events()
        assert broken is not None and broken.seq == bad_seq and why in broken.reason, broken
        assert store.chain_state().broken is not None


def test_dropped_triggers_are_reported_on_their_own(backend, tmp_path) -> None:
    with _keyed(backend, tmp_path) as store:
        _five_transactions(store)
        drop_append_only_triggers(store)
        count, broken = store.verify_events()
        assert count == 5 and broken is not None and broken.seq is None
        assert "append-only triggers were dropped" in broken.reason


def test_the_gate_re_verifies_from_its_last_verified_head(backend, tmp_path) -> None:
    with _keyed(backend, tmp_path) as store:
        _five_transactions(store)
        assert store.chain_state().broken is None
    with _keyed(backend, tmp_path) as store:  # a new process: the MAC'd head is read back
        assert store._stored_verified_head()[0] == 5
        store.append_event("checked", path="/deliveries/r1")
        assert store.chain_state().anchored == 6
        drop_append_only_triggers(store)
        store.execute("UPDATE events SET host = 'elsewhere' WHERE seq = 6")
    with _keyed(backend, tmp_path) as store:
        # below the verified head only the events relied on are hashed again (and the
        # dropped triggers are reported): the edited one no longer matches its hash
        assert "triggers were dropped" in store.chain_state().broken.reason
        edited = dict(store.one("SELECT * FROM events WHERE seq = 6"))
        assert not store.event_is_sound(edited)
        assert store.event_is_sound(dict(store.one("SELECT * FROM events WHERE seq = 5")))


# Names the OS allows but that are not UTF-8 (a lone surrogate per undecodable byte, PEP 383),
# beside a literal U+FFFD (the stored form's own mark) and what looks like its escape.
ODD_NAMES = [
    os.fsdecode(b"/show/odd/plate_\xff\xfe.exr"),
    "/show/odd/plate_\ufffd.exr",
    "/show/odd/plate_\ufffdff.exr",
    os.fsdecode(b"/show/odd/\xc3(\x1b[31m.exr"),
]


def test_names_that_are_not_utf8_round_trip_on_every_backend(backend, tmp_path) -> None:
    with Store(backend) as store:
        for i, path in enumerate(ODD_NAMES):
            store.upsert_file(path, f"{i:064x}", 1, 1, i)
            store.append_event("seen", content_id=f"{i:064x}", path=path)
        assert sorted(store.files_under("/show/odd")) == sorted(ODD_NAMES)
        back = [r["path"] for r in store.query("SELECT path FROM events ORDER BY seq")]
        assert back == ODD_NAMES
        assert [os.fsencode(p) for p in back] == [os.fsencode(p) for p in ODD_NAMES]
        one = store.one("SELECT content_id FROM files WHERE path = ?", (ODD_NAMES[0],))
        assert one is not None and one[0] == f"{0:064x}"
        assert store.verify_events() == (len(ODD_NAMES), None)
    # a copy into another store (what `store migrate` does) keeps every name and its chain
    with location_of("sqlite", tmp_path / "copy") as target_location:
        (tmp_path / "copy").mkdir()
        with Store(backend) as source, Store(target_location) as target:
            copy_store(source, target)
            assert sorted(target.files_under("/show/odd")) == sorted(ODD_NAMES)
            assert target.verify_events() == (len(ODD_NAMES), None)
