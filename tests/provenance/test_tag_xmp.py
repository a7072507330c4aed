"""The tag's key facts as XMP inside the signed bytes, for tools that read XMP and not C2PA."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import c2pa
import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from cli.main import cli
from provenance.c2pa import tag_xmp
from provenance.c2pa.context import c2pa_context
from provenance.markers.metadata import scan_metadata
from provenance.markers.xmp import parse_xmp
from provenance.workspace import open_workspace

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed")
THEIRS = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    b'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"'
    b"><dc:creator><rdf:Seq><rdf:li>Their Photographer</rdf:li></rdf:Seq></dc:creator>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)
AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


def _picture(path: Path, xmp: bytes | None = None, **opts) -> Path:
    img = Image.new("RGB", (80, 48), (30, 60, 200))
    for x in range(0, 80, 5):
        img.putpixel((x, x % 48), (255, 255, 0))
    if opts.pop("rgba", False):
        img = img.convert("RGBA")
    if xmp is not None and path.suffix == ".tif":
        opts["tiffinfo"] = {700: xmp}
    elif xmp is not None and path.suffix == ".png":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp.decode(), zip=True)  # compressed, as some write it
        opts["pnginfo"] = info
    elif xmp is not None:
        opts["xmp"] = xmp
    img.save(path, **opts)
    return path


def _sound(path: Path) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes((np.arange(8000) % 200 * 50).astype(np.int16).tobytes())
    return path


def _clip(path: Path) -> Path:
    import av

    with av.open(str(path), "w", format=path.suffix[1:]) as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 20, np.uint8), "rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


# Every format the tag writes XMP into, with what stays bit-identical in it.
MAKERS = {
    "gen.jpg": lambda p: _picture(p, quality=92),
    "gen.png": _picture,
    "lossless.webp": lambda p: _picture(p, lossless=True),
    "lossy.webp": lambda p: _picture(p, quality=80),
    "alpha.webp": lambda p: _picture(p, lossless=True, rgba=True),
    "gen.tif": _picture,
    "lzw.tif": lambda p: _picture(p, compression="tiff_lzw"),
    "voice.wav": _sound,
    "clip.mp4": _clip,
    "clip.mov": _clip,
}


def _content(path: Path) -> bytes:
    """What the tag must leave untouched: pixels, samples or decoded frames."""
    if path.suffix == ".wav":
        with wave.open(str(path)) as sound:
            return sound.readframes(sound.getnframes())
    if path.suffix in (".mp4", ".mov"):
        import av

        with av.open(str(path)) as clip:
            return b"".join(f.to_ndarray().tobytes() for f in clip.decode(video=0))
    with Image.open(path) as img:
        return img.tobytes()


def _packets(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, at = [], 0
    while (start := data.find(b"<x:xmpmeta", at)) >= 0:
        at = data.index(b"</x:xmpmeta>", start) + len(b"</x:xmpmeta>")
        out.append(data[start:at])
    return out


def _state(ws: list[str], path: Path) -> str:
    ctx = c2pa_context(open_workspace(Path(ws[1])).config)
    with c2pa.Reader(str(path), context=ctx) as reader:
        return reader.get_validation_state()


def _tag(runner, ws, path: Path, *more: str) -> None:
    args = [*ws, "tag", str(path), "--origin", "ai-generated", "--tool", "Flux", *more]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", list(MAKERS))
def test_tag_writes_the_key_facts_as_xmp_covered_by_the_signature(runner, ws, tmp_path, name):
    path = MAKERS[name](tmp_path / name)
    before = _content(path)
    _tag(runner, ws, path, "--use", "previs")
    assert _content(path) == before  # metadata only: pixels, samples, frames bit-identical
    [packet] = _packets(path)
    assert b"Iptc4xmpExt:DigitalSourceType" in packet and AI.encode() in packet
    assert b"http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED" in packet
    assert b'provgate:Status="temporary"' in packet
    assert b'provgate:UseCategory="previs"' in packet
    # Read back like any other XMP, by the file's own container walker.
    assert parse_xmp(packet)["DigitalSourceType"] == [AI]
    found = {(e.source, e.marker) for e in scan_metadata(path).evidence}
    assert ("xmp", "dst:trainedAlgorithmicMedia") in found
    # The manifest was signed over the bytes holding the XMP: it still validates...
    assert _state(ws, path) == "Trusted"
    info = json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(path)]).stdout)
    assert info["origin"] == "ai-generated"
    assert "xmp" in {e["source"] for e in info["evidence"]}
    # ...and covers them: the same length, another status, and the signature no longer holds.
    data = path.read_bytes()
    path.write_bytes(data.replace(b'provgate:Status="temporary"', b'provgate:Status="approved!"'))
    assert _state(ws, path) == "Invalid"


@pytest.mark.parametrize("name", ["gen.jpg", "gen.png", "lossless.webp", "gen.tif"])
def test_a_file_with_its_own_xmp_gets_our_facts_merged_into_it(runner, ws, tmp_path, name):
    path = MAKERS[name](tmp_path / name)
    _picture(path, THEIRS, **({"lossless": True} if path.suffix == ".webp" else {}))
    before = _content(path)
    _tag(runner, ws, path)
    assert _content(path) == before
    [packet] = _packets(path)
    read = parse_xmp(packet)
    assert read["DigitalSourceType"] == [AI]  # theirs replaced by ours, not stated twice
    assert b"Their Photographer" in packet and b"dc:creator" in packet  # the rest is kept
    assert packet.count(b"DigitalSourceType") == 1
    assert _state(ws, path) == "Trusted"


def test_mp4_packets_already_there_are_freed_and_ours_appended(runner, ws, tmp_path):
    path = _clip(tmp_path / "clip.mp4")
    uuid = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
    box = struct.pack(">I", 24 + len(THEIRS)) + b"uuid" + uuid + THEIRS
    with path.open("ab") as fh:
        fh.write(box + struct.pack(">I", 8) + b"free")  # theirs, not the last box
    before = _content(path)
    _tag(runner, ws, path)
    assert _content(path) == before
    [packet] = _packets(path)  # theirs is a free box now: one packet, merged
    assert b"Their Photographer" in packet and parse_xmp(packet)["DigitalSourceType"] == [AI]
    assert _state(ws, path) == "Trusted"


def test_tagging_again_replaces_our_old_properties(runner, ws, tmp_path):
    path = _picture(tmp_path / "gen.png", THEIRS)
    _tag(runner, ws, path, "--use", "previs")
    _tag(runner, ws, path, "--use", "vfx-final")
    [packet] = _packets(path)
    assert b"vfx-final" in packet and b"previs" not in packet
    assert packet.count(b"provgate:UseCategory") == 1 and packet.count(b"DataMining") == 1
    assert b"Their Photographer" in packet
    assert _state(ws, path) == "Trusted"


@pytest.mark.parametrize(
    "theirs",
    [
        b'<!DOCTYPE x [<!ENTITY e "boom">]>' + THEIRS.replace(b"Their Photographer", b"&e;"),
        THEIRS.replace(b"</rdf:Description>", b""),  # not well-formed
    ],
    ids=["doctype", "malformed"],
)
def test_a_packet_that_cannot_be_parsed_safely_is_left_exactly_as_it_is(
    runner, ws, tmp_path, theirs
):
    path = _picture(tmp_path / "gen.jpg", theirs)
    _tag(runner, ws, path)
    assert theirs in path.read_bytes() and b"provgate:" not in path.read_bytes()
    assert _state(ws, path) == "Trusted"  # still tagged: the manifest carries the facts


def test_a_jpeg_packet_too_large_to_take_ours_is_left_as_it_is(runner, ws, tmp_path):
    filler = b"<dc:description>" + b"x" * 64_900 + b"</dc:description>"
    theirs = THEIRS.replace(b"</rdf:Description>", filler + b"</rdf:Description>")
    path = _picture(tmp_path / "gen.jpg", theirs)
    _tag(runner, ws, path)
    [packet] = _packets(path)
    assert packet == theirs
    assert _state(ws, path) == "Trusted"


def test_merging_keeps_other_prefixes_and_is_idempotent():
    facts = {"digital_source_type": AI, "origin": "ai-generated", "status": "temporary"}
    # rdf bound as the default namespace, a subject URI, our own namespace under another prefix.
    theirs = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><RDF xmlns="http://www.w3.org/1999/02/22-rdf-'
        b'syntax-ns#"><Description xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        b'rdf:about="uuid:1" xmlns:pg="http://ns.provgate.org/tag/1.0/" pg:Status="revoked" '
        b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Their App"/></RDF></x:xmpmeta>'
    )
    once = tag_xmp.merged_packet(theirs, facts)
    assert once is not None
    assert b"revoked" not in once and b'rdf:about="uuid:1"' in once and b"Their App" in once
    assert parse_xmp(once)["CreatorTool"] == ["Their App"]
    assert parse_xmp(once)["DigitalSourceType"] == [AI]
    assert tag_xmp.merged_packet(once, facts) == once


@needs_exiftool
@pytest.mark.parametrize("name", list(MAKERS))
def test_exiftool_reads_our_xmp(runner, ws, tmp_path, name):
    path = MAKERS[name](tmp_path / name)
    # Another tool's packet first, written by ExifTool itself (it cannot write WAV): ours is
    # merged into it.
    theirs = path.suffix != ".wav"
    if theirs:
        subprocess.run(
            [EXIFTOOL, "-q", "-overwrite_original", "-XMP-dc:Title=theirs", str(path)], check=True
        )
    _tag(runner, ws, path, "--use", "previs")
    assert _state(ws, path) == "Trusted"
    shown = _exiftool_xmp(path)
    assert shown["XMP-iptcExt:DigitalSourceType"] == AI
    assert shown["XMP-plus:DataMining"] == "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"
    assert shown["XMP-provgate:Status"] == "temporary"
    assert shown["XMP-provgate:UseCategory"] == "previs"
    assert shown["XMP-provgate:Tool"] == "Flux"
    assert shown.get("XMP-dc:Title") == ("theirs" if theirs else None)


def _exiftool_xmp(path: Path) -> dict[str, str]:
    out = subprocess.run(
        [EXIFTOOL, "-j", "-G1", "-XMP:all", str(path)], capture_output=True, check=True, text=True
    )
    return json.loads(out.stdout)[0]


_MEDIA = {
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".wav": "audio/wav",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
}


@pytest.mark.parametrize(
    "name", ["gen.jpg", "gen.png", "lossy.webp", "gen.tif", "voice.wav", "clip.mp4"]
)
def test_damaged_structures_are_left_as_they_are_never_a_crash(tmp_path, name):
    import io
    import random

    facts = {"digital_source_type": AI, "origin": "ai-generated", "status": "temporary"}
    good = MAKERS[name](tmp_path / name).read_bytes()
    rng = random.Random(name)
    media = _MEDIA[Path(name).suffix]
    cuts = [good[:n] for n in range(1, 64)]  # truncated in the headers, and anywhere
    cuts += [good[: rng.randrange(1, len(good))] for _ in range(40)]
    flips = []
    for _ in range(160):  # lengths and offsets in the first KB made wrong
        data = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(min(len(data), 1024))] = rng.randrange(256)
        flips.append(bytes(data))
    for data in [*cuts, *flips]:
        out = tag_xmp.with_packet(io.BytesIO(data), media, facts)
        if out is not None:
            with out:
                assert len(out.read()) > len(data) - 70_000  # a copy, never a truncation
