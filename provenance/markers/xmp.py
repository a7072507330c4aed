"""Read the few XMP properties provgate cares about, safely.

XMP is attacker-controlled XML. A packet with a DOCTYPE or ENTITY declaration is never handed to
an XML parser (no entity expansion, no external fetches); it, and any packet that is not
well-formed, is read with a tolerant pattern match instead. Properties are matched by namespace
URI when parsed, so any prefix works; attribute and element forms are both read.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

# '{namespace}local' -> the name we report it under.
_PROPERTIES = {
    f"{{{IPTC_EXT}}}DigitalSourceType": "DigitalSourceType",
    f"{{{IPTC_EXT}}}AISystemUsed": "AISystemUsed",
    f"{{{IPTC_EXT}}}AISystemVersionUsed": "AISystemVersionUsed",
    f"{{{IPTC_EXT}}}AIPromptInformation": "AIPromptInformation",
    f"{{{IPTC_EXT}}}AIPromptWriterName": "AIPromptWriterName",
    f"{{{IPTC_EXT}}}DigImageGUID": "DigImageGUID",
    "{http://purl.org/dc/terms/}provenance": "provenance",
    "{http://ns.adobe.com/xap/1.0/}CreatorTool": "CreatorTool",
    "{http://purl.org/dc/elements/1.1/}description": "Description",
    "{http://purl.org/dc/elements/1.1/}title": "Title",
    "{http://ns.adobe.com/tiff/1.0/}Make": "Make",
    "{http://ns.adobe.com/tiff/1.0/}Model": "Model",
    "{http://ns.adobe.com/tiff/1.0/}Software": "Software",
    "{http://ns.adobe.com/tiff/1.0/}ImageDescription": "ImageDescription",
    "{http://ns.adobe.com/exif/1.0/}UserComment": "UserComment",
    "{http://ns.adobe.com/xap/1.0/sType/ResourceEvent#}softwareAgent": "softwareAgent",
    "{http://ns.adobe.com/photoshop/1.0/}Credit": "Credit",
}
_RESOURCE = f"{{{_RDF}}}resource"
_LI = f"{{{_RDF}}}li"

# Fallback: only properties whose local names are distinctive enough to match without their
# namespace.
_FALLBACK_NAMES = (
    "DigitalSourceType|AISystemUsed|AISystemVersionUsed|AIPromptInformation|AIPromptWriterName"
    "|DigImageGUID|CreatorTool|provenance|softwareAgent"
)
# Every quantifier is anchored by a literal or bounded, so hostile input stays linear.
_FALLBACK_ATTRIBUTE = re.compile(
    rf"""\w:({_FALLBACK_NAMES})\s*=\s*(?:"([^"<]*)"|'([^'<]*)')""".encode()
)
_FALLBACK_ELEMENT = re.compile(rf"<[\w.-]{{1,64}}:({_FALLBACK_NAMES})\b([^>]*)>([^<]*)".encode())
_FALLBACK_RESOURCE = re.compile(rb"""rdf:resource\s*=\s*(?:"([^"<]*)"|'([^'<]*)')""")
_FORBIDDEN = (b"<!doctype", b"<!entity")
_MAX_VALUES = 64
# Larger packets (Photoshop's DocumentAncestors bloat can reach megabytes) are pattern-matched:
# about ten times faster than building the tree, and the properties that decide origin are
# all distinctive names.
_MAX_PARSED = 512 * 1024

XmpProperties = dict[str, list[str]]


def parse_xmp(packet: bytes) -> XmpProperties:
    """The properties of interest found in an XMP packet, each with its values in order."""
    packet = _as_utf8(packet)
    body = parsable_body(packet)
    if body is None:
        return _fallback(packet)
    from xml.etree import ElementTree  # deferred: only files that carry XMP pay for it

    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, ValueError):
        return _fallback(packet)
    found: XmpProperties = {}
    for element in root.iter():
        name = _PROPERTIES.get(element.tag)
        if name:
            _add(found, name, _element_value(element))
        for attribute, value in element.attrib.items():
            name = _PROPERTIES.get(attribute)
            if name:
                _add(found, name, value)
    return found


