"""The key facts of our tag as XMP, for the tools that read XMP and not C2PA (DAMs, Bridge,
Lightroom, ExifTool).

The packet holds IPTC `Iptc4xmpExt:DigitalSourceType`, the PLUS `plus:DataMining` field saying
data mining and AI training are prohibited, and provgate's origin, status, use category, tool
and approval reference under our own namespace. It goes into the file's bytes before they are
signed (so the manifest's hash covers it), where the format has a place for XMP, pixels and
samples untouched:

* JPEG: an APP1 segment after the leading APP0/APP1 ones;
* PNG: an uncompressed `iTXt` chunk `XML:com.adobe.xmp` after IHDR;
* WebP: an `XMP ` chunk at the end, with the VP8X header's XMP flag (a simple lossy or
  lossless WebP gets the VP8X header it then needs, its canvas read from the bitstream);
* WAV: a `_PMX` chunk at the end;
* TIFF (and DNG): tag 700 in a rewritten IFD0 appended to the file (the old IFD0 is left
  unreferenced; every other offset stays valid);
* MP4 / MOV / M4A: a top-level XMP `uuid` box at the end (no sample offset moves).

A file that already has XMP keeps it, with our properties merged in: its packet is parsed (only
when it may be: no DOCTYPE or ENTITY, well-formed, one rdf:RDF; see `markers.xmp`), the
properties we write are taken out of its descriptions (the stale values of an earlier tag, or
another tool's digital source type) and our description is added; everything else it says is
kept. An old packet in an MP4 is turned into a `free` box rather than moved, and an old TIFF packet
left unreferenced; both are blanked (spaces), so no stale facts stay readable. A packet that cannot
be parsed safely, or whose merge no longer fits (a JPEG segment holds 64 KB), is left exactly
as it is and the file gets none of our XMP: rewriting XML we cannot read would lose someone
else's metadata. Other formats (GIF, HEIF/AVIF, MP3, FLAC, PDF, SVG...) get none either; the
signed C2PA manifest carries the same facts.

For a file tagged with a `.c2pa` sidecar, `<file>.xmp` beside it holds the same packet.
"""

from __future__ import annotations

import struct
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from provenance.markers.xmp import IPTC_EXT, parsable_body

PROVGATE_NS = "http://ns.provgate.org/tag/1.0/"
PLUS_NS = "http://ns.useplus.org/ldf/xmp/1.0/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DMI_PROHIBITED = "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"

# Our own properties under PROVGATE_NS, and the tag fact each one carries.
_OURS = (
    ("Origin", "origin"),
    ("Status", "status"),
    ("UseCategory", "use"),
    ("ApprovalReference", "approval_ref"),
    ("Tool", "tool"),
)
_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_END = '\n<?xpacket end="w"?>'

_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_JPEG_MAX_PACKET = 0xFFFF - 2 - len(_JPEG_XMP)
_PNG_XMP_KEY = b"XML:com.adobe.xmp"
_XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
_MAX_PACKET = 4 << 20  # an existing packet larger than this is not merged
_SPOOL = 32 << 20


def tag_packet(facts: dict[str, Any]) -> bytes:
    """An XMP packet for the tag: `facts` has digital_source_type (IPTC URI), origin, status,
    use, tool and approval_ref (None values are left out)."""
    body = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        f' <rdf:RDF xmlns:rdf="{RDF_NS}">\n  {_description(facts, "")}\n </rdf:RDF>\n'
        "</x:xmpmeta>"
    )
    return (_BEGIN + body + _END).encode("utf-8")


def _description(facts: dict[str, Any], about: str) -> str:
    """Our rdf:Description, declaring every namespace it uses (rdf too): it can be placed in
    any packet whatever prefixes that packet binds."""
    ours = "".join(
        f"\n   provgate:{name}={quoteattr(str(facts[key]))}"
        for name, key in _OURS
        if facts.get(key)
    )
    return f"""<rdf:Description xmlns:rdf="{RDF_NS}" rdf:about={quoteattr(about)}
   xmlns:Iptc4xmpExt="{IPTC_EXT}"
   xmlns:plus="{PLUS_NS}"
   xmlns:provgate="{PROVGATE_NS}"
   Iptc4xmpExt:DigitalSourceType={quoteattr(facts["digital_source_type"])}{ours}>
   <plus:DataMining rdf:resource="{escape(DMI_PROHIBITED)}"/>
  </rdf:Description>"""


