"""scan_metadata: real generator and C2PA samples, XMP, EXIF, generator metadata, weak signals."""

from __future__ import annotations

import io
import struct
import time
from pathlib import Path

import mutagen.flac
import mutagen.id3
import pytest
from PIL import Image, PngImagePlugin, TiffImagePlugin

from provenance.config import load_config
from provenance.errors import MalformedAsset
from provenance.markers.metadata import MetadataScan, scan_metadata
from provenance.model import Signal

FIXTURES = Path(__file__).parents[2].parent / "shared" / "fixtures"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
IPTC_HTTPS = "https://cv.iptc.org/newscodes/digitalsourcetype/"
C2PA_DST = "http://c2pa.org/digitalsourcetype/trainedAlgorithmicData"
COMFY_PROMPT = (
    '{"3": {"class_type": "KSampler", "inputs": {"seed": 1}}, '
    '"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl.safetensors"}}, '
    '"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "portrait of Jane Doe"}}}'
)


def fixture(rel: str) -> Path:
    path = FIXTURES / rel
    if not path.exists():
        pytest.skip(f"../shared/fixtures/{rel} is not beside the checkout")
    return path


def by_marker(scan: MetadataScan) -> dict[str, object]:
    return {e.marker: e for e in scan.evidence}


def markers(path: Path, **kwargs: bool) -> set[str]:
    return {e.marker for e in scan_metadata(path, **kwargs).evidence}


# ---------------------------------------------------------------- real third-party samples

GENERATOR_FIXTURES = [
    ("a1111.png", "generator:automatic1111", "AUTOMATIC1111", "png-text"),
    ("a1111.jpg", "generator:automatic1111", "AUTOMATIC1111", "exif"),
    ("a1111_text_after_idat.png", "generator:automatic1111", "AUTOMATIC1111", "png-text"),
    ("comfyui.png", "generator:comfyui", "ComfyUI", "png-text"),
    ("invokeai_v3.png", "generator:invokeai", "InvokeAI", "png-text"),
    ("novelai.png", "generator:novelai", "NovelAI", "png-text"),
]


@pytest.mark.parametrize(
    ("name", "marker", "tool", "source"), GENERATOR_FIXTURES, ids=[g[0] for g in GENERATOR_FIXTURES]
)
def test_generator_samples(name: str, marker: str, tool: str, source: str) -> None:
    scan = scan_metadata(fixture(f"generators/{name}"))
    evidence = [e for e in scan.evidence if e.marker == marker]
    assert len(evidence) == 1
    assert evidence[0].tool == tool
    assert evidence[0].source == source
    assert evidence[0].signal is Signal.NONE  # the caller applies the policy
    assert not scan.has_c2pa


def test_a1111_detail_summarises_settings_but_not_the_prompt() -> None:
    path = fixture("generators/a1111.png")
    (evidence,) = scan_metadata(path).evidence
    assert evidence.detail.startswith(
        "PNG tEXt 'parameters' (AUTOMATIC1111): Steps: 15, Sampler: UniPC"
    )
    assert "duck" not in evidence.detail
    (stored,) = scan_metadata(path, store_prompts=True).evidence
    assert "photo of a duck" in stored.detail
    assert stored.extra["prompt"] == "photo of a duck"


def test_comfyui_sample_summary_names_the_checkpoint_not_the_prompt() -> None:
    (evidence,) = scan_metadata(fixture("generators/comfyui.png")).evidence
    assert "'prompt', 'workflow'" in evidence.detail
    assert "v1-5-pruned-emaonly.ckpt" in evidence.detail
    assert "CLIPTextEncode" not in evidence.detail


def test_empty_file_is_malformed_and_named() -> None:
    path = fixture("generators/empty_file.png")
    with pytest.raises(MalformedAsset) as caught:
        scan_metadata(path)
    assert caught.value.path == str(path)
    assert caught.value.reason == "empty file (0 bytes)"
    assert str(path) in str(caught.value)


C2PA_FIXTURES = [
    ("Firefly_tabby_cat.jpg", True),
    ("C.jpg", True),
    ("CA.jpg", True),
    ("XCA.jpg", True),
    ("E-sig-CA.jpg", True),
    ("car-es-Ps-Cr.jpg", True),
    ("video1.mp4", True),
    ("no_manifest.jpg", False),
    ("sample1.wav", False),
]


