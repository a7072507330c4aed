"""`<file>.xmp` beside `<file>.c2pa` for formats that cannot embed: written by the tag, read as
evidence about its neighbour, never recorded as an asset by scan or watch, judged as a file of
its own by the gate (a readable one passes, even under --strict; an unreadable one blocks)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from cli.main import cli
from provenance.markers.xmp import parse_xmp
from provenance.model import is_sidecar_name, sidecar_owner
from provenance.pipeline.walk import walk_files
from provenance.stores import Store
from tests.watchers.test_service import events, running, wait_for
from watchers.service import WatchOptions

EXR_MAGIC = bytes.fromhex("762f3101")
AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
THEIRS_AI = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    '22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/'
    f'Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="{AI}"/></rdf:RDF></x:xmpmeta>'
).encode()


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


def _exr(path: Path, seed: int = 3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # magic, version 2, an empty header, then what stands for the pixel data
    path.write_bytes(EXR_MAGIC + b"\x02\x00\x00\x00\x00" + random.Random(seed).randbytes(20_000))
    return path


def _inspect(runner, ws, path: Path) -> dict:
    result = runner.invoke(cli, [*ws, "inspect", "--json", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _check(runner, ws, *args: str) -> tuple[int, dict]:
    result = runner.invoke(cli, [*ws, "--json", "check", *args])
    return result.exit_code, json.loads(result.stdout)


def _verdicts(report: dict) -> dict[str, str]:
    return {Path(a["path"]).name: a["decision"] for a in report["assets"]}


def test_a_sidecar_tag_writes_an_xmp_sidecar_beside_the_c2pa_one(runner, ws, tmp_path):
    plate = _exr(tmp_path / "sh010" / "comp.1001.exr")
    original = plate.read_bytes()
    result = runner.invoke(
        cli, [*ws, "tag", str(plate), "--origin", "ai-generated", "--tool", "Flux"]
    )
    assert result.exit_code == 0, result.output
    assert plate.read_bytes() == original
    side = plate.with_name(plate.name + ".xmp")
    assert plate.with_name(plate.name + ".c2pa").is_file() and side.is_file()
    props = parse_xmp(side.read_bytes())
    assert props["DigitalSourceType"] == [AI]
    assert b'provgate:Status="temporary"' in side.read_bytes()
    assert b"DMI-PROHIBITED" in side.read_bytes()
    # Read back as evidence about its neighbour, beside the signed sidecar manifest.
    info = _inspect(runner, ws, plate)
    sources = {(e["source"], e["marker"]) for e in info["evidence"]}
    assert ("xmp-sidecar", "dst:trainedAlgorithmicMedia") in sources
    assert ("c2pa-sidecar", "dst:trainedAlgorithmicMedia") in sources
    # Tagged again (another use): the sidecar is kept in step, our old values replaced.
    result = runner.invoke(
        cli, [*ws, "tag", str(plate), "--origin", "ai-generated", "--use", "vfx-final"]
    )
    assert result.exit_code == 0, result.output
    assert side.read_bytes().count(b"provgate:UseCategory") == 1
    assert b'provgate:UseCategory="vfx-final"' in side.read_bytes()


def test_someone_elses_xmp_sidecar_is_evidence_about_its_neighbour(runner, ws, tmp_path):
    plate = _exr(tmp_path / "pkg" / "bg.exr")
    (tmp_path / "pkg" / "bg.exr.xmp").write_bytes(THEIRS_AI)
    assert _inspect(runner, ws, plate)["origin"] == "ai-generated"
    code, report = _check(runner, ws, str(tmp_path / "pkg"))
    assert code == 1
    assert _verdicts(report) == {"bg.exr": "block", "bg.exr.xmp": "pass"}
    # The same inside a zip: the sidecar is placed beside its member.
    archive = tmp_path / "delivery.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(plate, "r1/bg.exr")
        z.writestr("r1/bg.exr.xmp", THEIRS_AI)
    code, report = _check(runner, ws, str(archive))
    assert code == 1
    assert _verdicts(report) == {"bg.exr": "block", "bg.exr.xmp": "pass"}


def test_our_own_sidecars_do_not_block_under_strict(runner, ws, tmp_path):
    plate = _exr(tmp_path / "pkg" / "plate.exr")
    result = runner.invoke(cli, [*ws, "tag", str(plate), "--origin", "non-ai"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "pkg").iterdir())
    assert names == ["plate.exr", "plate.exr.c2pa", "plate.exr.xmp"]
    code, report = _check(runner, ws, "--strict", str(tmp_path / "pkg"))
    assert code == 0, report
    assert set(_verdicts(report).values()) == {"pass"}


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,  # an image hiding under a sidecar's name
        b"just some text",
        b'<!DOCTYPE x [<!ENTITY e "boom">]>' + THEIRS_AI,
        THEIRS_AI.replace(b"</rdf:RDF>", b""),
        b"",
    ],
    ids=["image", "text", "doctype", "malformed", "empty"],
)
def test_an_unreadable_xmp_sidecar_blocks(runner, ws, tmp_path, content):
    _exr(tmp_path / "pkg" / "plate.exr")
    (tmp_path / "pkg" / "plate.exr.xmp").write_bytes(content)
    code, report = _check(runner, ws, str(tmp_path / "pkg"))
    assert code == 1
    verdict = {Path(a["path"]).name: a for a in report["assets"]}["plate.exr.xmp"]
    assert verdict["decision"] == "block"
    assert verdict["reasons"][0].startswith("cannot be checked")


def test_scan_never_records_sidecars_and_the_evidence_follows_a_move(runner, ws, tmp_path):
    show = tmp_path / "show"
    plate = _exr(show / "a" / "bg.exr")
    (show / "a" / "bg.exr.xmp").write_bytes(THEIRS_AI)
    assert [Path(f.path).name for f in walk_files(show)] == ["bg.exr"]
    assert runner.invoke(cli, [*ws, "scan", "--no-tag", str(show)]).exit_code == 0
    assert [r["origin"] for r in _ls(runner, ws)] == ["ai-generated"]
    # Renamed without its sidecar: the store remembers what the sidecar said of this content.
    moved = show / "b" / "bg_v2.exr"
    moved.parent.mkdir()
    plate.rename(moved)
    result = runner.invoke(cli, [*ws, "scan", "--no-tag", str(show)])
    assert result.exit_code == 0 and " 1 moved" in result.output, result.output
    assert _inspect(runner, ws, moved)["origin"] == "ai-generated"
    moved.touch()  # read and judged again: the memory outlives every judgement, not just one
    assert runner.invoke(cli, [*ws, "scan", "--no-tag", str(show)]).exit_code == 0
    assert _inspect(runner, ws, moved)["origin"] == "ai-generated"
    assert [r["origin"] for r in _ls(runner, ws)] == ["ai-generated"]


def _ls(runner, ws) -> list[dict]:
    result = runner.invoke(cli, [*ws, "--json", "ls"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_sidecar_names():
    assert is_sidecar_name("a.exr.xmp") and is_sidecar_name("a.exr.c2pa")
    assert not is_sidecar_name("a.exr") and not is_sidecar_name("xmp")
    assert sidecar_owner("a.exr.xmp") == "a.exr" and sidecar_owner(".xmp") is None


def test_the_watcher_records_the_asset_not_its_sidecars_nor_our_writes(tmp_path, workspace):
    show = tmp_path / "show"
    show.mkdir()
    with running(show, workspace, WatchOptions(settle=0.4)) as (root, db, _):
        plate = _exr(root / "bg.exr")
        (root / "bg.exr.xmp").write_bytes(THEIRS_AI)  # before it settles: read with it
        wait_for(lambda: events(db, "tagged"), message="the tag")
        time.sleep(1.5)  # our own .c2pa and .xmp writes land as events too
        assert {p.name for p in root.iterdir()} == {"bg.exr", "bg.exr.c2pa", "bg.exr.xmp"}
        with Store(db) as store:
            paths = {r[0] for r in store.conn.execute("SELECT path FROM files")}
        assert paths == {str(plate)}
        assert len(events(db, "tagged")) == 1
        # Theirs got our facts merged in; theirs stays what it said.
        side = (root / "bg.exr.xmp").read_bytes()
        assert b"provgate:Status" in side and parse_xmp(side)["DigitalSourceType"] == [AI]


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_exiftool_reads_the_xmp_sidecar(runner, ws, tmp_path):
    plate = _exr(tmp_path / "comp.exr")
    result = runner.invoke(
        cli, [*ws, "tag", str(plate), "--origin", "ai-generated", "--tool", "Flux"]
    )
    assert result.exit_code == 0, result.output
    out = subprocess.run(
        ["exiftool", "-j", "-G1", "-XMP:all", str(plate) + ".xmp"],
        capture_output=True,
        check=True,
        text=True,
    )
    shown = json.loads(out.stdout)[0]
    assert shown["XMP-iptcExt:DigitalSourceType"] == AI
    assert shown["XMP-plus:DataMining"] == "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"
    assert shown["XMP-provgate:Status"] == "temporary"
    assert shown["XMP-provgate:Tool"] == "Flux"


def test_an_xmp_sidecar_beside_an_embedded_tag_is_kept_in_step_and_links_are_not_followed(
    runner, ws, tmp_path
):
    from PIL import Image

    still = tmp_path / "gen.png"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(still)
    side = tmp_path / "gen.png.xmp"
    side.write_bytes(
        THEIRS_AI.replace(
            b"/>", b' xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="theirs"/>', 1
        )
    )
    result = runner.invoke(cli, [*ws, "tag", str(still), "--origin", "ai-generated"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "gen.png.c2pa").exists()  # embedded
    assert b"provgate:Status" in still.read_bytes()
    assert b"provgate:Status" in side.read_bytes() and b'dc:format="theirs"' in side.read_bytes()
    # A sidecar name that is a link: never written through.
    other = tmp_path / "elsewhere.xmp"
    other.write_bytes(THEIRS_AI)
    plate = _exr(tmp_path / "plate.exr")
    (tmp_path / "plate.exr.xmp").symlink_to(other)
    result = runner.invoke(cli, [*ws, "tag", str(plate), "--origin", "ai-generated"])
    assert result.exit_code == 0, result.output
    assert other.read_bytes() == THEIRS_AI
    assert (tmp_path / "plate.exr.xmp").is_symlink()
