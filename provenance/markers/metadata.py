"""The cheap metadata pass: what a file's own metadata says about where it came from.

`scan_metadata` opens the file once, sniffs its type from the first bytes, walks its container
within fixed bounds (`containers`), and turns what it found into `Evidence`: IPTC digital source
types and AI-system fields from XMP, generators' own metadata, tool names in free text, and
generator-style file names. It also reports whether a C2PA manifest store is embedded and any
remote manifest URL the XMP declares (never fetched); validating C2PA is a separate, slower pass.

The evidence carries a marker key (``dst:trainedAlgorithmicMedia``, ``generator:comfyui``,
``keyword:midjourney``...) and leaves `signal` unset: the caller weighs it with the policy.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from provenance.errors import MalformedAsset, UnreadableAsset
from provenance.formats.base import MAX_XMP_BYTES
from provenance.formats.sniff import sniff_media_type
from provenance.formats.table import (
    HEAD_BYTES,
    Field,
    Findings,
    Source,
    StructureError,
    walk_container,
)
from provenance.markers.families import Families
from provenance.markers.generators import generator_evidence
from provenance.markers.weak import filename_evidence, keyword_evidence
from provenance.markers.xmp import XmpProperties, parse_xmp
from provenance.model import XMP_SIDECAR_SUFFIX, Evidence

__all__ = ["OPEN_FLAGS", "MetadataScan", "scan_metadata"]


@dataclass(frozen=True)
class MetadataScan:
    """What a file's embedded metadata says, before any policy is applied."""

    media_type: str
    has_c2pa: bool
    remote_manifest: str | None
    evidence: tuple[Evidence, ...]
    # Why the walk stopped before the end of the file (a bound was reached), if it did.
    incomplete: str | None = None


def scan_metadata(
    path: Path,
    head: bytes | None = None,
    *,
    store_prompts: bool = False,
    opened: tuple[int, int] | None = None,
    families: Families | None = None,
) -> MetadataScan:
    """Read `path`'s metadata within fixed bounds and return the evidence it holds.

    `head`, if given, must be the file's first bytes (e.g. already read for hashing); it saves a
    read. `opened`, if given, is (descriptor, size) of the file already open (the caller checked
    that it is a regular file).
    Prompt text goes into evidence only when `store_prompts` is true. `families`: the generator
    families to recognise (default: the built-in ones).

    Raises `MalformedAsset` for an empty file, or one whose structure breaks before any metadata
    could be read (e.g. a truncated PNG), and `UnreadableAsset` when the file cannot be opened
    or read. A file of unknown type is not an error: it has no evidence.
    """
    if not isinstance(path, Path):
        path = Path(path)
    if opened is None:
        found = _walk_file(path, head)
    else:
        found = _walk_open(path, opened[0], opened[1], head)
    evidence: list[Evidence] = []
    fields: list[Field] = list(found.fields)
    remote: str | None = None
    incomplete = found.incomplete
    xmp_bytes = 0
    # The file's own packets, then its `<file>.xmp` sidecar's: read and weighed alike.
    packets = [(where, packet, "xmp") for where, packet in found.xmp]
    beside = _xmp_sidecar(path)
    if beside is not None:
        packets.append((f"XMP sidecar {path.name}{XMP_SIDECAR_SUFFIX}", beside, "xmp-sidecar"))
    for where, packet, source in packets:
        xmp_bytes += len(packet)
        if xmp_bytes > MAX_XMP_BYTES:
            incomplete = incomplete or f"XMP beyond {MAX_XMP_BYTES} bytes was not read"
            break
        properties = parse_xmp(packet)
        evidence.extend(_xmp_evidence(properties, where, store_prompts, source))
        fields.extend(
            Field("xmp", where, name, value)
            for name in _XMP_TEXT_PROPERTIES
            for value in properties.get(name, ())
        )
        remote = remote or _remote_manifest(properties)
    generators, explained = generator_evidence(fields, store_prompts, families)
    evidence.extend(generators)
    evidence.extend(keyword_evidence(fields, explained, families))
    evidence.extend(filename_evidence(path.name, families))
    return MetadataScan(
        media_type=found.media_type or "application/octet-stream",
        has_c2pa=found.has_c2pa,
        remote_manifest=remote,
        evidence=tuple(dict.fromkeys(evidence)),
        incomplete=incomplete,
    )


