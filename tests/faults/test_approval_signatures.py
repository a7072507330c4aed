"""Approvals signed by the approval identity: the log key (on every host that writes the store)
cannot mint one, whether the attacker uses sqlite3 or provgate's own store code."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from cli.main import cli
from provenance import api
from provenance.c2pa.identity import APPROVAL_NAME
from provenance.history.approvals import Approval, approvals_of
from provenance.history.attest import EventSigner, with_signature
from provenance.stores import now_iso, open_store
from provenance.stores.anchor import checkpoint_body
from provenance.stores.chain import DETAIL_JSON, event_hash
from provenance.workspace import CONFIG_NAME, open_workspace
from tests.conftest import copy_fixture

NOT_SIGNED = "is not signed by an identity trusted for approvals"


@pytest.fixture
def art(runner, ws, tmp_path: Path) -> Path:
    path = copy_fixture("generators/comfyui.png", tmp_path / "show")
    assert runner.invoke(cli, [*ws, "scan", "--no-tag", str(path.parent)]).exit_code == 0
    return path


def _cid(runner, ws, path: Path) -> str:
    out = runner.invoke(cli, [*ws, "inspect", "--json", str(path)])
    return json.loads(out.stdout)["content_id"]


def _verify(runner, ws) -> tuple[int, dict]:
    result = runner.invoke(cli, [*ws, "log", "verify", "--json"])
    return result.exit_code, json.loads(result.stdout)


def _approval(cid: str, ref: str = "FORGED-1", **changes) -> Approval:
    base = Approval(cid, ref, "nobody", now_iso(), "temp")
    return replace(base, **changes)


# -- the attack with sqlite3 and the log key ---------------------------------------------------


def _forge_with_sqlite3(root: Path, cid: str, signer: EventSigner | None = None) -> int:
    """An approvals row, its well-hashed `approved` event at the tail and a checkpoint over
    it signed with keys/log-key.pem: all sqlite3 and the log key can do (`signer`: and a
    signature by some other identity). The seq forged."""
    approval = _approval(cid)
    signature = signer.signature("approved", cid, approval.to_json()) if signer else None
    key = serialization.load_pem_private_key((root / "keys/log-key.pem").read_bytes(), None)
    conn = sqlite3.connect(root / "provgate.db", isolation_level=None)
    with conn:
        conn.execute(
            "INSERT INTO approvals (content_id, reference, approver, approved_at, use_category,"
            " consent) VALUES (?,?,?,?,?,'[]')",
            (cid, approval.reference, approval.approver, approval.approved_at, "temp"),
        )
        seq, prev = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC").fetchone()
        seq += 1
        detail = DETAIL_JSON.encode(with_signature(approval.to_json(), signature))
        facility = conn.execute("SELECT facility FROM events LIMIT 1").fetchone()[0]
        at = now_iso()
        digest = event_hash(prev, seq, at, "approved", cid, None, "attacker", detail, facility)
        conn.execute(
            "INSERT INTO events (seq, at, kind, content_id, path, host, facility, detail,"
            " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (seq, at, "approved", cid, None, "attacker", facility, detail, prev, digest),
        )
        from provenance.stores.anchor import key_id

        signed = key.sign(checkpoint_body(facility, seq, digest, at)).hex()  # type: ignore[union-attr]
        conn.execute(
            "INSERT INTO checkpoints (facility, seq, hash, at, key_id, signature)"
            " VALUES (?,?,?,?,?,?)",
            (facility, seq, digest, at, key_id(key.public_key()), signed),  # type: ignore[arg-type]
        )
    conn.close()
    return seq


def test_row_event_and_checkpoint_forged_with_the_log_key_do_not_pass(runner, ws, art):
    seq = _forge_with_sqlite3(Path(ws[1]), _cid(runner, ws, art))
    result = runner.invoke(cli, [*ws, "check", str(art)])
    assert result.exit_code == 1, result.output
    assert f"approval FORGED-1 does not count: its event {seq} {NOT_SIGNED}" in result.stdout
    code, out = _verify(runner, ws)
    assert code == 1 and out["first_bad"] is None, out  # the chain itself is intact
    assert [u["seq"] for u in out["unsigned_approvals"]] == [seq]
    text = runner.invoke(cli, [*ws, "log", "verify"])
    assert text.exit_code == 1 and f"UNSIGNED event {seq}: approval FORGED-1" in text.stdout


def test_a_signature_made_with_the_tagging_key_does_not_make_it_count(runner, ws, art):
    """The tagging key is on every watcher host too: its signature is not an approval's."""
    config = open_workspace(Path(ws[1])).config
    from provenance.c2pa.signing import signer_from_config

    cid = _cid(runner, ws, art)
    farm = EventSigner(signer_from_config(config))  # the tagging identity
    seq = _forge_with_sqlite3(Path(ws[1]), cid, farm)
    result = runner.invoke(cli, [*ws, "check", str(art)])
    assert result.exit_code == 1 and "does not count" in result.stdout, result.output
    assert _verify(runner, ws)[1]["unsigned_approvals"][0]["seq"] == seq


