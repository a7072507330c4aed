"""Perceptual hashes of images, to find re-saved, resized or re-graded copies of AI assets.

A 128-bit gradient hash (horizontal and vertical differences on a 9x9 grey thumbnail): it
survives re-encoding, scaling and global grading; crops, flips and letterboxing defeat it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from provenance.formats.base import MAX_DECODE_PIXELS

BITS = 128
# Hamming distance at or below which two images count as the same picture.
NEAR_DISTANCE = 14

PHASH_MEDIA = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/tiff", "image/gif", "image/bmp"}
)


@dataclass(frozen=True)
class Fingerprint:
    """An image's perceptual hash, or why it was not computed (None, None: not an image
    provgate fingerprints, or one its decoder cannot read)."""

    value: str | None
    problem: str | None = None


def image_phash(path: Path, media_type: str) -> str | None:
    """Hex perceptual hash of an image, or None when it cannot be decoded within bounds."""
    return fingerprint(path, media_type).value


def fingerprint(path: Path, media_type: str) -> Fingerprint:
    """The image's perceptual hash, decoded at reduced size where the format allows; an
    image declaring more than `MAX_DECODE_PIXELS` (after that reduction) is refused with a
    reason instead of being decoded (a small PNG can declare 13000x13000)."""
    if media_type not in PHASH_MEDIA:
        return Fingerprint(None)
    from PIL import Image  # imported late: decoding is only needed for images

    try:
        with warnings.catch_warnings():
            # Our own bound below replaces Pillow's bomb warning (it fires at open).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                img.draft("L", (64, 64))  # JPEG: decode at 1/8 scale, ~6x cheaper
                if img.width * img.height > MAX_DECODE_PIXELS:
                    return Fingerprint(
                        None,
                        f"image declares {width}x{height} pixels, more than the "
                        f"{MAX_DECODE_PIXELS} provgate decodes to fingerprint it",
                    )
                grey = img.convert("L").resize((9, 9), Image.Resampling.BOX)
                px = grey.tobytes()
    except Image.DecompressionBombError as exc:
        return Fingerprint(None, f"image refused by the decoder: {exc}")
    except Exception:  # noqa: BLE001 - a decoder failure: no hash (the file's reading stands)
        return Fingerprint(None)
    bits = 0
    for y in range(8):
        for x in range(8):
            bits = (bits << 1) | (px[y * 9 + x] < px[y * 9 + x + 1])
    for y in range(8):
        for x in range(8):
            bits = (bits << 1) | (px[y * 9 + x] < px[(y + 1) * 9 + x])
    return Fingerprint(f"{bits:032x}")


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
