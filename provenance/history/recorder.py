"""Turning a processed file into store rows and events: seen, changed, moved, copied, tagged."""

from __future__ import annotations

import os
from collections.abc import Container
from dataclasses import dataclass, replace
from typing import Any

from provenance.config import Config
from provenance.history.registry import Registry
from provenance.model import Evidence, Status
from provenance.pipeline.classify import AssetReading
from provenance.pipeline.transport import FileOutcome, TagOutcome
from provenance.pipeline.walk import FileStat
from provenance.pipeline.workers import should_tag, write_status_tag
from provenance.stores import NewEvent, Store, now_iso
from provenance.stores.records import AssetRow, EvidenceRow


@dataclass(frozen=True)
class Change:
    kind: str  # seen | changed | moved | copied | touched | error
    path: str
    content_id: str | None = None
    origin: str | None = None
    previous: str | None = None  # moved/copied: the other path; changed: the old content id
    tagged_content_id: str | None = None  # a tag embedded: the bytes it left
    tag_sidecar: str | None = None  # a tag written beside the file: that sidecar
    tag_error: str | None = None
    error: str | None = None
    reading: AssetReading | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = self.reading.to_json() if self.reading else {"path": self.path}
        out.update({"path": self.path, "change": self.kind})
        if self.previous:
            out["previous"] = self.previous
        if self.tagged_content_id:
            out["tagged_content_id"] = self.tagged_content_id
        if self.tag_sidecar:
            out["tag_sidecar"] = self.tag_sidecar
        if self.tag_error:
            out["tag_error"] = self.tag_error
        if self.error:
            out["error"] = self.error
        return out


def _asset_row(
    reading: AssetReading,
    use: str | None,
    status: str | None,
    phash: str | None,
    tagged: bool,
    now: str,
) -> AssetRow:
    return AssetRow(
        reading.content_id,
        reading.media_type,
        reading.size,
        reading.origin.value,
        reading.tool,
        use,
        status,
        phash,
        int(tagged or bool(reading.c2pa and reading.c2pa.provgate_tag)),
        now,
        now,
    )


def _evidence_rows(reading: AssetReading) -> list[EvidenceRow]:
    return [
        EvidenceRow(
            reading.content_id,
            e.source,
            e.marker,
            e.signal.value,
            e.detail,
            e.validation.value if e.validation else None,
        )
        for e in reading.evidence
    ]


def _use_and_status(
    registry: Registry, reading: AssetReading, use: str | None = None
) -> tuple[str | None, str | None]:
    """An asset's use category (the one it has; AI material without one gets the policy's
    default) and its status (AI material only: the status rule's, cached in the row)."""
    if not reading.origin.is_ai:
        return use, None
    use = use or registry.config.policy.default_use
    return use, registry.status(reading.content_id, use).status.value


def _new_asset_row(
    registry: Registry, reading: AssetReading, phash: str | None, now: str
) -> AssetRow:
    """The row of content the store has never seen, as `save_asset` would write it."""
    use, status = _use_and_status(registry, reading)
    return _asset_row(reading, use, status, phash, False, now)


def save_asset(
    store: Store,
    reading: AssetReading,
    config: Config,
    *,
    phash: str | None,
    tagged: bool = False,
    extra: list[Evidence] | None = None,
    registry: Registry | None = None,
    judged: bool = False,
) -> AssetReading:
    """Upsert the asset row and its evidence, after the one judgement (`Registry.judge`)
    has weighed the reading with what the store knows and `extra` (a person's statement).
    `judged`: the caller already judged this reading."""
    registry = registry or Registry(store, config)
    cid = reading.content_id
    known = store.asset(cid)
    existing = known or {}
    if not judged or extra:
        reading = registry.judge(reading, phash=phash, near=phash is not None, stated=extra or ())
    use, status = _use_and_status(registry, reading, existing.get("use_category"))
    with store.transaction():
        store.save_assets([_asset_row(reading, use, status, phash, tagged, now_iso())])
        if known:
            store.replace_evidence(cid, _evidence_rows(reading))
        else:
            store.add_evidence(_evidence_rows(reading))
    return reading


def _place(store: Store, path: str, content_id: str, new_content: bool) -> tuple[str, str | None]:
    """How this content arrived at this path: changed in place, moved, copied, or new."""
    prior = store.file(path)
    if prior is not None and not prior.gone:
        if prior.content_id == content_id:
            return "touched", None
        return "changed", prior.content_id
    if new_content:
        return "seen", None
    # only this facility's files: another site's paths cannot be looked for here
    others = [f for f in store.files_with_content(content_id) if f.path != path]
    for other in others:
        if not os.path.lexists(other.path):
            store.mark_gone(other.path)
            return "moved", other.path
    if others:
        return "copied", others[0].path
    return "seen", None


