"""Writers provgate used to miss on real third-party files: ComfyUI graphs in EXIF, C2PA
manifests that name their generator without a digital source type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import c2pa
import pytest
from PIL import Image

from provenance.c2pa.context import c2pa_context, c2pa_settings
from provenance.c2pa.signing import signer_from_config
from provenance.config import Config, Policy
from provenance.markers.families import active
from provenance.markers.metadata import scan_metadata
from provenance.model import Origin, Signal
from provenance.pipeline.classify import read_asset

WORKFLOW = {
    "last_node_id": 9,
    "nodes": [{"id": 4, "type": "CheckpointLoaderSimple", "widgets_values": ["sdxl.safetensors"]}],
    "links": [],
}
PROMPT = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl.safetensors"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["4", 1]}},
}


def _user_comment(text: str, code: str) -> bytes:
    if code == "unicode":
        return b"UNICODE\x00" + text.encode("utf-16-be")
    return b"ASCII\x00\x00\x00" + text.encode()


COMFY_COMMENTS = {
    "workflow": json.dumps(WORKFLOW),
    "prompt": json.dumps(PROMPT),
    "wrapped": json.dumps({"prompt": PROMPT, "workflow": WORKFLOW}),
    "wrapped-strings": json.dumps({"prompt": json.dumps(PROMPT), "workflow": json.dumps(WORKFLOW)}),
    "prefixed": "workflow:" + json.dumps(WORKFLOW),
}


@pytest.mark.parametrize("ifd", ["exif-ifd", "ifd0"])
@pytest.mark.parametrize("code", ["unicode", "ascii"])
@pytest.mark.parametrize("payload", sorted(COMFY_COMMENTS))
def test_comfyui_graph_in_a_jpeg_user_comment(tmp_path: Path, ifd: str, code: str, payload: str):
    exif = Image.Exif()
    comment = _user_comment(COMFY_COMMENTS[payload], code)
    if ifd == "ifd0":
        exif[0x9286] = comment
    else:
        exif.get_ifd(0x8769)[0x9286] = comment
    path = tmp_path / "comfy.jpg"
    Image.new("RGB", (8, 8), "red").save(path, exif=exif.tobytes())
    (evidence,) = scan_metadata(path).evidence
    assert (evidence.marker, evidence.tool, evidence.source) == (
        "generator:comfyui",
        "ComfyUI",
        "exif",
    )
    assert "UserComment" in evidence.detail
    assert "a cat" not in evidence.detail  # prompts stay out unless the policy allows them


def test_json_in_a_user_comment_that_is_no_comfyui_graph_is_not_comfyui(tmp_path: Path):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = _user_comment(json.dumps({"nodes": "x", "class_type": 1}), "a")
    path = tmp_path / "other.jpg"
    Image.new("RGB", (8, 8)).save(path, exif=exif.tobytes())
    assert [e.marker for e in scan_metadata(path).evidence] == []


def test_comfyui_animated_webp_make_and_model(tmp_path: Path):
    """ComfyUI's SaveAnimatedWEBP: Model = prompt:{...}, Make = workflow:{...}, further
    extra_pnginfo keys counting down from ImageDescription."""
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "blue", "green")]
    exif = frames[0].getexif()
    exif[0x0110] = "prompt:" + json.dumps(PROMPT)
    exif[0x010F] = "workflow:" + json.dumps(WORKFLOW)
    exif[0x010E] = "extra:" + json.dumps({"seed": 1})
    path = tmp_path / "ComfyUI_00001_.webp"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, exif=exif)
    found = [e for e in scan_metadata(path).evidence if e.marker.startswith("generator:")]
    assert [(e.marker, e.source) for e in found] == [("generator:comfyui", "exif")]
    assert "WebP EXIF 'Make', 'Model'" in found[0].detail


# ------------------------------------------------------------------ C2PA


@pytest.fixture(scope="module")
def dev_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    from provenance.workspace import init_workspace

    return init_workspace(tmp_path_factory.mktemp("ws")).config


def _signed(tmp_path: Path, config: Config, manifest: dict[str, Any], name: str) -> Path:
    src = tmp_path / "src.jpg"
    Image.new("RGB", (64, 48), (30, 90, 160)).save(src, quality=90)
    out = tmp_path / name
    # Today's c2pa refuses to sign a c2pa.created without a digitalSourceType (the services
    # signed these before the rule): its check after signing is turned off to write them.
    settings = c2pa_settings(config.trust_pem())
    settings["verify"]["verify_after_sign"] = False
    builder = c2pa.Builder(manifest, c2pa.Context.from_dict(settings))
    with (
        signer_from_config(config).session() as signer,
        open(src, "rb") as fh,
        open(out, "w+b") as dst,
    ):
        builder.sign(signer, "image/jpeg", fh, dst)
    return out


def _actions(*actions: dict[str, Any], label: str = "c2pa.actions") -> dict[str, Any]:
    return {"label": label, "data": {"actions": list(actions)}}


# Manifest shapes as the services wrote them (reference: the CAI example assets and signed
# files seen in the wild), none with a digitalSourceType.
MANIFESTS = {
    "bing-image-creator": (
        {
            "claim_generator": "Microsoft_Responsible_AI/1.0",
            "claim_generator_info": [
                {"name": "Microsoft Responsible AI Image Provenance", "version": "1.0"}
            ],
            "assertions": [
                _actions(
                    {
                        "action": "c2pa.created",
                        "softwareAgent": "Image Creator from Designer",
                        "description": "AI Generated Image",
                    }
                )
            ],
        },
        "c2pa-generator:microsoft-designer",
        Origin.AI_GENERATED,
    ),
    "designer-agent-only": (
        {
            "claim_generator_info": [{"name": "some uploader"}],
            "assertions": [
                _actions({"action": "c2pa.created", "softwareAgent": "Image Creator from Designer"})
            ],
        },
        "c2pa-generator:microsoft-designer",
        Origin.AI_GENERATED,
    ),
    "firefly-2023": (
        {
            "claim_generator": "Adobe_Firefly adobe_c2pa/0.5.0 c2pa-rs/0.20.0",
            "claim_generator_info": [{"name": "Adobe_Firefly"}],
            "assertions": [
                _actions(
                    {
                        "action": "c2pa.created",
                        "softwareAgent": "Adobe Firefly Pipeline",
                        "parameters": {
                            "firefly.operation": "text_to_image",
                            "firefly.version": "1",
                        },
                    }
                )
            ],
        },
        "c2pa-generator:firefly",
        Origin.AI_GENERATED,
    ),
    "firefly-vendor-assertion": (
        {
            "claim_generator_info": [{"name": "an exporter"}],
            "assertions": [
                _actions({"action": "c2pa.created"}),
                {"label": "com.adobe.generative-ai", "data": {"model": "firefly-image-1"}},
            ],
        },
        "c2pa-generator:firefly",
        Origin.AI_GENERATED,
    ),
    "firefly-edit": (
        {
            "claim_generator_info": [{"name": "an editor"}],
            "assertions": [
                _actions(
                    {"action": "c2pa.created"},
                    {"action": "c2pa.edited", "softwareAgent": "Adobe Firefly"},
                )
            ],
        },
        "c2pa-generative-edit:firefly",
        Origin.AI_MODIFIED,
    ),
    "dall-e": (
        {
            "claim_generator_info": [{"name": "ChatGPT"}],
            "assertions": [
                _actions(
                    {"action": "c2pa.created", "softwareAgent": {"name": "DALL·E"}},
                    label="c2pa.actions.v2",
                )
            ],
        },
        "c2pa-generator:openai",
        Origin.AI_GENERATED,
    ),
}


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_c2pa_generator_named_without_a_digital_source_type(tmp_path, dev_config, name):
    manifest, marker, origin = MANIFESTS[name]
    path = _signed(tmp_path, dev_config, manifest, f"{name}.jpg")
    store = json.loads(c2pa.Reader(str(path), context=c2pa_context(dev_config)).json())
    assert "digitalSourceType" not in json.dumps(store["manifests"])  # the case under test
    reading = read_asset(path, dev_config)
    assert reading.origin is origin
    (found,) = [e for e in reading.evidence if e.marker == marker]
    assert "without a digital source type" in found.detail
    assert found.validation is not None


@pytest.mark.parametrize(
    "manifest",
    [
        {  # a plain Photoshop manifest is no AI evidence
            "claim_generator_info": [{"name": "Adobe_Photoshop"}],
            "assertions": [
                _actions({"action": "c2pa.created", "softwareAgent": "Adobe Photoshop"})
            ],
        },
        {  # ChatGPT only converting an upload names no generator
            "claim_generator_info": [{"name": "ChatGPT"}],
            "assertions": [_actions({"action": "c2pa.created"}, {"action": "c2pa.converted"})],
        },
    ],
    ids=["photoshop", "chatgpt-converted"],
)
def test_c2pa_manifests_naming_no_generator_are_not_ai(tmp_path, dev_config, manifest):
    reading = read_asset(_signed(tmp_path, dev_config, manifest, "x.jpg"), dev_config)
    assert reading.origin is not Origin.AI_GENERATED
    assert reading.origin is not Origin.AI_MODIFIED
    assert not [e for e in reading.evidence if e.marker.startswith("c2pa-gen")]


def test_every_c2pa_generator_has_policy_entries_and_a_case():
    policy = Policy()
    for gen in active().c2pa:
        assert policy.signal_for(f"c2pa-generator:{gen.slug}") is Signal.AI_GENERATED
        assert policy.signal_for(f"c2pa-generative-edit:{gen.slug}") is Signal.AI_MODIFIED
        assert any(case[1].endswith(":" + gen.slug) for case in MANIFESTS.values()), gen.slug
