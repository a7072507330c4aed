"""The key facts of our tag as XMP, for the tools that read XMP and not C2PA (DAMs, Bridge,
Lightroom, ExifTool).

The packet holds IPTC `Iptc4xmpExt:DigitalSourceType`, the PLUS `plus:DataMining` field saying
data mining and AI training are prohibited, and provgate's origin, status, use category and
approval reference under our own namespace. It is inserted into the file's bytes before they
are signed (so the manifest's hash covers it): a JPEG APP1 segment or a PNG `iTXt` chunk, pixels
untouched. A file that already carries XMP keeps its own packet (someone else's metadata is not
rewritten). Other formats get no XMP yet (no `<file>.xmp` sidecar either).
"""

from __future__ import annotations

import struct
import tempfile
import zlib
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

PROVGATE_NS = "http://ns.provgate.org/tag/1.0/"
PLUS_NS = "http://ns.useplus.org/ldf/xmp/1.0/"
DMI_PROHIBITED = "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"
XMP_MEDIA = frozenset({"image/jpeg", "image/png"})
SIDECAR_SUFFIX = ".xmp"

_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_PNG_XMP_KEY = b"XML:com.adobe.xmp"
_HEAD = 1 << 20  # metadata segments are looked for in the first MiB
_SPOOL = 32 << 20


def tag_packet(facts: dict[str, Any]) -> bytes:
    """An XMP packet for the tag: `facts` has digital_source_type (IPTC URI), origin, status,
    use and approval_ref (None values are left out)."""
    ours = "".join(
        f"\n   provgate:{name}={quoteattr(str(facts[key]))}"
        for name, key in (
            ("Origin", "origin"),
            ("Status", "status"),
            ("UseCategory", "use"),
            ("ApprovalReference", "approval_ref"),
            ("Tool", "tool"),
        )
        if facts.get(key)
    )
    body = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
   xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
   xmlns:plus="{PLUS_NS}"
   xmlns:provgate="{PROVGATE_NS}"
   Iptc4xmpExt:DigitalSourceType={quoteattr(facts["digital_source_type"])}{ours}>
   <plus:DataMining rdf:resource="{escape(DMI_PROHIBITED)}"/>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    return body.encode("utf-8")


def with_packet(src: IO[bytes], media_type: str, packet: bytes) -> IO[bytes] | None:
    """A copy of `src` with the packet inserted, or None when the format takes none here or the
    file already has XMP of its own (then the file is signed as it is)."""
    src.seek(0)
    head = src.read(_HEAD)
    if media_type == "image/jpeg":
        at, has_xmp = _jpeg_insertion(head)
        segment = b"\xff\xe1" + struct.pack(">H", len(_JPEG_XMP) + len(packet) + 2)
        insert = segment + _JPEG_XMP + packet
    elif media_type == "image/png":
        at, has_xmp = _png_insertion(head)
        data = _PNG_XMP_KEY + b"\x00\x00\x00\x00\x00" + packet
        crc = zlib.crc32(b"iTXt" + data)
        insert = struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", crc)
    else:
        return None
    if has_xmp or at is None:
        return None
    out = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - returned open
    out.write(head[:at])
    out.write(insert)
    out.write(head[at:])
    while chunk := src.read(1 << 20):
        out.write(chunk)
    out.seek(0)
    src.seek(0)
    return out


def _jpeg_insertion(head: bytes) -> tuple[int | None, bool]:
    """After SOI and the leading APP0/APP1 segments; whether an XMP segment exists."""
    if not head.startswith(b"\xff\xd8"):
        return None, False
    pos, at, has_xmp = 2, 2, False
    while pos + 4 <= len(head) and head[pos] == 0xFF:
        marker = head[pos + 1]
        if marker in (0xDA, 0xD9):
            break
        (length,) = struct.unpack(">H", head[pos + 2 : pos + 4])
        if marker == 0xE1 and head[pos + 4 : pos + 4 + len(_JPEG_XMP)] == _JPEG_XMP:
            has_xmp = True
        if marker in (0xE0, 0xE1) and at == pos:
            at = pos + 2 + length
        pos += 2 + length
    return at, has_xmp


def _png_insertion(head: bytes) -> tuple[int | None, bool]:
    """After IHDR; whether an iTXt XMP chunk comes before the image data."""
    if not head.startswith(b"\x89PNG\r\n\x1a\n") or head[12:16] != b"IHDR":
        return None, False
    at = 8 + 12 + struct.unpack(">I", head[8:12])[0]
    pos, has_xmp = at, False
    while pos + 8 <= len(head):
        length, kind = struct.unpack(">I4s", head[pos : pos + 8])
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"iTXt" and head[pos + 8 : pos + 8 + len(_PNG_XMP_KEY) + 1] == (
            _PNG_XMP_KEY + b"\x00"
        ):
            has_xmp = True
        pos += 12 + length
    return at, has_xmp
