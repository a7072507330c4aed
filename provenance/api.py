"""The library's entry points: what the CLI calls, and what an export script in Nuke,
Resolve or a render farm can call without it.

    from provenance import api
    ws = api.open_workspace(Path("/shows/abc/.provgate"))
    report = api.check([Path("/deliveries/abc_r3")], ws)
    if report.verdict != "pass": ...
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from provenance.config import Config
from provenance.content import content_id, looks_like_content_id
from provenance.errors import (
    AmbiguousAsset,
    ApprovalError,
    SigningError,
    UnknownAsset,
    UnreadableAsset,
)
from provenance.history import declarations
from provenance.history.approvals import (
    Approval,
    SignatureAudit,
    approvals_of,
    audit_signatures,
    insert_approval,
    mark_revoked,
    require_text,
    validate_request,
)
from provenance.history.attest import EventSigner, event_signer, with_signature
from provenance.history.intents import carry, resolve_pending, sign_carry
from provenance.history.listings import history, list_files, report_rows, rows_to_csv
from provenance.history.recorder import Change, record, record_rewrite, save_asset
from provenance.history.registry import Registry, inspect_file
from provenance.history.scan import ScanSummary, scan_paths
from provenance.history.status import refresh_status
from provenance.model import Evidence, Origin, Status
from provenance.pipeline.classify import read_asset
from provenance.pipeline.shard import Shard
from provenance.pipeline.walk import stat_of
from provenance.pipeline.workers import process_file, write_status_tag
from provenance.sequences import group_sequences
from provenance.stores import Store, now_iso, open_store
from provenance.stores.chain import ChainBreak
from provenance.workspace import Workspace, init_workspace, open_workspace

__all__ = [
    "resolve_pending",
    "approve",
    "check",
    "declare",
    "disclosure",
    "group_sequences",
    "history",
    "init_workspace",
    "inspect_file",
    "list_files",
    "open_workspace",
    "report_rows",
    "resign",
    "revoke",
    "rows_to_csv",
    "scan",
    "Shard",
    "tag_by_hand",
    "undeclared_files",
    "unsigned_approvals",
    "verify_log",
    "Workspace",
]


def scan(
    paths: list[Path],
    config: Config,
    store: Store,
    *,
    tag: bool = True,
    on_change: Callable[[Change], None] | None = None,
    progress: Callable[[int], None] | None = None,
    shard: Shard | None = None,
    stop: threading.Event | None = None,
) -> ScanSummary:
    """Index, classify and (per the workspace's tag mode) tag every file under `paths` — or,
    with `shard`, this machine's share of them (see `provenance.pipeline.shard`)."""
    return scan_paths(
        paths,
        config,
        store,
        tag=tag,
        on_change=on_change,
        progress=progress,
        shard=shard,
        stop=stop,
    )


def _record_now(path: Path, config: Config, store: Store) -> Change:
    """Read and record one file as it is now (no tagging), so it can be referred to."""
    st = stat_of(str(path.absolute()))
    outcome = process_file(st, config, tag=False, near=True)
    if outcome.reading is None:
        raise UnreadableAsset(outcome.error or "cannot be read", path)
    return record(store, outcome, config)


def resolve(ref: str, config: Config, store: Store, *, record_file: bool = True) -> str:
    """An ASSET argument (a path, or a content-id prefix) → the content id it names.

    A name that is both a file here and a prefix of a content id the store knows is refused,
    naming both: a file planted under the prefix the gate printed must not take an approval
    meant for the content."""
    path = Path(ref)
    prefix = ref.lower()
    known = store.resolve_prefix(prefix) if looks_like_content_id(prefix) else []
    if path.is_file():
        if known:
            raise AmbiguousAsset(
                f"means both the file {os.path.abspath(ref)} and the content-id prefix of "
                f"{known[0][:16]}...; give the file as ./{ref} or more of the content id",
                ref,
            )
        if record_file:
            change = _record_now(path, config, store)
            if change.content_id:
                return change.content_id
        return content_id(path)
    if len(known) > 1:
        raise AmbiguousAsset(
            f"content-id prefix {ref} matches more than one asset; give more characters"
        )
    if known:
        return known[0]
    row = store.file(os.path.abspath(ref))
    if row is not None:
        return row.content_id
    raise UnknownAsset("not a file, a recorded path, or a known content-id prefix", ref)


def tag_by_hand(
    file: Path,
    config: Config,
    store: Store,
    *,
    origin: str,
    tool: str | None,
    use: str | None,
    note: str | None,
) -> dict[str, Any]:
    """`provgate tag`: record a person's statement of origin and write it into the file."""
    path = Path(os.path.abspath(file))
    reading = read_asset(path, config)
    stated = Evidence(
        source="user",
        marker=f"origin:{origin}",
        detail=f"tagged {origin} by hand"
        + (f" ({tool})" if tool else "")
        + (f": {note}" if note else ""),
        tool=tool,
    )
    with store.transaction():
        saved = save_asset(store, reading, config, phash=None, extra=[stated])
        if use:
            store.set_use(reading.content_id, use)
        st = stat_of(str(path))
        store.upsert_file(str(path), reading.content_id, st.size, st.mtime_ns, st.inode)
    result: dict[str, Any] = {
        "path": str(path),
        "content_id": reading.content_id,
        "origin": saved.origin.value,
        "written": None,
    }
    if config.tag_mode == "off":
        store.append_event(
            "tagged",
            content_id=reading.content_id,
            path=str(path),
            detail={"origin": origin, "written": "nothing (tag mode off)"},
        )
        return result
    status = Status.TEMPORARY if Origin(origin).is_ai else None
    intents: list[int] = []
    outcome = write_status_tag(
        reading,
        config,
        status or Status.TEMPORARY,
        use=use,
        note=note,
        tool=tool,
        origin=Origin(origin),
        expected_content_id=reading.content_id,
        before_replace=functools.partial(
            _intend, store, intents, str(path), reading.content_id, {"reason": "tagged"}, None
        ),
    )
    if outcome.error:
        for intent in intents:
            store.drop_intent(intent)
        store.append_event(
            "tag-failed",
            content_id=reading.content_id,
            path=str(path),
            detail={"reason": outcome.error},
        )
        from provenance.errors import TagWriteError

        raise TagWriteError(outcome.error, path)
    result["written"] = outcome.written
    if outcome.content_id:
        from provenance.pipeline.fingerprints import fingerprint

        record_rewrite(
            store,
            saved,
            outcome.content_id,
            config,
            phash=fingerprint(path, reading.media_type).value if saved.origin.is_ai else None,
            reason="tagged",
            path=str(path),
            stat=outcome.stat,
            detail={"origin": origin, "by_hand": True},
        )
        for intent in intents:
            store.drop_intent(intent)
        result["tagged_content_id"] = outcome.content_id
    else:
        store.append_event(
            "tagged",
            content_id=reading.content_id,
            path=str(path),
            detail={"origin": origin, "sidecar": outcome.written},
        )
    return result


def approve(
    refs: list[str],
    config: Config,
    store: Store,
    *,
    reference: str,
    by: str,
    use: str | None = None,
    consent: tuple[str, ...] = (),
    expires: str | None = None,
    note: str | None = None,
    declaration: str | None = None,
) -> list[dict[str, Any]]:
    """Record a written approval for each asset, signed by the approval identity, and rewrite
    its tag to `approved`. With `declaration`, the approval answers that declared use, which
    must cover the asset. SigningError when this workspace has no approval signer."""
    reference, by = require_text("reference", reference), require_text("approver", by)
    consent = tuple(c.strip() for c in consent)
    signer = event_signer(config)
    results = []
    for ref in refs:
        cid = resolve(ref, config, store)
        asset = store.asset(cid)
        if asset is None or asset["origin"] not in ("ai-generated", "ai-modified"):
            origin = asset["origin"] if asset else "unknown"
            raise ApprovalError(f"not AI material (origin {origin}); nothing to approve", ref)
        if declaration:
            declaration = _declaration_for(store, declaration, cid, asset["tool"], ref)
        use_category = use or asset["use_category"] or config.policy.default_use
        validate_request(
            config.policy,
            use_category,
            consent,
            asset["use_category"],
            expires,
            reference=reference,
            approver=by,
        )
        approval = Approval(
            content_id=cid,
            reference=reference,
            approver=by,
            approved_at=now_iso(),
            use_category=use_category,
            consent=consent,
            expires=expires,
            note=note,
            declaration=declaration,
        )
        signature = signer.signature("approved", cid, approval.to_json())
        with store.transaction():
            approval = insert_approval(store, approval, signature)
            refresh_status(store, config, cid)
        rewritten = _rewrite_tags(cid, config, store, Status.APPROVED, approval, signer)
        results.append({"content_id": cid, "approval": approval.to_json(), "rewritten": rewritten})
    return results


def _declaration_for(store: Store, reference: str, cid: str, tool: str | None, ref: str) -> str:
    """The reference of the declared use an approval answers: it must be live and cover the
    asset by tool and scope (an approval cannot be filed under an unrelated notice)."""
    found = declarations.get_declaration(store, reference)
    if not found.live:
        raise ApprovalError(f"declaration {found.reference} is {found.state}", ref)
    if found.reference not in {d.reference for d in declarations.covering(store, cid)}:
        scope = "; ".join(map(str, found.scope))
        raise ApprovalError(
            f"declaration {found.reference} ({found.tool_label}: {scope}) does not cover this"
            f" asset (tool {tool or 'not recorded'})",
            ref,
        )
    return found.reference


def revoke(
    refs: list[str], config: Config, store: Store, *, reference: str, by: str, reason: str
) -> list[dict[str, Any]]:
    """Revoke the approval named by `reference` (on this content and the bytes it was carried
    to), and write the tag back to `revoked`. The revocation is signed by the approval identity
    when this workspace has one; it counts either way (`history/attest.py`)."""
    reference, by = require_text("reference", reference), require_text("revoker", by)
    reason = require_text("reason", reason)
    try:
        signer: EventSigner | None = event_signer(config)
    except SigningError:
        signer = None
    results = []
    for ref in refs:
        cid = resolve(ref, config, store, record_file=False)
        total = 0
        with store.transaction():
            for linked in store.linked(cid):
                count = mark_revoked(store, linked, reference, by, reason)
                if count:
                    total += count
                    refresh_status(store, config, linked)
                    detail = {"reference": reference, "by": by, "reason": reason}
                    signature = None
                    if signer is not None:
                        try:
                            signature = signer.signature("revoked", linked, detail)
                        except SigningError:  # a revocation must never wait for a signer
                            signer = None
                    store.append_event(
                        "revoked", content_id=linked, detail=with_signature(detail, signature)
                    )
        if not total:
            raise ApprovalError(f"no active approval {reference!r} on this asset", ref)
        rewritten = []
        for linked in store.linked(cid):
            rewritten += _rewrite_tags(
                linked,
                config,
                store,
                Status.REVOKED,
                None,
                signer,
                revoked=(reference, by, reason),
            )
        results.append(
            {"content_id": cid, "revoked": total, "rewritten": rewritten, "signed": bool(signer)}
        )
    return results


def _rewrite_tags(
    cid: str,
    config: Config,
    store: Store,
    status: Status,
    approval: Approval | None,
    signer: EventSigner | None,
    *,
    revoked: tuple[str, str, str] | None = None,
) -> list[str]:
    """Write the new status into every live file holding this content at this facility
    (another site's files are rewritten by its own watcher or scan); approvals follow, and
    so does a revocation (`revoked`: reference, by, reason), so the rewritten bytes read
    `revoked` with its reason, not `temporary`. `signer` signs what is carried."""
    if config.tag_mode == "off":
        return []
    written = []
    registry = Registry(store, config)
    for row in store.files_with_content(cid):
        path = Path(row.path)
        try:
            reading = registry.judge(read_asset(path, config))
        except Exception as exc:  # noqa: BLE001 - recorded; the approval stands in the store
            store.append_event(
                "tag-failed", content_id=cid, path=row.path, detail={"reason": str(exc)}
            )
            continue
        if reading.content_id != cid:
            continue  # changed on disk since it was recorded: the next scan records it
        asset = store.asset(cid) or {}
        detail: dict[str, Any] = {"reason": f"status-{status.value}", "status": status.value}
        if approval is not None:
            detail["approved"] = approval.reference
        if revoked is not None:
            detail["revoked"] = dict(zip(("reference", "by", "reason"), revoked, strict=True))
        intents: list[int] = []
        outcome = write_status_tag(
            reading,
            config,
            status,
            use=(approval.use_category if approval else asset.get("use_category")),
            approval_ref=approval.reference if approval else None,
            approved_by=approval.approver if approval else None,
            approved_content_id=cid if approval else None,
            expected_content_id=cid,
            before_replace=functools.partial(
                _intend, store, intents, row.path, cid, detail, signer
            ),
        )
        if outcome.error:
            with store.transaction():
                for intent in intents:
                    store.drop_intent(intent)
                store.append_event(
                    "tag-failed", content_id=cid, path=row.path, detail={"reason": outcome.error}
                )
            continue
        if outcome.content_id is None:
            store.append_event(
                "tagged",
                content_id=cid,
                path=row.path,
                detail={"status": status.value, "sidecar": outcome.written},
            )
            written.append(str(outcome.written))
            continue
        with store.transaction():
            record_rewrite(
                store,
                reading,
                outcome.content_id,
                config,
                phash=asset.get("phash"),
                reason=f"status-{status.value}",
                path=row.path,
                stat=outcome.stat,
                detail={"status": status.value},
            )
            carry(store, cid, outcome.content_id, detail)
            refresh_status(store, config, outcome.content_id)
            for intent in intents:
                store.drop_intent(intent)
        written.append(row.path)
    return written


def _intend(
    store: Store,
    intents: list[int],
    path: str,
    old: str,
    detail: dict[str, Any],
    signer: EventSigner | None,
    new: str,
) -> None:
    """Before the rename: sign what the rewrite carries onto `new` (when `signer`), and
    record (committed) what this tag write is about to make."""
    if signer is not None:
        detail["signatures"] = sign_carry(signer, store, old, new, detail)
    intents.append(store.add_intent(path, old, new, detail))


def verify_log(store: Store, config: Config) -> tuple[int, ChainBreak | None, SignatureAudit]:
    """Verify the event chain (the count of good events and the first broken record) and the
    approval identity's signatures on approvals and revocations."""
    count, broken = store.verify_events()
    return count, broken, audit_signatures(store, config)


def unsigned_approvals(store: Store, config: Config) -> list[Approval]:
    """Approvals that would count but for the approval identity's signature on their event
    (recorded before approvals were signed — or forged with the log key: a person checks
    each before `resign` signs it). Revoked ones are left: they can never count again."""
    found = approvals_of(store, store.approved_contents(), config)
    return [
        a
        for cid in sorted(found)
        for a in found[cid]
        if a.unsigned is not None and not a.revoked_at
    ]


def resign(store: Store, config: Config, approvals: list[Approval]) -> int:
    """Sign these approvals (from `unsigned_approvals`) with the approval identity: each gets
    an `approved` event of the same fields, signed, naming the event it re-signs. SigningError
    when this workspace has no approval signer."""
    signer = event_signer(config)
    with store.transaction():
        for approval in approvals:
            detail = {**approval.to_json(), "resigned": approval.unsigned}
            signature = signer.signature("approved", approval.content_id, detail)
            store.append_event(
                "approved",
                content_id=approval.content_id,
                detail=with_signature(detail, signature),
            )
        for cid in sorted({a.content_id for a in approvals}):
            refresh_status(store, config, cid)
    return len(approvals)


def timeline_options(
    media_roots: Iterable[str | Path] = (), path_maps: Iterable[str] = (), handles: int = 0
) -> Any:
    """How a check links timeline media: `path_maps` as `FOREIGN=LOCAL` strings."""
    from provenance.gate.linker import parse_map
    from provenance.gate.timelines import TimelineOptions

    return TimelineOptions(
        tuple(Path(r) for r in media_roots), tuple(parse_map(m) for m in path_maps), handles
    )


def check(
    packages: list[str],
    workspace: Workspace,
    *,
    strict: bool = False,
    store: Store | None = None,
    media_roots: Iterable[str | Path] = (),
    path_maps: Iterable[str] = (),
    handles: int = 0,
) -> Any:
    """The delivery gate for export scripts: a CheckReport with `.verdict`, `.assets` and, for
    a timeline, `.timelines` (its clips linked under `media_roots` through `path_maps`)."""
    from provenance.gate.decision import DeliveryGate

    links = timeline_options(media_roots, path_maps, handles)
    own = store is None
    store = store or open_store(workspace)
    try:
        return DeliveryGate(workspace.config, store).check(packages, strict=strict, timelines=links)
    finally:
        if own:
            store.close()


def declare(store: Store, config: Config, **fields: Any) -> declarations.Declaration:
    """`provgate declare`: record an intended use of generative AI (see
    `provenance.history.declarations.declare` for the fields)."""
    return declarations.declare(store, config.policy, **fields)


def disclosure(store: Store, config: Config, *, facility: str | None = None) -> dict[str, Any]:
    """The disclosure report whole: every AI asset, a section per declaration with what was
    found under it, and the AI material no declaration covers."""
    rows = report_rows(store, config, facility=facility)
    found = declarations.list_declarations(store)
    return {
        "assets": rows,
        "declarations": declarations.found_under(rows, found, config.policy),
        "undeclared": declarations.undeclared(rows),
    }


def undeclared_files(store: Store, config: Config, **filters: Any) -> list[dict[str, Any]]:
    """`ls --undeclared`: the recorded AI files (one row per file, as `list_files` gives
    them) of the assets no live declaration covers."""
    wanted = {r["content_id"] for r in declarations.undeclared(report_rows(store, config))}
    origin = filters.pop("origin", None)
    rows = [
        row
        for o in ("ai-generated", "ai-modified")
        if origin in (None, o)
        for row in list_files(store, origin=o, **filters)
        if row["content_id"] in wanted
    ]
    return sorted(rows, key=lambda r: (r["path"], r["facility"]))