def _is_ours(namespace: str | None, local: str | None) -> bool:
    """The properties our description states (replaced when merging)."""
    return namespace == PROVGATE_NS or (namespace, local) in (
        (IPTC_EXT, "DigitalSourceType"),
        (PLUS_NS, "DataMining"),
    )


def merged_packet(existing: bytes, facts: dict[str, Any]) -> bytes | None:
    """`existing` with our properties in place of any it had, everything else kept; None when
    it cannot be parsed safely (then it must be left as it is)."""
    from xml.dom import minidom  # deferred: only files with XMP of their own pay for it
    from xml.parsers.expat import ExpatError

    if existing[:2] in (b"\xff\xfe", b"\xfe\xff") or len(existing) > _MAX_PACKET:
        return None
    body = parsable_body(existing)
    if body is None:
        return None
    try:
        doc = minidom.parseString(body)
    except (ExpatError, ValueError):
        return None
    rdfs = doc.getElementsByTagNameNS(RDF_NS, "RDF")
    if len(rdfs) != 1:
        return None
    rdf, about = rdfs[0], None
    for desc in list(rdf.childNodes):
        if desc.nodeType != desc.ELEMENT_NODE or (desc.namespaceURI, desc.localName) != (
            RDF_NS,
            "Description",
        ):
            continue
        if about is None:
            about = desc.getAttributeNS(RDF_NS, "about")
        for attr in list(desc.attributes.values()):
            if _is_ours(attr.namespaceURI, attr.localName):
                desc.removeAttributeNode(attr)
        for child in list(desc.childNodes):
            if child.nodeType == child.ELEMENT_NODE and _is_ours(
                child.namespaceURI, child.localName
            ):
                desc.removeChild(child)
        if _is_empty(desc):  # it held only our old properties
            _remove_with_indent(rdf, desc)
    while rdf.lastChild is not None and _is_blank(rdf.lastChild):
        rdf.removeChild(rdf.lastChild)
    ours = minidom.parseString(_description(facts, about or "").encode("utf-8")).documentElement
    root = doc.documentElement
    if ours is None or root is None:
        return None
    rdf.appendChild(doc.createTextNode("\n  "))
    rdf.appendChild(doc.importNode(ours, True))
    rdf.appendChild(doc.createTextNode("\n "))
    return (_BEGIN + root.toxml() + _END).encode("utf-8")


def _is_blank(node: Any) -> bool:
    return bool(node.nodeType == node.TEXT_NODE and not node.data.strip())


def _remove_with_indent(parent: Any, node: Any) -> None:
    before = node.previousSibling
    if before is not None and _is_blank(before):
        parent.removeChild(before)
    parent.removeChild(node)


def _is_empty(desc: Any) -> bool:
    xmlns = "http://www.w3.org/2000/xmlns/"
    attributes = [
        a
        for a in desc.attributes.values()
        if a.namespaceURI != xmlns and (a.namespaceURI, a.localName) != (RDF_NS, "about")
    ]
    children = [c for c in desc.childNodes if not _is_blank(c)]
    return not attributes and not children


def with_packet(src: IO[bytes], media_type: str, facts: dict[str, Any]) -> IO[bytes] | None:
    """A copy of `src` carrying the tag's XMP (merged into the file's own packet, if it has
    one), or None when the format takes none here or the file's packet must be left as it is
    (then the file is signed as it is)."""
    planner = _PLANNERS.get(media_type)
    if planner is None:
        return None
    size = src.seek(0, 2)
    try:
        plan = planner(src, size)
    except (struct.error, ValueError, zlib.error):
        plan = None  # a structure we do not follow: leave the file as it is
    if plan is None:
        return None
    packet = tag_packet(facts) if plan.existing is None else merged_packet(plan.existing, facts)
    splices = plan.build(packet) if packet is not None else None
    src.seek(0)
    if not splices or not _fits(splices, size):
        return None  # e.g. a chunk whose length runs past the end: left as it is
    return _spliced(src, size, splices)


