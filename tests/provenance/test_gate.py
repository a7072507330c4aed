"""The delivery gate on real files, through every kind of package."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import opentimelineio as otio
import pytest
from PIL import Image, ImageDraw, PngImagePlugin

from provenance import api
from provenance.gate.decision import DeliveryGate
from provenance.gate.reports import render_html, render_junit, render_text
from tests.conftest import copy_fixture

A1111 = (
    "a lighthouse at dusk, volumetric light\nNegative prompt: blurry\nSteps: 20, "
    "Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model: sd_xl_base_1.0"
)


def picture(path: Path, seed: int, ai: bool = False) -> Path:
    """A real picture (shapes, gradients) so perceptual hashes mean something."""
    img = Image.new("RGB", (512, 384))
    draw = ImageDraw.Draw(img)
    for y in range(384):
        draw.line([(0, y), (511, y)], fill=((seed * 37 + y) % 256, (seed * 91) % 256, y % 256))
    for i in range(6):
        x, y = (seed * 53 + i * 97) % 400, (seed * 29 + i * 61) % 300
        draw.ellipse([x, y, x + 90, y + 70], fill=((i * 40) % 256, (seed * 13) % 256, 200))
    info = PngImagePlugin.PngInfo()
    if ai:
        info.add_text("parameters", A1111)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, pnginfo=info)
    return path


@pytest.fixture
def delivery(tmp_path: Path) -> Path:
    pkg = tmp_path / "delivery"
    picture(pkg / "stills" / "sh020_concept.png", 1, ai=True)
    copy_fixture("generators/comfyui.png", pkg / "stills")
    picture(pkg / "stills" / "title_card.png", 2)
    copy_fixture("c2pa/no_manifest.jpg", pkg / "plates")
    copy_fixture("c2pa/sample1.wav", pkg / "audio")
    return pkg


AI_IN_DELIVERY = {"stills/sh020_concept.png", "stills/comfyui.png"}


def blocked(report) -> set[str]:
    return {a.path for a in report.assets if a.decision == "block"}


def test_a_mixed_delivery_is_blocked_on_exactly_its_ai_assets(delivery, workspace, store):
    report = DeliveryGate(workspace.config, store).check([str(delivery)])
    assert report.verdict == "blocked"
    assert blocked(report) == AI_IN_DELIVERY
    assert report.summary == {
        "assets": 5,
        "blocked": 2,
        "ai": 2,
        "approved": 0,
        "unknown": 3,
        "errors": 0,
    }
    text = render_text(report)
    assert text.index("BLOCK  stills/") < text.index("BLOCKED:")
    assert "provgate approve" in text


def test_it_passes_once_approved_and_blocks_again_after_a_one_byte_change(
    delivery, workspace, store
):
    cfg = workspace.config
    api.scan([delivery], cfg, store, tag=False)
    for rel in AI_IN_DELIVERY:
        api.approve([str(delivery / rel)], cfg, store, reference=f"STU-{rel}", by="J. Legal")
    gate = DeliveryGate(cfg, store)
    report = gate.check([str(delivery)])
    assert report.verdict == "pass", render_text(report)
    assert report.summary["approved"] == 2
    target = delivery / "stills" / "comfyui.png"
    data = bytearray(target.read_bytes())
    data[-25] ^= 0x01
    target.write_bytes(bytes(data))
    assert blocked(gate.check([str(delivery)])) == {"stills/comfyui.png"}


def test_a_stripped_resized_copy_of_a_scanned_ai_image_is_a_near_duplicate(
    tmp_path, workspace, store
):
    show = tmp_path / "show"
    original = picture(show / "concept.png", 7, ai=True)
    api.scan([show], workspace.config, store)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    with Image.open(original) as img:  # re-saved as JPEG at 60 %: no metadata survives
        img.convert("RGB").resize((307, 230)).save(pkg / "final_bg.jpg", quality=80)
    picture(pkg / "unrelated.png", 99)
    report = DeliveryGate(workspace.config, store).check([str(pkg)])
    assert blocked(report) == {"final_bg.jpg"}
    near = [e for e in report.assets[0].reading.evidence if e.source == "similar"] or [
        e for a in report.assets if a.reading for e in a.reading.evidence if e.source == "similar"
    ]
    assert near and "near-duplicate" in near[0].detail


def test_the_untouched_original_known_as_non_ai_passes(tmp_path, workspace, store):
    plate = picture(tmp_path / "show" / "plate.png", 3)
    api.scan([tmp_path / "show"], workspace.config, store)
    edited = tmp_path / "show" / "plate_genfill.png"
    with Image.open(plate) as img:  # a generative fill over a corner of the same plate
        img = img.copy()
    ImageDraw.Draw(img).rectangle([0, 0, 60, 40], fill=(250, 250, 250))
    img.save(edited)
    api.tag_by_hand(
        edited,
        workspace.config,
        store,
        origin="ai-modified",
        tool="Photoshop",
        use="vfx-final",
        note=None,
    )
    report = DeliveryGate(workspace.config, store).check([str(plate)])
    assert report.verdict == "pass"


def test_the_same_results_through_zip_tar_timeline_and_stdin(delivery, tmp_path, workspace, store):
    gate = DeliveryGate(workspace.config, store)
    want = {Path(p).name for p in AI_IN_DELIVERY}
    files = sorted(p for p in delivery.rglob("*") if p.is_file())

    archive = tmp_path / "delivery.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in files:
            z.write(f, f.relative_to(delivery))
    assert {Path(p).name for p in blocked(gate.check([str(archive)]))} == want

    tarball = tmp_path / "delivery.tar.gz"
    with tarfile.open(tarball, "w:gz") as t:
        for f in files:
            t.add(f, str(f.relative_to(delivery)))
    assert {Path(p).name for p in blocked(gate.check([str(tarball)]))} == want

    timeline = otio.schema.Timeline(name="reel 1")
    track = otio.schema.Track()
    timeline.tracks.append(track)
    for f in files:
        clip = otio.schema.Clip(
            name=f.name,
            media_reference=otio.schema.ExternalReference(target_url=f.as_uri()),
            source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(24, 24)
            ),
        )
        track.append(clip)
    muted = otio.schema.Track()
    muted.enabled = False
    muted.append(
        otio.schema.Clip(
            name="muted",
            media_reference=otio.schema.ExternalReference(target_url=str(tmp_path / "offline.png")),
        )
    )
    timeline.tracks.append(muted)
    otio_path = tmp_path / "reel1.otio"
    otio.adapters.write_to_file(timeline, str(otio_path))
    assert {Path(p).name for p in blocked(gate.check([str(otio_path)]))} == want

    listing = io.StringIO("".join(f"{f}\n" for f in files))
    assert {Path(p).name for p in blocked(gate.check(["-"], stdin=listing))} == want


def test_a_timeline_clip_with_missing_media_blocks_as_media_offline(tmp_path, workspace, store):
    timeline = otio.schema.Timeline()
    track = otio.schema.Track()
    timeline.tracks.append(track)
    track.append(
        otio.schema.Clip(
            name="sh030",
            media_reference=otio.schema.ExternalReference(target_url="media/sh030_comp_v002.mov"),
        )
    )
    track.append(otio.schema.Clip(name="slug", media_reference=otio.schema.MissingReference()))
    path = tmp_path / "cut.otio"
    otio.adapters.write_to_file(timeline, str(path))
    report = DeliveryGate(workspace.config, store).check([str(path)])
    assert report.verdict == "blocked"
    assert all("media offline" in a.reasons[0] for a in report.assets)
    assert len(report.assets) == 2


def test_talent_likeness_needs_consent_even_when_approved_for_another_use(
    tmp_path, workspace, store
):
    face = picture(tmp_path / "show" / "digital_double.png", 5, ai=True)
    cfg = workspace.config
    api.scan([tmp_path / "show"], cfg, store, tag=False)
    api.approve([str(face)], cfg, store, reference="STU-20", by="J")
    gate = DeliveryGate(cfg, store)
    assert gate.check([str(face)]).verdict == "pass"
    cid = store.file(str(face)).content_id
    store.conn.execute(
        "UPDATE assets SET use_category = 'talent-likeness' WHERE content_id = ?", (cid,)
    )
    report = gate.check([str(face)])
    assert report.verdict == "blocked"
    assert "consent" in report.assets[0].reasons[0]


def test_an_empty_file_in_the_package_blocks_it(delivery, workspace, store):
    (delivery / "stills" / "broken.png").write_bytes(b"")
    report = DeliveryGate(workspace.config, store).check([str(delivery)])
    broken = [a for a in report.assets if a.path == "stills/broken.png"][0]
    assert broken.decision == "block" and "empty file" in broken.reasons[0]
    assert report.summary["errors"] == 1


def test_strict_blocks_unknown_and_invalid_manifests(tmp_path, workspace, store):
    pkg = tmp_path / "pkg"
    copy_fixture("c2pa/XCA.jpg", pkg)
    copy_fixture("c2pa/no_manifest.jpg", pkg)
    gate = DeliveryGate(workspace.config, store)
    relaxed = gate.check([str(pkg)])
    assert relaxed.verdict == "pass"
    assert any("does not validate" in r for a in relaxed.assets for r in a.reasons)
    assert blocked(gate.check([str(pkg)], strict=True)) == {"XCA.jpg", "no_manifest.jpg"}


def test_the_check_is_recorded_as_an_event(delivery, workspace, store):
    DeliveryGate(workspace.config, store).check([str(delivery)])
    last = store.conn.execute("SELECT kind, detail FROM events ORDER BY seq DESC").fetchone()
    assert last["kind"] == "checked" and json.loads(last["detail"])["verdict"] == "blocked"


def test_junit_has_one_case_per_asset_and_blocked_ones_fail(delivery, workspace, store):
    report = DeliveryGate(workspace.config, store).check([str(delivery)])
    root = ET.fromstring(render_junit(report))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 5
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == AI_IN_DELIVERY


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_the_html_report_renders_in_headless_chromium(delivery, workspace, store, tmp_path):
    report = DeliveryGate(workspace.config, store).check([str(delivery)])
    page = tmp_path / "report.html"
    page.write_text(render_html(report))
    assert "http://" not in page.read_text().replace("http://www.w3.org", "")
    shot = tmp_path / "report.png"
    base = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert 'id="verdict"' in dom.stdout and "BLOCKED" in dom.stdout
    assert dom.stdout.count("<img") >= 2  # thumbnails of the blocked stills
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1200,900", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 1000


def test_an_origin_stated_by_hand_counts_at_the_gate(tmp_path: Path, workspace, store) -> None:
    """A person's statement kept only in the store (tag mode off: nothing is written into the
    file) is evidence at the gate: stills stated non-ai pass --strict, where the same stills
    with no provenance information block."""
    from dataclasses import replace

    config = replace(workspace.config, tag_mode="off")
    pkg = tmp_path / "pkg"
    stills = [picture(pkg / f"still_{n}.png", 10 + n) for n in range(3)]
    strict = DeliveryGate(config, store).check([str(pkg)], strict=True)
    assert blocked(strict) == {p.name for p in stills}
    for still in stills[:2]:
        api.tag_by_hand(still, config, store, origin="non-ai", tool=None, use=None, note=None)
    strict = DeliveryGate(config, store).check([str(pkg)], strict=True)
    assert blocked(strict) == {stills[2].name}