def _xmp_sidecar(path: Path) -> bytes | None:
    """The `<file>.xmp` beside the file, if there is one (up to one byte past the XMP budget,
    so that a larger one leaves the reading incomplete)."""
    name = os.fspath(path) + XMP_SIDECAR_SUFFIX
    if not os.path.isfile(name):  # cheap: most files have none
        return None
    try:
        fd = os.open(name, OPEN_FLAGS)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UnreadableAsset("XMP sidecar is not a regular file", Path(name))
            chunks: list[bytes] = []
            left = MAX_XMP_BYTES + 1
            while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    except OSError as exc:
        raise UnreadableAsset(f"XMP sidecar unreadable: {_reason(exc)}", Path(name)) from exc


OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)


def _walk_file(path: Path, head: bytes | None) -> Findings:
    try:
        # Non-blocking so that a FIFO on a watched share cannot hang the scan; it is refused below.
        fd = os.open(path, OPEN_FLAGS)
    except OSError as exc:
        raise UnreadableAsset(f"cannot open: {_reason(exc)}", path) from exc
    try:
        try:
            info = os.fstat(fd)
        except OSError as exc:
            raise UnreadableAsset(f"read failed: {_reason(exc)}", path) from exc
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableAsset("not a regular file", path)
        return _walk_open(path, fd, info.st_size, head)
    finally:
        os.close(fd)


def _walk_open(path: Path, fd: int, size: int, head: bytes | None) -> Findings:
    if size == 0:
        raise MalformedAsset("empty file (0 bytes)", path)
    try:
        if not head:
            head = os.pread(fd, HEAD_BYTES, 0)
        media_type = sniff_media_type(head)
        return walk_container(Source(head, size, fd), media_type)
    except StructureError as exc:
        raise MalformedAsset(exc.reason, path) from exc
    except OSError as exc:
        raise UnreadableAsset(f"read failed: {_reason(exc)}", path) from exc


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


_XMP_TEXT_PROPERTIES = (
    "CreatorTool",
    "softwareAgent",
    "Software",
    "Make",
    "Model",
    "Description",
    "Title",
    "ImageDescription",
    "UserComment",
    "Credit",
)
_DST_TERM = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


def _xmp_evidence(
    properties: XmpProperties, where: str, store_prompts: bool, source: str = "xmp"
) -> list[Evidence]:
    evidence = []
    for value in properties.get("DigitalSourceType", ()):
        term = value.strip().rstrip("/").rsplit("/", 1)[-1]
        if _DST_TERM.fullmatch(term):
            detail = f"{where}: Iptc4xmpExt:DigitalSourceType = {value}"
            evidence.append(Evidence(source=source, detail=detail, marker=f"dst:{term}"))
    ai_fields = ("AISystemUsed", "AISystemVersionUsed", "AIPromptInformation", "AIPromptWriterName")
    if any(name in properties for name in ai_fields):
        system = next(iter(properties.get("AISystemUsed", ())), None)
        parts = [f"AISystemUsed = {system}" if system else "AISystemUsed not given"]
        for name in ("AISystemVersionUsed", "AIPromptWriterName"):
            if properties.get(name):
                parts.append(f"{name} = {properties[name][0]}")
        extra = {}
        if properties.get("AIPromptInformation"):
            if store_prompts:
                prompt = properties["AIPromptInformation"][0]
                extra["prompt"] = prompt
                parts.append(f"AIPromptInformation = {prompt[:300]!r}")
            else:
                parts.append("AIPromptInformation present (not stored)")
        evidence.append(
            Evidence(
                source=source,
                detail=f"{where}: " + "; ".join(parts),
                marker="iptc:AISystemUsed",
                tool=system,
                extra=extra,
            )
        )
    return evidence


def _remote_manifest(properties: XmpProperties) -> str | None:
    for value in properties.get("provenance", ()):
        if value.lower().startswith(("https://", "http://")):
            return value
    return None
