"""Recognise a file's media type from its first bytes, never from its name.

Extensions lie (a PNG saved as .jpg, a render with no extension at all) and the walker that reads
a file's metadata has to match what the bytes really are. A few dozen bytes are enough for every
format here; an ISO BMFF file's brands need the ``ftyp`` box, which is at the start.
"""

from __future__ import annotations

OCTET_STREAM = "application/octet-stream"
TEXT_PLAIN = "text/plain"

_PNG = b"\x89PNG\r\n\x1a\n"
_JXL_CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
_MXF_PARTITION = bytes.fromhex("060e2b34020501010d010201")
_RIFF_FORMS = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")

_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_AUDIO_MP4_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})

_SIMPLE_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"fLaC", "audio/flac"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"%PDF-", "application/pdf"),
    (b"v/1\x01", "image/x-exr"),
    (b"SDPX", "image/x-dpx"),
    (b"XPDS", "image/x-dpx"),
    (b"8BPS", "image/vnd.adobe.photoshop"),
    (b"\xff\x0a", "image/jxl"),
    (_JXL_CONTAINER, "image/jxl"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),  # an empty zip: its end record alone
    (b"\x1f\x8b\x08", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"\x28\xb5\x2f\xfd", "application/zstd"),
    (b"\x04\x22\x4d\x18", "application/x-lz4"),
    (b"LZIP", "application/x-lzip"),
    (b"MSCF", "application/vnd.ms-cab-compressed"),
    (b"xar!", "application/x-xar"),
    (b"!<arch>\n", "application/x-archive"),
    (b"070701", "application/x-cpio"),
    (b"070702", "application/x-cpio"),
    (b"070707", "application/x-cpio"),
    (b"hsqs", "application/x-squashfs"),
)

# Archive and compression formats the delivery gate opens; the others in ARCHIVE_TYPES it
# cannot read, and blocks.
READABLE_ARCHIVES = frozenset(
    {
        "application/zip",
        "application/x-tar",
        "application/gzip",
        "application/x-bzip2",
        "application/x-xz",
    }
)
ARCHIVE_TYPES = (
    READABLE_ARCHIVES
    | {
        media_type
        for _, media_type in _SIMPLE_MAGICS
        if media_type.startswith("application/") and media_type not in ("application/pdf",)
    }
    | {"application/x-iso9660-image"}
)


def sniff_media_type(head: bytes) -> str:
    """The media type the first bytes of a file declare (`OCTET_STREAM` when unknown)."""
    if head.startswith(_PNG):
        return "image/png"
    if head[4:8] == b"ftyp":
        return _bmff_type(head)
    for magic, media_type in _SIMPLE_MAGICS:
        if head.startswith(magic):
            return media_type
    four = head[:4]
    if four in (b"RIFF", b"RF64", b"BW64"):
        return _RIFF_FORMS.get(head[8:12], OCTET_STREAM)
    if four in _TIFF_MAGICS:
        return "image/tiff"
    if head.startswith(_MXF_PARTITION):
        return "application/mxf"
    if four == b"\x1aE\xdf\xa3":
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if _is_mpeg_audio(head):
        return "audio/mpeg"
    if head[:2] == b"BM" and len(head) >= 14 and head[6:10] == b"\x00\x00\x00\x00":
        return "image/bmp"
    if is_tar_header(head):
        return "application/x-tar"
    if head[32769:32774] == b"CD001":
        return "application/x-iso9660-image"
    if b"%PDF-" in head[:1024]:  # PDF allows leading junk before the header
        return "application/pdf"
    return _text_type(head)


def _bmff_type(head: bytes) -> str:
    size = int.from_bytes(head[:4], "big")
    major = head[8:12]
    brands = {major} | {head[i : i + 4] for i in range(16, min(size, len(head), 256) - 3, 4)}
    if major == b"qt  ":
        return "video/quicktime"
    if brands & _AVIF_BRANDS:
        return "image/avif"
    if brands & _HEIC_BRANDS:
        return "image/heic"
    if major in (b"mif1", b"msf1"):
        return "image/heif"
    if major == b"crx ":
        return "image/x-canon-cr3"
    if major == b"jxl ":
        return "image/jxl"
    if major in _AUDIO_MP4_BRANDS:
        return "audio/mp4"
    return "video/mp4"


def is_tar_header(head: bytes) -> bool:
    """A tar header at the start: POSIX/GNU (`ustar` magic) or pre-POSIX (a checksum field
    that matches the header's bytes)."""
    return head[257:262] == b"ustar" or (len(head) >= 512 and _is_v7_tar(head))


def _is_v7_tar(head: bytes) -> bool:
    field = head[148:156].split(b"\x00", 1)[0].strip()
    if not field or not all(48 <= c <= 55 for c in field) or not head[0]:
        return False
    total = sum(head[:148]) + 8 * 32 + sum(head[156:512])
    return int(field, 8) == total


def _is_mpeg_audio(head: bytes) -> bool:
    """An MPEG-1/2 audio frame header: sync bits, and no reserved version, layer or rate."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate != 15 and rate != 3


def _text_type(head: bytes) -> str:
    sample = head[:4096]
    if not sample or b"\x00" in sample:
        return OCTET_STREAM
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:  # not just a character cut at the end of the sample
            return OCTET_STREAM
        text = sample[: exc.start].decode("utf-8")
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("<?xml", "<svg", "<!--", "<!DOCTYPE svg")) and "<svg" in text:
        return "image/svg+xml"
    return TEXT_PLAIN
