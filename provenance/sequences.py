"""Frame sequences (`shot_010.1001.exr` ...): one rule for finding them, naming them and
reading their names back.

`ls` shows a sequence as `shot_010.[1001-1020].exr`; that label (and the usual patterns,
`shot_010.####.exr`, `shot_010.@@@@.exr`, `shot_010.%04d.exr`) is accepted wherever an asset
is named, and stands for every frame of it. Terminal listings and the gate's text report group
a sequence into one row; JSON and CSV keep one row per file.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

# Only image formats form sequences: digits before `.mov` are a version, not a frame.
SEQUENCE_EXTENSIONS = frozenset(
    {".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".cin", ".tga", ".sgi", ".rgb"}
)
# head, then a frame part, then the extension: `[1001-1020]` (as ls prints), `####`, `@@@@`,
# `%04d`; the frame part is the last thing before the extension.
_PATTERN = re.compile(
    r"^(?P<head>.*?)(?:\[(?P<range>[0-9][0-9,x:\- ]*)\]|(?P<hashes>#+|@+)|%0?(?P<width>\d*)d)"
    r"(?P<ext>\.[A-Za-z0-9]+)$"
)
_FRAME = re.compile(r"^(?P<head>.*?)(?P<digits>\d+)(?P<ext>\.[A-Za-z0-9]+)$")


@dataclass(frozen=True)
class SequencePattern:
    """A sequence as named: its folder, the name around the frame number, the frames meant
    (None: any) and the number of digits (None: any)."""

    folder: str
    head: str
    ext: str
    frames: frozenset[int] | None
    width: int | None

    def frame_of(self, name: str) -> int | None:
        """The frame number of `name` if it is one of this sequence's files, else None."""
        found = _FRAME.match(name)
        if not found or found["head"] != self.head or found["ext"] != self.ext:
            return None
        digits = found["digits"]
        if self.width is not None and len(digits) != self.width:
            return None
        frame = int(digits)
        return frame if self.frames is None or frame in self.frames else None


def frame_parts(path: str) -> tuple[str, str, str] | None:
    """(folder, name before the frame number, extension) of a path that can be a frame of a
    sequence, else None: the frames of one sequence share all three."""
    folder, name = os.path.split(path)
    found = _FRAME.match(name)
    if not found or found["ext"].lower() not in SEQUENCE_EXTENSIONS:
        return None
    return folder, found["head"], found["ext"]


def parse_sequence(text: str) -> SequencePattern | None:
    """The sequence `text` names, or None when it is not sequence notation."""
    folder, name = os.path.split(text)
    found = _PATTERN.match(name)
    if not found or found["ext"].lower() not in SEQUENCE_EXTENSIONS:
        return None
    frames = width = None
    if found["range"] is not None:
        import fileseq  # imported on use: it pulls in numpy

        try:
            frames = frozenset(int(f) for f in fileseq.FrameSet(found["range"].replace(" ", "")))
        except (fileseq.ParseException, ValueError):
            return None
    elif found["hashes"]:
        marks = found["hashes"]
        width = None if len(marks) == 1 else len(marks)  # one mark: any padding
    elif found["width"]:
        width = int(found["width"])
    return SequencePattern(folder, found["head"], found["ext"], frames, width)


def expand_sequence(pattern: SequencePattern, candidates: Iterable[str]) -> list[str]:
    """The candidate paths (in `pattern`'s folder) that are frames of it, in frame order."""
    frames = []
    for path in set(candidates):
        folder, name = os.path.split(path)
        if folder != pattern.folder:
            continue
        frame = pattern.frame_of(name)
        if frame is not None:
            frames.append((frame, path))
    return [path for _frame, path in sorted(frames)]


@dataclass(frozen=True)
class FrameGroup:
    """Items that are the frames of one sequence (in frame order), or a single item."""

    label: str  # `folder/shot.[1001-1020].exr`, or the single item's path
    items: list[Any]

    @property
    def is_sequence(self) -> bool:
        return len(self.items) > 1


def group_frames(items: Sequence[T], path_of: Callable[[T], str]) -> list[FrameGroup]:
    """Partition items into frame sequences and single files, sorted by label; a sequence's
    frames are in frame order."""
    candidates: dict[str, list[T]] = defaultdict(list)
    singles: list[FrameGroup] = []
    for item in items:
        path = path_of(item)
        ext = path[path.rfind(".") :].lower() if "." in path else ""
        # a name without a digit has no frame number: it can only stand alone
        if ext in SEQUENCE_EXTENSIONS and any(c.isdigit() for c in os.path.basename(path)):
            candidates[path].append(item)
        else:
            singles.append(FrameGroup(path, [item]))
    out = singles
    if candidates:
        import fileseq

        found = fileseq.findSequencesInList(list(candidates), pad_style=fileseq.PAD_STYLE_HASH1)
        for seq in found:
            files = [str(p) for p in seq if str(p) in candidates]
            frames = [i for f in files for i in candidates.pop(f)]
            if len(files) == 1 or not seq.frameSet():
                out.extend(FrameGroup(path_of(i), [i]) for i in frames)
                continue
            label = f"{seq.dirname()}{seq.basename()}[{seq.frameRange()}]{seq.extension()}"
            out.append(FrameGroup(label, frames))
        # fileseq does not return every name it is given (one with a newline, say): those
        # stand alone, never dropped
        out.extend(FrameGroup(path_of(i), [i]) for items in candidates.values() for i in items)
    return sorted(out, key=lambda g: natural_key(g.label))


def typical_of(frames: Sequence[T], key: Callable[[T], Hashable]) -> tuple[T, list[T]]:
    """The frame whose `key` most frames share, and the frames whose key differs (a
    sequence's row shows the first and lists the others)."""
    counts = Counter(key(f) for f in frames)
    common = counts.most_common(1)[0][0]
    typical = next(f for f in frames if key(f) == common)
    return typical, [f for f in frames if key(f) != common]


def natural_key(path: str) -> tuple[Any, ...]:
    """Sort key that puts frame 999 before frame 1000 (digits compare as numbers)."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path))


def group_sequences(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Collapse rows of the same facility, folder, origin and status that form a frame
    sequence into one row whose `content_id` says how many files it holds (`ls`)."""
    buckets: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        folder = row["path"].rsplit("/", 1)[0]
        buckets[(row.get("facility"), folder, row.get("origin"), row.get("status"))].append(row)
    out = []
    for members in buckets.values():
        for group in group_frames(members, lambda r: r["path"]):
            first = group.items[0]
            if group.is_sequence:
                count = f"{len(group.items)} files"
                out.append({**first, "path": group.label, "content_id": count})
            else:
                out.append(first)
    return sorted(out, key=lambda r: natural_key(r["path"]))