# A splice replaces src[start:end] with data (start == end: an insertion).
Splice = tuple[int, int, bytes]


@dataclass(frozen=True)
class _Plan:
    """Where a format's packet goes: the packet the file has (None: none), and the splices
    that put a new packet in."""

    existing: bytes | None
    build: Callable[[bytes], list[Splice] | None]


def _read(src: IO[bytes], at: int, n: int) -> bytes:
    src.seek(at)
    return src.read(n)


def _fits(splices: list[Splice], size: int) -> bool:
    """Splices inside the file that do not overlap."""
    pos = 0
    for start, end, _ in sorted(splices, key=lambda s: (s[0], s[1])):
        if start < pos or end < start or end > size:
            return False
        pos = end
    return True


def _spliced(src: IO[bytes], size: int, splices: list[Splice]) -> IO[bytes]:
    out = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - returned open
    pos = 0
    for start, end, data in sorted(splices, key=lambda s: (s[0], s[1])):
        _copy(src, out, pos, start)
        out.write(data)
        pos = end
    _copy(src, out, pos, size)
    out.seek(0)
    src.seek(0)
    return out


def _copy(src: IO[bytes], out: IO[bytes], start: int, end: int) -> None:
    src.seek(start)
    left = end - start
    while left > 0 and (chunk := src.read(min(left, 1 << 20))):
        out.write(chunk)
        left -= len(chunk)


def _jpeg(src: IO[bytes], size: int) -> _Plan | None:
    """After SOI and the leading APP0/APP1 segments, or in place of the XMP segment."""
    if _read(src, 0, 2) != b"\xff\xd8":
        return None
    pos, at, found = 2, 2, None
    while pos + 4 <= size:
        head = _read(src, pos, 4 + len(_JPEG_XMP))
        marker = head[1]
        if head[0] != 0xFF or marker in (0xDA, 0xD9):
            break
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        (length,) = struct.unpack(">H", head[2:4])
        if marker == 0xE1 and found is None and head[4:] == _JPEG_XMP:
            found = (pos, pos + 2 + length)
        if marker in (0xE0, 0xE1) and at == pos:
            at = pos + 2 + length
        pos += 2 + length
    existing = None
    if found is not None:
        body = found[0] + 4 + len(_JPEG_XMP)
        existing = _read(src, body, found[1] - body)

    def build(packet: bytes) -> list[Splice] | None:
        if len(packet) > _JPEG_MAX_PACKET:
            return None
        segment = b"\xff\xe1" + struct.pack(">H", len(_JPEG_XMP) + len(packet) + 2)
        where = found or (at, at)
        return [(*where, segment + _JPEG_XMP + packet)]

    return _Plan(existing, build)


def _png(src: IO[bytes], size: int) -> _Plan | None:
    """After IHDR, or in place of the XMP iTXt chunk wherever it is."""
    head = _read(src, 0, 16)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    at = 8 + 12 + struct.unpack(">I", head[8:12])[0]
    pos, found, existing = at, None, None
    while pos + 12 <= size:
        length, kind = struct.unpack(">I4s", _read(src, pos, 8))
        if kind == b"IEND":
            break
        if kind == b"iTXt" and found is None:
            data = _read(src, pos + 8, min(length, len(_PNG_XMP_KEY) + 1))
            if data == _PNG_XMP_KEY + b"\x00":
                found = (pos, pos + 12 + length)
                existing = _itxt_text(_read(src, pos + 8, length))
                if existing is None:
                    return None  # a packet we cannot read is not replaced
        pos += 12 + length

    def build(packet: bytes) -> list[Splice]:
        data = _PNG_XMP_KEY + b"\x00\x00\x00\x00\x00" + packet
        crc = zlib.crc32(b"iTXt" + data)
        chunk = struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", crc)
        return [(*(found or (at, at)), chunk)]

    return _Plan(existing, build)


