"""The review page's reads: paged SQL through the store, never a whole table (the page itself
holds no SQL; it reads through this module and `provenance.history`).

The queue is keyset-paged (newest first, on `(first_seen, content_id)`), so the thousandth
page costs what the first does; evidence and paths are fetched for the rows of one page only.
The SQL runs on both backends: `noindex(column)` is the portable way to keep SQLite's
planner off an index for one term (PostgreSQL plans by its statistics and ignores it).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from provenance.sequences import frame_parts, group_frames
from provenance.stores import Store, noindex

AI_ORIGINS = ("ai-generated", "ai-modified")
# Queue status filters; "temporary" is what still awaits a decision.
STATUSES = ("temporary", "expired", "revoked", "approved", "any")


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows: a path prefix, a tool, a use category, a status, and where a
    page starts (the last row of the previous page)."""

    path: str = ""
    tool: str = ""
    use: str = ""
    status: str = "temporary"
    before: tuple[str, str] | None = None

    def params(self, before: tuple[str, str] | None = None) -> dict[str, str]:
        """The query string for this filter (for links to the next page)."""
        out = {"path": self.path, "tool": self.tool, "use": self.use, "status": self.status}
        if before:
            out["before"] = f"{before[0]}~{before[1]}"
        return {k: v for k, v in out.items() if v}


def parse_cursor(text: str | None) -> tuple[str, str] | None:
    """`first_seen~content_id` → the pair, or None when absent or malformed."""
    if not text or "~" not in text:
        return None
    first_seen, cid = text.rsplit("~", 1)
    return (first_seen, cid) if len(cid) == 64 and first_seen else None


# A path prefix that matches fewer live files than this drives the queue from the files
# table (a range on its primary key, then a sort of those few assets); a broader one lets the
# queue walk the newest-first index and stop after one page.
NARROW_PATHS = 2000


def queue_page(
    store: Store, flt: QueueFilter, limit: int
) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """One page of AI assets that have a live file, newest first, and the cursor of the
    next page (None on the last one). Superseded bytes (re-tagged) have no live file and
    are left out: their live copy is listed instead.

    `noindex` keeps SQLite from using an index for that term, so that it walks
    `assets_queue` (status, first_seen) or `assets_newest` in order and stops at the page
    end, instead of collecting every match of a less selective index and sorting them."""
    narrow = bool(flt.path) and _few_files(store, flt.path)
    origin, status, first_seen = noindex("a.origin"), noindex("a.status"), noindex("a.first_seen")
    where = [f"{origin} IN (?, ?)"]
    args: list[Any] = list(AI_ORIGINS)
    if flt.status in STATUSES and flt.status != "any":
        where.append(f"{status} = ?" if narrow else "a.status = ?")
        args.append(flt.status)
    if flt.use:
        where.append(f"{noindex('a.use_category')} = ?")
        args.append(flt.use)
    if flt.tool:
        where.append(f"{noindex('a.tool')} = ?")
        args.append(flt.tool)
    if flt.before:
        where.append(f"({first_seen} < ? OR ({first_seen} = ? AND {noindex('a.content_id')} < ?))")
        args += [flt.before[0], flt.before[0], flt.before[1]]
    live = "f.content_id = a.content_id AND f.gone = 0"
    if narrow:
        where.append(
            "a.content_id IN (SELECT f.content_id FROM files f"
            " WHERE f.path >= ? AND f.path < ? AND f.gone = 0)"
        )
        args += [flt.path, prefix_end(flt.path)]
        order = f"{first_seen} DESC, a.content_id DESC"
    else:
        if flt.path:
            live += " AND f.path >= ? AND f.path < ?"
            args += [flt.path, prefix_end(flt.path)]
        where.append(f"EXISTS (SELECT 1 FROM files f WHERE {live})")
        order = "a.first_seen DESC, a.content_id DESC"
    rows = [
        dict(r)
        for r in store.query(
            "SELECT a.content_id, a.media_type, a.size, a.origin, a.tool, a.use_category,"
            f" a.status, a.first_seen FROM assets a WHERE {' AND '.join(where)}"
            f" ORDER BY {order} LIMIT ?",
            (*args, limit + 1),
        )
    ]
    more = len(rows) > limit
    rows = rows[:limit]
    cids = [r["content_id"] for r in rows]
    paths = live_paths(store, cids)
    evidence = evidence_of(store, cids)
    for r in rows:
        r["paths"] = paths.get(r["content_id"], [])
        r["evidence"] = evidence.get(r["content_id"], [])
    cursor = (rows[-1]["first_seen"], rows[-1]["content_id"]) if more and rows else None
    return rows, cursor


