"""Our tags carry a soft binding of the content, so a copy stripped of its manifest is tied back
to the tagged asset in the store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import c2pa
import pytest
from PIL import Image

from cli.main import cli
from provenance.c2pa.context import c2pa_context
from provenance.c2pa.manifest import SOFT_BINDING_ALGS, soft_binding_of
from provenance.pipeline.phash import image_phash
from provenance.workspace import open_workspace


@pytest.fixture
def ws(runner, tmp_path: Path) -> list[str]:
    root = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    return ["--workspace", str(root)]


def _active(path: Path, ws: list[str]) -> tuple[dict, str]:
    ctx = c2pa_context(open_workspace(Path(ws[1])).config)
    with c2pa.Reader(str(path), context=ctx) as reader:
        store = json.loads(reader.json())
        return store["manifests"][store["active_manifest"]], reader.get_validation_state()


def test_a_tagged_still_carries_its_perceptual_hash_and_stays_trusted(runner, ws, tmp_path):
    still = tmp_path / "concept.png"
    Image.new("RGB", (96, 64), (20, 140, 90)).save(still)
    result = runner.invoke(cli, [*ws, "tag", str(still), "--origin", "ai-generated"])
    assert result.exit_code == 0, result.output
    manifest, state = _active(still, ws)
    bindings = [a for a in manifest["assertions"] if a["label"] == "c2pa.soft-binding"]
    assert [b["data"]["alg"] for b in bindings] == [SOFT_BINDING_ALGS["image"]]
    assert soft_binding_of(manifest) == image_phash(still, "image/png")
    assert state == "Trusted"


def test_a_stripped_copy_is_tied_back_to_the_tagged_asset(runner, ws, tmp_path):
    still = tmp_path / "gen" / "matte.png"
    still.parent.mkdir()
    Image.new("RGB", (128, 96), (200, 60, 30)).save(still)
    img = Image.open(still)
    for x in range(0, 128, 16):  # some structure for the perceptual hash
        for y in range(0, 96, 8):
            img.putpixel((x, y), (0, 0, 0))
    img.save(still)
    assert runner.invoke(cli, [*ws, "tag", str(still), "--origin", "ai-generated"]).exit_code == 0
    tagged = json.loads(runner.invoke(cli, [*ws, "inspect", "--json", str(still)]).stdout)
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    Image.open(still).save(delivery / "matte_final.jpg", quality=90)  # drops the manifest
    result = runner.invoke(cli, [*ws, "check", "--format", "json", str(delivery)])
    assert result.exit_code == 1, result.output
    (asset,) = json.loads(result.stdout)["assets"]
    similar = [e["detail"] for e in asset["evidence"] if e["source"] == "similar"]
    assert tagged["content_id"] in similar[0]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg (Debian package) is missing")
def test_a_tagged_clip_carries_its_video_fingerprint(runner, ws, tmp_path):
    import sys

    from tests.conftest import ROOT

    sys.path.insert(0, str(ROOT / "bench"))
    import _media

    clip = tmp_path / "gen.mp4"
    _media.make_clip(clip, 3, 3.0, (192, 108))
    assert runner.invoke(cli, [*ws, "tag", str(clip), "--origin", "ai-generated"]).exit_code == 0
    manifest, _ = _active(clip, ws)
    found = soft_binding_of(manifest)
    assert found is not None and found.startswith("v1:")
