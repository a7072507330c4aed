"""Written approvals: bound to one content id; valid when not revoked, not expired, and with
consent references where the use category calls for them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from provenance.config import Policy
from provenance.errors import ApprovalError
from provenance.model import USE_CATEGORIES
from provenance.stores import Store, now_iso


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
        if self.unattested:
            return f"approval {self.reference} does not count: {self.unattested}"
        if self.revoked_at:
            return (
                f"approval {self.reference} was revoked by {self.revoked_by}: {self.revoke_reason}"
            )
        if self.expired(today):
            return f"approval {self.reference} expired on {self.expires[:10]}"  # type: ignore[index]
        if policy.needs_consent(asset_use, self.use_category) and not self.consent:
            use = self.use_category if policy.needs_consent(self.use_category) else asset_use
            return f"approval {self.reference} has no consent reference, required for {use}"
        return None


def approvals_for(store: Store, content_id: str) -> list[Approval]:
    return approvals_of(store, [content_id]).get(content_id, [])


def approvals_of(store: Store, content_ids: Iterable[str]) -> dict[str, list[Approval]]:
    """The approvals on record for these contents (oldest first), each checked against the
    event log: it counts only when its `approved` event is in the chain, the chain verifies
    and a signed checkpoint covers the event; a `revoked` event revokes it whatever its row
    says. Every view and the gate read approvals through here."""
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
        cid: [_attested(store, state, Approval.from_row(r), events) for r in row_list]
        for cid, row_list in rows.items()
    }


def _attested(
    store: Store, state: Any, approval: Approval, events: dict[str, list[dict[str, Any]]]
) -> Approval:
    own = events.get(approval.content_id, [])
    granted = next((e for e in own if e["kind"] == "approved" and _grants(e, approval)), None)
    if granted is None and approval.carried_from:
        # Carried before carries had events of their own: the original approval's event.
        granted = next(
            (
                e
                for e in events.get(approval.carried_from, [])
                if e["kind"] == "approved"
                and _grants(e, replace(approval, carried_from=None), carried=True)
            ),
            None,
        )
    problem = None
    if state.broken is not None:
        where = f"event {state.broken.seq}: " if state.broken.seq else ""
        problem = f"the event log does not verify ({where}{state.broken.reason})"
    elif granted is None:
        problem = "no matching 'approved' event in the log (a row added outside provgate)"
    elif not store.event_is_sound(granted):
        problem = f"its event {granted['seq']} does not match its hash (edited)"
    elif int(granted["seq"]) > state.anchored:
        problem = f"its event {granted['seq']} is not covered by a signed checkpoint"
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


def _grants(event: dict[str, Any], approval: Approval, *, carried: bool = False) -> bool:
    """Whether an `approved` event records exactly this approval."""
    d = _detail(event)
    same = (
        d.get("reference") == approval.reference
        and d.get("approver") == approval.approver
        and d.get("use") == approval.use_category
        and tuple(d.get("consent") or ()) == approval.consent
        and d.get("expires") == approval.expires
    )
    if carried:
        return same
    return (
        same
        and d.get("approved_at") == approval.approved_at
        and (d.get("carried_from") == approval.carried_from)
    )


def effective_approval(
    store: Store, content_id: str, policy: Policy, asset_use: str | None, today: date | None = None
) -> tuple[Approval | None, list[str]]:
    """The approval that clears this exact content, or None and the reasons none does."""
    today = today or date.today()
    problems: list[str] = []
    for approval in reversed(approvals_for(store, content_id)):
        problem = approval.problem(policy, asset_use, today)
        if problem is None:
            return approval, []
        problems.append(problem)
    return None, problems


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


def insert_approval(store: Store, approval: Approval) -> Approval:
    """Record an approval: its row and its `approved` event, in one transaction (the event is
    what makes the row count; see `approvals_of`). Returns it as recorded."""
    approval = replace(approval, approved_at=approval.approved_at or now_iso())
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
        store.append_event("approved", content_id=approval.content_id, detail=approval.to_json())
    return approval


def mark_revoked(store: Store, content_id: str, reference: str, by: str, reason: str) -> int:
    """Revoke the named approval on this content; returns how many rows were revoked."""
    return store.mark_revoked(content_id, reference, by, reason)
