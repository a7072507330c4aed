"""The work done for one file in a worker process: read it, fingerprint it, and tag it when it
is AI material without our tag (`process_file`). It touches only the file, never the store;
the recording process turns its outcome into rows and events (`provenance.history.recorder`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from provenance.config import Config
from provenance.errors import ProvgateError
from provenance.model import Origin, Status
from provenance.pipeline.classify import AssetReading, needs_fingerprint, read_asset
from provenance.pipeline.fingerprints import fingerprint as fingerprint_of
from provenance.pipeline.transport import FileOutcome, TagOutcome
from provenance.pipeline.walk import FileStat, stat_of

# One signer per thread and configuration: a c2pa Signer is not shared between threads.
_signers = threading.local()


def _signer_for(config: Config, *, approval: bool = False) -> Any:
    """The tagging signer, or the approval identity's (only it may sign an approved tag)."""
    from provenance.c2pa.signing import signer_from_config

    cache: dict[Any, Any] = _signers.__dict__.setdefault("by_config", {})
    key = (config.approval_signer if approval else config.signer, config.trust_anchors, approval)
    if key not in cache:
        cache[key] = signer_from_config(config, approval=approval)
    return cache[key]


def has_own_tag(reading: AssetReading) -> bool:
    return reading.c2pa is not None and reading.c2pa.provgate_tag is not None


def should_tag(reading: AssetReading, config: Config) -> bool:
    """Scan and watch tag AI material (per the workspace's mode) that does not carry our tag."""
    return (
        config.tag_mode != "off"
        and reading.origin.value in config.tag_origins
        and not has_own_tag(reading)
    )


def process_file(
    stat: FileStat, config: Config, tag: bool = True, near: bool = False
) -> FileOutcome:
    """Read one file, and tag it when it is AI material that is not tagged yet. Never raises
    for a bad file: the error is part of the outcome, so the caller can record it and go on.

    AI images, clips and sounds are fingerprinted (`pipeline/fingerprints.py`) so that copies
    of them can be found; with `near` (the store knows AI fingerprints), so is every one
    without positive evidence of its own, for the recorder's near-duplicate test."""
    try:
        reading = read_asset(Path(stat.path), config)
    except ProvgateError as exc:
        return FileOutcome(stat=stat, error=exc.reason)
    fingerprint = reading.origin.is_ai or (near and needs_fingerprint(reading))
    phash = fingerprint_of(Path(stat.path), reading.media_type).value if fingerprint else None
    outcome = FileOutcome(stat=stat, reading=reading, phash=phash)
    if tag and should_tag(reading, config):
        outcome = FileOutcome(
            stat=stat,
            reading=reading,
            phash=phash,
            tag=write_status_tag(reading, config, Status.TEMPORARY, fingerprint=phash),
        )
    return outcome


def write_status_tag(
    reading: AssetReading,
    config: Config,
    status: Status,
    *,
    use: str | None = None,
    note: str | None = None,
    approval_ref: str | None = None,
    approved_by: str | None = None,
    approved_content_id: str | None = None,
    tool: str | None = None,
    origin: Origin | None = None,
    expected_content_id: str | None = None,
    before_replace: Any = None,
    fingerprint: str | None = None,
) -> TagOutcome:
    """Write our tag onto the file and report the bytes it left behind (see `write_tag` for
    `expected_content_id`, the bytes that must be the ones signed, and `before_replace`). The
    tag carries the content's fingerprint as a soft binding (computed here unless the caller
    has it)."""
    from provenance.c2pa.tagging import Tag, write_tag

    if fingerprint is None:
        fingerprint = fingerprint_of(reading.path, reading.media_type).value
    tag = Tag(
        origin=origin or reading.origin,
        status=status,
        tool=tool or reading.tool,
        use=use or config.policy.default_use,
        note=note,
        approval_ref=approval_ref,
        approved_by=approved_by,
        approved_content_id=approved_content_id,
        fingerprint=fingerprint,
    )
    try:
        result = write_tag(
            reading.path,
            tag,
            config,
            _signer_for(config, approval=status is Status.APPROVED),
            media_type=reading.media_type,
            expected_content_id=expected_content_id,
            before_replace=before_replace,
        )
        new_stat = stat_of(str(reading.path)) if result.content_id else None
    except ProvgateError as exc:
        return TagOutcome(content_id=None, stat=None, written=None, error=exc.reason)
    except OSError as exc:
        return TagOutcome(
            content_id=None,
            stat=None,
            written=None,
            error=f"tagged, but the file vanished afterwards: {exc.strerror}",
        )
    except Exception as exc:  # noqa: BLE001 - the write is atomic: the asset is as it was
        return TagOutcome(
            content_id=None,
            stat=None,
            written=None,
            error=f"unexpected error while tagging ({type(exc).__name__}: {exc})",
        )
    written = str(result.written) if result.written else None
    return TagOutcome(content_id=result.content_id, stat=new_stat, written=written)
