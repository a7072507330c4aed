"""TIFF image file directories: TIFF files themselves, and EXIF blocks carried by other formats.

EXIF is a TIFF structure, so one bounded IFD reader serves TIFF/DNG files, JPEG APP1, WebP and
PNG eXIf chunks, HEIF Exif items and PSD resources. Only the text tags that generators and tools
write into are decoded (Software, Make, Model, ImageDescription, UserComment, XP*), plus the XMP
packet (0x02BC) and the C2PA manifest store tag (0xCD41).
"""

from __future__ import annotations

import struct

from provenance.formats.base import Findings, Source, StructureError, decode_text, format_walker

TAG_EXIF_IFD = 0x8769
TAG_XMP = 0x02BC
TAG_C2PA = 0xCD41
TAG_USER_COMMENT = 0x9286

TEXT_TAGS = {
    0x010E: "ImageDescription",
    0x010F: "Make",
    0x0110: "Model",
    0x0131: "Software",
    0x013B: "Artist",
    TAG_USER_COMMENT: "UserComment",
    0x9C9B: "XPTitle",
    0x9C9C: "XPComment",
    0x9C9E: "XPKeywords",
    0x9C9F: "XPSubject",
}

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_TYPE_SIZES.update({16: 8, 17: 8, 18: 8})  # BigTIFF LONG8, SLONG8, IFD8

MAX_IFDS = 32
MAX_ENTRIES = 4096


@format_walker("image/tiff")
def walk_tiff(src: Source, found: Findings) -> None:
    """Read a TIFF file's IFD chain (and its EXIF sub-IFD) for text tags, XMP and C2PA."""
    read_tiff(src, 0, found, where="TIFF", source="exif", follow_chain=True, label="TIFF")


def parse_exif_blob(blob: bytes, found: Findings, where: str = "EXIF") -> None:
    """Read an EXIF block (a TIFF structure in memory); a corrupt block is skipped."""
    if blob.startswith(b"Exif\x00\x00"):
        blob = blob[6:]
    try:
        read_tiff(Source.from_bytes(blob), 0, found, where=where, source="exif", label="EXIF")
    except StructureError:
        found.note_metadata()


def read_tiff(
    src: Source,
    base: int,
    found: Findings,
    *,
    where: str,
    source: str,
    label: str,
    follow_chain: bool = False,
) -> None:
    """Walk the IFDs of the TIFF structure that starts at `base`; offsets are from `base`."""
    header = src.read(base, 16)
    if len(header) < 8:
        raise StructureError(f"truncated {label}: header shorter than 8 bytes")
    order = header[:2]
    if order == b"II":
        e = "<"
    elif order == b"MM":
        e = ">"
    else:
        raise StructureError(f"corrupt {label}: no byte-order mark")
    (magic,) = struct.unpack(e + "H", header[2:4])
    if magic == 42:
        big = False
        (first,) = struct.unpack(e + "I", header[4:8])
    elif magic == 43 and len(header) >= 16:
        big = True
        (first,) = struct.unpack(e + "Q", header[8:16])
    else:
        raise StructureError(f"corrupt {label}: bad magic number {magic}")
    found.note_metadata()
    queue: list[tuple[int, bool]] = [(first, True)]
    seen: set[int] = set()
    while queue and len(seen) < MAX_IFDS:
        offset, in_chain = queue.pop(0)
        if offset <= 0 or offset in seen or base + offset >= src.size:
            continue
        seen.add(offset)
        found.count_item()
        sub_ifds, next_ifd = _read_ifd(src, base, offset, e, big, found, where, source, label)
        queue.extend((sub, False) for sub in sub_ifds)
        if in_chain and follow_chain and next_ifd:
            queue.append((next_ifd, True))


def _read_ifd(
    src: Source,
    base: int,
    offset: int,
    e: str,
    big: bool,
    found: Findings,
    where: str,
    source: str,
    label: str,
) -> tuple[list[int], int]:
    count_size, entry_size, inline = (8, 20, 8) if big else (2, 12, 4)
    raw_count = src.read(base + offset, count_size)
    if len(raw_count) < count_size:
        raise StructureError(f"truncated {label}: IFD at offset {offset} runs past end of file")
    (count,) = struct.unpack(e + ("Q" if big else "H"), raw_count)
    count = min(count, MAX_ENTRIES)
    table_at = base + offset + count_size
    table = src.read(table_at, count * entry_size + inline)
    complete = len(table) // entry_size
    entry_fmt = e + ("HHQ8s" if big else "HHI4s")
    offset_fmt = e + ("Q" if big else "I")
    sub_ifds: list[int] = []
    for i in range(min(count, complete)):
        tag, typ, n, value = struct.unpack_from(entry_fmt, table, i * entry_size)
        if tag == TAG_C2PA:
            found.mark_c2pa()
            continue
        if tag != TAG_EXIF_IFD and tag != TAG_XMP and tag not in TEXT_TAGS:
            continue
        length = _TYPE_SIZES.get(typ, 0) * n
        if length <= 0:
            continue
        if tag == TAG_EXIF_IFD:
            wide = big and typ >= 16
            (sub,) = struct.unpack(e + ("Q" if wide else "I"), value[: 8 if wide else 4])
            sub_ifds.append(sub)
            continue
        if length <= inline:
            raw = value[:length]
        else:
            (at,) = struct.unpack(offset_fmt, value)
            raw = src.read(base + at, found.item_length(length))
        if tag == TAG_XMP:
            found.add_xmp(f"{where} XMP", raw)
        else:
            found.add_field(source, where, TEXT_TAGS[tag], _decode(tag, raw, e == ">"))
    if complete < count:
        raise StructureError(f"truncated {label}: IFD at offset {offset} runs past end of file")
    next_raw = table[count * entry_size : count * entry_size + inline]
    next_ifd = struct.unpack(offset_fmt, next_raw)[0] if len(next_raw) == inline else 0
    return sub_ifds, next_ifd


def _decode(tag: int, raw: bytes, big_endian: bool) -> str:
    if tag == TAG_USER_COMMENT:
        return decode_user_comment(raw, big_endian)
    if tag >= 0x9C9B:  # Windows XP* tags: UTF-16LE in BYTE arrays
        return raw[: len(raw) & ~1].decode("utf-16-le", "replace").rstrip("\x00")
    return decode_text(raw).replace("\x00", " ")


def decode_user_comment(raw: bytes, big_endian: bool = False) -> str:
    """EXIF UserComment: an 8-byte character-code prefix, then the text.

    ``UNICODE\\0`` text is UTF-16 whose byte order writers disagree on (piexif, used by
    AUTOMATIC1111, always writes big-endian), so it is guessed from where the zero bytes fall.
    """
    code, body = raw[:8], raw[8:]
    if code == b"UNICODE\x00":
        if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
            return body[: len(body) & ~1].decode("utf-16", "replace").rstrip("\x00")
        sample = body[:512]
        even_zeros, odd_zeros = sample[0::2].count(0), sample[1::2].count(0)
        if even_zeros != odd_zeros:
            big_endian = even_zeros > odd_zeros
        encoding = "utf-16-be" if big_endian else "utf-16-le"
        return body[: len(body) & ~1].decode(encoding, "replace").rstrip("\x00")
    if code == b"JIS\x00\x00\x00\x00\x00":
        return body.decode("shift_jis", "replace").rstrip("\x00")
    if code == b"ASCII\x00\x00\x00" or code == b"\x00" * 8:
        return decode_text(body)
    return decode_text(raw)
