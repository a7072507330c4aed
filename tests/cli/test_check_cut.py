"""`provgate check CUT`: editorial timelines as deliveries, linked to media here."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import opentimelineio as otio
import pytest

from cli.main import cli
from provenance import api
from provenance.workspace import open_workspace
from tests.conftest import FIXTURES, fixture_file

EDITORIAL = FIXTURES / "editorial"
PARAMETERS = (
    b"a cat on a sofa\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Model: flux1-dev"
)


def exr(path: Path, frame: int, ai: bool = False) -> Path:
    """A small OpenEXR header; an AI frame carries AUTOMATIC1111-style parameters."""
    path.parent.mkdir(parents=True, exist_ok=True)
    attrs = [(b"software", b"Foundry Nuke 14")] + ([(b"parameters", PARAMETERS)] if ai else [])
    out = b"v/1\x01" + struct.pack("<I", 2)
    for name, value in attrs:
        out += name + b"\0string\0" + struct.pack("<i", len(value)) + value
    out += b"\0" + struct.pack("<Q", 0) + frame.to_bytes(4, "little") * 8
    path.write_bytes(out)
    return path


def sequence(folder: Path, prefix: str, frames: range, ai: set[int] = frozenset()) -> None:
    for f in frames:
        exr(folder / f"{prefix}{f:04d}.exr", f, ai=f in ai)


def edl(path: Path, events: list[tuple[str, int, int, str]], rate: int = 24) -> Path:
    """A CMX 3600 EDL: (clip name, source in frame, duration, FROM CLIP path) per event."""
    lines = ["TITLE: LH_R3", "FCM: NON-DROP FRAME", ""]
    rec = 86400
    for n, (name, src, dur, from_clip) in enumerate(events, 1):
        tc = [_tc(src, rate), _tc(src + dur, rate), _tc(rec, rate), _tc(rec + dur, rate)]
        lines.append(f"{n:03d}  AX       V     C        {' '.join(tc)}")
        lines.append(f"* FROM CLIP NAME:  {name}")
        if from_clip:
            lines.append(f"* FROM CLIP: {from_clip}")
        rec += dur
    path.write_text("\n".join(lines) + "\n")
    return path


def _tc(frames: int, rate: int) -> str:
    s, f = divmod(frames, rate)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{f:02d}"


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


def check(runner, ws, *args: str):
    return runner.invoke(cli, [*ws, "check", *args])


def report(runner, ws, *args: str) -> dict:
    result = check(runner, ws, "--json", *args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


# -- the fixtures' conclusions -------------------------------------------------------------

FIXTURE_FILES = sorted(
    p.relative_to(EDITORIAL).as_posix()
    for p in (EDITORIAL.glob("*/*") if EDITORIAL.is_dir() else [])
    if p.name != "sample_just_track.xml"
)


@pytest.mark.parametrize("rel", FIXTURE_FILES or ["edl/avid_example.edl"])
def test_every_editorial_fixture_is_read_as_a_timeline_and_blocks_as_media_offline_unlinked(
    runner, ws, rel
):
    path = fixture_file(f"editorial/{rel}")
    result = check(runner, ws, str(path))
    assert result.exit_code == 1, result.output
    assert "media offline" in result.stdout
    assert f"timeline {path}" in result.stdout
    data = report(runner, ws, str(path))
    assert data["timelines"] and data["timelines"][0]["clips"]
    assert all(c["decision"] == "block" for c in data["timelines"][0]["clips"])


def test_a_timeline_without_clips_is_an_empty_delivery(runner, ws):
    result = check(runner, ws, str(fixture_file("editorial/fcp7xml/sample_just_track.xml")))
    assert result.exit_code == 1 and "nothing to deliver" in result.stdout


def test_avid_edl_links_through_a_path_map_and_checks_the_named_sequences(runner, ws, tmp_path):
    path = fixture_file("editorial/edl/avid_example.edl")
    root = tmp_path / "vfx"
    sequence(root, "ZZ100_501.take_1.", range(1, 41))
    sequence(root, "ZZ100_502A.take_2.", range(101, 160), ai={150})
    out = check(runner, ws, str(path), "--media-root", str(root), "--map", f"S:\\path\\to={root}")
    assert out.exit_code == 1, out.output
    assert "mapped path (S:/path/to" in out.stdout
    data = report(runner, ws, "--map", f"S:\\path\\to={root}", str(path))
    clips = data["timelines"][0]["clips"]
    assert [c["decision"] for c in clips] == ["pass", "block"]
    assert clips[1]["record_in"] == "00:59:54:18" and clips[1]["source_in"] == "01:00:06:13"
    assert "ai-generated" in " ".join(clips[1]["reasons"])


def test_premiere_and_screening_edls_link_by_file_name_under_the_media_root(runner, ws, tmp_path):
    root = tmp_path / "media"
    sequence(root / "a", "ZZ100_501.take_1.", range(1, 5))
    sequence(root / "b", "ZZ100_502A.take_2.", range(101, 105), ai={102})
    data = report(runner, ws, str(fixture_file("editorial/edl/premiere_example.edl")),
                  "--media-root", str(root))  # fmt: skip
    clips = data["timelines"][0]["clips"]
    assert [c["link"] for c in clips] == ["linked", "linked"]
    assert "file name" in clips[0]["references"][0]["how"]
    assert [c["decision"] for c in clips] == ["pass", "block"]

    for name in ("ZZ100_501.LAY3.01", "ZZ100_502A.LAY3.02", "ZZ100_503A.LAY1.01"):
        shutil.copy(fixture_file("c2pa/no_manifest.jpg"), root / f"{name}.jpg")
    data = report(runner, ws, str(fixture_file("editorial/edl/screening_example.edl")),
                  "--media-root", str(root))  # fmt: skip
    links = [c["link"] for c in data["timelines"][0]["clips"]]
    assert links[:3] == ["linked"] * 3 and set(links[3:]) == {"offline"}


def test_aaf_media_links_by_the_locator_file_name(runner, ws, tmp_path):
    root = tmp_path / "avid"
    root.mkdir()
    shutil.copy(fixture_file("c2pa/sample1.wav"), root / "ppjoshm_1.A01.D8C35C9E69C8A.wav")
    shutil.copy(fixture_file("c2pa/video1.mp4"), root / "ppjoshm_1.V01.D8C35C9E69C8V.mxf")
    data = report(runner, ws, str(fixture_file("editorial/aaf/one_clip.aaf")),
                  "--media-root", str(root))  # fmt: skip
    assert data["verdict"] == "pass", data
    assert [c["link"] for c in data["timelines"][0]["clips"]] == ["linked", "linked"]


def test_fcp7_xml_from_premiere_links_a_drive_letter_url_through_the_map(runner, ws, tmp_path):
    root = tmp_path / "D"
    root.mkdir()
    xml = fixture_file("editorial/fcp7xml/premiere_example.xml")
    for el in ET.parse(xml).iter("pathurl"):
        name = el.text.rsplit("/", 1)[-1].replace("%20", " ")
        shutil.copy(fixture_file("c2pa/video1.mp4"), root / name)
    (root / "sc01_sh020_anim.mov").unlink()
    data = report(runner, ws, str(xml), "--map", f"D:\\media={root}")
    clips = data["timelines"][0]["clips"]
    offline = {c["name"] for c in clips if c["link"] == "offline"}
    assert offline == {"sc01_sh020_anim.mov"}
    assert any("mapped path" in (r["how"] or "") for c in clips for r in c["references"])


# -- the cut: AI media blocks, approval passes, offline blocks --------------------------------


@pytest.fixture
def cut(tmp_path: Path) -> tuple[Path, Path]:
    """An EDL of three shots on another machine's drive, the media on this storage."""
    root = tmp_path / "show"
    sequence(root / "sh010", "sh010_plate.", range(86400, 86460))
    sequence(root / "sh020", "sh020_comp.", range(86500, 86530))
    exr(root / "sh030" / "sh030_flux_still.exr", 1, ai=True)
    path = edl(
        tmp_path / "LH_R3.edl",
        [
            ("sh010", 86410, 24, "S:\\show\\sh010\\sh010_plate.86410.exr"),
            ("sh020", 86500, 24, "S:\\show\\sh020\\sh020_comp.86500.exr"),
            ("sh030", 0, 48, "S:\\show\\sh030\\sh030_flux_still.exr"),
        ],
    )
    return path, root


