"""One way to classify a file: path → content id, media type, evidence → origin.

`scan`, `watch`, `inspect` and `check` all come through `read_asset`; the registry's evidence
(the store's own knowledge) is added by the caller through `decide_origin`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from provenance.c2pa.reader import (
    MANIFEST_STORE_TYPE,
    C2paSummary,
    read_c2pa,
    read_manifest_store,
)
from provenance.config import Config, Policy
from provenance.content import digest_fd
from provenance.errors import AssetError, MalformedAsset, ProvgateError, UnreadableAsset
from provenance.formats.base import HEAD_BYTES, MAX_XMP_BYTES
from provenance.markers.families import families_of
from provenance.markers.metadata import OPEN_FLAGS, scan_metadata
from provenance.markers.watermark import WATERMARK_MEDIA, watermark_evidence
from provenance.markers.xmp import packet_problem
from provenance.model import (
    SIDECAR_SUFFIX,
    XMP_SIDECAR_SUFFIX,
    XMP_SIDECAR_TYPE,
    Evidence,
    Origin,
    Signal,
    Validation,
)

# What a sidecar file reads as when it is an asset itself (in a package): evidence about its
# neighbour, no content of its own.
SIDECAR_MEDIA = frozenset({MANIFEST_STORE_TYPE, XMP_SIDECAR_TYPE})


@dataclass(frozen=True)
class AssetReading:
    """Everything provgate can tell about one file from its bytes alone."""

    path: Path
    content_id: str
    size: int
    media_type: str
    origin: Origin
    evidence: tuple[Evidence, ...]
    c2pa: C2paSummary | None = None
    remote_manifest: str | None = None
    tool: str | None = field(default=None)
    # Why the bounded metadata walk stopped before the end of the file, if it did.
    incomplete: str | None = None
    # The sidecar's manifest store, when the file embeds one too (both are weighed).
    sidecar_c2pa: C2paSummary | None = None

    @property
    def manifest_stores(self) -> tuple[C2paSummary, ...]:
        """Every manifest store read for this file: embedded first, then the sidecar."""
        return tuple(s for s in (self.c2pa, self.sidecar_c2pa) if s is not None)

    @property
    def manifest_invalid(self) -> bool:
        return any(s.validation is Validation.INVALID for s in self.manifest_stores)

    def to_json(self, path: str | None = None) -> dict[str, Any]:
        return {
            "path": path if path is not None else str(self.path),
            "content_id": self.content_id,
            "size": self.size,
            "media_type": self.media_type,
            "origin": self.origin.value,
            "tool": self.tool,
            "evidence": [e.to_json() for e in self.evidence],
            "c2pa": self.c2pa.to_json() if self.c2pa else None,
            "c2pa_sidecar": self.sidecar_c2pa.to_json() if self.sidecar_c2pa else None,
            "remote_manifest": self.remote_manifest,
            "incomplete": self.incomplete,
        }

    def with_evidence(self, extra: Iterable[Evidence], policy: Policy) -> AssetReading:
        """This reading with registry/user evidence added and the origin decided again."""
        origin, evidence = decide_origin([*self.evidence, *extra], policy)
        return replace(self, origin=origin, evidence=evidence, tool=tool_of(evidence))


def read_asset(path: Path, config: Config, *, pixels: bool = False) -> AssetReading:
    """Read a file's content id and every piece of evidence in it, and decide its origin.

    With `pixels`, lossless stills are also decoded for invisible watermarks (1-2 ms a still,
    some 40x the metadata read): the gate and `inspect` ask for it, a scan does not.

    Raises AssetError subclasses (naming the file) for unreadable, empty or corrupt files, for
    a manifest that is present but cannot be parsed, for a file that changed while it was read,
    and for any failure a reader did not foresee: callers that gate must block on them.
    """
    try:
        return _read_asset(path, config, pixels)
    except ProvgateError:
        raise
    except Exception as exc:  # noqa: BLE001 - a reader's bug must block the file, not the run
        raise AssetError(
            f"unexpected error while reading ({type(exc).__name__}: {exc})", path
        ) from exc


def _read_asset(path: Path, config: Config, pixels: bool) -> AssetReading:
    try:
        # Non-blocking: a FIFO on a watched share cannot hang the scan (it is refused below).
        fd = os.open(path, OPEN_FLAGS)
    except IsADirectoryError as exc:
        raise UnreadableAsset("is a directory", path) from exc
    except OSError as exc:
        raise UnreadableAsset(exc.strerror or str(exc), path) from exc
    try:
        try:
            before = os.fstat(fd)
            if stat.S_ISDIR(before.st_mode):
                raise UnreadableAsset("is a directory", path)
            if not stat.S_ISREG(before.st_mode):
                raise UnreadableAsset("not a regular file", path)
            # One pass gives the content id and the head the metadata walk starts from.
            head, cid, size = digest_fd(fd, before.st_size, HEAD_BYTES)
        except OSError as exc:
            raise UnreadableAsset(exc.strerror or str(exc), path) from exc
        if size == 0:
            raise MalformedAsset("empty file (0 bytes)", path)
        lowered = path.name.lower()
        if lowered.endswith(SIDECAR_SUFFIX):
            return _manifest_store_reading(path, config, cid, size)
        if lowered.endswith(XMP_SIDECAR_SUFFIX):
            return _xmp_sidecar_reading(path, fd, cid, size)
        meta = scan_metadata(
            path,
            head,
            store_prompts=config.policy.store_prompts,
            opened=(fd, size),
            families=families_of(config),
        )
    finally:
        os.close(fd)
    evidence: list[Evidence] = list(meta.evidence)
    reading = read_c2pa(path, meta.media_type, config, embedded=meta.has_c2pa)
    if reading is not None:
        evidence[:0] = reading.evidence
    has_sidecar = reading is not None and (
        reading.sidecar is not None or reading.summary.source == "c2pa-sidecar"
    )
    if meta.remote_manifest and not has_sidecar:
        evidence.append(
            Evidence(
                source="c2pa",
                marker="c2pa:remote",
                detail=f"remote manifest at {meta.remote_manifest} (not fetched: provgate stays "
                f"offline; place it beside the file as {path.name}.c2pa)",
            )
        )
    if pixels and meta.media_type in WATERMARK_MEDIA:
        evidence.extend(watermark_evidence(path, meta.media_type))
    try:
        after = os.stat(path)
    except OSError as exc:
        raise UnreadableAsset(f"vanished while being read: {exc.strerror}", path) from exc
    if (after.st_size, after.st_mtime_ns, after.st_ino) != (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    ) or size != before.st_size:
        # The content id and the evidence must describe the same bytes.
        raise UnreadableAsset("changed while being read (still being written?)", path)
    origin, decided = decide_origin(evidence, config.policy)
    return AssetReading(
        path=path,
        content_id=cid,
        size=size,
        media_type=meta.media_type,
        origin=origin,
        evidence=decided,
        c2pa=reading.summary if reading else None,
        remote_manifest=meta.remote_manifest,
        tool=tool_of(decided),
        incomplete=meta.incomplete,
        sidecar_c2pa=reading.sidecar if reading else None,
    )


def _manifest_store_reading(path: Path, config: Config, cid: str, size: int) -> AssetReading:
    """A `.c2pa` file as an asset: a readable manifest store (else ManifestError, which
    blocks). What it declares is evidence about its neighbour, weighed there."""
    store = read_manifest_store(path, config)
    manifests = len(store.summary.manifests)
    about = Evidence(
        source="c2pa-sidecar",
        detail=f"C2PA manifest store ({manifests} manifest(s), "
        f"{store.summary.validation.value} on its own); evidence about "
        f"{path.name[: -len(SIDECAR_SUFFIX)]}, weighed with it",
        marker="",
        validation=store.summary.validation,
    )
    return _sidecar_reading(path, cid, size, MANIFEST_STORE_TYPE, about)


def _sidecar_reading(
    path: Path, cid: str, size: int, media_type: str, about: Evidence
) -> AssetReading:
    """A sidecar read as an asset: no origin of its own, one line of evidence saying what it is."""
    return AssetReading(
        path=path,
        content_id=cid,
        size=size,
        media_type=media_type,
        origin=Origin.UNKNOWN,
        evidence=(about,),
        c2pa=None,
        remote_manifest=None,
        tool=None,
        incomplete=None,
        sidecar_c2pa=None,
    )


def _xmp_sidecar_reading(path: Path, fd: int, cid: str, size: int) -> AssetReading:
    """A `.xmp` file as an asset: it must be a readable XMP packet (else MalformedAsset, which
    blocks). What it says is evidence about its neighbour, weighed there."""
    if size > MAX_XMP_BYTES:
        raise MalformedAsset(f"XMP sidecar larger than {MAX_XMP_BYTES >> 20} MiB", path)
    try:
        packet = os.pread(fd, size, 0)
    except OSError as exc:
        raise UnreadableAsset(exc.strerror or str(exc), path) from exc
    problem = packet_problem(packet)
    if problem:
        raise MalformedAsset(problem, path)
    about = Evidence(
        source="xmp-sidecar",
        detail=f"XMP packet; evidence about {path.name[: -len(XMP_SIDECAR_SUFFIX)]}, "
        "weighed with it",
        marker="",
    )
    return _sidecar_reading(path, cid, size, XMP_SIDECAR_TYPE, about)


def is_sidecar_reading(reading: AssetReading | None) -> bool:
    """A sidecar file read as an asset (see SIDECAR_MEDIA)."""
    return reading is not None and reading.media_type in SIDECAR_MEDIA


def _signal(ev: Evidence, policy: Policy) -> Signal:
    if ev.marker.startswith("origin:"):  # a person's or the registry's recorded origin
        try:
            return Signal(ev.marker.split(":", 1)[1])
        except ValueError:
            return Signal.NONE
    signal = policy.signal_for(ev.marker) if ev.marker else Signal.NONE
    if signal is Signal.AI_GENERATED and ev.extra.get("relationship") == "componentOf":
        # Generated material placed into something else makes that thing a composite.
        return Signal.AI_MODIFIED
    if signal is Signal.NON_AI and ev.validation is Validation.INVALID:
        # A tampered manifest is no evidence of human origin (it still counts when it admits AI).
        return Signal.NONE
    return signal


def decide_origin(
    evidence: Iterable[Evidence], policy: Policy
) -> tuple[Origin, tuple[Evidence, ...]]:
    """Weigh evidence through the policy: AI declarations win, then positive non-AI evidence."""
    weighed = tuple(replace(ev, signal=_signal(ev, policy)) for ev in evidence)
    if not weighed:  # most files: nothing to weigh
        return Origin.UNKNOWN, weighed
    signals = {ev.signal for ev in weighed}
    if Signal.AI_GENERATED in signals:
        origin = Origin.AI_GENERATED
    elif Signal.AI_MODIFIED in signals:
        origin = Origin.AI_MODIFIED
    elif Signal.NON_AI in signals:
        origin = Origin.NON_AI
    else:
        origin = Origin.UNKNOWN
    return origin, weighed


def tool_of(evidence: Sequence[Evidence]) -> str | None:
    """The tool named by the strongest evidence (AI declarations first); None when no evidence
    names one (shown as `UNKNOWN_TOOL`)."""
    rank = {
        Signal.AI_GENERATED: 0,
        Signal.AI_MODIFIED: 0,
        Signal.NON_AI: 1,
        Signal.WEAK: 2,
        Signal.NONE: 3,
    }
    if not evidence:
        return None
    named = sorted((rank[e.signal], i, e.tool) for i, e in enumerate(evidence) if e.tool)
    return named[0][2] if named else None


def needs_fingerprint(reading: AssetReading) -> bool:
    """Whether an image must be fingerprinted for the near-duplicate test: every image but
    one with positive evidence of its own that it is not AI (a trusted non-ai manifest),
    which a near match cannot outweigh (SPEC §5.1). Read from the file alone, so a worker
    that cannot see the store decides it as the gate does."""
    from provenance.pipeline.fingerprints import FINGERPRINT_MEDIA

    if reading.media_type not in FINGERPRINT_MEDIA:
        return False
    return not any(
        e.signal is Signal.NON_AI and e.validation is Validation.TRUSTED for e in reading.evidence
    )
