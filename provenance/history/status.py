"""An AI asset's status, decided in one place from its approvals and the clock.

`status_of` is the rule every command, report and page shows: `temporary` (nothing clears it),
`approved` (an approval clears exactly this content today), `expired` or `revoked` (its latest
approval ran out or was withdrawn), each with the approval it refers to and the reason. The
store's `assets.status` column is a cache of this rule, refreshed before it is read
(`refresh_expired`), so SQL filters and indexes can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from provenance.config import Config, Policy
from provenance.history.approvals import Approval, approvals_of
from provenance.model import Status
from provenance.stores import Store

AI_ORIGINS = ("ai-generated", "ai-modified")


@dataclass(frozen=True)
class AssetStatus:
    """Where one AI asset stands today, and why."""

    status: Status
    approval: Approval | None = None  # the clearing approval, or the one that lapsed
    reason: str | None = None  # why it is not approved (None when approved or never was)
    problems: tuple[str, ...] = ()  # why each approval on record does not clear it

    @property
    def cleared(self) -> bool:
        return self.status is Status.APPROVED

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reason": self.reason,
            "approval": self.approval.to_json() if self.approval else None,
        }


def status_of(
    approvals: Sequence[Approval], policy: Policy, use: str | None, today: date | None = None
) -> AssetStatus:
    """The status of AI material with these approvals (oldest first) under `policy`.

    The newest approval that clears the content wins; otherwise the newest approval says
    why the asset is not cleared: revoked, expired, or (missing consent) still temporary."""
    today = today or date.today()
    problems = []
    for approval in reversed(approvals):
        problem = approval.problem(policy, use, today)
        if problem is None:
            return AssetStatus(Status.APPROVED, approval, None, tuple(problems))
        problems.append(problem)
    if not approvals:
        return AssetStatus(Status.TEMPORARY)
    latest = approvals[-1]
    if latest.revoked_at:
        status = Status.REVOKED
    elif latest.expired(today):
        status = Status.EXPIRED
    else:
        status = Status.TEMPORARY
    return AssetStatus(status, latest, problems[0], tuple(problems))


def approval_state(
    approval: Approval, policy: Policy, use: str | None, today: date | None = None
) -> str:
    """One approval's standing, in the words every view uses: `in force`, or why not."""
    problem = approval.problem(policy, use, today or date.today())
    if problem is None:
        return "in force"
    if approval.revoked_at:
        return f"revoked {approval.revoked_at[:10]}"
    if approval.expired(today or date.today()):
        return f"expired {approval.expires[:10]}"  # type: ignore[index]
    return f"not in force: {problem}"


def refresh_status(
    store: Store, config: Config, content_id: str, today: date | None = None
) -> AssetStatus | None:
    """Decide this content's status again and cache it in its row (None: not AI material)."""
    asset = store.asset(content_id)
    if asset is None or asset["origin"] not in AI_ORIGINS:
        return None
    use = asset["use_category"] or config.policy.default_use
    approvals = approvals_of(store, [content_id], config).get(content_id, [])
    status = status_of(approvals, config.policy, use, today)
    if asset["status"] != status.status.value:
        store.set_status(content_id, status.status.value)
    return status


def refresh_expired(store: Store, config: Config, today: date | None = None) -> int:
    """Bring the cached status of approved content whose approval has since run out up to
    date (an `expired` event each), so listings, reports and the queue filter on today's
    status. Cheap: only approved content holding an approval with an expiry is looked at."""
    changed = 0
    for cid in store.approved_with_expiry():
        with store.transaction():
            status = refresh_status(store, config, cid, today)
            if status is not None and status.status is not Status.APPROVED:
                store.append_event("expired", content_id=cid, detail=status.to_json())
                changed += 1
    return changed
