"""Container walkers: sniffing, every family's metadata, truncation, and hostile structures."""

from __future__ import annotations

import contextlib
import io
import os
import random
import struct
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from provenance.errors import MalformedAsset, UnreadableAsset
from provenance.formats.base import MAX_ITEM_BYTES, MAX_ITEMS
from provenance.formats.sniff import sniff_media_type
from provenance.formats.table import Source, walk_container
from provenance.markers.metadata import scan_metadata

C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"


# ---------------------------------------------------------------- builders


def xmp(dst: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'Iptc4xmpExt:DigitalSourceType="{dst}"/></rdf:RDF></x:xmpmeta>'
    ).encode()


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I4s", len(body), ctype) + body + struct.pack(">I", zlib.crc32(ctype + body))
    )


def png_bytes(size: tuple[int, int] = (2, 2), mode: str = "RGB", **text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def insert_before_iend(png: bytes, *chunks: bytes) -> bytes:
    at = png.rindex(b"IEND") - 4
    return png[:at] + b"".join(chunks) + png[at:]


def box(box_type: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), box_type) + body


def full_box(box_type: bytes, body: bytes) -> bytes:
    return box(box_type, b"\x00\x00\x00\x00" + body)


def ilst_item(key: bytes, value: str) -> bytes:
    return box(key, box(b"data", struct.pack(">II", 1, 0) + value.encode()))


