"""ISO base media file format walker: MP4, MOV, HEIC/HEIF, AVIF, M4A and the JPEG XL container.

Boxes are followed by their sizes, descending only into the boxes that hold metadata (``moov``,
``trak``, ``udta``, ``meta``...), never more than `MAX_DEPTH` deep; ``mdat`` is stepped over.
Read: the C2PA and XMP ``uuid`` boxes, iTunes-style ``ilst`` items (with QuickTime ``keys``,
where ComfyUI's ``prompt``/``workflow`` land), QuickTime ``©xxx`` text atoms, HEIF ``Exif`` and
XMP items, and JPEG XL's ``Exif``/``xml ``/``jumb`` boxes.
"""

from __future__ import annotations

import struct

from provenance.formats.base import (
    MAX_DEPTH,
    Findings,
    Source,
    StructureError,
    decode_text,
    format_walker,
)
from provenance.formats.image import C2PA_JUMBF_UUID
from provenance.formats.tiff import parse_exif_blob

C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")

_LABELS = {
    "video/quicktime": "QuickTime",
    "image/heic": "HEIF",
    "image/heif": "HEIF",
    "image/avif": "AVIF",
    "image/jxl": "JPEG XL",
    "audio/mp4": "M4A",
}
_DESCEND = frozenset({b"moov", b"trak", b"mdia", b"minf", b"udta"})
_MAX_META_ITEMS = 1024
_MAX_EXTENTS = 16


@format_walker(
    "image/heic",
    "image/heif",
    "image/avif",
    "image/jxl",
    "video/mp4",
    "video/quicktime",
    "audio/mp4",
)
def walk_bmff(src: Source, found: Findings) -> None:
    """Walk the box tree from the top of the file."""
    _BoxWalk(src, found, _LABELS.get(found.media_type or "", "MP4")).walk(0, src.size, 0, b"")


class _BoxWalk:
    def __init__(self, src: Source, found: Findings, label: str) -> None:
        self.src = src
        self.found = found
        self.label = label
        self.keys: list[str] = []
        self.items: dict[int, tuple[bytes, str]] = {}
        self.locations: dict[int, tuple[int, int, int]] = {}
        self.idat = (0, 0)

    def walk(self, start: int, end: int, depth: int, parent: bytes) -> None:
        src, found = self.src, self.found
        offset = start
        while offset + 8 <= end:
            found.count_item()
            header = src.read(offset, 16)
            size, box_type = struct.unpack_from(">I4s", header)
            header_len = 8
            if size == 1:
                if len(header) < 16:
                    raise StructureError(f"truncated {self.label}: box header at offset {offset}")
                (size,) = struct.unpack_from(">Q", header, 8)
                header_len = 16
            elif size == 0:
                size = end - offset
            name = box_type.decode("latin-1")
            if size < header_len:
                raise StructureError(
                    f"corrupt {self.label}: box {name!r} at offset {offset} has size {size}"
                )
            box_end = offset + size
            if box_end > end:
                if box_type == b"mdat" and depth == 0:
                    return  # media data cut short; nothing of ours follows it
                place = "end of file" if depth == 0 else f"its parent {parent.decode('latin-1')!r}"
                raise StructureError(
                    f"truncated {self.label}: box {name!r} at offset {offset} runs past {place}"
                )
            self.box(box_type, offset + header_len, box_end, depth, parent)
            offset = box_end

    def box(self, box_type: bytes, body: int, end: int, depth: int, parent: bytes) -> None:
        src, found = self.src, self.found
        length = end - body
        if box_type == b"uuid":
            kind = src.read(body, 16)
            if kind == C2PA_UUID:
                found.mark_c2pa()
            elif kind == XMP_UUID:
                found.add_xmp(
                    f"{self.label} XMP", src.read(body + 16, found.item_length(length - 16))
                )
        elif box_type in _DESCEND or box_type == b"meta":
            if depth + 1 >= MAX_DEPTH:
                found.incomplete = f"boxes nested deeper than {MAX_DEPTH} levels were skipped"
                return
            if box_type == b"meta":
                self.meta(body, end, depth)
            else:
                self.walk(body, end, depth + 1, box_type)
        elif box_type == b"ilst":
            self.ilst(body, end)
        elif box_type == b"keys":
            self.read_keys(src.read(body, found.item_length(length)))
        elif parent == b"udta" and box_type[:1] == b"\xa9":
            self.quicktime_text(box_type, body, end)
        elif box_type == b"XMP_" and parent == b"udta":
            found.add_xmp(f"{self.label} XMP", src.read(body, found.item_length(length)))
        elif parent == b"meta" and box_type in (b"iinf", b"iloc", b"idat"):
            self.heif_box(box_type, body, end)
        elif depth == 0 and box_type == b"Exif":  # JPEG XL
            parse_exif_blob(
                src.read(body + 4, found.item_length(length - 4)), found, "JPEG XL EXIF"
            )
        elif depth == 0 and box_type == b"xml ":
            found.add_xmp("JPEG XL XMP", src.read(body, found.item_length(length)))
        elif (
            depth == 0
            and box_type == b"jumb"
            and C2PA_JUMBF_UUID in src.read(body, min(length, 64))
        ):
            found.mark_c2pa()

    def meta(self, body: int, end: int, depth: int) -> None:
        """ISO 'meta' is a full box (4 bytes of version/flags); QuickTime's is a plain one."""
        peek = self.src.read(body, 8)
        start = body if peek[4:8] == b"hdlr" else body + 4
        self.keys = []
        self.items, self.locations, self.idat = {}, {}, (0, 0)
        self.walk(start, end, depth + 1, b"meta")
        self.resolve_items()

    def read_keys(self, data: bytes) -> None:
        if len(data) < 8:
            return
        (count,) = struct.unpack_from(">I", data, 4)
        at = 8
        for _ in range(min(count, _MAX_META_ITEMS)):
            if at + 8 > len(data):
                break
            (size,) = struct.unpack_from(">I", data, at)
            if size < 8:
                break
            self.keys.append(decode_text(data[at + 8 : at + size]))
            at += size

    def ilst(self, start: int, end: int) -> None:
        offset = start
        while offset + 8 <= end:
            self.found.count_item()
            size, item_type = struct.unpack(">I4s", self.src.read(offset, 8))
            if size < 8 or offset + size > end:
                return
            index = int.from_bytes(item_type, "big")
            if self.keys and 1 <= index <= len(self.keys):
                key = self.keys[index - 1]
            else:
                key = item_type.decode("latin-1")
            data = self.src.read(offset + 8, self.found.item_length(size - 8))
            key, value = _item_value(key, data)
            self.found.add_field("container-tag", f"{self.label} metadata", key, value)
            offset += size

    def quicktime_text(self, box_type: bytes, body: int, end: int) -> None:
        data = self.src.read(body, self.found.item_length(end - body))
        key = box_type.decode("latin-1")
        if data[4:8] == b"data":
            key, value = _item_value(key, data)
        elif len(data) >= 4:
            (text_len,) = struct.unpack_from(">H", data, 0)
            value = decode_text(data[4 : 4 + text_len])
        else:
            value = ""
        self.found.add_field("container-tag", f"{self.label} udta", key, value)

    def heif_box(self, box_type: bytes, body: int, end: int) -> None:
        if box_type == b"idat":
            self.idat = (body, end - body)
            return
        data = self.src.read(body, self.found.item_length(end - body))
        try:
            if box_type == b"iinf":
                self.items = _item_infos(data)
            else:
                self.locations = _item_locations(data)
        except (struct.error, IndexError):
            self.found.note_metadata()

    def resolve_items(self) -> None:
        for item_id, (item_type, content_type) in self.items.items():
            is_xmp = item_type == b"mime" and content_type == "application/rdf+xml"
            if item_type != b"Exif" and not is_xmp:
                continue
            location = self.locations.get(item_id)
            if location is None:
                continue
            method, offset, length = location
            if method == 1:
                offset += self.idat[0]
            elif method != 0:
                continue
            data = self.src.read(offset, self.found.item_length(length))
            if is_xmp:
                self.found.add_xmp(f"{self.label} XMP", data)
            elif len(data) > 4:
                skip = 4 + int.from_bytes(data[:4], "big")
                parse_exif_blob(data[skip:], self.found, f"{self.label} EXIF")