def sequence_page(
    store: Store, flt: QueueFilter, limit: int
) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """`queue_page`, with every frame sequence whole, on the page that holds its newest
    frame: a sequence met on a page gets its frames from later pages too (they are left off
    those pages), and one whose newest frame was on an earlier page is left off this one.
    Each row's `frame_path` is the path it is grouped by. A page left empty that way gives
    way to the next one."""
    start = flt.before
    while True:
        rows, cursor = queue_page(store, replace(flt, before=start), limit)
        for r in rows:
            r["frame_path"] = r["paths"][0] if r["paths"] else r["content_id"]
        kept = _whole_sequences(store, flt, rows, start)
        if kept or cursor is None:
            return kept, cursor
        start = cursor


def _whole_sequences(
    store: Store, flt: QueueFilter, rows: list[dict[str, Any]], start: tuple[str, str] | None
) -> list[dict[str, Any]]:
    on_page = {r["content_id"] for r in rows}
    extra: dict[str, dict[str, Any]] = {}
    for parts in sorted({p for r in rows if (p := frame_parts(r["frame_path"]))}):
        for row in _frames_of(store, flt, *parts):
            if row["content_id"] not in on_page:
                extra.setdefault(row["content_id"], row)
    cids = list(extra)
    paths, evidence = live_paths(store, cids), evidence_of(store, cids)
    for cid, row in extra.items():
        row["paths"], row["evidence"] = paths.get(cid, []), evidence.get(cid, [])
    kept: list[dict[str, Any]] = []
    for group in group_frames([*rows, *extra.values()], lambda r: r["frame_path"]):
        if not any(r["content_id"] in on_page for r in group.items):
            continue  # frames of another sequence: on the page of its newest frame
        # `start` is the last row of the page before: every earlier row is at or above it
        newest = max((r["first_seen"], r["content_id"]) for r in group.items)
        if start is not None and group.is_sequence and newest >= start:
            continue  # shown whole on an earlier page
        kept.extend(group.items)
    kept.sort(key=lambda r: (r["first_seen"], r["content_id"]), reverse=True)
    return kept


def _frames_of(
    store: Store, flt: QueueFilter, folder: str, head: str, ext: str
) -> list[dict[str, Any]]:
    """The assets `flt` lets through that have a live file named as a frame of the sequence
    (`folder`, `head`, `ext`), with that file's path as `frame_path`."""
    start = f"{folder}/{head}"
    where = ["f.path >= ?", "f.path < ?", "f.gone = 0", "a.origin IN (?, ?)"]
    args: list[Any] = [start, prefix_end(start), *AI_ORIGINS]
    if flt.status in STATUSES and flt.status != "any":
        where.append("a.status = ?")
        args.append(flt.status)
    for column, value in (("use_category", flt.use), ("tool", flt.tool)):
        if value:
            where.append(f"a.{column} = ?")
            args.append(value)
    out = []
    for r in store.query(
        "SELECT a.content_id, a.media_type, a.size, a.origin, a.tool, a.use_category,"
        " a.status, a.first_seen, f.path FROM files f JOIN assets a"
        f" ON a.content_id = f.content_id WHERE {' AND '.join(where)} ORDER BY f.path",
        args,
    ):
        row = dict(r)
        path = row.pop("path")
        if path.startswith(flt.path) and frame_parts(path) == (folder, head, ext):
            out.append({**row, "frame_path": path})
    return out


