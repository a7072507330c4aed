"""Tag writes in flight: recorded before the rename, resolved by the next open.

Rewriting a file's tag is two steps that no transaction spans: the new bytes take the file's
name (a rename), then the store records them (the link from the old content, the approval
carried to the new). `kill -9` between the two used to leave a file whose trusted "approved"
tag the store knew nothing of, so a later revocation missed it. Now the writer records its
intent (path, old and new content id, what the rewrite carries) and commits it before the
rename; the record of the rewrite removes it. `resolve_pending`, run by every command that
opens the store and by the watcher at start, finishes or drops what a crash left: the file
holds the new bytes (record the rewrite and carry what it carried), the old ones (nothing
happened), or something else (a person changed it since: the next scan records it).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from provenance.config import Config
from provenance.content import content_id
from provenance.history.approvals import Approval, insert_approval, mark_revoked
from provenance.history.attest import EventSigner, with_signature
from provenance.history.recorder import record_rewrite
from provenance.history.status import refresh_status
from provenance.pipeline.classify import read_asset
from provenance.pipeline.walk import stat_of
from provenance.stores import Store


def carry_plan(
    store: Store, old: str, new: str, detail: dict[str, Any]
) -> tuple[Approval | None, dict[str, Any] | None]:
    """What a rewrite of `old` into `new` carries: the approval it wrote into the tag (as
    recorded on `new`), or the revoked approval and the `revoked` event's detail."""
    approved = detail.get("approved")
    revoked = detail.get("revoked")
    for row in store.approval_rows([old]).get(old, []):
        copy = replace(Approval.from_row(row), content_id=new, carried_from=old)
        if approved and row["reference"] == approved and not row["revoked_at"]:
            return copy, None
        if revoked and row["reference"] == revoked["reference"] and row["revoked_at"]:
            return replace(copy, revoked_at=None, revoked_by=None, revoke_reason=None), {
                **revoked,
                "carried_from": old,
            }
    return None, None


def sign_carry(
    signer: EventSigner, store: Store, old: str, new: str, detail: dict[str, Any]
) -> dict[str, Any]:
    """The approval identity's signatures over the events `carry` will record for this
    rewrite, made before the rename (kept with the intent, so a crash needs no key)."""
    approval, revoked = carry_plan(store, old, new, detail)
    signatures = {}
    if approval is not None:
        signatures["approved"] = signer.signature("approved", new, approval.to_json())
    if revoked is not None:
        signatures["revoked"] = signer.signature("revoked", new, revoked)
    return signatures


def carry(store: Store, old: str, new: str, detail: dict[str, Any]) -> None:
    """Record what a rewrite of `old` into `new` carries (inside the caller's transaction),
    with the signatures `sign_carry` made for it (an unsigned carried approval never counts)."""
    approval, revoked = carry_plan(store, old, new, detail)
    signatures = detail.get("signatures") or {}
    if approval is not None:
        insert_approval(store, approval, signatures.get("approved"))
    if approval is not None and revoked is not None:
        mark_revoked(store, new, revoked["reference"], revoked["by"], revoked["reason"])
        store.append_event(
            "revoked",
            content_id=new,
            detail=with_signature(revoked, signatures.get("revoked")),
        )


def resolve_pending(config: Config, store: Store) -> int:
    """Finish or drop the tag writes a crash interrupted at this facility; how many."""
    pending = store.intents()
    for intent in pending:
        path = Path(intent["path"])
        try:
            now = content_id(path)
        except OSError:
            now = None
        with store.transaction():
            if now == intent["new_id"] and store.asset(intent["new_id"]) is None:
                _complete(config, store, intent)
            store.drop_intent(intent["id"])
    return len(pending)


def _complete(config: Config, store: Store, intent: dict[str, Any]) -> None:
    old, new, detail = intent["old_id"], intent["new_id"], intent["detail"]
    path = intent["path"]
    reading = replace(read_asset(Path(path), config), content_id=old)
    asset = store.asset(old) or {}
    record_rewrite(
        store,
        reading,
        new,
        config,
        phash=asset.get("phash"),
        reason=str(detail.get("reason") or "tagged"),
        path=path,
        stat=stat_of(path),
        detail={"status": detail.get("status"), "recovered": True},
    )
    carry(store, old, new, detail)
    refresh_status(store, config, new)
