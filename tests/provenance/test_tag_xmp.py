"""The tag's key facts as XMP inside the signed bytes, for tools that read XMP and not C2PA."""

from __future__ import annotations

import json
from pathlib import Path

import c2pa
import pytest
from PIL import Image

from cli.main import cli
from provenance.c2pa.context import c2pa_context
from provenance.markers.metadata import scan_metadata
from provenance.markers.xmp import parse_xmp
from provenance.workspace import open_workspace


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


def _picture(path: Path) -> Path:
    img = Image.new("RGB", (80, 48), (30, 60, 200))
    for x in range(0, 80, 5):
        img.putpixel((x, x % 48), (255, 255, 0))
    img.save(path, **({"quality": 92} if path.suffix == ".jpg" else {}))
    return path


def _xmp_packet(path: Path) -> bytes:
    data = path.read_bytes()
    start = data.index(b"<x:xmpmeta")
    return data[start : data.index(b"</x:xmpmeta>") + len(b"</x:xmpmeta>")]


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_tag_writes_the_key_facts_as_xmp_covered_by_the_signature(runner, ws, tmp_path, suffix):
    path = _picture(tmp_path / f"gen{suffix}")
    pixels = Image.open(path).tobytes()
    result = runner.invoke(
        cli,
        [*ws, "tag", str(path), "--origin", "ai-generated", "--tool", "Flux", "--use", "previs"],
    )
    assert result.exit_code == 0, result.output
    assert Image.open(path).tobytes() == pixels  # metadata only: pixels bit-identical
    packet = _xmp_packet(path)
    assert b"Iptc4xmpExt:DigitalSourceType" in packet
    assert b"trainedAlgorithmicMedia" in packet
    assert b"http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED" in packet
    assert b'provgate:Status="temporary"' in packet
    assert b'provgate:UseCategory="previs"' in packet
    # Read back like any other XMP: an AI digital source type from the file's own XMP.
    assert parse_xmp(packet)["DigitalSourceType"][0].endswith("trainedAlgorithmicMedia")
    found = {(e.source, e.marker) for e in scan_metadata(path).evidence}
    assert ("xmp", "dst:trainedAlgorithmicMedia") in found
    # The manifest was signed over the bytes holding the XMP: it still validates.
    ctx = c2pa_context(open_workspace(Path(ws[1])).config)
    with c2pa.Reader(str(path), context=ctx) as reader:
        assert reader.get_validation_state() == "Trusted"
    info = json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(path)]).stdout)
    assert info["origin"] == "ai-generated"


def test_a_file_with_its_own_xmp_keeps_it(runner, ws, tmp_path):
    path = tmp_path / "mj.jpg"
    theirs = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
        b'dc:title="theirs"/></rdf:RDF></x:xmpmeta>'
    )
    Image.new("RGB", (32, 32), (9, 9, 9)).save(path, xmp=theirs)
    assert runner.invoke(cli, [*ws, "tag", str(path), "--origin", "ai-generated"]).exit_code == 0
    assert _xmp_packet(path) == theirs