def _arrival(
    kind: str, reading: AssetReading, st: FileStat, previous: str | None
) -> dict[str, Any]:
    """The detail of a seen/changed/moved/copied event."""
    detail: dict[str, Any] = {
        "origin": reading.origin.value,
        "size": st.size,
        "media_type": reading.media_type,
    }
    if previous:
        detail["from" if kind in ("moved", "copied") else "previous_content_id"] = previous
    if reading.tool:
        detail["tool"] = reading.tool
    return detail


def record_many(
    store: Store,
    outcomes: list[FileOutcome],
    config: Config,
    unreadable: Container[str] = (),
    *,
    registry: Registry | None = None,
    tag: bool = False,
) -> list[Change]:
    """Record processed files in order, exactly as `record` would one by one.

    A new file holding content the store has never seen, with nothing for the near-duplicate
    test to weigh — nearly every file of a first scan — needs no decisions: its rows and its
    `seen` record (a leaf of one batch event for them all) are written in bulk, a few
    statements for the whole batch instead of several per file (AI material among them gets
    its status from the status rule, as `record` would give it). Every other file (changed,
    moved, copied, fingerprinted for the near-duplicate test, a tag written, an error) goes
    through `record`. `unreadable`: paths the store may hold as unreadable (see `record`);
    `tag`: whether files judged AI by what the store knows may be tagged here (see
    `record`)."""
    registry = registry or Registry(store, config)
    readings = [o.reading for o in outcomes if o.reading is not None]
    known_ids = store.known_contents(r.content_id for r in readings)
    known_paths = store.recorded_paths(o.path for o in outcomes)
    changes: list[Change] = []
    fresh: list[FileOutcome] = []
    for outcome in outcomes:
        reading = outcome.reading
        if (
            reading is None
            or outcome.tag is not None
            or reading.content_id in known_ids
            or outcome.path in known_paths
            or outcome.path in unreadable
            or (outcome.phash is not None and registry.has_hashes)
        ):
            _record_fresh(registry, fresh, changes)
            changes.append(
                record(
                    store,
                    outcome,
                    config,
                    maybe_unreadable=outcome.path in unreadable,
                    registry=registry,
                    tag=tag,
                )
            )
        else:
            fresh.append(outcome)
        if reading is not None:
            known_ids.add(reading.content_id)
        known_paths.add(outcome.path)
    _record_fresh(registry, fresh, changes)
    return changes


def _record_fresh(registry: Registry, fresh: list[FileOutcome], changes: list[Change]) -> None:
    """Write new files with new content all at once."""
    if not fresh:
        return
    store = registry.store
    now = now_iso()
    pairs = [(o.stat, o.reading, o.phash) for o in fresh if o.reading is not None]
    with store.savepoint():
        store.save_assets([_new_asset_row(registry, r, ph, now) for _, r, ph in pairs])
        store.add_evidence([row for _, r, _ in pairs for row in _evidence_rows(r)])
        store.upsert_files(
            [(st.path, r.content_id, st.size, st.mtime_ns, st.inode) for st, r, _ in pairs]
        )
        seen = [
            NewEvent("seen", r.content_id, st.path, _arrival("seen", r, st, None))
            for st, r, _ in pairs
        ]
        # Many files: one batch event listing each file's own record (see stores/chain.py).
        (store.append_batch if len(seen) > 1 else store.append_events)(seen, at=now)
    for _, r, ph in pairs:
        if ph is not None:
            registry.remember(ph, r.content_id, r.origin.value, now)
    changes.extend(
        Change(
            kind="seen",
            path=st.path,
            content_id=r.content_id,
            origin=r.origin.value,
            previous=None,
            tagged_content_id=None,
            tag_error=None,
            error=None,
            reading=r,
        )
        for st, r, _ in pairs
    )
    fresh.clear()


