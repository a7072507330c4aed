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
    frames are in frame order.

    Frames are files of an image format in one folder whose names differ only in the number
    just before the extension; numbers written at another padding (`a.1.exr`, `a.0001.exr`)
    form another sequence. The label lists the frames as runs (`[998-1001,1003,1005]`), which
    `parse_sequence` reads back."""
    by_path: dict[str, list[T]] = defaultdict(list)
    for item in items:
        by_path[path_of(item)].append(item)
    runs: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    out: list[FrameGroup] = []
    for path, alike in by_path.items():
        folder, name = os.path.split(path)
        found = _FRAME.match(name)
        if found and found["ext"].lower() in SEQUENCE_EXTENSIONS:
            runs[(folder, found["head"], found["ext"])].append((found["digits"], path))
        else:  # no frame number (or a name with a line break): it stands alone
            out.extend(FrameGroup(path, [i]) for i in alike)
    for (folder, head, ext), frames in runs.items():
        for padded in _by_padding(frames):
            if len(padded) == 1:
                out.extend(FrameGroup(padded[0][1], [i]) for i in by_path[padded[0][1]])
                continue
            padded.sort(key=lambda f: int(f[0]))
            label = os.path.join(folder, f"{head}[{_frame_runs(int(f[0]) for f in padded)}]{ext}")
            out.append(FrameGroup(label, [i for _, path in padded for i in by_path[path]]))
    return sorted(out, key=lambda g: natural_key(g.label))


def _by_padding(frames: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """(digits, path) pairs of one name split by the padding their numbers are written at:
    numbers of differing widths stay together unless a wider one has a leading zero."""
    groups: list[list[tuple[str, str]]] = []
    width = -1
    for digits, path in sorted(frames, key=lambda f: len(f[0])):
        unpadded = len(digits) == 1 or digits[0] != "0"
        if groups and (len(digits) == width or unpadded):
            groups[-1].append((digits, path))
            continue
        groups.append([(digits, path)])
        width = len(digits)
    return groups


def _frame_runs(frames: Iterable[int]) -> str:
    """`998-1001,1003,1005` for those frames."""
    runs: list[list[int]] = []
    for frame in sorted(set(frames)):
        if runs and frame == runs[-1][1] + 1:
            runs[-1][1] = frame
        else:
            runs.append([frame, frame])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


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
