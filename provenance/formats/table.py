"""Bounded walkers over container structures, chosen by sniffed media type.

`walk_container` runs the walker for a media type over a `Source` and returns its `Findings`:
text fields, XMP packets, and whether a C2PA manifest store is embedded. Walkers live in one
module per container family (image, TIFF/EXIF, RIFF, BMFF, Matroska, audio, misc), each
registering itself in one table (`formats.base.format_walker`); this module imports them all.
All of them share the limits in `formats.base`. A walk that hits a limit keeps what it found
and says so in `Findings.incomplete`; a broken structure raises `StructureError` only when
nothing had been read before it, since a file truncated after its metadata still tells us
what it claims.
"""

from __future__ import annotations

import importlib
import pkgutil
import struct
import zlib

from provenance.formats import __path__ as _package_path
from provenance.formats.base import (
    HEAD_BYTES,
    MAGICS,
    WALKERS,
    Field,
    Findings,
    LimitReached,
    Source,
    StructureError,
)

# Every module of the package registers its walkers as it is imported.
for _module in pkgutil.iter_modules(_package_path):
    if _module.name not in ("base", "table", "sniff"):
        importlib.import_module(f"provenance.formats.{_module.name}")

__all__ = [
    "HEAD_BYTES",
    "MAGICS",
    "WALKERS",
    "Field",
    "Findings",
    "Source",
    "StructureError",
    "walk_container",
]

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