def test_a_genuine_signature_copied_onto_other_bytes_does_not_count(runner, ws, art, tmp_path):
    """An approval identity's signature binds the content id: replayed onto another file's
    content (same reference, approver, time) it does not verify."""
    other = copy_fixture("generators/a1111.jpg", tmp_path / "other")
    assert runner.invoke(cli, [*ws, "scan", "--no-tag", str(other.parent)]).exit_code == 0
    approve = [*ws, "approve", str(art), "--ref", "S-1", "--by", "J"]
    assert runner.invoke(cli, approve).exit_code == 0
    root = Path(ws[1])
    conn = sqlite3.connect(root / "provgate.db")
    detail = json.loads(
        conn.execute("SELECT detail FROM events WHERE kind = 'approved'").fetchone()[0]
    )
    conn.close()
    target = _cid(runner, ws, other)
    with open_store(open_workspace(root)) as store, store.transaction():  # the log key signs
        row = {**detail, "content_id": target, "use_category": detail["use"], "consent": "[]"}
        store.insert_approval(row)
        store.append_event("approved", content_id=target, detail={**detail, "content_id": target})
    result = runner.invoke(cli, [*ws, "check", str(other)])
    assert result.exit_code == 1 and NOT_SIGNED in result.stdout, result.output
    assert runner.invoke(cli, [*ws, "log", "verify"]).exit_code == 1


def test_a_row_edited_after_signing_no_longer_matches_its_signed_event(runner, ws, art):
    approve = [*ws, "approve", str(art), "--ref", "S-1", "--by", "J", "--expires", "2099-01-01"]
    assert runner.invoke(cli, approve).exit_code == 0
    conn = sqlite3.connect(Path(ws[1]) / "provgate.db", isolation_level=None)
    conn.execute("UPDATE approvals SET use_category = 'final', expires = NULL")
    conn.close()
    result = runner.invoke(cli, [*ws, "check", str(art)])
    assert result.exit_code == 1 and "no matching 'approved' event" in result.stdout


def test_the_legitimate_path_with_the_approval_key_passes(runner, ws, art):
    approve = [*ws, "approve", str(art), "--ref", "S-1", "--by", "J"]
    assert runner.invoke(cli, approve).exit_code == 0
    result = runner.invoke(cli, [*ws, "check", str(art)])
    assert result.exit_code == 0, result.output
    code, out = _verify(runner, ws)
    assert code == 0 and out["ok"] and out["unsigned_approvals"] == [] and out["notes"] == []
    inspected = json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(art)]).stdout)
    assert [a["signed_by"] for a in inspected["approvals"]] == [APPROVAL_NAME]


def test_a_host_without_the_approval_identity_cannot_approve(runner, ws, art):
    root = Path(ws[1])
    _drop_approval_signer(root)
    result = runner.invoke(cli, [*ws, "approve", str(art), "--ref", "S-1", "--by", "J"])
    assert result.exit_code == 2 and "approval-key.pem: signing key unreadable" in result.stderr
    conn = sqlite3.connect(root / "provgate.db")
    assert conn.execute("SELECT count(*) FROM approvals").fetchone()[0] == 0
    conn.close()


def _drop_approval_signer(root: Path) -> None:
    """A farm host's workspace: no approval key (trust.approval_signers stays)."""
    (root / "keys/approval-key.pem").unlink()


# -- the external signer command ---------------------------------------------------------------

SIGNER_SCRIPT = """
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
if sys.argv[2:] == ["fail"]:
    sys.exit("token not inserted")
der = key.sign(sys.stdin.buffer.read(), ec.ECDSA(hashes.SHA256()))
r, s = utils.decode_dss_signature(der)
sys.stdout.buffer.write(r.to_bytes(32, "big") + s.to_bytes(32, "big"))  # raw, as HSMs give
"""


