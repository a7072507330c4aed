"""The append-only, hash-chained event log.

Each event's hash covers its own fields and the hash of the event before it, so editing,
inserting or deleting any row breaks the chain from that row on. Triggers refuse UPDATE and
DELETE; `verify_chain` catches what a person does after dropping them.
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
)


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


@dataclass(frozen=True)
class ChainBreak:
    """The first record lost or changed (`seq`; None when no one record is to blame, e.g. the
    append-only triggers were dropped) and why."""

    seq: int | None
    reason: str


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
    rows: Iterable[dict[str, Any]], after: tuple[int, str] = (0, GENESIS)
) -> tuple[int, ChainBreak | None]:
    """Walk events in order (those after `after`, the (seq, hash) of a verified event); return
    how many verified and the first broken record, if any."""
    expected_seq, prev = after[0] + 1, after[1]
    count = 0
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            return count, ChainBreak(
                expected_seq, f"event {expected_seq} is missing (next stored event is {seq})"
            )
        if row["prev_hash"] != prev:
            return count, ChainBreak(seq, "previous-hash link does not match the event before it")
        if row_hash(row, prev) != row["hash"]:
            return count, ChainBreak(
                seq, "contents do not match the recorded hash (edited after it was written)"
            )
        prev = row["hash"]
        expected_seq += 1
        count += 1
    return count, None