def test_a_cut_naming_an_unapproved_ai_still_blocks_passes_once_approved_and_blocks_offline(
    runner, ws, cut
):
    path, root = cut
    mapping = f"S:\\show={root}"
    out = check(runner, ws, str(path), "--map", mapping)
    assert out.exit_code == 1, out.output
    assert "sh030_flux_still.exr" in out.stdout and "ai-generated" in out.stdout
    still = str(root / "sh030" / "sh030_flux_still.exr")
    approve = ["approve", still, "--ref", "LEGAL-7", "--by", "Dana", "--use", "background-element"]
    assert runner.invoke(cli, [*ws, *approve]).exit_code == 0
    out = check(runner, ws, "--map", mapping, str(path))
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines()[-1].startswith("PASS")

    shutil.rmtree(root / "sh020")
    out = check(runner, ws, str(path), "--map", mapping)
    assert out.exit_code == 1
    assert "media offline" in out.stdout and "'sh020'" in out.stdout


def test_only_the_frames_the_cut_uses_are_checked_and_handles_widen_them(runner, ws, tmp_path):
    root = tmp_path / "plates"
    # The cut uses 86410-86433; an AI frame sits 3 frames after the out point.
    sequence(root, "sh010_plate.", range(86400, 86460), ai={86436})
    path = edl(tmp_path / "cut.edl", [("sh010", 86410, 24, "S:\\p\\sh010_plate.86410.exr")])
    data = report(runner, ws, str(path), "--map", f"S:\\p={root}")
    assert data["verdict"] == "pass", data
    ref = data["timelines"][0]["clips"][0]["references"][0]
    assert ref["frames"] == "86410-86433" and ref["file_count"] == 24
    assert data["summary"]["assets"] == 24
    data = report(runner, ws, str(path), "--map", f"S:\\p={root}", "--handles", "4")
    assert data["verdict"] == "blocked"
    assert data["timelines"][0]["clips"][0]["references"][0]["frames"] == "86406-86437"