def _use_command_signer(root: Path, tmp_path: Path, *extra: str) -> None:
    """[approval_signer] signs through a command holding a key kept outside the workspace."""
    vault = tmp_path / "vault"
    vault.mkdir(exist_ok=True)
    key = vault / "approval-key.pem"
    if not key.exists():
        shutil.move(root / "keys/approval-key.pem", key)
    script = vault / "sign.py"
    script.write_text(SIGNER_SCRIPT, "utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    config = root / CONFIG_NAME
    text = config.read_text("utf-8")
    start = text.index("[approval_signer]")
    end = text.index("\n[", start + 1)
    command = json.dumps([sys.executable, str(script), str(key), *extra])
    section = f'[approval_signer]\ncert_chain = "keys/approval-chain.pem"\ncommand = {command}\n'
    config.write_text(text[:start] + section + text[end:], "utf-8")


def test_approvals_signed_through_the_external_command_count(runner, ws, art, tmp_path):
    root = Path(ws[1])
    _use_command_signer(root, tmp_path)
    assert not (root / "keys/approval-key.pem").exists()
    approve = [*ws, "approve", str(art), "--ref", "S-1", "--by", "J"]
    result = runner.invoke(cli, approve)
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, [*ws, "check", str(art)]).exit_code == 0
    assert _verify(runner, ws)[0] == 0
    # and the log key, which this host has, still cannot add one
    seq = _forge_with_sqlite3(root, _cid(runner, ws, art))
    assert _verify(runner, ws)[1]["unsigned_approvals"][0]["seq"] == seq


def test_a_failing_signer_command_records_no_approval(runner, ws, art, tmp_path):
    root = Path(ws[1])
    _use_command_signer(root, tmp_path, "fail")
    result = runner.invoke(cli, [*ws, "approve", str(art), "--ref", "S-1", "--by", "J"])
    assert result.exit_code != 0 and "token not inserted" in result.stderr, result.output
    assert runner.invoke(cli, [*ws, "check", str(art)]).exit_code == 1
    conn = sqlite3.connect(root / "provgate.db")
    assert conn.execute("SELECT count(*) FROM approvals").fetchone()[0] == 0
    conn.close()


def test_a_revocation_goes_through_when_the_signer_command_fails(runner, ws, art, tmp_path):
    root = Path(ws[1])
    _use_command_signer(root, tmp_path)
    assert (
        runner.invoke(cli, [*ws, "approve", str(art), "--ref", "S-1", "--by", "J"]).exit_code == 0
    )
    _use_command_signer(root, tmp_path, "fail")  # the token is pulled
    revoke = [*ws, "revoke", str(art), "--ref", "S-1", "--by", "J", "--reason", "withdrawn"]
    result = runner.invoke(cli, revoke)
    assert result.exit_code == 0 and "not signed" in result.stdout, result.output
    check = runner.invoke(cli, [*ws, "check", str(art)])
    assert check.exit_code == 1 and "revoked by J: withdrawn" in check.stdout


# -- carried approvals -------------------------------------------------------------------------


def test_a_carry_forged_with_the_log_key_onto_other_bytes_does_not_pass(runner, ws, art, tmp_path):
    """The rewrite link and a carried row are what the log key can write; the approval
    identity's signature over the new content id is not."""
    other = copy_fixture("generators/a1111.jpg", tmp_path / "other")
    assert runner.invoke(cli, [*ws, "scan", "--no-tag", str(other.parent)]).exit_code == 0
    approve = [*ws, "approve", str(art), "--ref", "S-1", "--by", "J"]
    assert runner.invoke(cli, approve).exit_code == 0
    assert runner.invoke(cli, [*ws, "check", str(art)]).exit_code == 0  # carried, and signed
    source, target = _cid(runner, ws, art), _cid(runner, ws, other)
    with open_store(open_workspace(Path(ws[1]))) as store, store.transaction():
        row = store.approval_rows([source])[source][0]
        carried = replace(Approval.from_row(row), content_id=target, carried_from=source)
        from provenance.history.approvals import insert_approval

        insert_approval(store, carried, None)
    result = runner.invoke(cli, [*ws, "check", str(other)])
    assert result.exit_code == 1 and NOT_SIGNED in result.stdout, result.output


# -- revocations: signed when the revoker can, counted always ----------------------------------


def test_an_unsigned_revocation_still_blocks_and_log_verify_notes_it(runner, ws, art):
    root = Path(ws[1])
    assert (
        runner.invoke(cli, [*ws, "approve", str(art), "--ref", "S-1", "--by", "J"]).exit_code == 0
    )
    _drop_approval_signer(root)  # a farm host revokes: it cannot sign
    revoke = [*ws, "revoke", str(art), "--ref", "S-1", "--by", "ops", "--reason", "leak"]
    result = runner.invoke(cli, revoke)
    assert result.exit_code == 0, result.output
    assert "not signed" in result.stdout
    check = runner.invoke(cli, [*ws, "check", str(art)])
    assert check.exit_code == 1 and "revoked by ops: leak" in check.stdout
    code, out = _verify(runner, ws)
    assert code == 0 and out["unsigned_approvals"] == [], out
    assert out["notes"] and all("revocation" in n["reason"] or "revoked since" in n["reason"]
                                for n in out["notes"])  # fmt: skip


# -- stores from before approvals were signed --------------------------------------------------


