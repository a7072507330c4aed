"""Audio tag walkers: ID3v2 (MP3, and ID3-wrapped FLAC as c2pa writes it), FLAC metadata blocks
and Ogg (Opus, Vorbis, FLAC) comment headers.

ComfyUI writes its ``prompt``/``workflow`` into Vorbis comments and ID3 ``TXXX`` frames; C2PA
manifests travel in an ID3 ``GEOB`` frame. Frames are walked by their headers and only the
frames of interest are read, so a 20 MB cover picture costs one header read.
"""

from __future__ import annotations

import struct

from provenance.formats.base import (
    MAX_ITEM_BYTES,
    MAX_ITEMS,
    Findings,
    Source,
    StructureError,
    format_walker,
)

C2PA_GEOB_MIME_TYPES = ("application/c2pa", "application/x-c2pa-manifest-store")

_ID3_TEXT_FRAMES = {
    b"TSSE": "EncoderSettings",
    b"TSS": "EncoderSettings",
    b"TENC": "EncodedBy",
    b"TEN": "EncodedBy",
    b"TIT1": "Grouping",
    b"TIT2": "Title",
    b"TT2": "Title",
    b"TIT3": "Subtitle",
    b"TPE1": "Artist",
    b"TP1": "Artist",
    b"TPUB": "Publisher",
    b"TCOP": "Copyright",
}


@format_walker("audio/mpeg")
def walk_mp3(src: Source, found: Findings) -> None:
    """The ID3v2 tag at the start of the file; an ID3-wrapped FLAC stream is walked on."""
    if src.read(0, 3) != b"ID3":
        return
    end = read_id3(src, 0, found)
    if src.read(end, 4) == b"fLaC":
        found.media_type = "audio/flac"
        walk_flac(src, found, end)


def read_id3(src: Source, base: int, found: Findings) -> int:
    """Read the ID3v2 tag at `base`; return the offset just after it."""
    header = src.read(base, 10)
    if len(header) < 10 or header[:3] != b"ID3":
        raise StructureError(f"truncated ID3 tag at offset {base}")
    version, flags = header[3], header[5]
    if any(b & 0x80 for b in header[6:10]):
        raise StructureError(f"corrupt ID3 tag at offset {base}: bad size field")
    tag_len = _synchsafe(header[6:10])
    end = base + 10 + tag_len + (10 if version == 4 and flags & 0x10 else 0)
    if base + 10 + tag_len > src.size:
        raise StructureError(f"truncated ID3 tag: {tag_len} bytes at offset {base} run past end")
    found.note_metadata()
    if version not in (2, 3, 4):
        return end
    start = base + 10
    tag_src = src
    if flags & 0x80 and version < 4:  # whole-tag unsynchronisation: undo it in memory
        data = src.read(start, found.item_length(tag_len)).replace(b"\xff\x00", b"\xff")
        tag_src, start = Source.from_bytes(data), 0
        tag_end = len(data)
    else:
        tag_end = start + tag_len
    if flags & 0x40 and version >= 3:  # extended header
        ext = tag_src.read(start, 4)
        if len(ext) == 4:
            start += _synchsafe(ext) if version == 4 else 4 + struct.unpack(">I", ext)[0]
    _id3_frames(tag_src, start, tag_end, version, found)
    return end


def _synchsafe(raw: bytes) -> int:
    return (raw[0] << 21) | (raw[1] << 14) | (raw[2] << 7) | raw[3]


def _id3_frames(src: Source, pos: int, end: int, version: int, found: Findings) -> None:
    header_len = 6 if version == 2 else 10
    while pos + header_len <= end:
        found.count_item()
        header = src.read(pos, header_len)
        if len(header) < header_len or header[0] == 0:  # padding
            return
        if version == 2:
            frame_id, size, flags = header[:3], int.from_bytes(header[3:6], "big"), 0
        else:
            frame_id = header[:4]
            raw_size = header[4:8]
            size = _synchsafe(raw_size) if version == 4 else struct.unpack(">I", raw_size)[0]
            (flags,) = struct.unpack(">H", header[8:10])
        if not frame_id.isalnum():
            return
        body = pos + header_len
        if body + size > end:
            return
        if frame_id in (b"TXXX", b"TXX", b"COMM", b"COM", b"GEOB", b"GEO") or (
            frame_id in _ID3_TEXT_FRAMES
        ):
            data = src.read(body, found.item_length(size))
            data = _frame_payload(data, flags, version)
            if data:
                _id3_frame(frame_id, data, found)
        pos = body + size


def _frame_payload(data: bytes, flags: int, version: int) -> bytes:
    if version == 4:
        if flags & 0x000C:  # compressed or encrypted
            return b""
        if flags & 0x0001:  # data length indicator
            data = data[4:]
        if flags & 0x0002:
            data = data.replace(b"\xff\x00", b"\xff")
    elif version == 3 and flags & 0x00C0:
        return b""
    return data


