"""Written approvals: bound to one content id; valid when not revoked, not expired, and with
consent references where the use category calls for them."""

from __future__ import annotations

import json
from dataclasses import dataclass
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
    rows = store.query("SELECT * FROM approvals WHERE content_id = ? ORDER BY id", (content_id,))
    return [Approval.from_row(dict(r)) for r in rows]


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


def insert_approval(store: Store, approval: Approval) -> None:
    store.execute(
        "INSERT INTO approvals (content_id, reference, approver, approved_at, expires,"
        " use_category, consent, note, carried_from, declaration) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            approval.content_id,
            approval.reference,
            approval.approver,
            approval.approved_at or now_iso(),
            approval.expires,
            approval.use_category,
            json.dumps(list(approval.consent)),
            approval.note,
            approval.carried_from,
            approval.declaration,
        ),
    )


def mark_revoked(store: Store, content_id: str, reference: str, by: str, reason: str) -> int:
    """Revoke the named approval on this content; returns how many rows were revoked."""
    return store.execute(
        "UPDATE approvals SET revoked_at = ?, revoked_by = ?, revoke_reason = ?"
        " WHERE content_id = ? AND reference = ? AND revoked_at IS NULL",
        (now_iso(), by, reason, content_id, reference),
    )
