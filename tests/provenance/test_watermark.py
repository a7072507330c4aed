"""Invisible watermarks: read from images the real encoder wrote, silent on everything else."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli.main import cli
from provenance.config import Policy
from provenance.markers.watermark import PAYLOADS, read_image, read_payloads, tile_votes
from provenance.model import Signal
from tests.conftest import copy_fixture, fixture_file

PICTURES = ("car-es-Ps-Cr", "sh010_plate", "title_card")


@pytest.mark.parametrize("picture", PICTURES)
@pytest.mark.parametrize("payload", ["sdxl", "sd1"])
def test_the_real_encoders_marks_are_read(picture, payload):
    found = read_image(fixture_file(f"watermarks/{picture}.{payload}.png"))
    assert [f.payload.name for f in found] == [payload]
    assert found[0].matched_bits == len(found[0].payload.bits)
    assert found[0].contrast > 0.6


@pytest.mark.parametrize("picture", [*PICTURES, "cloud"])
def test_the_same_pictures_unmarked_read_nothing(picture):
    assert read_image(fixture_file(f"watermarks/{picture}.plain.png")) == []


def _unrelated(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kind = seed % 5
    h, w = 256 + 8 * (seed % 7), 256 + 8 * (seed % 11)
    if kind == 0:  # noise
        return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if kind == 1:  # flat
        return np.full((h, w, 3), rng.integers(0, 256, 3), dtype=np.uint8)
    if kind == 2:  # gradients
        y, x = np.mgrid[0:h, 0:w]
        return np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)
    if kind == 3:  # smooth blobs
        small = rng.integers(0, 256, (h // 32 + 1, w // 32 + 1, 3), dtype=np.uint8)
        big = Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC)
        return np.asarray(big)
    stripes = (np.arange(w) // (1 + seed % 9) % 2 * 255).astype(np.uint8)  # periodic texture
    return np.repeat(np.repeat(stripes[None, :, None], h, 0), 3, 2)


@pytest.mark.parametrize("seed", range(40))
def test_unrelated_pictures_never_match(seed):
    assert read_payloads(tile_votes(_unrelated(seed))) == []


def test_a_jpeg_copy_or_a_small_image_stays_silent(tmp_path):
    marked = Image.open(fixture_file("watermarks/sh010_plate.sdxl.png"))
    jpeg = tmp_path / "copy.jpg"
    marked.save(jpeg, quality=95)
    buf = io.BytesIO()
    marked.save(buf, "JPEG", quality=95)
    votes = tile_votes(np.asarray(Image.open(buf).convert("RGB")))
    assert read_payloads(votes) == []  # lossy re-encoding destroys the mark: no guess
    small = tmp_path / "small.png"
    marked.crop((0, 0, 200, 200)).save(small)
    assert read_image(small) == []  # the encoder never marks under 256x256


def test_every_payload_has_a_policy_entry_that_means_ai():
    policy = Policy()
    for payload in PAYLOADS:
        assert policy.signal_for(f"watermark:{payload.name}") is Signal.AI_GENERATED


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


def test_check_blocks_a_stripped_watermarked_still_and_passes_the_plain_one(runner, ws, tmp_path):
    delivery = tmp_path / "delivery"
    copy_fixture("watermarks/sh010_plate.sdxl.png", delivery)
    copy_fixture("watermarks/title_card.sd1.png", delivery)
    copy_fixture("watermarks/sh010_plate.plain.png", delivery)
    result = runner.invoke(cli, [*ws, "check", "--format", "json", str(delivery)])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    by_name = {a["path"]: a for a in report["assets"]}
    assert by_name["sh010_plate.plain.png"]["decision"] == "pass"
    assert by_name["sh010_plate.plain.png"]["origin"] == "unknown"
    for name, payload in (("sh010_plate.sdxl.png", "sdxl"), ("title_card.sd1.png", "sd1")):
        asset = by_name[name]
        assert (asset["decision"], asset["origin"]) == ("block", "ai-generated")
        marks = [e for e in asset["evidence"] if e["source"] == "watermark"]
        assert [e["marker"] for e in marks] == [f"watermark:{payload}"]
        assert "invisible watermark" in marks[0]["detail"]


def test_inspect_shows_the_watermark(runner, ws, tmp_path):
    still = copy_fixture("watermarks/car-es-Ps-Cr.sdxl.png", tmp_path / "in")
    result = runner.invoke(cli, [*ws, "inspect", "--json", str(still)])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["origin"] == "ai-generated"
    assert [e["source"] for e in info["evidence"]] == ["watermark"]


def test_a_known_still_is_decoded_once_and_the_finding_kept(runner, ws, tmp_path):
    """The gate reads a still's pixels once per content: what it found (a watermark, or none)
    is kept for content the store knows, and the next check gives the same verdict from it."""
    from provenance.stores import Store

    delivery = tmp_path / "delivery"
    marked = copy_fixture("watermarks/sh010_plate.sdxl.png", delivery)
    plain = copy_fixture("watermarks/sh010_plate.plain.png", delivery)
    assert runner.invoke(cli, [*ws, "scan", "--no-tag", str(delivery)]).exit_code == 0
    for _ in range(2):
        result = runner.invoke(cli, [*ws, "check", "--format", "json", str(delivery)])
        assert result.exit_code == 1, result.output
        by_name = {a["path"]: a for a in json.loads(result.stdout)["assets"]}
        assert by_name[marked.name]["origin"] == "ai-generated"
        assert by_name[plain.name]["decision"] == "pass"
    with Store(Path(ws[1]) / "provgate.db") as store:
        rows = {
            p.name: [
                e["marker"]
                for e in store.evidence(store.file(str(p)).content_id)
                if e["source"] == "watermark"
            ]
            for p in (marked, plain)
        }
    assert rows[marked.name] == ["watermark:sdxl"]
    assert rows[plain.name] == ["watermark:none"]


def test_a_watermarked_still_inside_a_zip_is_blocked(runner, ws, tmp_path):
    """Archive members are read one at a time, outside the batches: their pixels count too."""
    import zipfile

    still = copy_fixture("watermarks/sh010_plate.sdxl.png", tmp_path / "src")
    package = tmp_path / "delivery.zip"
    with zipfile.ZipFile(package, "w") as zf:
        zf.write(still, "stills/sh010_plate.png")
    result = runner.invoke(cli, [*ws, "check", "--format", "json", str(package)])
    assert result.exit_code == 1, result.output
    (asset,) = json.loads(result.stdout)["assets"]
    assert asset["origin"] == "ai-generated"
    assert any(e["source"] == "watermark" for e in asset["evidence"])
