"""Written approvals: bound to one content id; valid when not revoked, not expired, and with
consent references where the use category calls for them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from provenance.config import Config, Policy
from provenance.errors import ApprovalError
from provenance.history.attest import signed_by, with_signature
from provenance.model import USE_CATEGORIES
from provenance.stores import Store


@dataclass(frozen=True)
class Approval:
    content_id: str
    reference: str
    approver: str
    approved_at: str
    use_category: str
    consent: tuple[str, ...] = ()
    expires: str | None = None
    note: str | None = None
    carried_from: str | None = None
    revoked_at: str | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None
    # Why the event log does not back this approval (a row added with sqlite3, an event
    # edited, a log that does not verify); such an approval never counts.
    unattested: str | None = None
    declaration: str | None = None  # the declared use it answers (`approve --declaration`)
    signed_by: str | None = None  # the approval identity whose signature its event carries
    # The event that would make it count but for the approval identity's signature (what
    # `log resign` may sign, once a person has checked it).
    unsigned: int | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Approval:
        return cls(
            content_id=row["content_id"],
            reference=row["reference"],
            approver=row["approver"],
            approved_at=row["approved_at"],
            use_category=row["use_category"],
            consent=tuple(
                row["consent"]
                if isinstance(row["consent"], list | tuple)
                else json.loads(row["consent"] or "[]")
            ),
            expires=row["expires"],
            note=row["note"],
            carried_from=row["carried_from"],
            revoked_at=row["revoked_at"],
            revoked_by=row["revoked_by"],
            revoke_reason=row["revoke_reason"],
            declaration=row.get("declaration"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "approver": self.approver,
            "approved_at": self.approved_at,
            "use": self.use_category,
            "consent": list(self.consent),
            "expires": self.expires,
            "note": self.note,
            "content_id": self.content_id,
            "carried_from": self.carried_from,
            "revoked_at": self.revoked_at,
            "revoked_by": self.revoked_by,
            "revoke_reason": self.revoke_reason,
            "declaration": self.declaration,
        }

    def expired(self, today: date) -> bool:
        """Whether this approval's expiry date has passed (it holds through that day)."""
        return bool(self.expires) and date.fromisoformat(self.expires[:10]) < today  # type: ignore[index]

    def problem(self, policy: Policy, asset_use: str | None, today: date) -> str | None:
        """Why this approval does not clear the asset, or None if it does."""
        if self.revoked_at:  # first: a revocation counts even when the approval would not
            return (
                f"approval {self.reference} was revoked by {self.revoked_by}: {self.revoke_reason}"
            )
        if self.unattested:
            return f"approval {self.reference} does not count: {self.unattested}"
        if self.expired(today):
            return f"approval {self.reference} expired on {self.expires[:10]}"  # type: ignore[index]
        if policy.needs_consent(asset_use, self.use_category) and not self.consent:
            use = self.use_category if policy.needs_consent(self.use_category) else asset_use
            return f"approval {self.reference} has no consent reference, required for {use}"
        return None


def approvals_of(
    store: Store, content_ids: Iterable[str], config: Config
) -> dict[str, list[Approval]]:
    """The approvals on record for these contents (oldest first), each checked against the
    event log: it counts only when its `approved` event is in the chain, the chain verifies,
    a signed checkpoint covers the event, and the event is signed by an identity trusted for
    approvals (`history/attest.py`); a `revoked` event revokes it whatever its row says,
    signed or not. Every view and the gate read approvals through here."""
    rows = store.approval_rows(content_ids)
    if not rows:
        return {}
    state = store.chain_state()
    wanted = set(rows)
    for row_list in rows.values():
        wanted.update(r["carried_from"] for r in row_list if r["carried_from"])
    events: dict[str, list[dict[str, Any]]] = {}
    for event in store.approval_events(sorted(wanted)):
        events.setdefault(event["content_id"], []).append(event)
    return {
        cid: [_attested(store, config, state, Approval.from_row(r), events) for r in row_list]
        for cid, row_list in rows.items()
    }