def riff(form: bytes, *chunks: tuple[bytes, bytes]) -> bytes:
    body = form + b"".join(
        struct.pack("<4sI", chunk_id, len(data)) + data + b"\x00" * (len(data) & 1)
        for chunk_id, data in chunks
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def walk_file(path: Path):
    data = path.read_bytes()
    return walk_container(Source.from_bytes(data), sniff_media_type(data))


def markers(path: Path, **kwargs: bool) -> set[str]:
    return {e.marker for e in scan_metadata(path, **kwargs).evidence}


# ---------------------------------------------------------------- sniffing

SNIFF_CASES = [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"GIF89a\x01\x00", "image/gif"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt ", "audio/wav"),
    (b"RF64\xff\xff\xff\xffWAVEds64", "audio/wav"),
    (b"RIFF\x10\x00\x00\x00AVI LIST", "video/x-msvideo"),
    (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
    (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
    (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "video/mp4"),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "video/quicktime"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic"),
    (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "image/avif"),
    (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1avif", "image/avif"),
    (b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom", "audio/mp4"),
    (b"fLaC\x00\x00\x00\x22", "audio/flac"),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
    (b"\xff\xfb\x90\x64\x00\x00", "audio/mpeg"),
    (b"OggS\x00\x02", "audio/ogg"),
    (b"%PDF-1.7\n", "application/pdf"),
    (b"v/1\x01\x02\x00\x00\x00", "image/x-exr"),
    (b"SDPX\x00\x00\x08\x00", "image/x-dpx"),
    (b"8BPS\x00\x01", "image/vnd.adobe.photoshop"),
    (bytes.fromhex("060e2b34020501010d01020101020400"), "application/mxf"),
    (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
    (b"Scene 12, take 3: notes\n", "text/plain"),
    (b"\x00\x01\x02\x03\xfe\xfe", "application/octet-stream"),
]


@pytest.mark.parametrize(("head", "expected"), SNIFF_CASES, ids=[c[1] for c in SNIFF_CASES])
def test_sniff_media_type_from_magic(head: bytes, expected: str) -> None:
    assert sniff_media_type(head) == expected


def test_type_comes_from_bytes_not_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "render.jpg", png_bytes(parameters="x\nSteps: 20, Sampler: Euler"))
    scan = scan_metadata(path)
    assert scan.media_type == "image/png"
    assert "generator:automatic1111" in {e.marker for e in scan.evidence}


# ---------------------------------------------------------------- PNG


def test_png_text_after_idat_is_found_without_reading_pixel_data(tmp_path: Path) -> None:
    png = png_bytes()
    # A 20 MB IDAT before the text chunk: the walk must seek over it, not read it.
    big_idat = png_chunk(b"IDAT", os.urandom(1024) * 20 * 1024)
    text = png_chunk(b"tEXt", b"parameters\x00cat\nSteps: 20, Sampler: Euler a, Model: m")
    data = insert_before_iend(png, big_idat, text)
    path = write(tmp_path, "big.png", data)
    fd = os.open(path, os.O_RDONLY)
    try:
        src = Source(os.read(fd, 65536), len(data), fd)
        found = walk_container(src, "image/png")
    finally:
        os.close(fd)
    assert [f.key for f in found.fields] == ["parameters"]
    assert src._read_total < 4096  # a few chunk headers and the text chunk, no pixel data


def test_png_ztxt_and_compressed_itxt_are_inflated(tmp_path: Path) -> None:
    ztxt = png_chunk(b"zTXt", b"Software\x00\x00" + zlib.compress(b"Midjourney"))
    itxt = png_chunk(
        b"iTXt", b"Comment\x00\x01\x00en\x00\x00" + zlib.compress("ai generated ✓".encode())
    )
    found = walk_file(write(tmp_path, "z.png", insert_before_iend(png_bytes(), ztxt, itxt)))
    assert {(f.where, f.key, f.value) for f in found.fields} == {
        ("PNG zTXt", "Software", "Midjourney"),
        ("PNG iTXt", "Comment", "ai generated ✓"),
    }


def test_png_decompression_bomb_is_capped(tmp_path: Path) -> None:
    bomb = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"\x00" * (48 * 1024 * 1024), 9))
    path = write(tmp_path, "bomb.png", insert_before_iend(png_bytes(), bomb))
    tracemalloc.start()
    try:
        found = walk_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found.fields == []  # all NULs: nothing of value, and no 48 MB allocation
    assert peak < 3 * MAX_ITEM_BYTES


def test_png_corrupt_ztxt_is_skipped_not_raised(tmp_path: Path) -> None:
    bad = png_chunk(b"zTXt", b"parameters\x00\x00not zlib at all")
    good = png_chunk(b"tEXt", b"Software\x00NovelAI")
    scan = scan_metadata(write(tmp_path, "c.png", insert_before_iend(png_bytes(), bad, good)))
    assert [e.marker for e in scan.evidence] == ["generator:novelai"]


def test_png_c2pa_chunk(tmp_path: Path) -> None:
    cabx = png_chunk(b"caBX", b"\x00\x00\x00\x10jumb" + b"\x00" * 8)
    assert scan_metadata(write(tmp_path, "s.png", insert_before_iend(png_bytes(), cabx))).has_c2pa


def test_png_truncated_before_metadata_is_malformed(tmp_path: Path) -> None:
    path = write(tmp_path, "cut.png", png_bytes()[:20])
    with pytest.raises(MalformedAsset) as caught:
        scan_metadata(path)
    assert caught.value.path == str(path)
    assert "truncated PNG" in caught.value.reason
    assert "runs past end of file" in caught.value.reason


def test_png_truncated_after_its_metadata_keeps_the_evidence(tmp_path: Path) -> None:
    data = png_bytes(parameters="cat\nSteps: 20, Sampler: Euler")
    path = write(tmp_path, "cut.png", data[: data.index(b"IDAT") + 2])
    assert markers(path) == {"generator:automatic1111"}


def test_png_without_iend_is_malformed(tmp_path: Path) -> None:
    data = png_bytes()
    with pytest.raises(MalformedAsset, match="without IEND"):
        scan_metadata(write(tmp_path, "noend.png", data[: data.index(b"IEND") - 4]))


def test_png_length_field_claiming_4gb_is_refused_without_allocating(tmp_path: Path) -> None:
    data = png_bytes()[:33] + struct.pack(">I4s", 0xFFFFFFF0, b"tEXt") + b"key\x00value"
    with pytest.raises(MalformedAsset, match="corrupt PNG"):
        scan_metadata(write(tmp_path, "huge.png", data))
    data = png_bytes()[:33] + struct.pack(">I4s", 0x7FFFFFF0, b"tEXt") + b"key\x00value"
    with pytest.raises(MalformedAsset, match="runs past end of file"):
        scan_metadata(write(tmp_path, "huge2.png", data))


def _stealth_png(magic: bytes, size: tuple[int, int] = (3, 128), mode: str = "RGBA") -> bytes:
    """A PNG whose alpha low bits carry `magic` + a 32-bit length + a payload, column by column
    as the stealth-pnginfo extension writes them, over noisy pixels (so the encoder picks every
    scanline filter, not only None)."""
    width, height = size
    rng = random.Random(width * 7919 + height)
    bits = "".join(f"{byte:08b}" for byte in magic)
    payload = b"Steps: 20, Sampler: Euler a"
    bits += f"{len(payload) * 8:032b}" + "".join(f"{byte:08b}" for byte in payload)
    image = Image.new(mode, size)
    channels = len(mode)
    for x in range(width):
        for y in range(height):
            at = x * height + y
            alpha = rng.randrange(0, 256) & 0xFE | (int(bits[at]) if at < len(bits) else 1)
            colour = tuple(rng.randrange(0, 256) for _ in range(channels - 1))
            image.putpixel((x, y), (*colour, alpha))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    "size", [(3, 128), (64, 64), (40, 3), (2000, 1), (1, 120), (11, 11)], ids=str
)
@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_png_stealth_pnginfo_magic_in_alpha_channel(tmp_path: Path, size, mode) -> None:
    """Short images carry the magic over several columns; small ones are no exception."""
    for magic in (b"stealth_pnginfo", b"stealth_pngcomp"):
        png = write(tmp_path, "s.png", _stealth_png(magic, size, mode))
        assert markers(png) == {"generator:stealth-pnginfo"}
    assert markers(write(tmp_path, "n.png", _stealth_png(b"not_stealthinfo", size, mode))) == set()


def test_png_too_small_to_hold_the_stealth_magic_reads_nothing(tmp_path: Path) -> None:
    image = Image.new("RGBA", (10, 11), (0, 0, 0, 255))  # 110 pixels < 120 bits
    out = io.BytesIO()
    image.save(out, "PNG")
    assert markers(write(tmp_path, "tiny.png", out.getvalue())) == set()


# ---------------------------------------------------------------- JPEG


def jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def test_jpeg_app11_jumbf_c2pa_and_comment(tmp_path: Path) -> None:
    jumbf = b"JP\x00\x11\x00\x00\x00\x01" + b"\x00\x00\x00\x30jumb\x00\x00\x00\x28jumd"
    jumbf += bytes.fromhex("6332706100110010800000aa00389b71") + b"\x03c2pa\x00"
    data = b"\xff\xd8" + jpeg_segment(0xEB, jumbf) + jpeg_segment(0xFE, b"made with ComfyUI")
    data += b"\xff\xda\x00\x02" + b"\x00" * 16 + b"\xff\xd9"
    scan = scan_metadata(write(tmp_path, "j.jpg", data))
    assert scan.has_c2pa
    assert [e.marker for e in scan.evidence] == ["keyword:comfyui"]


def test_jpeg_truncated_segment_is_malformed(tmp_path: Path) -> None:
    data = b"\xff\xd8\xff\xe1\x10\x00Exif\x00\x00MM"
    with pytest.raises(MalformedAsset, match=r"truncated JPEG: segment 0xE1 .* past end of file"):
        scan_metadata(write(tmp_path, "cut.jpg", data))


def test_jpeg_ending_before_image_data_is_malformed(tmp_path: Path) -> None:
    with pytest.raises(MalformedAsset, match="before image data"):
        scan_metadata(write(tmp_path, "soi.jpg", b"\xff\xd8\xff\xe0\x00\x04ab"))


def test_jpeg_with_corrupt_exif_is_read_without_error(tmp_path: Path) -> None:
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + bytes(range(64))
    out = io.BytesIO()
    Image.new("RGB", (2, 2)).save(out, "JPEG", exif=exif)
    scan = scan_metadata(write(tmp_path, "e.jpg", out.getvalue()))
    assert scan.media_type == "image/jpeg"
    assert scan.evidence == ()


# ---------------------------------------------------------------- RIFF, TIFF, PSD


def test_wav_info_xmp_and_c2pa_chunks(tmp_path: Path) -> None:
    info = b"INFO" + b"ISFT" + struct.pack("<I", 11) + b"ElevenLabs\x00" + b"\x00"
    data = riff(
        b"WAVE",
        (b"fmt ", struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)),
        (b"data", b"\x00" * 16),
        (b"LIST", info),
        (b"_PMX", xmp(DST + "trainedAlgorithmicMedia")),
        (b"C2PA", b"\x00" * 8),
    )
    scan = scan_metadata(write(tmp_path, "v.wav", data))
    assert scan.media_type == "audio/wav"
    assert scan.has_c2pa
    assert {e.marker for e in scan.evidence} == {
        "dst:trainedAlgorithmicMedia",
        "keyword:elevenlabs",
    }


def test_wav_with_streaming_data_size_is_not_an_error(tmp_path: Path) -> None:
    data = riff(b"WAVE", (b"fmt ", b"\x00" * 16))
    data += b"data" + struct.pack("<I", 0xFFFFFFFF) + b"\x00" * 64
    assert scan_metadata(write(tmp_path, "s.wav", data)).evidence == ()


def test_bytes_after_the_riff_chunk_are_ignored(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("RGB", (2, 2)).save(out, "WEBP", xmp=xmp(DST + "trainedAlgorithmicMedia"))
    path = write(tmp_path, "tail.webp", out.getvalue() + b"\x00\xffjunk appended by a tool")
    assert markers(path) == {"dst:trainedAlgorithmicMedia"}
    plain = io.BytesIO()
    Image.new("RGB", (2, 2)).save(plain, "WEBP")
    assert scan_metadata(write(tmp_path, "p.webp", plain.getvalue() + b"\x01junk")).evidence == ()


def test_webp_chunk_claiming_4gb_is_malformed(tmp_path: Path) -> None:
    data = b"RIFF\x20\x00\x00\x00WEBP" + b"VP8X" + struct.pack("<I", 0xFFFFFFFF) + b"\x00" * 10
    with pytest.raises(MalformedAsset, match="truncated WebP"):
        scan_metadata(write(tmp_path, "h.webp", data))


def test_tiff_c2pa_tag_and_software(tmp_path: Path) -> None:
    from PIL import TiffImagePlugin

    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    ifd[0xCD41] = b"\x00\x00\x00\x10jumb" + b"\x00" * 8
    ifd.tagtype[0xCD41] = 7
    ifd[0x0131] = "Adobe Firefly"
    out = io.BytesIO()
    Image.new("RGB", (2, 2)).save(out, "TIFF", tiffinfo=ifd)
    scan = scan_metadata(write(tmp_path, "t.tif", out.getvalue()))
    assert scan.has_c2pa
    assert [e.marker for e in scan.evidence] == ["keyword:firefly"]


def test_tiff_ifd_loop_terminates(tmp_path: Path) -> None:
    # One IFD whose next-IFD pointer points back at itself.
    data = b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 1)
    data += struct.pack("<HHI4s", 0x0131, 2, 4, b"Sora") + struct.pack("<I", 8)
    found = walk_file(write(tmp_path, "loop.tif", data))
    assert [(f.key, f.value) for f in found.fields] == [("Software", "Sora")]


def test_tiff_entry_count_beyond_the_file_is_cut_short(tmp_path: Path) -> None:
    data = b"MM\x00*\x00\x00\x00\x08" + struct.pack(">H", 0xFFFF)
    data += struct.pack(">HHI4s", 0x0131, 2, 4, b"Sora")
    found = walk_file(write(tmp_path, "count.tif", data))
    assert [f.value for f in found.fields] == ["Sora"]
    assert found.incomplete is not None and "truncated TIFF" in found.incomplete


def test_psd_xmp_resource(tmp_path: Path) -> None:
    packet = xmp(DST + "compositeWithTrainedAlgorithmicMedia")
    resource = b"8BIM" + struct.pack(">H", 0x0424) + b"\x00\x00" + struct.pack(">I", len(packet))
    resource += packet + b"\x00" * (len(packet) & 1)
    data = b"8BPS\x00\x01" + b"\x00" * 20 + struct.pack(">I", 0)
    data += struct.pack(">I", len(resource)) + resource + b"\x00" * 32
    assert markers(write(tmp_path, "c.psd", data)) == {"dst:compositeWithTrainedAlgorithmicMedia"}


# ---------------------------------------------------------------- BMFF


def mp4(*top: bytes) -> bytes:
    return box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + b"".join(top)


def test_mp4_comfyui_keys_encoder_xmp_and_c2pa(tmp_path: Path) -> None:
    prompt = '{"3": {"class_type": "KSampler", "inputs": {"ckpt_name": "sdxl.safetensors"}}}'
    keys = full_box(
        b"keys",
        struct.pack(">I", 2)
        + struct.pack(">I4s", 14, b"mdta") + b"prompt"
        + struct.pack(">I4s", 16, b"mdta") + b"workflow",
    )  # fmt: skip
    ilst = box(
        b"ilst",
        ilst_item(struct.pack(">I", 1), prompt) + ilst_item(struct.pack(">I", 2), '{"nodes": []}'),
    )
    meta = full_box(b"meta", full_box(b"hdlr", b"\x00" * 4 + b"mdta" + b"\x00" * 13) + keys + ilst)
    udta = box(b"udta", box(b"\xa9too", struct.pack(">HH", 9, 0) + b"Lavf60.16"))
    data = mp4(
        box(b"uuid", C2PA_UUID + b"\x00" * 32),
        box(b"moov", box(b"mvhd", b"\x00" * 100) + meta + udta),
        box(b"uuid", XMP_UUID + xmp(DST + "trainedAlgorithmicMedia")),
        box(b"mdat", b"\x00" * 64),
    )
    scan = scan_metadata(write(tmp_path, "v.mp4", data))
    assert scan.media_type == "video/mp4"
    assert scan.has_c2pa
    by_marker = {e.marker: e for e in scan.evidence}
    assert set(by_marker) == {"generator:comfyui", "dst:trainedAlgorithmicMedia"}
    comfy = by_marker["generator:comfyui"]
    assert comfy.source == "container-tag"
    assert "sdxl.safetensors" in comfy.detail


def test_quicktime_udta_meta_without_version_field(tmp_path: Path) -> None:
    meta = box(
        b"meta", box(b"hdlr", b"\x00" * 24) + box(b"ilst", ilst_item(b"\xa9too", "Runway Gen-3"))
    )
    data = box(b"ftyp", b"qt  \x00\x00\x02\x00qt  ") + box(b"moov", box(b"udta", meta))
    scan = scan_metadata(write(tmp_path, "m.mov", data))
    assert scan.media_type == "video/quicktime"
    assert [e.marker for e in scan.evidence] == ["keyword:runway"]


def test_mp4_deep_nesting_is_cut_off_quickly(tmp_path: Path) -> None:
    depth = 200_000
    nested = b"".join(struct.pack(">I4s", 8 * (depth - i), b"udta") for i in range(depth))
    path = write(tmp_path, "deep.mp4", mp4(box(b"moov", nested)))
    started = time.perf_counter()
    found = walk_file(path)
    assert time.perf_counter() - started < 1.0
    assert found.incomplete and "nested" in found.incomplete


def test_mp4_box_with_64bit_size_past_end_is_malformed(tmp_path: Path) -> None:
    data = mp4(struct.pack(">I4sQ", 1, b"free", 1 << 62))
    with pytest.raises(MalformedAsset, match="runs past end of file"):
        scan_metadata(write(tmp_path, "h.mp4", data))


def test_mp4_with_cut_off_media_data_is_not_an_error(tmp_path: Path) -> None:
    data = mp4(box(b"moov", box(b"mvhd", b"\x00" * 100)), struct.pack(">I4s", 1 << 30, b"mdat"))
    assert scan_metadata(write(tmp_path, "cut.mp4", data)).evidence == ()


# ---------------------------------------------------------------- audio


def test_ogg_opus_comments(tmp_path: Path) -> None:
    def page(packet: bytes, sequence: int) -> bytes:
        lacing = bytes([255] * (len(packet) // 255) + [len(packet) % 255])
        header = b"OggS\x00\x00" + b"\x00" * 8 + b"\x01\x00\x00\x00"
        return (
            header
            + struct.pack("<I", sequence)
            + b"\x00" * 4
            + bytes([len(lacing)])
            + lacing
            + packet
        )

    head = b"OpusHead\x01\x02" + b"\x00" * 9
    entries = [b"encoder=Lavf", b'prompt={"3": {"class_type": "SaveAudio", "inputs": {}}}']
    tags = b"OpusTags" + struct.pack("<I", 6) + b"vendor" + struct.pack("<I", len(entries))
    tags += b"".join(struct.pack("<I", len(e)) + e for e in entries)
    scan = scan_metadata(write(tmp_path, "a.opus", page(head, 0) + page(tags, 1)))
    assert scan.media_type == "audio/ogg"
    assert [e.marker for e in scan.evidence] == ["generator:comfyui"]


def test_id3_tag_size_past_end_is_malformed(tmp_path: Path) -> None:
    with pytest.raises(MalformedAsset, match="truncated ID3"):
        scan_metadata(write(tmp_path, "h.mp3", b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + b"\x00" * 20))


# ---------------------------------------------------------------- misc formats


def test_pdf_xmp_info_and_c2pa_attachment(tmp_path: Path) -> None:
    data = b"%PDF-1.7\n1 0 obj << /Producer (Stable Diffusion export) >> endobj\n"
    data += b"2 0 obj << /Type /Metadata /Subtype /XML >> stream\n" + xmp(
        DST + "trainedAlgorithmicMedia"
    )
    data += b"\nendstream endobj\n3 0 obj << /AFRelationship /C2PA_Manifest >> endobj\n%%EOF\n"
    scan = scan_metadata(write(tmp_path, "d.pdf", data))
    assert scan.has_c2pa
    assert {e.marker for e in scan.evidence} == {
        "dst:trainedAlgorithmicMedia",
        "keyword:stable-diffusion",
    }


def test_exr_and_dpx_header_strings(tmp_path: Path) -> None:
    attribute = b"comments\x00string\x00" + struct.pack("<i", 20) + b"rendered with FLUX.1"
    exr = b"v/1\x01\x02\x00\x00\x00" + attribute + b"\x00" + b"\x00" * 16
    assert markers(write(tmp_path, "a.exr", exr)) == {"keyword:flux"}
    dpx = bytearray(2048)
    dpx[0:4] = b"SDPX"
    dpx[160:176] = b"ComfyUI v0.3.40\x00"
    assert markers(write(tmp_path, "a.dpx", bytes(dpx))) == {"keyword:comfyui"}


# ---------------------------------------------------------------- hostile files


def _synchsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def _many_id3_frames() -> bytes:
    frames = (b"TXXX" + struct.pack(">IH", 0, 0)) * 800_000
    return b"ID3\x03\x00\x00" + _synchsafe(len(frames)) + frames


_GIF_IMAGE = b"GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02"

HOSTILE = {
    "million_text_chunks.png": lambda: png_bytes()[:33] + png_chunk(b"tEXq", b"") * 1_000_000,
    "million_idat_chunks.png": lambda: png_bytes()[:33] + png_chunk(b"IDAT", b"") * 1_000_000,
    "fill_bytes.jpg": lambda: b"\xff\xd8" + b"\xff" * 2_000_000,
    "million_sub_blocks.gif": lambda: _GIF_IMAGE + b"\x01\x00" * 1_000_000,
    "riff_chunks.wav": lambda: riff(b"WAVE", *[(b"junk", b"")] * 500_000),
    "flat_boxes.mp4": lambda: mp4(box(b"moov", box(b"free", b"") * 500_000)),
    "id3_frames.mp3": _many_id3_frames,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_structure_counts_finish_quickly(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, HOSTILE[name]())
    started = time.perf_counter()
    with contextlib.suppress(MalformedAsset):  # judged broken or cut short: either way, fast
        scan_metadata(path)
    assert time.perf_counter() - started < 1.0


def test_hostile_walk_reports_it_stopped_early(tmp_path: Path) -> None:
    found = walk_file(write(tmp_path, "m.png", HOSTILE["million_text_chunks.png"]()))
    assert found.incomplete == f"stopped after {MAX_ITEMS} structures"


# ---------------------------------------------------------------- errors


def test_unknown_binary_is_not_an_error(tmp_path: Path) -> None:
    scan = scan_metadata(write(tmp_path, "blob.bin", bytes(range(256)) * 4))
    assert scan.media_type == "application/octet-stream"
    assert scan.evidence == ()
    assert not scan.has_c2pa


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableAsset, match="cannot open") as caught:
        scan_metadata(tmp_path / "gone.png")
    assert caught.value.path == str(tmp_path / "gone.png")


def test_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableAsset):
        scan_metadata(tmp_path)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX non-root")
def test_permission_denied_is_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path, "locked.png", png_bytes())
    path.chmod(0)
    try:
        with pytest.raises(UnreadableAsset, match="permission denied"):
            scan_metadata(path)
    finally:
        path.chmod(0o600)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableAsset, match="not a regular file"):
        scan_metadata(fifo)


