"""Walkers for formats read by a bounded search or a fixed header: PDF, SVG, OpenEXR, DPX, and
zip containers (Office, EPUB, ...), where c2pa embeds its store as a member.

A PDF's objects may be compressed and are not parsed here: the first and last megabytes are
searched for uncompressed XMP packets, Info strings and the C2PA attachment's markers, which is
where writers put them (the front for linearised files, the end for incremental updates).
"""

from __future__ import annotations

import re
import struct

from provenance.formats.base import Findings, Source, StructureError, decode_text

_PDF_HEAD = 4 * 1024 * 1024
_PDF_TAIL = 1024 * 1024
_PDF_C2PA_MARKS = (
    b"/C2PA_Manifest",
    b"application#2Fc2pa",
    b"application#2Fx-c2pa-manifest-store",
)
_PDF_INFO = re.compile(
    rb"/(Producer|Creator|Title|Subject|Keywords)\s*"
    rb"(?:\(((?:\\.|[^\\)]){0,4096})\)|<([0-9A-Fa-f\s]{0,16384})>)",
    re.DOTALL,
)
_PDF_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
_MAX_PACKETS = 16


def walk_pdf(src: Source, found: Findings) -> None:
    """Search the head and tail of a PDF for XMP, Info strings and C2PA markers."""
    regions = [src.read(0, min(src.size, _PDF_HEAD))]
    if src.size > _PDF_HEAD:
        tail_at = max(_PDF_HEAD, src.size - _PDF_TAIL)
        regions.append(src.read(tail_at, src.size - tail_at))
    for region in regions:
        if any(mark in region for mark in _PDF_C2PA_MARKS):
            found.mark_c2pa()
        find_xmp_packets(region, found, "PDF XMP")
        for match in _PDF_INFO.finditer(region):
            found.count_item()
            key = match.group(1).decode("ascii")
            if match.group(2) is not None:
                raw = _pdf_literal(match.group(2))
            else:
                digits = re.sub(rb"\s", b"", match.group(3))
                raw = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
            found.add_field("container-tag", "PDF Info", key, _pdf_text(raw))


def _pdf_literal(raw: bytes) -> bytes:
    return re.sub(rb"\\([nrtbf()\\]|[0-7]{1,3})", _pdf_unescape, raw)


def _pdf_unescape(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    if code[:1].isdigit():
        return bytes([int(code, 8) & 0xFF])
    return _PDF_ESCAPES.get(code, code)


def _pdf_text(raw: bytes) -> str:
    if raw.startswith(b"\xfe\xff"):
        return raw[2 : 2 + ((len(raw) - 2) & ~1)].decode("utf-16-be", "replace")
    return decode_text(raw)


def find_xmp_packets(region: bytes, found: Findings, where: str) -> None:
    """Every complete ``x:xmpmeta`` element in a block of bytes."""
    at = 0
    for _ in range(_MAX_PACKETS):
        start = region.find(b"<x:xmpmeta", at)
        if start < 0:
            return
        end = region.find(b"</x:xmpmeta>", start)
        if end < 0:
            return
        found.add_xmp(where, region[start : end + len(b"</x:xmpmeta>")])
        at = end


def walk_svg(src: Source, found: Findings) -> None:
    """XMP packets and an embedded C2PA manifest in the first megabyte of an SVG."""
    region = src.read(0, min(src.size, 1024 * 1024))
    if b"<c2pa:manifest" in region:
        found.mark_c2pa()
    find_xmp_packets(region, found, "SVG XMP")


def walk_exr(src: Source, found: Findings) -> None:
    """OpenEXR header attributes of type 'string' (the first part's header only)."""
    offset = 8
    while True:
        found.count_item()
        block = src.read(offset, 600)
        name_end = block.find(b"\x00")
        if name_end == 0:
            return
        type_end = block.find(b"\x00", name_end + 1)
        if name_end < 0 or type_end < 0 or len(block) < type_end + 5:
            raise StructureError(f"truncated OpenEXR: header attribute at offset {offset}")
        (size,) = struct.unpack_from("<i", block, type_end + 1)
        value_at = offset + type_end + 5
        if size < 0 or value_at + size > src.size:
            raise StructureError(f"truncated OpenEXR: header attribute at offset {offset}")
        if block[name_end + 1 : type_end] == b"string":
            name = block[:name_end].decode("latin-1")
            value = decode_text(src.read(value_at, found.item_length(size)))
            found.add_field("container-tag", "OpenEXR header", name, value)
        else:
            found.note_metadata()
        offset = value_at + size


_DPX_TEXT_FIELDS = (("Creator", 160, 100), ("Project", 260, 200), ("Copyright", 460, 200))


def walk_dpx(src: Source, found: Findings) -> None:
    """The DPX generic header's creator, project and copyright strings."""
    header = src.read(0, 660)
    if len(header) < 660:
        raise StructureError("truncated DPX: generic header shorter than 660 bytes")
    for name, start, length in _DPX_TEXT_FIELDS:
        value = decode_text(header[start : start + length].split(b"\x00")[0])
        found.add_field("container-tag", "DPX header", name, value)


C2PA_ZIP_MEMBER = "META-INF/content_credential.c2pa"
"""Where c2pa embeds a manifest store in a zip-based file (Office, EPUB, plain zip)."""
_C2PA_ZIP_NAME = C2PA_ZIP_MEMBER.encode()


def walk_zip(src: Source, found: Findings) -> None:
    """A zip's central directory, searched for c2pa's embedded manifest store member."""
    tail_len = min(src.size, 65536 + 22)
    tail = src.read(src.size - tail_len, tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if _C2PA_ZIP_NAME in tail:
        found.mark_c2pa()
        return
    if at < 0 or len(tail) - at < 22:
        return  # no end record: the gate opens it and says so
    cd_size, cd_offset = struct.unpack_from("<II", tail, at + 12)
    if cd_offset >= src.size or cd_offset == 0xFFFFFFFF:
        return
    directory = src.read(cd_offset, found.item_length(cd_size, "zip directory"))
    found.note_metadata()
    if _C2PA_ZIP_NAME in directory:
        found.mark_c2pa()
