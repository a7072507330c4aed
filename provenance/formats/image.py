"""Walkers for the still-image formats with their own chunk or segment structure: PNG, JPEG, GIF
and PSD.

Each walker steps from structure to structure by its length field, reads only metadata bodies
(text chunks, APP segments, extensions, image resources) and seeks over pixel data. PNG text
chunks are read wherever they sit, including after IDAT, where Pillow's `info` never looks.
"""

from __future__ import annotations

import struct
import zlib

from provenance.formats.base import (
    MAX_ITEM_BYTES,
    Findings,
    LimitReached,
    Source,
    StructureError,
    decode_text,
    inflate,
)
from provenance.formats.tiff import parse_exif_blob

C2PA_JUMBF_UUID = bytes.fromhex("6332706100110010800000aa00389b71")
"""The JUMBF description type of a C2PA manifest store ('c2pa' + ISO suffix)."""

_PNG_CHUNK = struct.Struct(">I4s")
_WINDOW = 64 * 1024
_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
_PNG_XMP_KEY = "XML:com.adobe.xmp"
_STEALTH_MAGICS = (b"stealth_pnginfo", b"stealth_pngcomp")
_STEALTH_ROWS = 8 * len(_STEALTH_MAGICS[0])
_STEALTH_MAX_INFLATED = 8 * 1024 * 1024


def walk_png(src: Source, found: Findings) -> None:
    """Every chunk from signature to IEND: text chunks, eXIf, caBX; IDAT is stepped over."""
    offset = 8
    size = src.size
    ihdr = b""
    idat_spans: list[tuple[int, int]] = []
    small = True
    while True:
        # Small chunks in a row are read a window at a time (a flood of them costs one read a
        # window); after a large one, only its header (the budget counts what is read).
        header = src.read(offset, 8, ahead=_WINDOW if small else 0)
        if not header:
            raise StructureError(f"truncated PNG: file ends at offset {offset} without IEND")
        if len(header) < 8:
            raise StructureError(
                f"truncated PNG: chunk header at offset {offset} runs past end of file"
            )
        length, ctype = _PNG_CHUNK.unpack(header)
        small = length < 4096
        name = ctype.decode("latin-1")
        if length > 0x7FFFFFFF or not ctype.isalpha():
            raise StructureError(f"corrupt PNG: invalid chunk {name!r} at offset {offset}")
        end = offset + 12 + length
        if end > size:
            raise StructureError(
                f"truncated PNG: chunk {name!r} at offset {offset} runs past end of file"
            )
        body = offset + 8
        if ctype == b"IDAT":
            found.count_data_block()
            if len(idat_spans) < 256:
                idat_spans.append((body, length))
        else:
            found.count_item()
            if ctype in _PNG_TEXT_CHUNKS:
                _png_text(ctype, src.read(body, found.item_length(length)), found)
            elif ctype == b"IHDR":
                ihdr = src.read(body, 13)
            elif ctype == b"eXIf":
                parse_exif_blob(src.read(body, found.item_length(length)), found, "PNG eXIf")
            elif ctype == b"caBX":
                found.mark_c2pa()
            elif ctype == b"IEND":
                break
        offset = end
    magic = _stealth_magic(src, ihdr, idat_spans)
    if magic:
        found.add_field("container-tag", "PNG alpha channel", "stealth", magic)


def _png_text(ctype: bytes, data: bytes, found: Findings) -> None:
    key, sep, rest = data.partition(b"\x00")
    if not sep or not key or len(key) > 79:
        found.note_metadata()  # corrupt text chunk: skipped
        return
    keyword = key.decode("latin-1")
    payload: bytes | None
    if ctype == b"tEXt":
        payload = rest
    elif ctype == b"zTXt":
        payload = inflate(rest[1:], found=found) if rest else None
    else:
        if len(rest) < 2:
            found.note_metadata()
            return
        compressed = rest[0]
        _lang, _, rest = rest[2:].partition(b"\x00")
        _translated, _, payload = rest.partition(b"\x00")
        if compressed:
            payload = inflate(payload, found=found)
    if payload is None:
        found.note_metadata()
        return
    if keyword == _PNG_XMP_KEY:
        found.add_xmp(f"PNG {ctype.decode()} XMP", payload)
    else:
        found.add_field("png-text", f"PNG {ctype.decode()}", keyword, decode_text(payload))


