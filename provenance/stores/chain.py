"""The append-only, hash-chained event log.

Each event's hash covers its own fields and the hash of the event before it, so editing,
inserting or deleting any row breaks the chain from that row on. Triggers refuse UPDATE and
DELETE; `verify_chain` catches what a person does after dropping them.

A scan records its new files as one `batch` event whose detail lists a hash for each of its
leaves, in order (`event_leaves`: one row per file, with the file's own kind, content id, path
and detail, read back by `history` like any event). A leaf's hash covers its fields and its
batch's sequence number, so editing, adding, moving or deleting any leaf breaks its batch, and
`verify_chain` names the first leaf that does not match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
# The one encoding of an event's fields that its hash covers (made once: json.dumps with
# options builds a new encoder on every call).
_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
# An event's detail as stored: keys sorted, so equal details are equal text.
DETAIL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

EVENT_KINDS = (
    "seen",
    "changed",
    "moved",
    "copied",
    "deleted",
    "tagged",
    "tag-failed",
    "approved",
    "revoked",
    "checked",
    "error",
    "classified",
    "declared",
    "declaration-changed",
    "digest",
    "batch",
)
BATCH = "batch"


def event_hash(
    prev_hash: str,
    seq: int,
    at: str,
    kind: str,
    content_id: str | None,
    path: str | None,
    host: str | None,
    detail: str,
    facility: str | None = None,
) -> str:
    """SHA-256 over the canonical JSON of an event's fields and the previous hash.

    The facility is hashed when the event has one; events written before stores recorded
    facilities have none and keep the hash they were written with (so clearing a facility
    breaks the chain as surely as editing it)."""
    fields: list[object] = [prev_hash, seq, at, kind, content_id, path, host, detail]
    if facility is not None:
        fields.append(facility)
    body = _CANONICAL.encode(fields)
    # surrogatepass: a name's undecodable bytes (lone surrogates) hash as themselves; any
    # other text hashes as UTF-8, as it always has.
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def leaf_hash(
    seq: int, n: int, kind: str, content_id: str | None, path: str | None, detail: str
) -> str:
    """SHA-256 over the canonical JSON of a leaf's fields: its batch event's `seq`, its place
    `n` in the batch, and what happened to which file."""
    body = _CANONICAL.encode([seq, n, kind, content_id, path, detail])
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first record lost or changed (`seq`; None when no one record is to blame, e.g. the
    append-only triggers were dropped), with the leaf of a batch event when one is to blame,
    and why."""

    seq: int | None
    reason: str
    leaf: int | None = None


def row_hash(row: dict[str, Any], prev: str | None = None) -> str:
    """The hash an event row should carry, recomputed from its fields."""
    return event_hash(
        row["prev_hash"] if prev is None else prev,
        int(row["seq"]),
        row["at"],
        row["kind"],
        row["content_id"],
        row["path"],
        row["host"],
        row["detail"],
        row.get("facility"),
    )


def verify_chain(
    rows: Iterable[dict[str, Any]],
    after: tuple[int, str] = (0, GENESIS),
    leaves: Iterable[dict[str, Any]] | None = None,
) -> tuple[int, ChainBreak | None]:
    """Walk events in order (those after `after`, the (seq, hash) of a verified event); return
    how many verified and the first broken record, if any. `leaves`: every leaf row after
    `after`, in (seq, n) order, checked against the batch events that list them (a leaf no
    batch lists is a broken record too)."""
    expected_seq, prev = after[0] + 1, after[1]
    count = 0
    pending = _Leaves(leaves)
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            return count, ChainBreak(
                expected_seq, f"event {expected_seq} is missing (next stored event is {seq})"
            )
        stray = pending.before(seq)
        if stray is not None:
            return count, stray
        if row["prev_hash"] != prev:
            return count, ChainBreak(seq, "previous-hash link does not match the event before it")
        if row_hash(row, prev) != row["hash"]:
            return count, ChainBreak(
                seq, "contents do not match the recorded hash (edited after it was written)"
            )
        broken = pending.check(row)
        if broken is not None:
            return count, broken
        prev = row["hash"]
        expected_seq += 1
        count += 1
    return count, pending.before(None)


class _Leaves:
    """The leaf rows, drawn in (seq, n) order as the events that list them are verified."""

    def __init__(self, leaves: Iterable[dict[str, Any]] | None) -> None:
        self.rows = iter(leaves) if leaves is not None else None
        self.next: dict[str, Any] | None = None
        self._draw()

    def _draw(self) -> None:
        self.next = next(self.rows, None) if self.rows is not None else None

    def before(self, seq: int | None) -> ChainBreak | None:
        """A leaf of an event before `seq` (None: of any event) that no batch took: stray."""
        leaf = self.next
        if leaf is None or (seq is not None and int(leaf["seq"]) >= seq):
            return None
        return ChainBreak(
            int(leaf["seq"]),
            f"leaf {leaf['n']} ({leaf['path']}) claims event {leaf['seq']}, which lists no such "
            "leaf (added after it was written)",
            leaf=int(leaf["n"]),
        )

    def check(self, event: dict[str, Any]) -> ChainBreak | None:
        """The leaves of this event against the hashes its detail lists."""
        seq = int(event["seq"])
        listed: list[str] = []
        if event["kind"] == BATCH:
            try:
                listed = [str(h) for h in json.loads(event["detail"])["leaves"]]
            except (ValueError, TypeError, KeyError):
                return ChainBreak(seq, "a batch event without its list of leaves")
        for n, digest in enumerate(listed):
            leaf = self.next
            if leaf is None or int(leaf["seq"]) != seq or int(leaf["n"]) != n:
                return ChainBreak(
                    seq, f"leaf {n} of event {seq} is missing (deleted after it was written)", n
                )
            fields = (leaf["kind"], leaf["content_id"], leaf["path"], leaf["detail"])
            if leaf_hash(seq, n, *fields) != digest:
                return ChainBreak(
                    seq,
                    f"leaf {n} of event {seq} ({leaf['path']}): contents do not match the hash "
                    "its batch recorded (edited after it was written)",
                    n,
                )
            self._draw()
        return self.before(seq + 1)