def _item_value(key: str, data: bytes) -> tuple[str, str]:
    """The text of an ilst item's 'data' child ('name' gives the key of a '----' item)."""
    at = 0
    value = ""
    while at + 8 <= len(data):
        size, child = struct.unpack_from(">I4s", data, at)
        if size < 8:
            break
        payload = data[at + 8 : at + size]
        if child == b"name" and len(payload) > 4:
            key = decode_text(payload[4:])
        elif child == b"data" and len(payload) >= 8 and not value:
            kind = int.from_bytes(payload[1:4], "big")
            if kind in (0, 1):
                value = decode_text(payload[8:])
            elif kind == 2:
                value = payload[8:].decode("utf-16-be", "replace")
        at += size
    return key, value


def _item_infos(data: bytes) -> dict[int, tuple[bytes, str]]:
    version = data[0]
    at = 4 + (2 if version == 0 else 4)
    items: dict[int, tuple[bytes, str]] = {}
    while at + 12 <= len(data) and len(items) < _MAX_META_ITEMS:
        size, box_type = struct.unpack_from(">I4s", data, at)
        if size < 12:
            break
        entry = data[at + 8 : at + size]
        at += size
        if box_type != b"infe" or entry[0] < 2:
            continue
        if entry[0] == 2:
            (item_id,) = struct.unpack_from(">H", entry, 4)
            rest = entry[8:]
        else:
            (item_id,) = struct.unpack_from(">I", entry, 4)
            rest = entry[10:]
        item_type, strings = rest[:4], rest[4:].split(b"\x00")
        content_type = strings[1].decode("latin-1") if len(strings) > 1 else ""
        items[item_id] = (item_type, content_type)
    return items


def _item_locations(data: bytes) -> dict[int, tuple[int, int, int]]:
    version = data[0]
    offset_size, length_size = data[4] >> 4, data[4] & 15
    base_size, index_size = data[5] >> 4, (data[5] & 15 if version else 0)
    at = 6
    if version < 2:
        (count,) = struct.unpack_from(">H", data, at)
        at += 2
    else:
        (count,) = struct.unpack_from(">I", data, at)
        at += 4
    locations: dict[int, tuple[int, int, int]] = {}
    for _ in range(min(count, _MAX_META_ITEMS)):
        id_size = 2 if version < 2 else 4
        item_id = int.from_bytes(data[at : at + id_size], "big")
        at += id_size
        method = 0
        if version >= 1:
            method = int.from_bytes(data[at : at + 2], "big") & 15
            at += 2
        at += 2  # data reference index
        base = int.from_bytes(data[at : at + base_size], "big")
        at += base_size
        (extents,) = struct.unpack_from(">H", data, at)
        at += 2
        for extent in range(min(extents, _MAX_EXTENTS)):
            at += index_size
            offset = int.from_bytes(data[at : at + offset_size], "big")
            length = int.from_bytes(data[at + offset_size : at + offset_size + length_size], "big")
            at += offset_size + length_size
            if extent == 0:
                locations[item_id] = (method, base + offset, length)
    return locations