def _id3_frame(frame_id: bytes, data: bytes, found: Findings) -> None:
    encoding, rest = data[0], data[1:]
    if frame_id in (b"TXXX", b"TXX"):
        description, value = _split(encoding, rest)
        found.add_field(
            "container-tag", "ID3 TXXX", _text(encoding, description), _text(encoding, value)
        )
    elif frame_id in (b"COMM", b"COM"):
        _description, value = _split(encoding, rest[3:])
        found.add_field("container-tag", "ID3 COMM", "Comment", _text(encoding, value))
    elif frame_id in (b"GEOB", b"GEO"):
        mime, _, rest = rest.partition(b"\x00")
        if mime.decode("latin-1").strip().lower() in C2PA_GEOB_MIME_TYPES:
            found.mark_c2pa()
        else:
            found.note_metadata()
    else:
        name = _ID3_TEXT_FRAMES[frame_id]
        found.add_field("container-tag", "ID3", name, _text(encoding, rest))


def _split(encoding: int, data: bytes) -> tuple[bytes, bytes]:
    """Split at the first terminator of the frame's text encoding (two aligned zeros for UTF-16)."""
    if encoding in (1, 2):
        at = data.find(b"\x00\x00")
        while at != -1 and at % 2:
            at = data.find(b"\x00\x00", at + 1)
        return (data, b"") if at == -1 else (data[:at], data[at + 2 :])
    first, _, rest = data.partition(b"\x00")
    return first, rest


def _text(encoding: int, raw: bytes) -> str:
    codec = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}.get(encoding, "latin-1")
    if encoding in (1, 2):
        raw = raw[: len(raw) & ~1]
    return raw.decode(codec, "replace").strip("\x00").replace("\x00", " / ")


@format_walker("audio/flac")
def walk_flac(src: Source, found: Findings, start: int = 0) -> None:
    """FLAC metadata blocks up to the last one: Vorbis comments are read."""
    if src.read(start, 4) != b"fLaC":
        raise StructureError(f"corrupt FLAC: no fLaC marker at offset {start}")
    offset = start + 4
    while True:
        found.count_item()
        header = src.read(offset, 4)
        if len(header) < 4:
            raise StructureError(f"truncated FLAC: metadata block at offset {offset}")
        block_type = header[0] & 0x7F
        length = int.from_bytes(header[1:4], "big")
        body = offset + 4
        if block_type == 127:
            raise StructureError(f"corrupt FLAC: invalid metadata block at offset {offset}")
        if body + length > src.size:
            raise StructureError(
                f"truncated FLAC: metadata block at offset {offset} runs past end of file"
            )
        if block_type == 4:
            parse_vorbis_comments(src.read(body, found.item_length(length)), found, "FLAC")
        offset = body + length
        if header[0] & 0x80:
            return


def parse_vorbis_comments(data: bytes, found: Findings, label: str) -> None:
    """A Vorbis comment list (vendor string, then KEY=value entries); keys are lower-cased."""
    where = f"{label} Vorbis comment"
    if len(data) < 8:
        found.note_metadata()
        return
    (vendor_len,) = struct.unpack_from("<I", data, 0)
    found.add_field("container-tag", where, "vendor", _utf8(data[4 : 4 + vendor_len]))
    at = 4 + vendor_len
    if at + 4 > len(data):
        return
    (count,) = struct.unpack_from("<I", data, at)
    at += 4
    for _ in range(min(count, MAX_ITEMS)):
        found.count_item()
        if at + 4 > len(data):
            return
        (length,) = struct.unpack_from("<I", data, at)
        entry = data[at + 4 : at + 4 + length]
        at += 4 + length
        key, sep, value = entry.partition(b"=")
        if sep:
            found.add_field("container-tag", where, _utf8(key).lower(), _utf8(value))


def _utf8(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


_OGG_MAX_PAGES = 256


@format_walker("audio/ogg")
def walk_ogg(src: Source, found: Findings) -> None:
    """The first logical stream's comment header (second packet): OpusTags, Vorbis or FLAC."""
    offset = 0
    serial = b""
    packets: list[bytes] = []
    packet = bytearray()
    for _ in range(_OGG_MAX_PAGES):
        found.count_item()
        header = src.read(offset, 27)
        if len(header) < 27:
            if not header and packets:
                break
            raise StructureError(f"truncated Ogg: page header at offset {offset}")
        if header[:4] != b"OggS":
            raise StructureError(f"corrupt Ogg: no page at offset {offset}")
        lacing = src.read(offset + 27, header[26])
        if len(lacing) < header[26]:
            raise StructureError(f"truncated Ogg: page at offset {offset}")
        body = offset + 27 + len(lacing)
        body_len = sum(lacing)
        serial = serial or header[14:18]
        if header[14:18] == serial:
            data = src.read(body, body_len)
            at = 0
            for segment in lacing:
                if len(packet) < MAX_ITEM_BYTES:
                    packet += data[at : at + segment]
                at += segment
                if segment < 255:
                    packets.append(bytes(packet))
                    packet.clear()
            if len(packets) >= 2:
                break
        offset = body + body_len
    if len(packets) < 2:
        return
    first, comments = packets[0], packets[1]
    if comments.startswith(b"OpusTags"):
        parse_vorbis_comments(comments[8:], found, "Opus")
    elif comments.startswith(b"\x03vorbis"):
        parse_vorbis_comments(comments[7:], found, "Ogg")
    elif first.startswith(b"\x7fFLAC") and comments[:1] and comments[0] & 0x7F == 4:
        parse_vorbis_comments(comments[4:], found, "Ogg FLAC")