def _itxt_text(data: bytes) -> bytes | None:
    """An iTXt chunk's text (inflated when compressed, within the packet budget)."""
    rest = data[len(_PNG_XMP_KEY) + 1 :]
    if len(rest) < 2:
        return None
    compressed, method = rest[0], rest[1]
    parts = rest[2:].split(b"\x00", 2)  # language tag, translated keyword, text
    if len(parts) != 3:
        return None
    text = parts[2]
    if not compressed:
        return text
    if method != 0:
        return None
    inflater = zlib.decompressobj()
    out = inflater.decompress(text, _MAX_PACKET + 1)
    return out if len(out) <= _MAX_PACKET and inflater.eof else None


_RIFF_XMP = {b"WEBP": b"XMP ", b"WAVE": b"_PMX"}


def _riff(src: IO[bytes], size: int) -> _Plan | None:
    """WebP `XMP ` / WAV `_PMX` chunk: in place of the existing one, or appended to the RIFF."""
    head = _read(src, 0, 12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] not in _RIFF_XMP:
        return None
    chunk_id = _RIFF_XMP[head[8:12]]
    (declared,) = struct.unpack("<I", head[4:8])
    end = 8 + declared
    if end > size:
        return None
    pos, found, existing, first = 12, None, None, None
    while pos + 8 <= end:
        kind, length = struct.unpack("<4sI", _read(src, pos, 8))
        first = first or (kind, pos)
        stop = pos + 8 + length + (length & 1)
        if kind == chunk_id and found is None:
            found = (pos, stop)
            existing = _read(src, pos + 8, length)
        pos = stop
    if pos != end or first is None:
        return None  # chunks that do not add up to the RIFF size: not ours to extend
    canvas = _webp_flags(src, *first) if head[8:12] == b"WEBP" else []
    if canvas is None:
        return None

    def build(packet: bytes) -> list[Splice] | None:
        chunk = chunk_id + struct.pack("<I", len(packet)) + packet + b"\x00" * (len(packet) & 1)
        where = found or (end, end)
        splices = [(*where, chunk), *canvas]
        total = declared + sum(len(data) - (stop - start) for start, stop, data in splices)
        if total > 0xFFFFFFFE:
            return None
        return [*splices, (4, 8, struct.pack("<I", total))]

    return _Plan(existing, build)


def _webp_flags(src: IO[bytes], kind: bytes, pos: int) -> list[Splice] | None:
    """The splices that make a WebP say it carries XMP: the VP8X flag, or (simple format) a
    VP8X chunk with the canvas of the VP8/VP8L bitstream; None for anything else."""
    data = _read(src, pos + 8, 10)
    if kind == b"VP8X" and len(data) == 10:
        return [(pos + 8, pos + 9, bytes([data[0] | 0x04]))]
    alpha = 0
    if kind == b"VP8 " and data[3:6] == b"\x9d\x01\x2a":
        width, height = (v & 0x3FFF for v in struct.unpack("<HH", data[6:10]))
    elif kind == b"VP8L" and data[:1] == b"\x2f":
        (bits,) = struct.unpack("<I", data[1:5])
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        alpha = 0x10 if (bits >> 28) & 1 else 0
    else:
        return None
    vp8x = (
        b"VP8X"
        + struct.pack("<I", 10)
        + bytes([0x04 | alpha, 0, 0, 0])
        + (width - 1).to_bytes(3, "little")
        + (height - 1).to_bytes(3, "little")
    )
    return [(pos, pos, vp8x)]


