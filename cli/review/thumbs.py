"""Thumbnails for the review page, made once per content id and cached on disk.

A thumbnail is named by the content id (`<workspace>/thumbs/<content_id>.jpg`), so it can
never show other bytes: it is made only from a live file whose size and mtime still match
what the store recorded. Stills are decoded with Pillow; a video's first frame with PyAV when
it is installed (it is optional); anything else gets a placeholder.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from PIL import Image

from provenance.atomic import atomic_write
from provenance.pipeline.phash import PHASH_MEDIA
from provenance.stores import FileRow

SIZE = (320, 320)
_MAX_BYTES = 200 << 20
_MAX_PIXELS = 200_000_000
_FAILED = ".none"  # marker: this content cannot be previewed; do not decode it again


class Thumbnails:
    """The on-disk cache of JPEG thumbnails."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, content_id: str, media_type: str, files: list[FileRow]) -> Path | None:
        """The cached thumbnail of this content, made now if needed; None: no preview."""
        target = self.folder / f"{content_id}.jpg"
        if target.is_file():
            return target
        if (self.folder / (content_id + _FAILED)).exists():
            return None
        previewable = media_type in PHASH_MEDIA or media_type.startswith("video/")
        for row in files if previewable else []:
            try:
                st = os.stat(row.path)
            except OSError:
                continue
            if (st.st_size, st.st_mtime_ns) != (row.size, row.mtime_ns) or st.st_size > _MAX_BYTES:
                continue  # changed since it was recorded: these are not the bytes we name
            image = _decode(Path(row.path), media_type)
            if image is not None:
                self._write(target, image)
                return target
        if previewable and files:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / (content_id + _FAILED)).touch()
        return None

    def _write(self, target: Path, image: Image.Image) -> None:
        """Save atomically: a reader never sees half a JPEG."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(target, mode=0o644) as fh:
            image.save(fh, "JPEG", quality=80)


def _decode(path: Path, media_type: str) -> Image.Image | None:
    """A small RGB PIL image of the still (or the video's first frame), or None."""
    try:
        if media_type.startswith("video/"):
            frame = _first_video_frame(path)
            if frame is None:
                return None
            img = frame
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # sized below
                opened = Image.open(path)
            with opened:
                if opened.width * opened.height > _MAX_PIXELS:
                    return None
                opened.draft("RGB", SIZE)  # JPEG: decode at a reduced scale
                img = opened.convert("RGB")
        img.thumbnail(SIZE)
        return img
    except Exception:  # noqa: BLE001 - a preview is a nicety; the page stands without it
        return None


def _first_video_frame(path: Path) -> Image.Image | None:
    try:
        import av  # optional: PyAV is not a dependency of provgate
    except ImportError:
        return None
    with av.open(str(path)) as container:
        if not container.streams.video:
            return None
        for frame in container.decode(video=0):
            return frame.to_image().convert("RGB")
    return None