def _old_style_approval(root: Path, cid: str, ref: str) -> None:
    """What provgate wrote before this change: row + unsigned event, checkpointed."""
    with open_store(open_workspace(root)) as store, store.transaction():
        approval = _approval(cid, ref, approver="J")
        store.insert_approval(
            {**approval.to_json(), "use_category": "temp", "consent": "[]", "content_id": cid}
        )
        store.append_event("approved", content_id=cid, detail=approval.to_json())


def _listed_status(runner, ws) -> str:
    (row,) = json.loads(runner.invoke(cli, [*ws, "ls", "--json"]).stdout)
    return str(row["status"])


def test_old_unsigned_approvals_are_named_and_resigned_by_the_approval_identity(
    runner, ws, art, tmp_path
):
    root = Path(ws[1])
    cid = _cid(runner, ws, art)
    _old_style_approval(root, cid, "OLD-1")
    conn = sqlite3.connect(root / "provgate.db", isolation_level=None)
    conn.execute("UPDATE assets SET status = 'approved'")  # what the old code cached
    conn.execute("PRAGMA user_version = 5")  # the schema before signed approvals
    conn.close()
    assert _listed_status(runner, ws) == "temporary"  # migration 6 drops the stale cache
    check = runner.invoke(cli, [*ws, "check", str(art)])
    assert check.exit_code == 1 and "log resign" in check.stdout, check.output
    assert _verify(runner, ws)[0] == 1
    listed = runner.invoke(cli, [*ws, "log", "resign"])
    assert listed.exit_code == 0 and "OLD-1 by J" in listed.stdout and "--yes" in listed.stdout
    assert runner.invoke(cli, [*ws, "check", str(art)]).exit_code == 1  # listing signs nothing
    # without the approval identity it cannot be done
    kept = tmp_path / "approval-key.pem"
    shutil.copy(root / "keys/approval-key.pem", kept)
    _drop_approval_signer(root)
    refused = runner.invoke(cli, [*ws, "log", "resign", "--yes"])
    assert refused.exit_code == 2 and "approval-key.pem" in refused.stderr, refused.output
    shutil.copy(kept, root / "keys/approval-key.pem")
    signed = runner.invoke(cli, [*ws, "log", "resign", "--yes"])
    assert signed.exit_code == 0 and "signed" in signed.stdout, signed.output
    assert runner.invoke(cli, [*ws, "check", str(art)]).exit_code == 0
    assert _listed_status(runner, ws) == "approved"
    code, out = _verify(runner, ws)
    assert code == 0 and out["unsigned_approvals"] == [], out
    assert "every approval in force is signed" in runner.invoke(cli, [*ws, "log", "resign"]).stdout


def test_resign_leaves_a_revoked_old_approval_revoked(runner, ws, art):
    root = Path(ws[1])
    cid = _cid(runner, ws, art)
    _old_style_approval(root, cid, "OLD-2")
    revoke = [*ws, "revoke", str(art), "--ref", "OLD-2", "--by", "J", "--reason", "withdrawn"]
    assert runner.invoke(cli, revoke).exit_code == 0
    assert "every approval in force" in runner.invoke(cli, [*ws, "log", "resign", "--yes"]).stdout
    assert runner.invoke(cli, [*ws, "check", str(art)]).exit_code == 1
    code, out = _verify(runner, ws)
    assert code == 0 and any("revoked since" in n["reason"] for n in out["notes"]), out


# -- both backends: the attacker uses provgate's own store code with the log key ---------------


def test_the_log_key_cannot_mint_an_approval_on_either_backend(backend_workspace, tmp_path):
    config = backend_workspace.config
    art = copy_fixture("generators/comfyui.png", tmp_path / "show")
    with open_store(backend_workspace) as store:
        api.scan([art.parent], config, store, tag=False)
        cid = store.file(str(art)).content_id
        _forged = _approval(cid)
        with store.transaction():  # row + well-hashed event; the commit signs a checkpoint
            store.insert_approval({**_forged.to_json(), "use_category": "temp", "consent": "[]"})
            store.append_event("approved", content_id=cid, detail=_forged.to_json())
        from provenance.gate.decision import DeliveryGate

        report = DeliveryGate(config, store).check([str(art)])
        assert report.verdict == "blocked"
        count, broken, audit = api.verify_log(store, config)
        assert (
            broken is None and [r for _, r in audit.unsigned] and "FORGED-1" in audit.unsigned[0][1]
        )
        assert api.unsigned_approvals(store, config)[0].reference == "FORGED-1"
        # the approval identity's path on the same backend
        api.approve([str(art)], config, store, reference="S-1", by="J")
        statuses = {a.reference: a.unattested for a in approvals_of(store, [cid], config)[cid]}
        assert statuses["S-1"] is None and NOT_SIGNED in str(statuses["FORGED-1"])