def _tiff(src: IO[bytes], size: int) -> _Plan | None:
    """Tag 700 in a copy of IFD0 appended to the file, the header pointing to it."""
    head = _read(src, 0, 8)
    order = {b"II*\x00": "<", b"MM\x00*": ">"}.get(head[:4])
    if order is None or len(head) < 8:
        return None  # not classic TIFF (BigTIFF is left alone)
    (ifd,) = struct.unpack(order + "I", head[4:8])
    if ifd < 8 or ifd + 2 > size:
        return None
    (count,) = struct.unpack(order + "H", _read(src, ifd, 2))
    raw = _read(src, ifd + 2, 12 * count + 4)
    if len(raw) < 12 * count + 4:
        return None
    entries = [raw[i * 12 : i * 12 + 12] for i in range(count)]
    (following,) = struct.unpack(order + "I", raw[12 * count :])
    existing, old_at = None, None
    for entry in entries:
        tag, kind, n, value = struct.unpack(order + "HHII", entry)
        if tag == 700:
            if kind not in (1, 7):
                return None
            existing = entry[8 : 8 + n] if n <= 4 else _read(src, value, n)
            old_at = value if n > 4 and value >= 8 else None
            if len(existing) != n:
                return None

    def build(packet: bytes) -> list[Splice] | None:
        pad = size & 1
        data_at = size + pad
        ifd_at = data_at + len(packet) + (len(packet) & 1)
        ours = struct.pack(order + "HHII", 700, 1, len(packet), data_at)
        kept = [e for e in entries if struct.unpack(order + "H", e[:2])[0] != 700]
        table = sorted([*kept, ours], key=lambda e: struct.unpack(order + "H", e[:2])[0])
        new_ifd = (
            struct.pack(order + "H", len(table))
            + b"".join(table)
            + struct.pack(order + "I", following)
        )
        if ifd_at + len(new_ifd) > 0xFFFFFFFF:
            return None
        tail = b"\x00" * pad + packet + b"\x00" * (len(packet) & 1) + new_ifd
        splices = [(4, 8, struct.pack(order + "I", ifd_at)), (size, size, tail)]
        if old_at is not None and existing:  # the old packet, now unreferenced, is blanked
            splices.append((old_at, old_at + len(existing), b" " * len(existing)))
        return splices

    return _Plan(existing, build)


def _bmff(src: IO[bytes], size: int) -> _Plan | None:
    """A top-level XMP `uuid` box at the end of the file; any XMP box already there (top-level
    `uuid`, QuickTime `moov/udta/XMP_`) becomes a `free` box of the same size, so no offset
    moves."""
    top = _boxes(src, 0, size)
    if top is None:
        return None
    old: list[tuple[int, int, int]] = []  # (box start, payload start, box end)
    for kind, start, body, end in top:
        if kind == b"uuid" and _read(src, body, 16) == _XMP_UUID:
            old.append((start, body + 16, end))
        elif kind == b"moov":
            for udta in (b for b in _boxes(src, body, end) or () if b[0] == b"udta"):
                old.extend(
                    (s, b, e) for k, s, b, e in _boxes(src, udta[2], udta[3]) or () if k == b"XMP_"
                )
    existing = _read(src, old[0][1], old[0][2] - old[0][1]) if old else None

    def build(packet: bytes) -> list[Splice] | None:
        if 24 + len(packet) > 0xFFFFFFFF:
            return None
        box = struct.pack(">I", 24 + len(packet)) + b"uuid" + _XMP_UUID + packet
        freed = [(start + 4, start + 8, b"free") for start, _, _ in old]
        blanked = [(body, end, b" " * (end - body)) for _, body, end in old]
        return [*freed, *blanked, (size, size, box)]

    return _Plan(existing, build)


def _boxes(src: IO[bytes], start: int, end: int) -> list[tuple[bytes, int, int, int]] | None:
    """The boxes between start and end: (type, box start, payload start, box end); None when
    they do not add up (a box running to the end of the file, size 0, cannot be appended to)."""
    out, pos = [], start
    while pos + 8 <= end:
        header = _read(src, pos, 16)
        length, kind = struct.unpack(">I4s", header[:8])
        body = pos + 8
        if length == 1 and len(header) == 16:
            (length,) = struct.unpack(">Q", header[8:16])
            body = pos + 16
        if length < body - pos or pos + length > end:
            return None
        out.append((kind, pos, body, pos + length))
        pos += length
        if len(out) > 100_000:
            return None
    return out if pos == end else None


_PLANNERS: dict[str, Callable[[IO[bytes], int], _Plan | None]] = {
    "image/jpeg": _jpeg,
    "image/png": _png,
    "image/webp": _riff,
    "audio/wav": _riff,
    "image/tiff": _tiff,
    "video/mp4": _bmff,
    "video/quicktime": _bmff,
    "audio/mp4": _bmff,
}
XMP_MEDIA = frozenset(_PLANNERS)