@pytest.mark.parametrize(("name", "embedded"), C2PA_FIXTURES, ids=[c[0] for c in C2PA_FIXTURES])
def test_c2pa_manifest_presence(name: str, embedded: bool) -> None:
    scan = scan_metadata(fixture(f"c2pa/{name}"))
    assert scan.has_c2pa is embedded
    assert scan.remote_manifest is None


def test_remote_manifest_reference_is_reported_not_fetched() -> None:
    scan = scan_metadata(fixture("c2pa/cloud.jpg"))
    assert not scan.has_c2pa
    assert scan.remote_manifest == (
        "https://cai-manifests.adobe.com/manifests/adobe-urn-uuid-5f37e182-3687-462e-a7fb-573462780391"
    )


def test_local_jumbf_provenance_reference_is_not_remote() -> None:
    # no_manifest.jpg's XMP still says dcterms:provenance="self#jumbf=/c2pa/...".
    assert scan_metadata(fixture("c2pa/no_manifest.jpg")).remote_manifest is None


def test_media_types_of_samples() -> None:
    assert scan_metadata(fixture("c2pa/video1.mp4")).media_type == "video/mp4"
    assert scan_metadata(fixture("c2pa/sample1.wav")).media_type == "audio/wav"


# ---------------------------------------------------------------- XMP in every image container


def xmp_packet(body: str = "", attributes: str = "") -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dcterms="http://purl.org/dc/terms/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"{attributes}>{body}</rdf:Description>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def dst_packet(uri: str, form: str) -> bytes:
    if form == "attribute":
        return xmp_packet(attributes=f' Iptc4xmpExt:DigitalSourceType="{uri}"')
    if form == "element":
        return xmp_packet(f"<Iptc4xmpExt:DigitalSourceType>{uri}</Iptc4xmpExt:DigitalSourceType>")
    return xmp_packet(f'<Iptc4xmpExt:DigitalSourceType rdf:resource="{uri}"/>')


def save_with_xmp(tmp_path: Path, fmt: str, packet: bytes) -> Path:
    image = Image.new("RGB", (4, 4), (90, 120, 150))
    path = tmp_path / f"plate.{fmt.lower()}"
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", packet.decode())
        image.save(path, fmt, pnginfo=info)
    elif fmt == "TIFF":
        ifd = TiffImagePlugin.ImageFileDirectory_v2()
        ifd[700] = packet
        ifd.tagtype[700] = 1
        image.save(path, fmt, tiffinfo=ifd)
    else:
        image.save(path, fmt, xmp=packet)
    return path


DST_CASES = [
    (IPTC + "trainedAlgorithmicMedia", "dst:trainedAlgorithmicMedia"),
    (IPTC_HTTPS + "trainedAlgorithmicMedia", "dst:trainedAlgorithmicMedia"),
    (IPTC + "compositeWithTrainedAlgorithmicMedia", "dst:compositeWithTrainedAlgorithmicMedia"),
    (
        IPTC_HTTPS + "compositeWithTrainedAlgorithmicMedia",
        "dst:compositeWithTrainedAlgorithmicMedia",
    ),
    (IPTC + "digitalCapture", "dst:digitalCapture"),
    (IPTC_HTTPS + "digitalCapture", "dst:digitalCapture"),
    (C2PA_DST, "dst:trainedAlgorithmicData"),
]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
@pytest.mark.parametrize(("uri", "marker"), DST_CASES, ids=[c[0] for c in DST_CASES])
def test_digital_source_type_in_each_container(
    tmp_path: Path, fmt: str, uri: str, marker: str
) -> None:
    scan = scan_metadata(save_with_xmp(tmp_path, fmt, dst_packet(uri, "attribute")))
    (evidence,) = scan.evidence
    assert evidence.marker == marker
    assert evidence.source == "xmp"
    assert uri in evidence.detail


@pytest.mark.parametrize("form", ["attribute", "element", "resource"])
def test_digital_source_type_forms(tmp_path: Path, form: str) -> None:
    packet = dst_packet(IPTC_HTTPS + "trainedAlgorithmicMedia", form)
    assert markers(save_with_xmp(tmp_path, "JPEG", packet)) == {"dst:trainedAlgorithmicMedia"}