def record(
    store: Store,
    outcome: FileOutcome,
    config: Config,
    maybe_unreadable: bool = True,
    *,
    registry: Registry | None = None,
    tag: bool = False,
) -> Change:
    """Record one processed file: its rows and events, all or nothing.

    The reading is judged with what the store knows (`Registry.judge`). A file that only
    this judgement shows to be AI (a stripped copy of a known AI still) was not tagged by the
    worker, which cannot see the store: with `tag`, it is tagged here, as the tag rule says.
    `maybe_unreadable` False (the caller knows the path was never recorded as unreadable)
    saves a statement per file on a first scan."""
    registry = registry or Registry(store, config)
    st = outcome.stat
    if outcome.reading is None:
        with store.savepoint():
            store.set_unreadable(st.path, st.size, st.mtime_ns, st.inode, outcome.error or "?")
            store.append_event("error", path=st.path, detail={"reason": outcome.error})
        return Change(kind="error", path=st.path, error=outcome.error)
    reading = registry.judge(outcome.reading, phash=outcome.phash, near=outcome.phash is not None)
    tag_outcome = outcome.tag
    if (
        tag_outcome is None
        and tag
        and not outcome.reading.origin.is_ai
        and should_tag(reading, config)
    ):
        tag_outcome = write_status_tag(reading, config, Status.TEMPORARY)
    with store.savepoint():
        if maybe_unreadable:
            store.set_unreadable(st.path, st.size, st.mtime_ns, st.inode, None)
        new_content = store.asset(reading.content_id) is None
        reading = save_asset(
            store, reading, config, phash=outcome.phash, registry=registry, judged=True
        )
        cid = reading.content_id
        if outcome.phash is not None and new_content:
            asset = store.asset(cid) or {}
            registry.remember(outcome.phash, cid, reading.origin.value, asset.get("first_seen", ""))
        kind, previous = _place(store, st.path, cid, new_content)
        store.upsert_file(st.path, cid, st.size, st.mtime_ns, st.inode)
        if kind != "touched":
            store.append_event(
                kind, content_id=cid, path=st.path, detail=_arrival(kind, reading, st, previous)
            )
        change = Change(
            kind=kind,
            path=st.path,
            content_id=cid,
            origin=reading.origin.value,
            previous=previous,
            reading=reading,
        )
        if tag_outcome is None:
            return change
        return _record_tag(store, registry, change, reading, tag_outcome, outcome.phash, st)


def _record_tag(
    store: Store,
    registry: Registry,
    change: Change,
    reading: AssetReading,
    tag: TagOutcome,
    phash: str | None,
    st: FileStat,
) -> Change:
    """Record the tag written onto a file that was just recorded."""
    cid = reading.content_id
    if tag.error:
        store.append_event("tag-failed", content_id=cid, path=st.path, detail={"reason": tag.error})
        # Not done: the next scan tries this file again (see scan_paths).
        store.set_unreadable(
            st.path, st.size, st.mtime_ns, st.inode, f"tag not written: {tag.error}"
        )
        return replace(change, tag_error=tag.error)
    if tag.content_id is None:  # sidecar written: the asset's bytes are unchanged
        store.mark_tagged(cid)
        store.append_event(
            "tagged",
            content_id=cid,
            path=st.path,
            detail={"sidecar": tag.written, "status": "temporary"},
        )
        return replace(change, tag_sidecar=tag.written)
    record_rewrite(
        store,
        reading,
        tag.content_id,
        registry.config,
        phash=phash,
        reason="tagged",
        path=st.path,
        stat=tag.stat,
        detail={"status": "temporary"},
        registry=registry,
    )
    return replace(change, tagged_content_id=tag.content_id)


def record_rewrite(
    store: Store,
    reading: AssetReading,
    new_id: str,
    config: Config,
    *,
    phash: str | None,
    reason: str,
    path: str,
    stat: Any,
    detail: dict[str, Any],
    registry: Registry | None = None,
) -> None:
    """provgate rewrote this file's tag: the new bytes are the same asset, linked to the old.

    The new bytes carry the old content's judgement (its evidence, a person's statements and
    near-duplicate relations included), its use category and its first sighting."""
    registry = registry or Registry(store, config)
    with store.transaction():
        new_reading = replace(reading, content_id=new_id, size=stat.size if stat else reading.size)
        save_asset(
            store, new_reading, config, phash=phash, tagged=True, registry=registry, judged=True
        )
        existing = store.asset(reading.content_id) or {}
        store.set_use(new_id, existing.get("use_category"))
        store.keep_first_seen(new_id, lineage_of=reading.content_id)
        store.link(reading.content_id, new_id, reason)
        if stat is not None:
            store.upsert_file(path, new_id, stat.size, stat.mtime_ns, stat.inode)
        store.append_event(
            "tagged",
            content_id=new_id,
            path=path,
            detail={"from_content_id": reading.content_id, **detail},
        )