def _attested(
    store: Store,
    config: Config,
    state: Any,
    approval: Approval,
    events: dict[str, list[dict[str, Any]]],
) -> Approval:
    own = events.get(approval.content_id, [])
    grants = [e for e in own if e["kind"] == "approved" and _grants(e, approval)]
    # The first event that records this approval dates it (a revocation after it revokes it);
    # a later copy (`log resign`) may carry the signature it lacked.
    granted = grants[0] if grants else None
    if granted is None and approval.carried_from:
        # Carried before carries had events of their own: the original approval's event. Its
        # signature binds the original content, so it can date the approval but not sign it.
        granted = next(
            (
                e
                for e in events.get(approval.carried_from, [])
                if e["kind"] == "approved"
                and _grants(e, replace(approval, carried_from=None), carried=True)
            ),
            None,
        )
    signed = next(((e, who) for e in grants if (who := signed_by(config, e)) is not None), None)
    relied = signed[0] if signed else granted
    problem = None
    if state.broken is not None:
        where = f"event {state.broken.seq}: " if state.broken.seq else ""
        problem = f"the event log does not verify ({where}{state.broken.reason})"
    elif granted is None or relied is None:
        problem = "no matching 'approved' event in the log (a row added outside provgate)"
    elif not store.event_is_sound(relied):
        problem = f"its event {relied['seq']} does not match its hash (edited)"
    elif int(relied["seq"]) > state.anchored:
        problem = f"its event {relied['seq']} is not covered by a signed checkpoint"
    elif signed is None:
        problem = (
            f"its event {granted['seq']} is not signed by an identity trusted for approvals"
            " (forged with the log key, or recorded before approvals were signed: see"
            " `provgate log resign`)"
        )
        approval = replace(approval, unsigned=int(granted["seq"]))
    else:
        approval = replace(approval, signed_by=signed[1])
    if granted is not None and not approval.revoked_at:
        seq = int(granted["seq"])
        for e in own:
            detail = _detail(e)
            if (
                e["kind"] == "revoked"
                and int(e["seq"]) > seq
                and detail.get("reference") == approval.reference
            ):
                approval = replace(
                    approval,
                    revoked_at=e["at"],
                    revoked_by=str(detail.get("by")),
                    revoke_reason=str(detail.get("reason")),
                )
                break
    return replace(approval, unattested=problem) if problem else approval


def _detail(event: dict[str, Any]) -> dict[str, Any]:
    try:
        detail = json.loads(event["detail"])
    except (TypeError, ValueError):
        return {}
    return detail if isinstance(detail, dict) else {}


@dataclass(frozen=True)
class SignatureAudit:
    """`log verify`'s reading of the approval identity's signatures: `unsigned` approvals
    that would grant passage but are not signed by an identity trusted for approvals (each
    (seq, why): the log fails), and `notes` on unsigned events that cannot grant anything (a
    revocation, or an approval revoked since)."""

    unsigned: tuple[tuple[int, str], ...] = ()
    notes: tuple[tuple[int, str], ...] = ()


def audit_signatures(store: Store, config: Config) -> SignatureAudit:
    """Every `approved` and `revoked` event, checked for the approval identity's signature.
    An approval signed again by `log resign` is covered by its signed copy."""
    events = store.approval_events(None)
    signed = {
        (e["content_id"], grant_key(_detail(e)))
        for e in events
        if e["kind"] == "approved" and signed_by(config, e)
    }
    revoked_last = {
        (e["content_id"], _detail(e).get("reference")): int(e["seq"])
        for e in events
        if e["kind"] == "revoked"
    }
    unsigned, notes = [], []
    for e in events:
        detail, seq, cid = _detail(e), int(e["seq"]), str(e["content_id"])
        what = f"{detail.get('reference')!s} on {cid[:16]}"
        if signed_by(config, e):
            continue
        if e["kind"] == "revoked":
            notes.append(
                (
                    seq,
                    f"the revocation of {what} is not signed by an identity trusted"
                    " for approvals (it counts all the same: a revocation only blocks)",
                )
            )
        elif (cid, grant_key(detail)) in signed:
            continue
        elif revoked_last.get((cid, detail.get("reference")), 0) > seq:
            notes.append((seq, f"approval {what} is not signed; it was revoked since"))
        else:
            unsigned.append(
                (
                    seq,
                    f"approval {what} is not signed by an identity trusted for"
                    " approvals: it does not count (forged with the log key, or"
                    " recorded before approvals were signed: `provgate log resign`)",
                )
            )
    return SignatureAudit(tuple(unsigned), tuple(notes))


