"""One entry point for the fingerprints the near-duplicate test compares, by media kind.

Stills: the 128-bit perceptual hash (`phash.py`, bare hex, as stores have always held it).
Video: sampled frame hashes (`vhash.py`, text starting `v1:`). Audio: Chromaprint
(`ahash.py`, text starting `a1:`). The store keeps whichever one an asset has in the same
column; only fingerprints of one kind are ever compared.
"""

from __future__ import annotations

from pathlib import Path

from provenance.pipeline.ahash import AUDIO_MEDIA, audio_fingerprint
from provenance.pipeline.ahash import PREFIX as AUDIO_PREFIX
from provenance.pipeline.phash import PHASH_MEDIA, Fingerprint
from provenance.pipeline.phash import fingerprint as image_fingerprint
from provenance.pipeline.vhash import PREFIX as VIDEO_PREFIX
from provenance.pipeline.vhash import VIDEO_MEDIA, video_fingerprint

FINGERPRINT_MEDIA = PHASH_MEDIA | VIDEO_MEDIA | AUDIO_MEDIA


def fingerprint(path: Path, media_type: str) -> Fingerprint:
    """The file's fingerprint for the store; its value is None when its kind has none or it
    cannot be decoded (a video container without a video stream is fingerprinted by its
    sound), with the reason when an image was refused (see `phash.fingerprint`)."""
    if media_type in PHASH_MEDIA:
        return image_fingerprint(path, media_type)
    if media_type in VIDEO_MEDIA:
        return Fingerprint(video_fingerprint(path) or audio_fingerprint(path))
    if media_type in AUDIO_MEDIA:
        return Fingerprint(audio_fingerprint(path))
    return Fingerprint(None)


def kind_of(value: str) -> str:
    """'video', 'audio' or 'image' (a bare hex perceptual hash)."""
    if value.startswith(VIDEO_PREFIX):
        return "video"
    if value.startswith(AUDIO_PREFIX):
        return "audio"
    return "image"