def _stealth_magic(src: Source, ihdr: bytes, idat_spans: list[tuple[int, int]]) -> str:
    """The stealth-pnginfo magic, if the alpha channel's low bits start with it.

    The extension (and NovelAI) writes bits column by column, top to bottom, so the 120-bit
    magic fills the first column of a tall image, and the first ceil(120 / height) columns of
    a short one. Pixels un-filter from their left and upper neighbours only, so just those
    columns of the first min(height, 120) rows are un-filtered: a bounded, cheap check, done
    for 8-bit non-interlaced RGBA and grey+alpha images of any size that can hold the magic.
    """
    if len(ihdr) < 13 or not idat_spans:
        return ""
    width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", ihdr)
    if depth != 8 or interlace or colour not in (4, 6) or width * height < _STEALTH_ROWS:
        return ""
    channels = 4 if colour == 6 else 2
    rows = min(height, _STEALTH_ROWS)
    columns = -(-_STEALTH_ROWS // rows)
    row_bytes = 1 + width * channels
    need = row_bytes * rows
    if need > _STEALTH_MAX_INFLATED:
        return ""
    inflater = zlib.decompressobj()
    pixels = bytearray()
    budget = MAX_ITEM_BYTES
    try:
        for body, length in idat_spans:
            take = min(length, budget)
            budget -= take
            pixels += inflater.decompress(src.read(body, take), need - len(pixels))
            if len(pixels) >= need or budget <= 0:
                break
    except (LimitReached, zlib.error):
        return ""
    if len(pixels) < need:
        return ""
    span = columns * channels
    previous = bytearray(span)
    alpha = [bytearray(rows) for _ in range(columns)]  # alpha[x][y]
    for y in range(rows):
        at = y * row_bytes
        current = _unfilter(pixels[at], pixels[at + 1 : at + 1 + span], previous, channels)
        if current is None:
            return ""
        for x in range(columns):
            alpha[x][y] = current[x * channels + channels - 1]
        previous = current
    bits = [a & 1 for column in alpha for a in column][:_STEALTH_ROWS]
    magic = bytes(
        sum(bit << (7 - i) for i, bit in enumerate(bits[k : k + 8])) for k in range(0, 120, 8)
    )
    return magic.decode("ascii") if magic in _STEALTH_MAGICS else ""


def _unfilter(kind: int, raw: bytes | bytearray, above: bytearray, bpp: int) -> bytearray | None:
    """The first len(raw) bytes of a PNG scanline with its filter undone (None: bad filter)."""
    out = bytearray(len(raw))
    for i, x in enumerate(raw):
        a = out[i - bpp] if i >= bpp else 0
        b = above[i]
        if kind == 0:
            value = x
        elif kind == 1:
            value = x + a
        elif kind == 2:
            value = x + b
        elif kind == 3:
            value = x + ((a + b) >> 1)
        elif kind == 4:
            c = above[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            value = x + (a if pa <= pb and pa <= pc else b if pb <= pc else c)
        else:
            return None
        out[i] = value & 0xFF
    return out


_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXTENSION_SIGNATURE = b"http://ns.adobe.com/xmp/extension/\x00"


def walk_jpeg(src: Source, found: Findings) -> None:
    """Marker segments from SOI to the first SOS: APP1 EXIF/XMP, APP11 JUMBF, COM."""
    offset = 2
    size = src.size
    extended: dict[bytes, dict[int, bytes]] = {}
    while True:
        found.count_item()
        header = src.read(offset, 4)
        if len(header) < 2:
            raise StructureError(f"truncated JPEG: file ends at offset {offset} before image data")
        if header[0] != 0xFF:
            raise StructureError(f"corrupt JPEG: no marker at offset {offset}")
        marker = header[1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in _JPEG_STANDALONE:
            offset += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image: metadata comes before
            break
        if len(header) < 4:
            raise StructureError(f"truncated JPEG: file ends at offset {offset} before image data")
        seg_len = (header[2] << 8) | header[3]
        end = offset + 2 + seg_len
        if seg_len < 2:
            raise StructureError(f"corrupt JPEG: segment 0x{marker:02X} at offset {offset}")
        if end > size:
            raise StructureError(
                f"truncated JPEG: segment 0x{marker:02X} at offset {offset} runs past end of file"
            )
        body, body_len = offset + 4, seg_len - 2
        if marker == 0xE1:
            _jpeg_app1(src.read(body, body_len), found, extended)
        elif marker == 0xEB:
            if C2PA_JUMBF_UUID in src.read(body, min(body_len, 64)):
                found.mark_c2pa()
        elif marker == 0xFE:
            found.add_field(
                "container-tag", "JPEG COM", "Comment", decode_text(src.read(body, body_len))
            )
        offset = end
    for parts in extended.values():
        packet = b"".join(parts[at] for at in sorted(parts))
        found.add_xmp("JPEG extended XMP", packet[: found.item_length(len(packet), "XMP")])


def _jpeg_app1(data: bytes, found: Findings, extended: dict[bytes, dict[int, bytes]]) -> None:
    if data.startswith(b"Exif\x00"):
        parse_exif_blob(data[6:], found, "EXIF")
    elif data.startswith(_XMP_SIGNATURE):
        found.add_xmp("JPEG XMP", data[len(_XMP_SIGNATURE) :])
    elif data.startswith(_XMP_EXTENSION_SIGNATURE):
        rest = data[len(_XMP_EXTENSION_SIGNATURE) :]
        if len(rest) < 40:
            return
        guid = rest[:32]
        (at,) = struct.unpack(">I", rest[36:40])
        if at < MAX_ITEM_BYTES and (guid in extended or len(extended) < 4):
            extended.setdefault(guid, {})[at] = rest[40:]
        else:  # what is not kept may hold a declaration
            found.clipped = found.clipped or "extended XMP beyond 4 packets or 16 MiB not read"
        found.note_metadata()


def walk_gif(src: Source, found: Findings) -> None:
    """GIF blocks: comment and application extensions (XMP, C2PA); image data stepped over."""
    header = src.read(0, 13)
    if len(header) < 13:
        raise StructureError("truncated GIF: header shorter than 13 bytes")
    offset = 13 + _colour_table_size(header[10])
    while True:
        found.count_item()
        block = src.read(offset, 2, ahead=4096)
        if not block:
            raise StructureError(f"truncated GIF: file ends at offset {offset} without a trailer")
        kind = block[0]
        if kind == 0x3B:
            return
        if kind == 0x21:
            if len(block) < 2:
                raise StructureError(f"truncated GIF: extension at offset {offset}")
            offset = _gif_extension(src, offset + 2, block[1], found)
        elif kind == 0x2C:
            descriptor = src.read(offset, 10)
            if len(descriptor) < 10:
                raise StructureError(f"truncated GIF: image descriptor at offset {offset}")
            offset += 10 + _colour_table_size(descriptor[9]) + 1  # + LZW minimum code size
            offset = _skip_sub_blocks(src, offset, found)
        else:
            raise StructureError(f"corrupt GIF: unknown block 0x{kind:02X} at offset {offset}")


def _colour_table_size(flags: int) -> int:
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


def _gif_extension(src: Source, offset: int, label: int, found: Findings) -> int:
    if label == 0xFF:
        app = src.read(offset, 12)
        if len(app) < 12:
            raise StructureError(f"truncated GIF: application extension at offset {offset}")
        identifier = app[1:12]
        data_at = offset + 1 + app[0]
        if identifier == b"XMP DataXMP":
            raw = src.read(data_at, min(src.size - data_at, 1024 * 1024))
            end = raw.find(b"<?xpacket end=")
            close = raw.find(b"?>", end) if end >= 0 else -1
            found.add_xmp("GIF XMP", raw[: close + 2] if close >= 0 else raw[:0])
        elif identifier.startswith(b"C2PA_GIF"):
            found.mark_c2pa()
        return _skip_sub_blocks(src, data_at, found)
    if label == 0xFE:
        parts: list[bytes] = []
        end = _skip_sub_blocks(src, offset, found, parts)
        found.add_field("container-tag", "GIF comment", "Comment", decode_text(b"".join(parts)))
        return end
    return _skip_sub_blocks(src, offset, found)


def _skip_sub_blocks(
    src: Source, offset: int, found: Findings, keep: list[bytes] | None = None
) -> int:
    kept = 0
    while True:
        found.count_data_block()
        length = src.read(offset, 1, ahead=65536)
        if not length:
            raise StructureError(f"truncated GIF: data sub-block at offset {offset}")
        if length[0] == 0:
            return offset + 1
        if keep is not None and kept < 65536:
            keep.append(src.read(offset + 1, length[0], ahead=65536))
            kept += length[0]
        offset += 1 + length[0]


_PSD_RESOURCE_SIGNATURES = (b"8BIM", b"MeSa", b"AgHg", b"PHUT", b"DCSR")


def walk_psd(src: Source, found: Findings) -> None:
    """Photoshop image resources: XMP (1060) and EXIF (1058)."""
    header = src.read(0, 30)
    if len(header) < 30:
        raise StructureError("truncated PSD: header shorter than 30 bytes")
    (colour_data,) = struct.unpack(">I", header[26:30])
    offset = 30 + colour_data
    raw_len = src.read(offset, 4)
    if len(raw_len) < 4:
        raise StructureError("truncated PSD: image resources run past end of file")
    offset += 4
    end = offset + struct.unpack(">I", raw_len)[0]
    if end > src.size:
        raise StructureError("truncated PSD: image resources run past end of file")
    while offset + 12 <= end:
        found.count_item()
        head = src.read(offset, 7)
        if head[:4] not in _PSD_RESOURCE_SIGNATURES:
            raise StructureError(f"corrupt PSD: bad image resource at offset {offset}")
        (resource_id,) = struct.unpack(">H", head[4:6])
        name_len = 1 + head[6]
        at = offset + 6 + name_len + (name_len & 1)
        raw_size = src.read(at, 4)
        if len(raw_size) < 4:
            raise StructureError(f"truncated PSD: image resource at offset {offset}")
        (data_len,) = struct.unpack(">I", raw_size)
        data_at = at + 4
        if data_at + data_len > end:
            raise StructureError(f"truncated PSD: image resource at offset {offset}")
        if resource_id == 0x0424:
            found.add_xmp("PSD XMP", src.read(data_at, found.item_length(data_len)))
        elif resource_id == 0x0422:
            parse_exif_blob(src.read(data_at, found.item_length(data_len)), found, "PSD EXIF")
        offset = data_at + data_len + (data_len & 1)