def grant_key(detail: dict[str, Any], *, carried: bool = False) -> tuple[Any, ...]:
    """What an `approved` event grants, as compared with the row it backs (`carried`: only
    the fields a carried copy shares with the original)."""
    key = (
        detail.get("reference"),
        detail.get("approver"),
        detail.get("use"),
        tuple(detail.get("consent") or ()),
        detail.get("expires"),
    )
    if carried:
        return key
    return (
        *key,
        detail.get("approved_at"),
        detail.get("carried_from"),
        detail.get("note"),
        detail.get("declaration"),
    )


def _grants(event: dict[str, Any], approval: Approval, *, carried: bool = False) -> bool:
    """Whether an `approved` event records exactly this approval."""
    return grant_key(_detail(event), carried=carried) == grant_key(
        approval.to_json(), carried=carried
    )


def validate_request(
    policy: Policy,
    use: str,
    consent: tuple[str, ...],
    asset_use: str | None,
    expires: str | None,
    *,
    reference: str = "",
    approver: str = "",
    today: date | None = None,
) -> None:
    """Refuse an approval that could never clear the asset, before it is recorded: a blank
    reference, approver or consent reference, an unknown use, a missing consent, an expiry
    that is not a date or is already past. The CLI, the review page and scripts all come
    through here, so they accept and refuse the same approvals."""
    require_text("reference", reference)
    require_text("approver", approver)
    for ref in consent:
        require_text("consent reference", ref)
    if use not in USE_CATEGORIES:
        raise ApprovalError(f"unknown use category {use!r}")
    if policy.needs_consent(use, asset_use) and not consent:
        needing = use if policy.needs_consent(use) else asset_use
        raise ApprovalError(f"use {needing} needs a consent reference (--consent REF)")
    if expires is not None:
        day = parse_day(expires, "--expires")
        if day < (today or date.today()):
            raise ApprovalError(f"--expires {expires} is in the past")


def require_text(what: str, value: str | None) -> str:
    """`value` stripped; ApprovalError when it is missing or only whitespace."""
    text = (value or "").strip()
    if not text:
        raise ApprovalError(f"the {what} must not be blank")
    if any(ord(c) < 32 for c in text):
        raise ApprovalError(f"the {what} must not hold control characters")
    return text


def parse_day(text: str, what: str) -> date:
    """A calendar date written YYYY-MM-DD (exactly), or ApprovalError naming the option."""
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ApprovalError(f"{what} {text!r} is not a date (YYYY-MM-DD)") from None


def insert_approval(store: Store, approval: Approval, signature: dict[str, str] | None) -> Approval:
    """Record an approval: its row and its `approved` event, in one transaction (the event,
    with the approval identity's `signature` over it, is what makes the row count; see
    `approvals_of`). Returns it as recorded."""
    if not approval.approved_at:
        raise ValueError("an approval is signed with its time: set approved_at")
    row = {
        "content_id": approval.content_id,
        "reference": approval.reference,
        "approver": approval.approver,
        "approved_at": approval.approved_at,
        "expires": approval.expires,
        "use_category": approval.use_category,
        "consent": json.dumps(list(approval.consent)),
        "note": approval.note,
        "carried_from": approval.carried_from,
        "declaration": approval.declaration,
    }
    with store.transaction():
        store.insert_approval(row)
        store.append_event(
            "approved",
            content_id=approval.content_id,
            detail=with_signature(approval.to_json(), signature),
        )
    return approval


def mark_revoked(store: Store, content_id: str, reference: str, by: str, reason: str) -> int:
    """Revoke the named approval on this content; returns how many rows were revoked."""
    return store.mark_revoked(content_id, reference, by, reason)