def test_a_missing_frame_inside_the_used_range_is_media_offline(runner, ws, tmp_path):
    root = tmp_path / "plates"
    sequence(root, "sh010_plate.", range(86400, 86460))
    (root / "sh010_plate.86420.exr").unlink()
    path = edl(tmp_path / "cut.edl", [("sh010", 86410, 24, "S:\\p\\sh010_plate.86410.exr")])
    out = check(runner, ws, str(path), "--map", f"S:\\p={root}")
    assert out.exit_code == 1 and "frames missing" in out.stdout and "86420" in out.stdout


def test_ambiguous_links_list_their_candidates_and_block(runner, ws, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    exr(a / "sh030_still.exr", 1)
    exr(b / "sh030_still.exr", 2)
    path = edl(tmp_path / "cut.edl", [("sh030_still.exr", 0, 24, "")])
    out = check(runner, ws, str(path), "--media-root", str(a), "--media-root", str(b))
    assert out.exit_code == 1
    assert "ambiguous" in out.stdout
    assert f"candidate: {a / 'sh030_still.exr'}" in out.stdout
    assert f"candidate: {b / 'sh030_still.exr'}" in out.stdout


def test_the_store_links_media_it_has_seen(runner, ws, tmp_path):
    elsewhere = tmp_path / "archive" / "deep"
    exr(elsewhere / "sh040_matte.exr", 1, ai=True)
    assert runner.invoke(cli, [*ws, "scan", "--no-tag", str(elsewhere)]).exit_code == 0
    path = edl(tmp_path / "cut.edl", [("sh040", 0, 24, "X:\\old\\sh040_matte.exr")])
    data = report(runner, ws, str(path))
    ref = data["timelines"][0]["clips"][0]["references"][0]
    assert ref["link"] == "linked" and "seen by the store" in ref["how"]
    assert data["verdict"] == "blocked"


def test_a_timeline_is_recognised_by_content_whatever_its_name(runner, ws, cut):
    path, root = cut
    disguised = path.with_name("notes.txt")
    shutil.copy(path, disguised)
    out = check(runner, ws, str(disguised), "--map", f"S:\\show={root}")
    assert out.exit_code == 1 and "[cmx_3600]" in out.stdout


def test_reports_carry_the_timeline_view_in_json_junit_and_html(runner, ws, cut, tmp_path):
    path, root = cut
    data = report(runner, ws, str(path), "--map", f"S:\\show={root}")
    assert data["schema"] == "provgate.check/1" and data["schema_revision"] == 2
    clip = data["timelines"][0]["clips"][2]
    assert clip["name"] == "sh030" and clip["record_in"] == "01:00:02:00"
    assert clip["references"][0]["media"].endswith("sh030_flux_still.exr")
    junit = tmp_path / "r.xml"
    out = check(runner, ws, str(path), "--map", f"S:\\show={root}", "--format", "junit",
                "-o", str(junit))  # fmt: skip
    assert out.exit_code == 1
    suites = ET.parse(junit).getroot()
    cases = [s for s in suites if "timeline" in s.get("name")][0].findall("testcase")
    assert len(cases) == 3 and [c.find("failure") is not None for c in cases] == [0, 0, 1]
    page = tmp_path / "r.html"
    check(runner, ws, str(path), "--map", f"S:\\show={root}", "--format", "html", "-o", str(page))
    text = page.read_text()
    assert "Timeline LH_R3" in text and "sh030_flux_still.exr" in text


def test_a_bad_map_is_one_line_naming_the_option(runner, ws, cut):
    path, _root = cut
    out = check(runner, ws, str(path), "--map", "no-equals-sign")
    assert out.exit_code != 0 and "--map 'no-equals-sign'" in out.output


def test_the_library_entry_point_takes_media_roots_and_path_maps(tmp_path, cut, runner, ws):
    path, root = cut
    workspace = open_workspace(Path(ws[1]))
    rep = api.check([str(path)], workspace, path_maps=[f"S:\\show={root}"])
    assert rep.verdict == "blocked"
    assert [rep.clip_verdict(c)[0] for c in rep.timelines[0].clips] == ["pass", "pass", "block"]
    rep = api.check([str(path)], workspace, media_roots=[root])
    assert [c.link for c in rep.timelines[0].clips] == ["linked"] * 3


# -- issue 16: bundles, nesting, every reference, limits ------------------------------------


def _png(path: Path, ai: bool) -> Path:
    from PIL import Image, PngImagePlugin

    path.parent.mkdir(parents=True, exist_ok=True)
    info = PngImagePlugin.PngInfo()
    if ai:
        info.add_text("parameters", PARAMETERS.decode())
    Image.new("RGB", (8, 8), (200, 10, 10) if ai else (10, 200, 10)).save(path, pnginfo=info)
    return path


def _timeline(*refs: dict[str, otio.core.MediaReference]) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="bundle")
    track = otio.schema.Track()
    tl.tracks.append(track)
    for n, by_key in enumerate(refs):
        clip = otio.schema.Clip(
            name=f"c{n}",
            source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(24, 24)
            ),
        )
        clip.set_media_references(by_key, next(iter(by_key)))
        track.append(clip)
    return tl