def test_head_given_by_the_caller_is_used(tmp_path: Path) -> None:
    data = png_bytes(Software="NovelAI")
    path = write(tmp_path, "h.png", data)
    assert markers(path) == {"generator:novelai"}
    scan = scan_metadata(path, head=data[:40])  # the rest is read from the file
    assert [e.marker for e in scan.evidence] == ["generator:novelai"]


def _ebml(ident: int, body: bytes, unknown: bool = False) -> bytes:
    id_bytes = ident.to_bytes((ident.bit_length() + 7) // 8, "big")
    size = (
        b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown else b"\x01" + len(body).to_bytes(7, "big")
    )
    return id_bytes + size + body


def _mkv(*segment: bytes, unknown: bool = False) -> bytes:
    header = _ebml(0x1A45DFA3, _ebml(0x4282, b"matroska"))
    return header + _ebml(0x18538067, b"".join(segment), unknown=unknown)


def _simple_tag(name: str, value: str) -> bytes:
    return _ebml(0x67C8, _ebml(0x45A3, name.encode()) + _ebml(0x4487, value.encode()))


def test_matroska_tags_after_an_unsized_cluster_are_read(tmp_path: Path) -> None:
    block = _ebml(0xA3, b"\x81\x00\x00\x80" + b"\x00" * 100)
    cluster = _ebml(0x1F43B675, _ebml(0xE7, b"\x00") + block * 50, unknown=True)
    tags = _ebml(0x1254C367, _ebml(0x7373, _simple_tag("WORKFLOW", '{"nodes": []}')))
    info = _ebml(0x1549A966, _ebml(0x5741, b"Lavf60"))
    path = write(tmp_path, "live.mkv", _mkv(info, cluster, tags, unknown=True))
    found = walk_file(path)
    assert found.incomplete is None
    assert ("writingapp", "Lavf60") in {(f.key, f.value) for f in found.fields}
    assert ("workflow", '{"nodes": []}') in {(f.key, f.value) for f in found.fields}


def test_a_broken_matroska_header_is_a_structure_error(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.mkv", b"\x1aE\xdf\xa3" + b"\x00" * 16)
    with pytest.raises(MalformedAsset):
        scan_metadata(path)
