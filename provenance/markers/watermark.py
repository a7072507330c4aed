"""Stable Diffusion's invisible watermarks, read from the pixels without any model.

Stability's reference scripts and diffusers' SDXL pipeline mark every image with
invisible-watermark's `dwtDct` method: the U plane (YUV) gets a one-level Haar DWT, and in each
4x4 block of its LL band (an 8x8 tile of the image, tiles counted row by row) the coefficient of
largest magnitude after the first is moved to `(n + 0.25 + 0.5 * bit) * 36`, bit `k % len` of
the payload going into tile `k`. Reading it back: each tile votes 1 when that coefficient's
remainder modulo 36 is in the upper half.

An unmarked image votes at random, or (flat areas) all one way, so a payload counts only when
the tiles meant to carry a 1 vote 1 far more often than the tiles meant to carry a 0 (the
*contrast*, about 0 on unmarked images and 0.7-1.0 on marked ones) and the per-bit majority
gives back nearly every payload bit. The mark does not survive lossy re-encoding (JPEG kills it
even at quality 100 with chroma subsampling) or resizing, so only lossless stills are read.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.formats.base import MAX_DECODE_PIXELS
from provenance.model import Evidence

_SCALE = 36.0
# Lossless still formats (a lossy WebP is read too: it simply never matches).
WATERMARK_MEDIA = frozenset({"image/png", "image/webp", "image/tiff", "image/bmp"})
# The encoder refuses images under 256x256 pixels (1,024 tiles); below that nothing was marked.
_MIN_PIXELS = 256 * 256
# Only the top-left region is analysed: 2048x2048 holds 65,536 tiles, hundreds of repeats of
# every payload, and bounds the cost on a 8K still.
_REGION = 2048
_MAX_PIXELS = 200_000_000
# A payload is read when both hold; unmarked images measured below 0.05 contrast.
MIN_CONTRAST = 0.4
_MAX_BIT_ERRORS = 1 / 8


def _bits_of(data: bytes) -> tuple[int, ...]:
    return tuple((byte >> (7 - i)) & 1 for byte in data for i in range(8))


@dataclass(frozen=True)
class Payload:
    """One known message: its marker name, who writes it, and its bits (most significant
    first, as the encoder lays them out)."""

    name: str
    writer: str
    bits: tuple[int, ...]


# The payloads generators write (reference/ai-markers.md); one line per writer.
PAYLOADS: tuple[Payload, ...] = (
    Payload(
        "sdxl",
        "Stable Diffusion XL (diffusers / Stability AI)",
        tuple(int(b) for b in f"{0b101100111110110010010000011110111011000110011110:048b}"),
    ),
    Payload("sd1", "Stable Diffusion 1.x reference scripts", _bits_of(b"StableDiffusionV1")),
    Payload("sd2", "Stable Diffusion 2.x reference scripts", _bits_of(b"SDV2")),
)


@dataclass(frozen=True)
class WatermarkReading:
    payload: Payload
    matched_bits: int
    contrast: float
    tiles: int


def tile_votes(rgb: Any) -> Any:
    """One 0/1 vote per 8x8 tile of an RGB (height, width, 3) array, in the encoder's order."""
    import numpy as np
    import pywt

    pixels = np.asarray(rgb, dtype=np.float32)
    # cv2's BGR2YUV U row, applied to RGB; its +128 offset only moves the LL block's mean.
    u = pixels @ np.array([-0.14713, -0.28886, 0.436], dtype=np.float32)
    height, width = u.shape
    u = u[: height // 8 * 8, : width // 8 * 8]
    ll, _ = pywt.dwt2(u, "haar")
    rows, cols = ll.shape[0] // 4, ll.shape[1] // 4
    blocks = ll.reshape(rows, 4, cols, 4).transpose(0, 2, 1, 3).reshape(rows * cols, 16)
    strongest = np.abs(blocks[:, 1:]).max(axis=1)
    return (strongest % _SCALE) > (_SCALE / 2)


def read_payloads(votes: Any) -> list[WatermarkReading]:
    """The known payloads these tile votes carry (usually none)."""
    import numpy as np

    found = []
    tiles = len(votes)
    weights = votes.astype(np.float64)
    for payload in PAYLOADS:
        length = len(payload.bits)
        if tiles < max(1024, 4 * length):
            continue
        bit_of_tile = np.arange(tiles) % length
        expected = np.asarray(payload.bits, dtype=bool)[bit_of_tile]
        contrast = float(weights[expected].mean() - weights[~expected].mean())
        if contrast < MIN_CONTRAST:
            continue
        ones = np.bincount(bit_of_tile, weights=weights, minlength=length)
        share = ones / np.bincount(bit_of_tile, minlength=length)
        decoded = np.where(share > 0.5, 1, np.where(share < 0.5, 0, -1))
        matched = int((decoded == np.asarray(payload.bits)).sum())
        if length - matched <= int(length * _MAX_BIT_ERRORS):
            found.append(WatermarkReading(payload, matched, contrast, tiles))
    return found


def read_image(path: Path) -> list[WatermarkReading]:
    """Decode a still's top-left region and read the payloads in it; [] when it cannot be
    decoded (the container walk reports unreadable files, not this)."""
    import numpy as np
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # bounded below
            img = Image.open(path)
        with img:
            pixels = img.width * img.height
            if pixels < _MIN_PIXELS or pixels > _MAX_PIXELS:
                return []
            _top_rows_only(img, _REGION)
            if img.width * img.height > MAX_DECODE_PIXELS:
                return []  # no partial decode for this format: too large to decode whole
            region: Image.Image = img
            if img.width > _REGION or img.height > _REGION:
                region = img.crop((0, 0, min(img.width, _REGION), min(img.height, _REGION)))
            rgb = np.asarray(region.convert("RGB"))
    except Exception:  # noqa: BLE001 - an image Pillow cannot decode carries no readable mark
        return []
    return read_payloads(tile_votes(rgb))


def _top_rows_only(img: Any, rows: int) -> None:
    """Make a non-interlaced PNG decode only its first `rows` rows (the region read here): a
    small PNG can declare 13000x13000 pixels, ~500 MB decoded whole."""
    if img.format != "PNG" or img.info.get("interlace") or img.height <= rows:
        return
    if len(img.tile) != 1:
        return
    tile = img.tile[0]
    img.tile = [tile._replace(extents=(0, 0, img.width, rows))]
    img._size = (img.width, rows)


def watermark_evidence(path: Path, media_type: str) -> list[Evidence]:
    """`watermark` evidence for the invisible-watermark payloads found in a lossless still."""
    if media_type not in WATERMARK_MEDIA:
        return []
    return [
        Evidence(
            source="watermark",
            marker=f"watermark:{found.payload.name}",
            tool=found.payload.writer,
            detail=f"invisible watermark (dwtDct) of {found.payload.writer}: "
            f"{found.matched_bits}/{len(found.payload.bits)} payload bits, "
            f"contrast {found.contrast:.2f} over {found.tiles} tiles",
            extra={"payload": found.payload.name, "contrast": round(found.contrast, 3)},
        )
        for found in read_image(path)
    ]