def test_otioz_media_is_read_inside_the_bundle_not_beside_it(runner, ws, tmp_path):
    import zipfile

    bundle = tmp_path / "reel.otioz"
    tl = _timeline({"DEFAULT_MEDIA": otio.schema.ExternalReference(target_url="media/sh010.png")})
    inner = _png(tmp_path / "src" / "sh010.png", ai=True)
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("content.otio", otio.adapters.write_to_string(tl, "otio_json"))
        z.write(inner, "media/sh010.png")
    _png(tmp_path / "media" / "sh010.png", ai=False)  # a decoy beside the bundle
    out = check(runner, ws, str(bundle))
    assert out.exit_code == 1 and "ai-generated" in out.stdout
    assert "reel.otioz/media/sh010.png" in out.stdout


def test_otiod_media_stays_inside_the_bundle(runner, ws, tmp_path):
    bundle = tmp_path / "reel.otiod"
    tl = _timeline(
        {"DEFAULT_MEDIA": otio.schema.ExternalReference(target_url="media/sh010.png")},
        {"DEFAULT_MEDIA": otio.schema.ExternalReference(target_url="../outside.png")},
    )
    (bundle / "media").mkdir(parents=True)
    otio.adapters.write_to_file(tl, str(bundle / "content.otio"), adapter_name="otio_json")
    _png(bundle / "media" / "sh010.png", ai=True)
    _png(tmp_path / "outside.png", ai=False)
    out = check(runner, ws, str(bundle))
    assert out.exit_code == 1
    assert "ai-generated" in out.stdout and "leaves the bundle" in out.stdout