def parsable_body(packet: bytes) -> bytes | None:
    """The packet's x:xmpmeta (or bare rdf:RDF) element when it may be handed to an XML parser:
    no DOCTYPE or ENTITY declaration anywhere, and small enough to build a tree of; else None."""
    body = _rdf_body(packet)
    lowered = packet.lower()
    if body is None or len(body) > _MAX_PARSED or any(mark in lowered for mark in _FORBIDDEN):
        return None
    return body


def packet_problem(packet: bytes) -> str | None:
    """Why `packet` is not a readable XMP packet (a file that must be one: a `.xmp` sidecar),
    or None. Readable: an x:xmpmeta or rdf:RDF element, well-formed, no DOCTYPE or ENTITY."""
    packet = _as_utf8(packet)
    if _rdf_body(packet) is None:
        return "not an XMP packet (no x:xmpmeta or rdf:RDF element)"
    if any(mark in packet.lower() for mark in _FORBIDDEN):
        return "XMP packet with a DOCTYPE or ENTITY declaration (not parsed)"
    body = parsable_body(packet)
    if body is None:
        return f"XMP packet larger than {_MAX_PARSED // 1024} KiB"
    from xml.etree import ElementTree

    try:
        ElementTree.fromstring(body)
    except (ElementTree.ParseError, ValueError) as exc:
        return f"XMP packet is not well-formed XML ({exc})"
    return None


def _as_utf8(packet: bytes) -> bytes:
    if packet[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return packet.decode("utf-16", "replace").encode("utf-8")
    return packet


def _rdf_body(packet: bytes) -> bytes | None:
    """The x:xmpmeta element (or bare rdf:RDF) without the xpacket wrapper and padding."""
    for opening, closing in (
        (b"<x:xmpmeta", b"</x:xmpmeta>"),
        (b"<x:xapmeta", b"</x:xapmeta>"),
        (b"<rdf:RDF", b"</rdf:RDF>"),
    ):
        start = packet.find(opening)
        if start >= 0:
            end = packet.rfind(closing)
            return packet[start : end + len(closing)] if end > start else None
    return None


def _element_value(element: Element) -> str:
    text = (element.text or "").strip()
    if text:
        return text
    if _RESOURCE in element.attrib:
        return element.attrib[_RESOURCE]
    items = ((li.text or "").strip() for li in element.iter(_LI))
    return "; ".join(item for item in items if item)


def _add(found: XmpProperties, name: str, value: str) -> None:
    value = value.strip()
    values = found.setdefault(name, [])
    if value and len(values) < _MAX_VALUES and value not in values:
        values.append(value)


def _fallback(packet: bytes) -> XmpProperties:
    found: XmpProperties = {}
    for match in _FALLBACK_ATTRIBUTE.finditer(packet):
        _add(found, match.group(1).decode(), _unescape(match.group(2) or match.group(3) or b""))
    for match in _FALLBACK_ELEMENT.finditer(packet):
        value = match.group(3)
        if not value.strip():
            resource = _FALLBACK_RESOURCE.search(match.group(2))
            value = (resource.group(1) or resource.group(2)) if resource else b""
        _add(found, match.group(1).decode(), _unescape(value))
    return found


_NAMED_ENTITIES = {"lt": "<", "gt": ">", "quot": '"', "apos": "'", "amp": "&"}
_ENTITY = re.compile(r"&(lt|gt|quot|apos|amp|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


def _unescape(raw: bytes) -> str:
    """XML's predefined and numeric character references; nothing else is ever expanded."""
    return _ENTITY.sub(_entity, raw.decode("utf-8", "replace"))


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name[0] != "#":
        return _NAMED_ENTITIES[name]
    code = int(name[2:], 16) if name[1] == "x" else int(name[1:])
    return chr(code) if 0 < code <= 0x10FFFF else match.group(0)
