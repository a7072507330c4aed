"""RIFF family walker: WebP, WAV (also RF64/BW64) and AVI.

Metadata chunks are read (EXIF, XMP / ``_PMX``, ``C2PA``, ``LIST/INFO``, ``id3``, Broadcast
WAV ``bext``); audio, video and image payloads are stepped over by their length fields.
"""

from __future__ import annotations

import struct

from provenance.formats.audio import read_id3
from provenance.formats.base import Findings, Source, StructureError, decode_text
from provenance.formats.tiff import parse_exif_blob

_CHUNK = struct.Struct("<4sI")
_FORMS = {b"WEBP": "WebP", b"WAVE": "WAV", b"AVI ": "AVI"}
_PAYLOAD_CHUNKS = (b"data", b"movi", b"idx1")
_INFO_NAMES = {
    b"ISFT": "Software",
    b"ICMT": "Comment",
    b"INAM": "Title",
    b"ISBJ": "Subject",
    b"IKEY": "Keywords",
    b"IENG": "Engineer",
    b"ITCH": "Technician",
    b"IPRD": "Product",
    b"ISRC": "Source",
    b"IART": "Artist",
    b"ICOP": "Copyright",
    b"IGNR": "Genre",
}


def walk_riff(src: Source, found: Findings) -> None:
    """Top-level RIFF chunks; a payload chunk cut short by the end of the file ends the walk."""
    header = src.read(0, 12)
    if len(header) < 12:
        raise StructureError("truncated RIFF: header shorter than 12 bytes")
    label = _FORMS.get(header[8:12], "RIFF")
    strict = label == "WebP"
    wide = header[:4] != b"RIFF"  # RF64 / BW64: real sizes live in the ds64 chunk
    data_size: int | None = None
    offset = 12
    size = src.size
    (declared,) = struct.unpack("<I", header[4:8])
    if not wide and 4 <= declared < 0xFFFFFFFF and 8 + declared < size:
        size = 8 + declared  # bytes after the RIFF chunk are not ours to parse
    previous_odd = False
    length = 0
    while offset + 8 <= size:
        found.count_item()
        # After small chunks, read a window at a time (a flood costs one read a window).
        chunk_id, length = _CHUNK.unpack(src.read(offset, 8, ahead=4096 if length < 4096 else 0))
        if not _valid_id(chunk_id) and previous_odd:
            # Some writers forget the pad byte after an odd-sized chunk.
            offset -= 1
            chunk_id, length = _CHUNK.unpack(src.read(offset, 8))
        if not _valid_id(chunk_id):
            if strict:
                raise StructureError(f"corrupt {label}: invalid chunk id at offset {offset}")
            return
        body = offset + 8
        if wide and chunk_id == b"ds64":
            ds64 = src.read(body, 16)
            if len(ds64) == 16:
                data_size = struct.unpack("<Q", ds64[8:16])[0]
        if chunk_id == b"data" and length == 0xFFFFFFFF and data_size is not None:
            length = data_size
        end = body + length
        if end > size:
            if chunk_id in _PAYLOAD_CHUNKS or _list_type(src, chunk_id, body) == b"movi":
                return
            raise StructureError(
                f"truncated {label}: chunk {chunk_id.decode('latin-1')!r} at offset {offset} "
                "runs past end of file"
            )
        _chunk(src, found, label, chunk_id, body, length)
        previous_odd = bool(length & 1)
        offset = end + (length & 1)


def _valid_id(chunk_id: bytes) -> bool:
    return all(32 <= c < 127 for c in chunk_id)


def _list_type(src: Source, chunk_id: bytes, body: int) -> bytes:
    return src.read(body, 4) if chunk_id == b"LIST" else b""


def _chunk(
    src: Source, found: Findings, label: str, chunk_id: bytes, body: int, length: int
) -> None:
    if chunk_id == b"C2PA":
        found.mark_c2pa()
    elif chunk_id in (b"XMP ", b"_PMX"):
        found.add_xmp(f"{label} XMP", src.read(body, found.item_length(length)))
    elif chunk_id == b"EXIF":
        parse_exif_blob(src.read(body, found.item_length(length)), found, f"{label} EXIF")
    elif chunk_id == b"LIST" and src.read(body, 4) == b"INFO":
        _info(src.read(body + 4, found.item_length(length - 4)), found, label)
    elif chunk_id in (b"id3 ", b"ID3 "):
        tag = Source.from_bytes(src.read(body, found.item_length(length)))
        try:
            read_id3(tag, 0, found)
        except StructureError:
            found.note_metadata()
    elif chunk_id == b"bext" and length >= 288:
        bext = src.read(body, 288)
        where = "BWF bext"
        found.add_field("container-tag", where, "Description", decode_text(bext[:256]))
        found.add_field("container-tag", where, "Originator", decode_text(bext[256:288]))


def _info(data: bytes, found: Findings, label: str) -> None:
    at = 0
    where = f"{label} LIST/INFO"
    while at + 8 <= len(data):
        found.count_item()
        sub_id, length = _CHUNK.unpack_from(data, at)
        value = data[at + 8 : at + 8 + length]
        name = _INFO_NAMES.get(sub_id)
        if name:
            found.add_field("container-tag", where, name, decode_text(value.split(b"\x00")[0]))
        else:
            found.note_metadata()
        at += 8 + length + (length & 1)
