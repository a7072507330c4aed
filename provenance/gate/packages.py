"""Delivery packages: a folder, a file, an archive, an OTIO timeline, or a path list.

Every regular file reachable in a package is a member, whatever its name; what cannot be
judged (links out of the package, special files, unreadable folders, archives that cannot be
opened) is a member with a problem, which the gate blocks. Archives are recognised by their
bytes, not their names, and opened wherever they sit (`archives`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlparse

from provenance.errors import PackageError
from provenance.gate.archives import is_archive, iter_archive
from provenance.gate.members import Member, sniff_file
from provenance.pipeline.walk import walk_package

__all__ = ["Member", "iter_package", "iter_packages", "iter_timeline"]

TIMELINE_SUFFIXES = (".otio", ".otioz", ".otiod")


def _is_timeline(path: Path) -> bool:
    return path.name.lower().endswith(TIMELINE_SUFFIXES)


def iter_package(spec: str, stdin: IO[str] | None = None) -> Iterator[Member]:
    """Every asset in a package, in a stable order."""
    if spec == "-":
        if stdin is None:
            raise PackageError("'-' given but no standard input", "-")
        for line in stdin:
            line = line.rstrip("\r\n")
            if line.strip():
                yield from _iter_path(Path(line), display_root=None)
        return
    path = Path(spec)
    if not path.exists() and not path.is_symlink():
        raise PackageError("no such file or folder", spec)
    if _is_timeline(path):
        yield from iter_timeline(path)
    elif path.is_file() and is_archive(_media_type(path)):
        yield from iter_archive(path)
    else:
        yield from _iter_path(path, display_root=path if path.is_dir() else path.parent)


def _media_type(path: Path) -> str:
    try:
        return sniff_file(path)
    except OSError:
        return "application/octet-stream"  # read_asset names the failure


def _iter_path(path: Path, display_root: Path | None) -> Iterator[Member]:
    if not path.exists() and not path.is_symlink():
        yield Member(str(path), None, "file not found")
        return
    # The walk's paths start with the absolute root: a member's name is what follows it.
    under = os.path.join(os.path.abspath(display_root), "") if display_root else ""
    for entry in walk_package(path):
        name = entry.path
        if display_root:
            name = name[len(under) :] if name.startswith(under) else os.path.relpath(name, under)
        if entry.stat is None:
            yield Member(name, None, entry.problem)
            continue
        local = Path(entry.path)
        media_type = _media_type(local)
        if is_archive(media_type):
            yield from iter_archive(local, name + "/", media_type)
        else:
            yield Member(name, local)


def iter_timeline(path: Path) -> Iterator[Member]:
    """The media of a timeline's enabled clips; a clip without media blocks as media offline."""
    import opentimelineio as otio

    try:
        timeline = otio.adapters.read_from_file(str(path))
    except Exception as exc:  # noqa: BLE001 - OTIO raises many types for a bad file
        raise PackageError(f"cannot read timeline: {str(exc).splitlines()[0]}", path) from exc
    base = path.parent
    seen: set[str] = set()
    for clip in timeline.find_clips():
        if not _enabled(clip):
            continue
        ref = clip.media_reference
        label = f"{clip.name or 'clip'}"
        if isinstance(ref, otio.schema.ExternalReference):
            targets = [_url_to_path(ref.target_url, base)]
        elif isinstance(ref, otio.schema.ImageSequenceReference):
            try:
                first, last = ref.frame_range_for_time_range(clip.trimmed_range())
            except Exception:  # noqa: BLE001 - a range outside the sequence: take it all
                first = ref.start_frame
                last = ref.end_frame()
            targets = [
                _url_to_path(ref.target_url_for_image_number(f - ref.start_frame), base)
                for f in range(first, last + 1)
            ]
        else:
            yield Member(f"{label} (timeline clip)", None, "media offline: clip has no media")
            continue
        for target in targets:
            key = str(target)
            if key in seen:
                continue
            seen.add(key)
            if not target.is_file():
                yield Member(key, None, f"media offline: clip {label!r} points to a missing file")
            else:
                yield Member(key, target)


def _enabled(item: object) -> bool:
    """A clip counts unless it or any track/stack above it is disabled."""
    node = item
    while node is not None:
        if getattr(node, "enabled", True) is False:
            return False
        node = node.parent() if hasattr(node, "parent") else None
    return True


def _url_to_path(url: str, base: Path) -> Path:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:
        return Path(url)  # a remote URL: will read as media offline
    p = Path(unquote(url))
    return p if p.is_absolute() else base / p


def iter_packages(specs: Iterable[str], stdin: IO[str] | None = None) -> Iterator[Member]:
    for spec in specs:
        yield from iter_package(spec, stdin)