def _few_files(store: Store, prefix: str) -> bool:
    """Whether fewer than NARROW_PATHS file rows start with `prefix` (a bounded count)."""
    found = store.one(
        "SELECT count(*) FROM (SELECT 1 FROM files WHERE path >= ? AND path < ? LIMIT ?) AS few",
        (prefix, prefix_end(prefix), NARROW_PATHS),
    )
    return bool(found is not None and found[0] < NARROW_PATHS)


def prefix_end(prefix: str) -> str:
    """The smallest string above every string that starts with `prefix` (a range bound
    that lets SQLite use the files primary key)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "\U0010ffff"


def live_paths(store: Store, cids: list[str], per_asset: int = 4) -> dict[str, list[str]]:
    """Up to `per_asset` live paths for each content id (the page shows a few and a count)."""
    out: dict[str, list[str]] = defaultdict(list)
    if not cids:
        return out
    marks = ",".join("?" * len(cids))
    for r in store.query(
        f"SELECT content_id, path FROM files WHERE content_id IN ({marks}) AND gone = 0"
        " ORDER BY content_id, path, facility",
        cids,
    ):
        if len(out[r[0]]) < per_asset:
            out[r[0]].append(r[1])
    return out


def evidence_of(store: Store, cids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The evidence rows of these assets: C2PA actions, generator metadata, XMP fields,
    near-duplicate matches (their detail names the match and its distance)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not cids:
        return out
    marks = ",".join("?" * len(cids))
    for r in store.query(
        "SELECT content_id, source, marker, signal, detail, validation FROM evidence"
        f" WHERE content_id IN ({marks}) ORDER BY id",
        cids,
    ):
        out[r["content_id"]].append(dict(r))
    return out


def tools(store: Store, limit: int = 300) -> list[str]:
    """The tools named by AI assets, for the queue's filter: one index probe per distinct
    tool (a recursive "next tool after this one"), not a scan of every asset."""
    return [
        r[0]
        for r in store.query(
            "WITH RECURSIVE t(tool) AS ("
            " SELECT min(tool) FROM assets WHERE tool IS NOT NULL"
            f" AND {noindex('origin')} IN (?, ?)"
            " UNION ALL SELECT (SELECT min(tool) FROM assets WHERE tool > t.tool"
            f" AND {noindex('origin')} IN (?, ?)) FROM t WHERE t.tool IS NOT NULL"
            ") SELECT tool FROM t WHERE tool IS NOT NULL LIMIT ?",
            (*AI_ORIGINS, *AI_ORIGINS, limit),
        )
    ]


def checks(
    store: Store,
    *,
    mentioning: list[str] | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The latest delivery checks (events of kind "checked"), newest first. With
    `mentioning`, only those whose detail names one of these content ids: a check lists the
    assets it blocked, not the ones it passed."""
    where, args = ["kind = 'checked'"], []
    if before is not None:
        where.append("seq < ?")
        args.append(before)
    if mentioning:
        where.append("(" + " OR ".join("detail LIKE ?" for _ in mentioning) + ")")
        args += [f"%{cid}%" for cid in mentioning]  # content ids are hex: no LIKE wildcards
    rows = store.query(
        f"SELECT seq, at, path, host, facility, detail FROM events WHERE {' AND '.join(where)}"
        " ORDER BY seq DESC LIMIT ?",
        (*args, limit),
    )
    out = []
    for r in rows:
        detail = json.loads(r["detail"])
        out.append({**dict(r), "detail": detail, "verdict": detail.get("verdict", "?")})
    return out


def ai_totals(store: Store) -> dict[str, int]:
    """AI assets with a live file, by recorded status (the report page's summary)."""
    rows = store.query(
        "SELECT coalesce(a.status, 'temporary'), count(*) FROM assets a WHERE a.origin IN (?, ?)"
        " AND EXISTS (SELECT 1 FROM files f WHERE f.content_id = a.content_id AND f.gone = 0)"
        " GROUP BY 1",
        AI_ORIGINS,
    )
    return {r[0]: r[1] for r in rows}
