"""Reading the store back: an asset's history, file listings and the disclosure report.

Every row names the facility that recorded it, and listings can be narrowed to one facility:
in a shared store `/mnt/show/a.exr` at two vendors are two different places.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import date
from pathlib import Path
from typing import Any

from provenance.config import Config
from provenance.content import content_id, looks_like_content_id
from provenance.errors import AmbiguousAsset, UnknownAsset
from provenance.history.declarations import annotate, list_declarations
from provenance.history.registry import Registry
from provenance.history.status import refresh_expired
from provenance.model import UNKNOWN_TOOL
from provenance.names import one_line, shown
from provenance.sequences import natural_key
from provenance.stores import Store

AI_ORIGINS = ("ai-generated", "ai-modified")


def history(ref: str, store: Store) -> list[dict[str, Any]]:
    """Every event of an asset, oldest first, across renames, moves, copies, tag rewrites
    and facilities. A path names a file at this store's facility."""
    path = os.path.abspath(ref)
    row = store.file(path)
    if row is not None:
        start = row.content_id
    elif looks_like_content_id(ref.lower()) and store.resolve_prefix(ref.lower()):
        found = store.resolve_prefix(ref.lower())
        if len(found) > 1:
            raise AmbiguousAsset(f"content-id prefix {ref} matches more than one asset")
        start = found[0]
    elif Path(ref).is_file():
        start = content_id(Path(ref))
        if store.asset(start) is None:
            raise UnknownAsset("the store has never seen this file", ref)
    else:
        raise UnknownAsset("the store has never seen this asset", ref)
    cids = store.linked(start)
    places = {
        (f.facility, f.path)
        for c in cids
        for f in store.files_with_content(c, live_only=False, everywhere=True)
    }
    if row is not None:
        places.add((row.facility, path))
    return store.events_for(cids, sorted(places))


def list_files(
    store: Store,
    *,
    origin: str | None = None,
    status: str | None = None,
    use: str | None = None,
    tool: str | None = None,
    under: Path | None = None,
    since: str | None = None,
    include_gone: bool = False,
    facility: str | None = None,
    config: Config | None = None,
) -> list[dict[str, Any]]:
    """Recorded files with their asset's origin and status, one row per file and facility.

    Statuses are the status rule's (`provenance.history.status`), brought up to date with the
    clock first, so an approval that ran out reads `expired` here as everywhere."""
    if config is not None:
        refresh_expired(store, config)
    return store.file_listing(
        origin=origin,
        status=status,
        use=use,
        tool=tool,
        under=os.path.abspath(under) if under else None,
        since=since,
        include_gone=include_gone,
        facility=facility,
    )


# Columns that hold file names: written as `ls` shows them (typed back, they name the file).
_NAME_COLUMNS = frozenset({"path", "paths"})


def _csv_cell(key: str, value: Any) -> Any:
    """One cell as text a spreadsheet and a terminal can take: names `shown`, other text as
    one line (a name's undecodable bytes or a control character never reach either raw)."""
    escape = shown if key in _NAME_COLUMNS else one_line
    if isinstance(value, list | tuple):
        value = "; ".join(escape(str(v)) for v in value)
    elif isinstance(value, str):
        value = escape(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # A file name or note starting like a formula must not run in a spreadsheet.
        return "'" + value
    return value


def rows_to_csv(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV, safe to open in a spreadsheet (formula-like cells are quoted)."""
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_cell(k, v) for k, v in row.items()})
    return buf.getvalue()


def report_rows(
    store: Store, config: Config, today: date | None = None, *, facility: str | None = None
) -> list[dict[str, Any]]:
    """The disclosure report: every AI asset with tool, use, status, approval, where it lives
    (paths and facilities; with `facility`, only the assets that live there), the
    declarations that cover it and whether its tool is cleared (`declarations.annotate`)."""
    registry = Registry(store, config, today)
    refresh_expired(store, config, today)
    out = []
    for asset in store.ai_assets():
        cid = asset["content_id"]
        files = [
            f
            for f in store.files_with_content(cid, everywhere=True)
            if facility is None or f.facility == facility
        ]
        if not files:
            continue  # superseded bytes (re-tagged) or deleted: the live copies are listed
        status = registry.status(cid, asset["use_category"] or config.policy.default_use)
        out.append(
            {
                "content_id": cid,
                "paths": [f.path for f in files],
                "facilities": sorted({f.facility for f in files}),
                "media_type": asset["media_type"],
                "origin": asset["origin"],
                "tool": asset["tool"] or UNKNOWN_TOOL,
                "use": asset["use_category"],
                "status": status.status.value,
                "status_reason": status.reason,
                "approval": status.approval.to_json() if status.approval else None,
                "problems": list(status.problems),
                "first_seen": asset["first_seen"],
            }
        )
    annotate(out, list_declarations(store), config.policy)
    # By where it lives, frames in frame order (first_seen ties within a scan's batch, and a
    # parallel scan records a sequence's frames in no particular order).
    out.sort(key=lambda r: natural_key(r["paths"][0]) if r["paths"] else ())
    return out