def test_every_media_reference_of_a_clip_is_checked_not_only_the_active_one(runner, ws, tmp_path):
    clean, ai = _png(tmp_path / "proxy.png", False), _png(tmp_path / "hires.png", True)
    tl = _timeline(
        {
            "proxy": otio.schema.ExternalReference(target_url=clean.as_uri()),
            "high_res": otio.schema.ExternalReference(target_url=ai.as_uri()),
        }
    )
    path = tmp_path / "two_refs.otio"
    otio.adapters.write_to_file(tl, str(path))
    out = check(runner, ws, str(path))
    assert out.exit_code == 1 and "hires.png" in out.stdout


def test_a_nested_timeline_is_followed_and_a_cycle_is_refused(runner, ws, tmp_path):
    ai = _png(tmp_path / "gen.png", True)
    inner = tmp_path / "inner.otio"
    otio.adapters.write_to_file(
        _timeline({"DEFAULT_MEDIA": otio.schema.ExternalReference(target_url=ai.as_uri())}),
        str(inner),
    )
    outer = tmp_path / "outer.otio"
    ref = otio.schema.ExternalReference(target_url=inner.as_uri())
    otio.adapters.write_to_file(_timeline({"DEFAULT_MEDIA": ref}), str(outer))
    data = report(runner, ws, str(outer))
    assert data["verdict"] == "blocked"
    assert any(a["path"] == str(ai) and a["origin"] == "ai-generated" for a in data["assets"])
    assert data["timelines"][1]["parent"] == str(outer)

    loop_a, loop_b = tmp_path / "a.otio", tmp_path / "b.otio"
    for this, other in ((loop_a, loop_b), (loop_b, loop_a)):
        ref = otio.schema.ExternalReference(target_url=other.as_uri())
        otio.adapters.write_to_file(_timeline({"DEFAULT_MEDIA": ref}), str(this))
    out = check(runner, ws, str(loop_a))
    assert out.exit_code == 1 and "cycle" in out.stdout


