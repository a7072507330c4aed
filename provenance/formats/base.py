"""Bounded random access to a file's bytes, and the record of what a container walk found.

Every container walker reads through a `Source`, which serves reads from the first bytes already
in memory and otherwise from the open file, and refuses to read more than a fixed budget per
file. Walkers count the structures they visit (`Findings.count_item`) and stop, keeping what they
found, past fixed limits: a hostile file with a million chunks, absurd length fields or deeply
nested boxes costs no more than a normal one.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field

HEAD_BYTES = 64 * 1024
"""How much of a file is read up front; small files are served from this one read."""

MAX_ITEMS = 100_000
"""Chunks, segments, boxes, frames and tags visited per file (real files use at most a few
thousand; a fragmented MP4 of two hours in one-second fragments, ~15,000)."""

MAX_DATA_BLOCKS = 100_000
"""Image-data chunks stepped over per file (PNG IDAT runs, GIF sub-blocks)."""

MAX_DEPTH = 16
"""Nesting depth of boxes followed."""

MAX_ITEM_BYTES = 16 * 1024 * 1024
"""Largest single metadata item read or inflated; a longer one is read as a prefix, and the
walk is then marked incomplete (what was not read may hold a declaration)."""

MAX_TOTAL_BYTES = 64 * 1024 * 1024
"""Bytes read from disk per file beyond the head."""

MAX_DECODE_PIXELS = 50_000_000
"""Pixels decoded from one image (fingerprints, watermarks), after any reduced-size decode:
about 200 MB of RGBA at most. An 8K frame (8192x4320) is 35 million pixels."""

MAX_XMP_BYTES = 32 * 1024 * 1024
"""XMP read per file, all packets together: every packet is read within it."""


class StructureError(Exception):
    """The container's structure is broken: truncated, or a size that cannot be right."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LimitReached(Exception):
    """A walk hit one of the fixed limits; what was found so far still stands."""


if hasattr(os, "pread"):
    _pread = os.pread
else:  # pragma: no cover - Windows has no pread

    def _pread(fd: int, length: int, offset: int) -> bytes:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, length)


class Source:
    """A file's bytes by offset: from the head buffer when possible, else from the file.

    Reads never go past the end of the file (they come back short instead), never ask for more
    than `MAX_ITEM_BYTES` at once, and stop the walk with `LimitReached` once `MAX_TOTAL_BYTES`
    have come from disk. `ahead` lets a walker that steps through many small structures read a
    window at once; the last window is kept and served from.
    """

    __slots__ = ("head", "size", "_fd", "_window", "_window_start", "_read_total")

    def __init__(self, head: bytes, size: int, fd: int | None = None) -> None:
        self.head = head if len(head) <= size else head[:size]
        self.size = size
        self._fd = fd
        self._window = b""
        self._window_start = 0
        self._read_total = 0

    @classmethod
    def from_bytes(cls, data: bytes) -> Source:
        """A source over bytes already in memory (an EXIF blob, an ID3 tag inside a chunk)."""
        return cls(data, len(data))

    def read(self, offset: int, length: int, ahead: int = 0) -> bytes:
        """Up to `length` bytes at `offset`; fewer only at the end of the file."""
        end = offset + length
        head = self.head
        if end <= len(head):
            return head[offset:end] if offset >= 0 else b""
        size = self.size
        if offset < 0 or length <= 0 or offset >= size:
            return b""
        if end > size:
            end = size
        start = self._window_start
        window = self._window
        if start <= offset and end <= start + len(window):
            return window[offset - start : end - start]
        if self._fd is None:
            return head[offset:end]
        if end - offset > MAX_ITEM_BYTES + 64:
            raise LimitReached(f"a single read of {end - offset} bytes was refused")
        want = min(max(end - offset, ahead), size - offset)
        self._read_total += want
        if self._read_total > MAX_TOTAL_BYTES:
            raise LimitReached(f"stopped after reading {MAX_TOTAL_BYTES} bytes")
        data = _read_fully(self._fd, want, offset)
        self._window, self._window_start = data, offset
        return data[: end - offset]


def _read_fully(fd: int, length: int, offset: int) -> bytes:
    data = _pread(fd, length, offset)
    if len(data) >= length or not data:
        return data
    parts = [data]
    got = len(data)
    while got < length:
        more = _pread(fd, length - got, offset + got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class Field:
    """One text value found in a container: where it sat, under which key, and what it said.

    `source` is the evidence source it will be reported under (``png-text``, ``exif``,
    ``container-tag``, ``xmp``); `where` is a short human label (``PNG tEXt``, ``EXIF``,
    ``MP4 metadata``, ``ID3 TXXX``).
    """

    source: str
    where: str
    key: str
    value: str


@dataclass(slots=True)
class Findings:
    """What a container walk found, before anything is made of it."""

    fields: list[Field] = field(default_factory=list)
    xmp: list[tuple[str, bytes]] = field(default_factory=list)
    has_c2pa: bool = False
    media_type: str | None = None
    incomplete: str | None = None
    items_read: int = 0
    clipped: str | None = None  # an item read only in part (a limit), reported as incomplete
    _items: int = 0
    _data_blocks: int = 0

    def count_item(self) -> None:
        """Count one structure visited; stop the walk past `MAX_ITEMS`."""
        self._items += 1
        if self._items > MAX_ITEMS:
            raise LimitReached(f"stopped after {MAX_ITEMS} structures")

    def count_data_block(self) -> None:
        """Count one image-data block stepped over; stop the walk past `MAX_DATA_BLOCKS`."""
        self._data_blocks += 1
        if self._data_blocks > MAX_DATA_BLOCKS:
            raise LimitReached(f"stopped after {MAX_DATA_BLOCKS} image-data blocks")

    def item_length(self, length: int, what: str = "metadata item") -> int:
        """How much of an item of `length` bytes to read: all of it up to `MAX_ITEM_BYTES`;
        a longer item is read as a prefix and the walk is marked incomplete."""
        if length > MAX_ITEM_BYTES:
            self.clipped = self.clipped or (
                f"a {length}-byte {what} was read only to its first {MAX_ITEM_BYTES} bytes"
            )
            return MAX_ITEM_BYTES
        return length

    def add_field(self, source: str, where: str, key: str, value: str) -> None:
        self.items_read += 1
        value = value.strip("\x00 \t\r\n")
        if value and key:
            self.fields.append(Field(source, where, key, value))

    def add_xmp(self, where: str, packet: bytes) -> None:
        self.items_read += 1
        if packet:
            self.xmp.append((where, packet))

    def mark_c2pa(self) -> None:
        self.items_read += 1
        self.has_c2pa = True

    def note_metadata(self) -> None:
        """Record that a metadata structure was read even though it held nothing of use."""
        self.items_read += 1


def decode_text(raw: bytes) -> str:
    """Bytes of a text field whose encoding is not declared: UTF-8 if valid, else Latin-1."""
    raw = raw.rstrip(b"\x00")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def inflate(
    data: bytes, limit: int = MAX_ITEM_BYTES, found: Findings | None = None
) -> bytes | None:
    """Decompress zlib data to at most `limit` bytes (a bomb yields a prefix, and marks
    `found` incomplete); None if corrupt."""
    try:
        stream = zlib.decompressobj()
        out = stream.decompress(data, limit)
    except zlib.error:
        return None
    if stream.unconsumed_tail and found is not None:
        found.clipped = found.clipped or f"compressed metadata inflating beyond {limit} bytes"
    return out