def test_ai_system_fields(tmp_path: Path) -> None:
    packet = xmp_packet(
        "<Iptc4xmpExt:AISystemUsed>Imagen 3</Iptc4xmpExt:AISystemUsed>"
        "<Iptc4xmpExt:AISystemVersionUsed>3.0.1</Iptc4xmpExt:AISystemVersionUsed>"
        "<Iptc4xmpExt:AIPromptWriterName>Studio Art Dept</Iptc4xmpExt:AIPromptWriterName>"
        "<Iptc4xmpExt:AIPromptInformation>a castle at dusk</Iptc4xmpExt:AIPromptInformation>"
    )
    path = save_with_xmp(tmp_path, "PNG", packet)
    evidence = by_marker(scan_metadata(path))["iptc:AISystemUsed"]
    assert evidence.tool == "Imagen 3"
    assert "AISystemVersionUsed = 3.0.1" in evidence.detail
    assert "AIPromptWriterName = Studio Art Dept" in evidence.detail
    assert "castle" not in evidence.detail
    stored = by_marker(scan_metadata(path, store_prompts=True))["iptc:AISystemUsed"]
    assert "a castle at dusk" in stored.detail


def test_xmp_with_entity_declarations_is_not_expanded(tmp_path: Path) -> None:
    laughs = '<!DOCTYPE x [<!ENTITY a "' + "a" * 100 + '">'
    laughs += "".join(
        f'<!ENTITY {c} "&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};">'
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    laughs += "]>"
    packet = laughs.encode() + dst_packet(IPTC + "trainedAlgorithmicMedia", "attribute")
    packet = packet.replace(b'rdf:about=""', b'rdf:about="&i;"')
    started = time.perf_counter()
    scan = scan_metadata(save_with_xmp(tmp_path, "JPEG", packet))
    assert time.perf_counter() - started < 0.5
    assert [e.marker for e in scan.evidence] == ["dst:trainedAlgorithmicMedia"]


def test_malformed_xmp_falls_back_to_pattern_match(tmp_path: Path) -> None:
    packet = xmp_packet(attributes=f' Iptc4xmpExt:DigitalSourceType="{IPTC}compositeSynthetic"')
    packet = packet.replace(b"</rdf:Description>", b"<unclosed></rdf:Description>")
    assert markers(save_with_xmp(tmp_path, "JPEG", packet)) == {"dst:compositeSynthetic"}


def test_xmp_creator_tool_is_a_weak_keyword(tmp_path: Path) -> None:
    packet = xmp_packet(attributes=' xmp:CreatorTool="Adobe Firefly Image 3"')
    (evidence,) = scan_metadata(save_with_xmp(tmp_path, "WEBP", packet)).evidence
    assert (evidence.marker, evidence.source, evidence.tool) == (
        "keyword:firefly",
        "xmp",
        "Adobe Firefly",
    )


def test_midjourney_png_description_and_xmp(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "someuser")
    info.add_itxt(
        "Description", "a lighthouse in fog --ar 16:9 Job ID: 0f3a9c2e-1d2b-4c5d-8e9f-0a1b2c3d4e5f"
    )
    info.add_itxt(
        "XML:com.adobe.xmp",
        dst_packet(IPTC_HTTPS + "trainedAlgorithmicMedia", "attribute").decode(),
    )
    path = tmp_path / "mj.png"
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    found = by_marker(scan_metadata(path))
    assert set(found) == {"generator:midjourney", "dst:trainedAlgorithmicMedia"}
    assert "0f3a9c2e-1d2b-4c5d-8e9f-0a1b2c3d4e5f" in found["generator:midjourney"].detail
    assert "lighthouse" not in found["generator:midjourney"].detail


# ---------------------------------------------------------------- generators' PNG text chunks

PNG_TEXT_CASES = [
    (
        {"parameters": '{"sui_image_params": {"model": "juggernaut", "steps": 30}}'},
        "generator:swarmui",
        "SwarmUI",
    ),
    (
        {
            "parameters": "cat\nSteps: 30, Sampler: DPM++ 2M, Version: Fooocus v2.1.865",
            "fooocus_scheme": "a1111",
        },
        "generator:fooocus",
        "Fooocus",
    ),
    (
        {"parameters": "cat\nSteps: 20, Sampler: Euler, Version: f2.0.1v1.10.1-previous"},
        "generator:automatic1111",
        "Forge",
    ),
    (
        {"sd-metadata": '{"model_weights": "stable-diffusion-1.5", "app_version": "2.3.0"}'},
        "generator:invokeai",
        "InvokeAI",
    ),
    ({"Dream": '"a cat" -s 50 -S 1234'}, "generator:invokeai", "InvokeAI"),
    ({"prompt": COMFY_PROMPT}, "generator:comfyui", "ComfyUI"),
    ({"workflow": '{"last_node_id": 9, "nodes": [{"id": 1}]}'}, "generator:comfyui", "ComfyUI"),
    (
        {"Title": "AI generated image", "Source": "NovelAI Diffusion V4 4F49EC75"},
        "generator:novelai",
        "NovelAI",
    ),
]


@pytest.mark.parametrize(
    ("chunks", "marker", "tool"), PNG_TEXT_CASES, ids=[c[1] + ":" + c[2] for c in PNG_TEXT_CASES]
)
def test_generator_png_text(tmp_path: Path, chunks: dict[str, str], marker: str, tool: str) -> None:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    path = tmp_path / "out.png"
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    evidence = [e for e in scan_metadata(path).evidence if e.marker.startswith("generator:")]
    assert [(e.marker, e.tool) for e in evidence] == [(marker, tool)]


def test_compressed_itxt_parameters(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("parameters", "a cat\nSteps: 20, Sampler: Euler a, Model: sdxl", zip=True)
    path = tmp_path / "i.png"
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    (evidence,) = scan_metadata(path).evidence
    assert (
        evidence.detail
        == "PNG iTXt 'parameters' (AUTOMATIC1111): Steps: 20, Sampler: Euler a, Model: sdxl"
    )


def test_comfyui_prompt_text_stays_out_unless_allowed(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", COMFY_PROMPT)
    path = tmp_path / "c.png"
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    (plain,) = scan_metadata(path).evidence
    assert "Jane Doe" not in plain.detail
    assert "3 nodes; model sdxl.safetensors" in plain.detail
    (stored,) = scan_metadata(path, store_prompts=True).evidence
    assert "portrait of Jane Doe" in stored.detail


# ---------------------------------------------------------------- EXIF


def exif_image(
    tmp_path: Path, fmt: str, tags: dict[int, str | bytes], user_comment: bytes = b""
) -> Path:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[tag] = value
    if user_comment:
        exif.get_ifd(0x8769)[0x9286] = user_comment
    path = tmp_path / f"exif.{fmt.lower()}"
    Image.new("RGB", (4, 4)).save(path, fmt, exif=exif.tobytes())
    return path


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_comfyui_exif_model_and_make(tmp_path: Path, fmt: str) -> None:
    tags = {0x0110: "prompt:" + COMFY_PROMPT, 0x010F: 'workflow:{"nodes": []}'}
    (evidence,) = scan_metadata(exif_image(tmp_path, fmt, tags)).evidence
    assert (evidence.marker, evidence.source, evidence.tool) == (
        "generator:comfyui",
        "exif",
        "ComfyUI",
    )
    assert "sdxl.safetensors" in evidence.detail


PARAMETERS = "a red fox\nNegative prompt: blurry\nSteps: 25, Sampler: Euler a, Seed: 7, Model: sdxl"


@pytest.mark.parametrize(
    "user_comment",
    [
        b"UNICODE\x00" + PARAMETERS.encode("utf-16-be"),
        b"UNICODE\x00" + PARAMETERS.encode("utf-16-le"),
        b"ASCII\x00\x00\x00" + PARAMETERS.encode(),
    ],
    ids=["unicode-be", "unicode-le", "ascii"],
)
def test_a1111_exif_user_comment(tmp_path: Path, user_comment: bytes) -> None:
    (evidence,) = scan_metadata(exif_image(tmp_path, "JPEG", {}, user_comment)).evidence
    assert evidence.marker == "generator:automatic1111"
    assert (
        evidence.detail
        == "EXIF 'UserComment' (AUTOMATIC1111): Steps: 25, Sampler: Euler a, Model: sdxl"
    )


def test_flux_software_tag(tmp_path: Path) -> None:
    tags = {
        0x0131: "AI generated;txt2img;flux",
        0x010F: "Black Forest Labs",
        0x010E: "an old sailor",
    }
    path = exif_image(tmp_path, "JPEG", tags)
    (evidence,) = scan_metadata(path).evidence
    assert (evidence.marker, evidence.tool) == ("generator:flux", "FLUX")
    assert "sailor" not in evidence.detail
    (stored,) = scan_metadata(path, store_prompts=True).evidence
    assert "an old sailor" in stored.detail


def test_fooocus_software_tag(tmp_path: Path) -> None:
    path = exif_image(tmp_path, "JPEG", {0x0131: "Fooocus v2.5.5"})
    assert markers(path) == {"generator:fooocus"}


@pytest.mark.parametrize(
    ("tag", "text", "expected"),
    [
        (0x0131, "Midjourney", {"keyword:midjourney"}),
        (0x0110, "Gemini 2.5 Flash", {"keyword:gemini"}),
        (0x010E, "Made in Midjourney, graded in Resolve", {"keyword:midjourney"}),
        (0x010E, "Backstage at the Runway show, Paris", set()),  # a bare word in free text
        (0x0131, "Adobe Photoshop 25.0", set()),
    ],
    ids=["software", "model", "description", "ordinary-word", "no-ai-tool"],
)
def test_weak_keywords(tmp_path: Path, tag: int, text: str, expected: set[str]) -> None:
    scan = scan_metadata(exif_image(tmp_path, "JPEG", {tag: text}))
    assert {e.marker for e in scan.evidence} == expected
    assert all(e.source == "exif" for e in scan.evidence)


# ---------------------------------------------------------------- audio


def minimal_flac() -> bytes:
    info = struct.pack(">HH", 4096, 4096) + b"\x00" * 6
    info += ((44100 << 44) | (1 << 41) | (15 << 36)).to_bytes(8, "big") + b"\x00" * 16
    return b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info


def test_flac_vorbis_comments_via_mutagen(tmp_path: Path) -> None:
    path = tmp_path / "take.flac"
    path.write_bytes(minimal_flac())
    tags = mutagen.flac.FLAC(path)
    tags["prompt"] = COMFY_PROMPT
    tags["workflow"] = '{"nodes": []}'
    tags["encoder"] = "ElevenLabs"
    tags.save()
    scan = scan_metadata(path)
    assert scan.media_type == "audio/flac"
    assert {(e.marker, e.source) for e in scan.evidence} == {
        ("generator:comfyui", "container-tag"),
        ("keyword:elevenlabs", "container-tag"),
    }


def test_mp3_id3_txxx_and_geob_c2pa_via_mutagen(tmp_path: Path) -> None:
    path = tmp_path / "cue.mp3"
    path.write_bytes((bytes([0xFF, 0xFB, 0x90, 0x64]) + b"\x00" * 413) * 3)
    tag = mutagen.id3.ID3()
    tag.add(mutagen.id3.TXXX(encoding=1, desc="workflow", text='{"last_node_id": 3, "nodes": []}'))
    tag.add(
        mutagen.id3.GEOB(
            encoding=0,
            mime="application/c2pa",
            filename="c2pa",
            desc="c2pa manifest store",
            data=b"jumb",
        )
    )
    tag.add(mutagen.id3.TSSE(encoding=3, text="Suno v4.5"))
    tag.save(path, v2_version=3)
    scan = scan_metadata(path)
    assert scan.media_type == "audio/mpeg"
    assert scan.has_c2pa
    assert {e.marker for e in scan.evidence} == {"generator:comfyui", "keyword:suno"}


def test_id3_wrapped_flac_is_flac_with_c2pa(tmp_path: Path) -> None:
    path = tmp_path / "signed.flac"
    path.write_bytes(minimal_flac())
    tag = mutagen.id3.ID3()
    tag.add(
        mutagen.id3.GEOB(
            encoding=0,
            mime="application/x-c2pa-manifest-store",
            filename="c2pa",
            desc="c2pa",
            data=b"x",
        )
    )
    tag.save(path)
    scan = scan_metadata(path)
    assert (scan.media_type, scan.has_c2pa) == ("audio/flac", True)


# ---------------------------------------------------------------- file names and unknown types


@pytest.mark.parametrize(
    ("name", "marker"),
    [
        ("ComfyUI_00001_.png", "filename:comfyui"),
        ("ComfyUI_temp_abcd_00042_.png", "filename:comfyui"),
        (
            "someuser_a_lighthouse_in_fog_0f3a9c2e-1d2b-4c5d-8e9f-0a1b2c3d4e5f_2.png",
            "filename:midjourney",
        ),
        ("00012-3141592653.png", "filename:automatic1111"),
        ("DALL·E 2024-01-02 10.11.12 - a cat.png", "filename:dall-e"),
        ("sh010_comp_v003.png", None),
        ("IMG_4711.png", None),
    ],
)
def test_filename_patterns(tmp_path: Path, name: str, marker: str | None) -> None:
    path = tmp_path / name
    Image.new("RGB", (2, 2)).save(path, "PNG")
    scan = scan_metadata(path)
    assert [e.marker for e in scan.evidence] == ([marker] if marker else [])
    if marker:
        (evidence,) = scan.evidence
        assert evidence.source == "filename"
        assert "lighthouse" not in evidence.detail  # the name can carry the prompt


def test_unknown_text_file_has_no_evidence(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("call sheet: generated with care\n")
    scan = scan_metadata(path)
    assert scan == MetadataScan("text/plain", False, None, ())


def test_every_marker_emitted_is_known_to_the_default_policy(tmp_path: Path) -> None:
    policy = load_config(None).policy
    emitted = {marker for _n, marker, _t, _s in GENERATOR_FIXTURES}
    emitted |= {marker for _c, marker, _t in PNG_TEXT_CASES}
    emitted |= {marker for _u, marker in DST_CASES}
    emitted |= {
        "generator:flux",
        "generator:midjourney",
        "generator:stealth-pnginfo",
        "iptc:AISystemUsed",
    }
    emitted |= {"keyword:midjourney", "filename:comfyui"}
    unknown = {
        m for m in emitted if policy.signal_for(m) is Signal.NONE and m != "dst:digitalCapture"
    }
    assert unknown == set()


def test_small_files_scan_fast(tmp_path: Path) -> None:
    paths = []
    for i in range(200):
        out = io.BytesIO()
        Image.new("RGB", (8, 8), (i, 0, 0)).save(out, "PNG" if i % 2 else "JPEG")
        path = tmp_path / f"f{i}.img"
        path.write_bytes(out.getvalue())
        paths.append(path)
    started = time.perf_counter()
    for path in paths:
        scan_metadata(path)
    assert (time.perf_counter() - started) / len(paths) < 0.002  # generous: ~5,000/s expected


def _png_with_text(*chunks: tuple[str, str]) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks:
        info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", (2, 2)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


HOSTILE_TEXT = {
    "long_settings_line": lambda: _png_with_text(("parameters", "Steps: 1, " + "a" * 3_000_000)),
    "doctype_xmp": lambda: _png_with_text(("XML:com.adobe.xmp", "<!DOCTYPE x>" + "a" * 3_000_000)),
    "big_xmp": lambda: _png_with_text(
        ("XML:com.adobe.xmp", xmp_packet("<a>b</a>" * 400_000).decode())
    ),
    "many_descriptions": lambda: _png_with_text(*[("Description", "x " * 5000)] * 3000),
    "many_comfy_prompts": lambda: _png_with_text(*[("prompt", COMFY_PROMPT * 1000)] * 40),
}


@pytest.mark.parametrize("name", list(HOSTILE_TEXT))
def test_hostile_text_is_examined_in_bounded_time(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    path.write_bytes(HOSTILE_TEXT[name]())
    started = time.perf_counter()
    scan_metadata(path, store_prompts=True)
    assert time.perf_counter() - started < 1.0


def test_a_mark_repeated_thousands_of_times_is_reported_a_few_times(tmp_path: Path) -> None:
    path = tmp_path / "repeated.png"
    path.write_bytes(_png_with_text(*[("prompt", COMFY_PROMPT)] * 5000))
    started = time.perf_counter()
    scan = scan_metadata(path)
    assert time.perf_counter() - started < 1.0
    assert [e.marker for e in scan.evidence] == ["generator:comfyui"]
