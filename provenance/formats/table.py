"""Bounded walkers over container structures, chosen by sniffed media type.

`walk_container` runs the walker for a media type over a `Source` and returns its `Findings`:
text fields, XMP packets, and whether a C2PA manifest store is embedded. Walkers live in one
module per family (image, TIFF/EXIF, RIFF, BMFF, audio, misc); all of them share the limits in
`containers_base`. A walk that hits a limit keeps what it found and says so in
`Findings.incomplete`; a broken structure raises `StructureError` only when nothing had been
read before it, since a file truncated after its metadata still tells us what it claims.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

from provenance.formats.audio import walk_flac, walk_mp3, walk_ogg
from provenance.formats.base import (
    HEAD_BYTES,
    Field,
    Findings,
    LimitReached,
    Source,
    StructureError,
)
from provenance.formats.bmff import walk_bmff
from provenance.formats.image import walk_gif, walk_jpeg, walk_png, walk_psd
from provenance.formats.matroska import walk_matroska
from provenance.formats.misc import walk_dpx, walk_exr, walk_pdf, walk_svg, walk_zip
from provenance.formats.riff import walk_riff
from provenance.formats.tiff import walk_tiff

__all__ = [
    "HEAD_BYTES",
    "WALKERS",
    "Field",
    "Findings",
    "Source",
    "StructureError",
    "walk_container",
]

Walker = Callable[[Source, Findings], None]

WALKERS: dict[str, Walker] = {
    "image/png": walk_png,
    "image/jpeg": walk_jpeg,
    "image/gif": walk_gif,
    "image/webp": walk_riff,
    "image/tiff": walk_tiff,
    "image/heic": walk_bmff,
    "image/heif": walk_bmff,
    "image/avif": walk_bmff,
    "image/jxl": walk_bmff,
    "image/vnd.adobe.photoshop": walk_psd,
    "image/x-exr": walk_exr,
    "image/x-dpx": walk_dpx,
    "image/svg+xml": walk_svg,
    "video/mp4": walk_bmff,
    "video/quicktime": walk_bmff,
    "video/x-msvideo": walk_riff,
    "video/webm": walk_matroska,
    "video/x-matroska": walk_matroska,
    "audio/mp4": walk_bmff,
    "audio/wav": walk_riff,
    "audio/mpeg": walk_mp3,
    "audio/flac": walk_flac,
    "audio/ogg": walk_ogg,
    "application/pdf": walk_pdf,
    "application/zip": walk_zip,
}

# Corrupt metadata inside an otherwise readable file is skipped, never raised: these are the
# errors a parser of hostile bytes can still hit despite its checks.
_PARSE_ERRORS = (struct.error, IndexError, ValueError, UnicodeError, zlib.error, OverflowError)


def walk_container(src: Source, media_type: str) -> Findings:
    """Walk the file's structure for `media_type`; formats without a walker find nothing."""
    found = Findings(media_type=media_type)
    walker = WALKERS.get(media_type)
    if walker is None or (media_type == "image/jxl" and src.head[:2] == b"\xff\x0a"):
        return found
    try:
        walker(src, found)
    except LimitReached as exc:
        found.incomplete = str(exc)
    except StructureError as exc:
        if not found.items_read:
            raise
        found.incomplete = exc.reason
    except _PARSE_ERRORS as exc:
        found.incomplete = f"unreadable metadata skipped ({type(exc).__name__})"
    if found.clipped and not found.incomplete:
        found.incomplete = found.clipped
    return found
