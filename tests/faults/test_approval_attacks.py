"""Issue 17's attacks on approvals, each tried as a person at a workstation would."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from cli.main import cli
from provenance.stores.chain import DETAIL_JSON, GENESIS, event_hash
from tests.conftest import copy_fixture


@pytest.fixture
def art(runner, ws, tmp_path: Path) -> Path:
    path = copy_fixture("generators/comfyui.png", tmp_path / "show")
    assert runner.invoke(cli, [*ws, "scan", str(path.parent)]).exit_code == 0
    return path


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--ref", " ", "--by", "J"], "reference must not be blank"),
        (["--ref", "S-1", "--by", "  "], "approver must not be blank"),
        (["--ref", "S-1", "--by", "J", "--use", "voice", "--consent", " "], "consent reference"),
        (["--ref", "S-1", "--by", "J", "--expires", "2001-01-01"], "in the past"),
        (["--ref", "S-1", "--by", "J", "--expires", "2099-02-30"], "is not a date"),
        (["--ref", "S-1", "--by", "J", "--expires", "2099-01-01junk"], "is not a date"),
    ],
    ids=["blank-ref", "blank-approver", "blank-consent", "past-expiry", "no-such-day", "junk"],
)
def test_approve_refuses_blank_and_bad_values(runner, ws, art, extra, message):
    result = runner.invoke(cli, [*ws, "approve", str(art), *extra])
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert runner.invoke(cli, [*ws, "check", str(art)]).exit_code == 1


def test_the_library_refuses_blank_approvals_too(workspace, tmp_path):
    from provenance import api
    from provenance.errors import ApprovalError
    from provenance.stores import open_store

    path = copy_fixture("generators/comfyui.png", tmp_path / "lib")
    with open_store(workspace) as store:
        api.scan([path.parent], workspace.config, store, tag=False)
        with pytest.raises(ApprovalError, match="reference must not be blank"):
            api.approve([str(path)], workspace.config, store, reference="\t", by="J")
        with pytest.raises(ApprovalError, match="revoker must not be blank"):
            api.revoke([str(path)], workspace.config, store, reference="S", by=" ", reason="x")


def test_revoke_refuses_a_blank_reason(runner, ws, art):
    assert (
        runner.invoke(cli, [*ws, "approve", str(art), "--ref", "S-1", "--by", "J"]).exit_code == 0
    )
    result = runner.invoke(
        cli, [*ws, "revoke", str(art), "--ref", "S-1", "--by", "J", "--reason", " "]
    )
    assert result.exit_code == 2 and "reason must not be blank" in result.stderr


def test_an_asset_name_that_is_a_file_and_a_content_id_prefix_is_refused(runner, ws, art, tmp_path):
    inspected = json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(art)]).stdout)
    prefix = inspected["content_id"][:16]
    planted = tmp_path / "cwd"
    planted.mkdir()
    copy_fixture("generators/a1111.jpg", planted).rename(planted / prefix)
    here = os.getcwd()
    os.chdir(planted)
    try:
        result = runner.invoke(cli, [*ws, "approve", prefix, "--ref", "S-1", "--by", "J"])
    finally:
        os.chdir(here)
    assert result.exit_code == 2, result.output
    assert "means both the file" in result.stderr and prefix in result.stderr
    assert str(planted / prefix) in result.stderr


# -- the event chain: a row is not enough, and the log is anchored -----------------------------


def _db(ws: list[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(Path(ws[1]) / "provgate.db", isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def row_hash(row: dict) -> str:
    fields = ("prev_hash", "seq", "at", "kind", "content_id", "path", "host", "detail", "facility")
    return event_hash(*(row[f] for f in fields))


def _unlock(conn: sqlite3.Connection) -> None:
    for name in ("events_no_update", "events_no_delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")


def _rehash_from(conn: sqlite3.Connection, seq: int) -> None:
    """What an attacker does after editing or deleting events: renumber and re-hash the rest."""
    rows = [
        dict(r) for r in conn.execute("SELECT * FROM events WHERE seq >= ? ORDER BY seq", (seq,))
    ]
    prev_row = conn.execute("SELECT hash FROM events WHERE seq = ?", (seq - 1,)).fetchone()
    prev = prev_row[0] if prev_row else GENESIS
    conn.execute("DELETE FROM events WHERE seq >= ?", (seq,))
    for number, row in enumerate(rows, start=seq):
        row.update(seq=number, prev_hash=prev)
        row["hash"] = prev = row_hash(row)
        conn.execute(
            f"INSERT INTO events ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )


def _forge_approval(conn: sqlite3.Connection, cid: str, *, with_event: bool) -> None:
    approval = {
        "content_id": cid, "reference": "FORGED-1", "approver": "nobody",
        "approved_at": "2026-01-01T00:00:00.000000Z", "expires": None, "use_category": "temp",
        "consent": "[]", "note": None, "carried_from": None,
    }  # fmt: skip
    conn.execute(
        f"INSERT INTO approvals ({', '.join(approval)}) VALUES ({', '.join('?' * len(approval))})",
        tuple(approval.values()),
    )
    if not with_event:
        return
    last = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    detail = {
        "reference": "FORGED-1", "approver": "nobody", "approved_at": approval["approved_at"],
        "use": "temp", "consent": [], "expires": None, "note": None, "content_id": cid,
        "carried_from": None, "revoked_at": None, "revoked_by": None, "revoke_reason": None,
    }  # fmt: skip
    row = {
        "seq": last[0] + 1, "at": "2026-01-01T00:00:00.000000Z", "kind": "approved",
        "content_id": cid, "path": None, "host": "attacker", "facility": "attacker",
        "detail": DETAIL_JSON.encode(detail), "prev_hash": last[1],
    }  # fmt: skip
    row["hash"] = row_hash(row)
    conn.execute(
        f"INSERT INTO events ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
        tuple(row.values()),
    )


def _cid(runner, ws, path: Path) -> str:
    return json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(path)]).stdout)[
        "content_id"
    ]


def test_an_approvals_row_inserted_with_sqlite3_does_not_pass_the_gate(runner, ws, art):
    with _db(ws) as conn:
        _forge_approval(conn, _cid(runner, ws, art), with_event=False)
    result = runner.invoke(cli, [*ws, "check", str(art)])
    assert result.exit_code == 1, result.output
    assert "approval FORGED-1 does not count: no matching 'approved' event" in result.stdout
    assert (
        json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(art)]).stdout)["status"]
        == "temporary"
    )


def test_a_forged_row_with_a_well_hashed_event_at_the_tail_does_not_pass(runner, ws, art):
    with _db(ws) as conn:
        _forge_approval(conn, _cid(runner, ws, art), with_event=True)
    result = runner.invoke(cli, [*ws, "check", str(art)])
    assert result.exit_code == 1, result.output
    assert "not covered by a signed checkpoint" in result.stdout


def test_clearing_a_revocation_in_the_table_does_not_bring_the_approval_back(
    runner, ws, art, tmp_path
):
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "before.png").write_bytes(art.read_bytes())  # the approved bytes
    approve = [*ws, "approve", str(art), "--ref", "S-1", "--by", "J"]
    assert runner.invoke(cli, approve).exit_code == 0
    (kept / "tagged.png").write_bytes(art.read_bytes())  # the bytes the approval was carried to
    revoke = [*ws, "revoke", str(art), "--ref", "S-1", "--by", "J", "--reason", "withdrawn"]
    assert runner.invoke(cli, revoke).exit_code == 0
    with _db(ws) as conn:
        conn.execute("UPDATE approvals SET revoked_at = NULL, revoked_by = NULL")
    for name in ("before.png", "tagged.png"):
        result = runner.invoke(cli, [*ws, "check", str(kept / name)])
        assert result.exit_code == 1 and "revoked by J: withdrawn" in result.stdout, result.output


@pytest.fixture
def logged(runner, ws, art) -> list[str]:
    """A store whose last events were each written (and checkpointed) on their own."""
    for _ in range(4):
        assert runner.invoke(cli, [*ws, "check", str(art)]).exit_code == 1
    return ws


def _verify(runner, ws) -> tuple[int, dict]:
    result = runner.invoke(cli, [*ws, "log", "verify", "--json"])
    return result.exit_code, json.loads(result.stdout)


def _last_seq(ws) -> int:
    with _db(ws) as conn:
        return conn.execute("SELECT max(seq) FROM events").fetchone()[0]


def test_log_verify_names_the_first_event_of_a_deleted_tail(runner, logged):
    last = _last_seq(logged)
    with _db(logged) as conn:
        _unlock(conn)
        conn.execute("DELETE FROM events WHERE seq > ?", (last - 2,))
        conn.execute(
            "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
            " BEGIN SELECT RAISE(ABORT, 'x'); END"
        )
        conn.execute(
            "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
            " BEGIN SELECT RAISE(ABORT, 'x'); END"
        )
    code, out = _verify(runner, logged)
    assert code == 1 and out["first_bad"]["seq"] == last - 1, out
    assert "tail was deleted" in out["first_bad"]["reason"]
    text = runner.invoke(cli, [*logged, "log", "verify"])
    assert text.exit_code == 1 and f"BROKEN at event {last - 1}" in text.stdout


def test_log_verify_names_an_event_deleted_and_the_rest_re_hashed(runner, logged):
    target = _last_seq(logged) - 2
    with _db(logged) as conn:
        _unlock(conn)
        conn.execute("DELETE FROM events WHERE seq = ?", (target,))
        _rehash_from(conn, target)
    code, out = _verify(runner, logged)
    assert code == 1 and out["first_bad"]["seq"] == target, out
    assert "re-hashed" in out["first_bad"]["reason"]


def test_log_verify_names_an_event_edited_and_the_rest_re_hashed(runner, logged):
    target = _last_seq(logged) - 1
    with _db(logged) as conn:
        _unlock(conn)
        conn.execute("UPDATE events SET detail = '{}' WHERE seq = ?", (target,))
        _rehash_from(conn, target)
    code, out = _verify(runner, logged)
    assert code == 1 and out["first_bad"]["seq"] == target, out


def test_log_verify_reports_dropped_triggers(runner, logged):
    with _db(logged) as conn:
        _unlock(conn)
    code, out = _verify(runner, logged)
    assert code == 1 and "append-only triggers were dropped" in out["first_bad"]["reason"]


def test_a_broken_log_clears_no_approval(runner, ws, art):
    assert (
        runner.invoke(cli, [*ws, "approve", str(art), "--ref", "S-1", "--by", "J"]).exit_code == 0
    )
    assert runner.invoke(cli, [*ws, "check", str(art)]).exit_code == 0
    with _db(ws) as conn:
        _unlock(conn)
        conn.execute("UPDATE events SET host = 'elsewhere' WHERE seq = 2")
    result = runner.invoke(cli, [*ws, "check", str(art)])
    assert result.exit_code == 1 and "the event log does not verify" in result.stdout


# -- two identities: the tagging key on every host cannot mint approvals -----------------------


def _sign_approved_tag(ws_root: Path, path: Path, ref: str, *, approval_key: bool) -> None:
    """What anyone holding a key does: sign an 'approved' provgate tag into a file."""
    from provenance.c2pa.signing import signer_from_config
    from provenance.c2pa.tagging import Tag, write_tag
    from provenance.model import Origin, Status
    from provenance.workspace import open_workspace

    config = open_workspace(ws_root).config
    tag = Tag(Origin.AI_GENERATED, Status.APPROVED, tool="ComfyUI", use="temp", approval_ref=ref,
              approved_by="someone")  # fmt: skip
    write_tag(path, tag, config, signer_from_config(config, approval=approval_key))


def test_a_manifest_approval_signed_with_the_tagging_key_does_not_count(runner, ws, tmp_path):
    path = copy_fixture("generators/comfyui.png", tmp_path / "minted")
    _sign_approved_tag(Path(ws[1]), path, "MINTED-1", approval_key=False)
    result = runner.invoke(cli, [*ws, "check", str(path)])
    assert result.exit_code == 1, result.output
    assert "not trusted for approvals" in result.stdout


def test_a_manifest_approval_counts_only_until_the_store_revokes_its_reference(
    runner, ws, art, tmp_path
):
    path = copy_fixture("generators/a1111.jpg", tmp_path / "elsewhere")
    _sign_approved_tag(Path(ws[1]), path, "S-9", approval_key=True)
    passed = runner.invoke(cli, [*ws, "check", str(path)])
    assert passed.exit_code == 0, passed.output  # the approval identity's manifest counts
    assert (
        runner.invoke(cli, [*ws, "approve", str(art), "--ref", "S-9", "--by", "J"]).exit_code == 0
    )
    revoke = [*ws, "revoke", str(art), "--ref", "S-9", "--by", "J", "--reason", "withdrawn"]
    assert runner.invoke(cli, revoke).exit_code == 0
    result = runner.invoke(cli, [*ws, "check", str(path)])
    assert result.exit_code == 1 and "which the store has revoked" in result.stdout, result.output


# -- approvals bind to the bytes the signer is fed ---------------------------------------------


class _OverwritingSigner:
    """The attack: once provgate starts writing the tag, overwrite part of the file in place
    and set its mtime back."""

    def __init__(self, inner, path: Path) -> None:
        self.inner, self.path, self.description = inner, path, "overwriting"

    def session(self):
        st = os.stat(self.path)
        with open(self.path, "r+b") as fh:
            fh.seek(st.st_size // 2)
            fh.write(b"\x00" * 64)
        os.utime(self.path, ns=(st.st_atime_ns, st.st_mtime_ns))
        return self.inner.session()


def test_bytes_changed_in_place_while_the_approved_tag_is_written_are_refused(workspace, tmp_path):
    from provenance.c2pa.signing import signer_from_config
    from provenance.c2pa.tagging import Tag, write_tag
    from provenance.content import content_id
    from provenance.errors import TagWriteError
    from provenance.model import Origin, Status

    path = copy_fixture("generators/comfyui.png", tmp_path / "race")
    approved = content_id(path)
    tag = Tag(Origin.AI_GENERATED, Status.APPROVED, approval_ref="S-1", approved_by="J",
              approved_content_id=approved)  # fmt: skip
    signer = _OverwritingSigner(signer_from_config(workspace.config, approval=True), path)
    with pytest.raises(TagWriteError, match="changed while tagging"):
        write_tag(path, tag, workspace.config, signer)
    assert content_id(path) != approved  # the attacker's bytes, left as they are: not signed
    assert b"approval_ref" not in path.read_bytes()