def test_a_deeply_nested_otio_is_one_line_and_a_block_not_a_crash(tmp_path, ws):
    depth = 20_000  # OTIO's own reader segfaults on this
    head = '{"OTIO_SCHEMA":"Stack.1","name":"s","metadata":{},"children":['
    text = '{"OTIO_SCHEMA":"Timeline.1","name":"t","metadata":{},"tracks":'
    path = tmp_path / "deep.otio"
    path.write_text(text + head * depth + "]}" * depth + "}")
    run = subprocess.run(
        [sys.executable, "-m", "cli", *ws, "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert "timeline nested too deep" in run.stdout
    assert run.stdout.splitlines()[-1].startswith("BLOCKED")


def test_fcpxml_is_recognised_by_content_even_under_an_fcp7_suffix(runner, ws, tmp_path):
    media = tmp_path / "Show"
    media.mkdir()
    shutil.copy(fixture_file("c2pa/video1.mp4"), media / "a.mov")
    shutil.copy(fixture_file("generators/comfyui.png"), media / "b.png")
    tl = otio.schema.Timeline(name="fcpx cut")
    track = otio.schema.Track()
    tl.tracks.append(track)
    for name in ("a.mov", "b.png"):
        one_second = otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(24, 24)
        )
        ref = otio.schema.ExternalReference(
            target_url=f"file:///Volumes/Show/{name}", available_range=one_second
        )
        track.append(otio.schema.Clip(name=name, media_reference=ref, source_range=one_second))
    path = tmp_path / "cut.xml"
    path.write_text(otio.adapters.write_to_string(tl, "fcpx_xml"))
    data = report(runner, ws, str(path), "--map", f"/Volumes/Show={media}")
    view = data["timelines"][0]
    assert view["adapter"] == "fcpx_xml"
    assert [c["decision"] for c in view["clips"]] == ["pass", "block"]


def test_an_edl_at_25_fps_is_read_at_the_rate_its_timecodes_fit(runner, ws):
    data = report(runner, ws, str(fixture_file("editorial/edl/25fps.edl")))
    clips = data["timelines"][0]["clips"]
    assert clips[3]["source_out"] == "01:00:01:24"  # frame 24 exists only at 25 fps or more
    assert clips[1]["record_in"] == "00:00:06:11"


def test_a_timeline_over_the_size_limit_blocks_naming_the_limit(runner, ws, cut, monkeypatch):
    from provenance.gate import timelines

    path, _root = cut
    monkeypatch.setattr(timelines, "MAX_TIMELINE_BYTES", 100)
    out = check(runner, ws, str(path))
    assert out.exit_code == 1 and "timeline too large" in out.stdout
    monkeypatch.setattr(timelines, "MAX_TIMELINE_BYTES", 1 << 20)
    monkeypatch.setattr(timelines, "MAX_CLIPS", 2)
    out = check(runner, ws, str(path))
    assert out.exit_code == 1 and "more than 2 clips" in out.stdout


def test_names_that_are_not_utf8_link_from_a_latin1_edl_and_an_otio_url(runner, ws, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    raw = os.fsdecode(b"caf\xe9_plate.exr")  # a name stored as Latin-1 bytes
    exr(root / raw, 1, ai=True)
    cut = tmp_path / "latin1.edl"
    cut.write_bytes(
        b"TITLE: R1\nFCM: NON-DROP FRAME\n\n"
        b"001  AX       V     C        00:00:00:00 00:00:01:00 01:00:00:00 01:00:01:00\n"
        b"* FROM CLIP NAME:  caf\xe9\n* FROM CLIP: S:\\m\\caf\xe9_plate.exr\n"
    )
    for args in (["--map", f"S:\\m={root}"], ["--media-root", str(root)]):
        out = check(runner, ws, *args, str(cut))
        assert out.exit_code == 1, out.output
        assert "ai-generated" in out.stdout and "media offline" not in out.stdout
    url = (root / raw).as_uri()  # percent-escapes the byte
    tl = _timeline({"DEFAULT_MEDIA": otio.schema.ExternalReference(target_url=url)})
    path = tmp_path / "bytes.otio"
    otio.adapters.write_to_file(tl, str(path))
    out = check(runner, ws, str(path))
    assert out.exit_code == 1 and "ai-generated" in out.stdout


def _mxf_with_package(path: Path, *umids: str) -> Path:
    """An MXF header partition whose metadata carries these package UMIDs (as Avid writes)."""
    from provenance.gate.linker import umid_bytes

    body = b"".join(b"\x83\x00\x00\x20" + umid_bytes(u) for u in umids) + bytes(256)
    key = bytes.fromhex("060e2b34020501010d01020101020400")
    path.write_bytes(key + b"\x83" + len(body).to_bytes(3, "big") + body)
    return path


def test_aaf_media_links_by_mob_id_to_the_mxf_that_carries_it(runner, ws, tmp_path):
    aaf = fixture_file("editorial/aaf/one_clip.aaf")
    tl = otio.adapters.read_from_file(str(aaf))
    mobs = [c.media_references()["DEFAULT_MEDIA"].metadata["AAF"]["MobID"] for c in tl.find_clips()]
    root = tmp_path / "Avid MediaFiles"
    root.mkdir()
    video = _mxf_with_package(root / "renamed_v.mxf", mobs[0])
    _mxf_with_package(root / "renamed_a.mxf", mobs[1])
    data = report(runner, ws, str(aaf), "--media-root", str(root))
    refs = [c["references"][0] for c in data["timelines"][0]["clips"]]
    assert [r["link"] for r in refs] == ["linked", "linked"], refs
    assert all("MXF package id" in r["how"] for r in refs)
    assert refs[0]["media"] == str(video) and data["verdict"] == "pass"
    tag = ["tag", str(video), "--origin", "ai-generated", "--tool", "Runway Gen-3"]
    assert runner.invoke(cli, [*ws, *tag, "--use", "background-element"]).exit_code == 0
    data = report(runner, ws, str(aaf), "--media-root", str(root))
    assert [c["decision"] for c in data["timelines"][0]["clips"]] == ["block", "pass"]
