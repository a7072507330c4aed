"""Classification of real files made by other people's tools (../shared/fixtures), and of files
built here with the real c2pa library for the cases the fixtures do not cover."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import c2pa
import pytest
from PIL import Image

from provenance.c2pa.context import c2pa_context
from provenance.c2pa.signing import signer_from_config
from provenance.c2pa.tagging import Tag, write_tag
from provenance.config import Config
from provenance.errors import MalformedAsset
from provenance.model import Origin, Status, Validation
from provenance.pipeline.classify import read_asset
from tests.conftest import FIXTURES, fixture_file

EXPECTED = [
    ("c2pa/Firefly_tabby_cat.jpg", Origin.AI_GENERATED, Validation.VALID),
    ("c2pa/car-es-Ps-Cr.jpg", Origin.UNKNOWN, Validation.VALID),
    ("c2pa/C.jpg", Origin.UNKNOWN, Validation.VALID),
    ("c2pa/CA.jpg", Origin.UNKNOWN, Validation.VALID),
    ("c2pa/XCA.jpg", Origin.UNKNOWN, Validation.INVALID),
    ("c2pa/E-sig-CA.jpg", Origin.UNKNOWN, Validation.INVALID),
    ("c2pa/no_manifest.jpg", Origin.UNKNOWN, None),
    ("c2pa/video1.mp4", Origin.UNKNOWN, Validation.VALID),
    ("c2pa/sample1.wav", Origin.UNKNOWN, None),
    ("generators/a1111.png", Origin.AI_GENERATED, None),
    ("generators/a1111.jpg", Origin.AI_GENERATED, None),
    ("generators/a1111_text_after_idat.png", Origin.AI_GENERATED, None),
    ("generators/comfyui.png", Origin.AI_GENERATED, None),
    ("generators/invokeai_v3.png", Origin.AI_GENERATED, None),
    ("generators/novelai.png", Origin.AI_GENERATED, None),
]


@pytest.fixture(scope="module")
def dev_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    from provenance.workspace import init_workspace

    return init_workspace(tmp_path_factory.mktemp("ws")).config


@pytest.mark.parametrize("rel, origin, validation", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_fixture_is_classified_as_its_readme_says(
    rel: str, origin: Origin, validation: Validation | None
) -> None:
    reading = read_asset(fixture_file(rel), Config())
    assert reading.origin is origin
    assert (reading.c2pa.validation if reading.c2pa else None) is validation


def test_firefly_names_its_tool_and_is_untrusted_but_intact() -> None:
    reading = read_asset(fixture_file("c2pa/Firefly_tabby_cat.jpg"), Config())
    assert reading.tool == "Adobe Firefly"
    ai = [e for e in reading.evidence if e.marker == "dst:trainedAlgorithmicMedia"]
    assert ai and ai[0].validation is Validation.VALID


def test_the_cai_test_root_as_anchor_makes_c_jpg_trusted(tmp_path: Path) -> None:
    anchors = (fixture_file("c2pa/test_cert_root_bundle.pem"),)
    reading = read_asset(fixture_file("c2pa/C.jpg"), Config(trust_anchors=anchors))
    assert reading.c2pa is not None and reading.c2pa.validation is Validation.TRUSTED
    assert reading.origin is Origin.UNKNOWN  # algorithmicMedia is not generative by default


def test_tampered_files_show_why_they_fail() -> None:
    xca = read_asset(fixture_file("c2pa/XCA.jpg"), Config())
    assert xca.c2pa is not None and "assertion.dataHash.mismatch" in xca.c2pa.failures
    esig = read_asset(fixture_file("c2pa/E-sig-CA.jpg"), Config())
    assert esig.c2pa is not None and "claimSignature.mismatch" in esig.c2pa.failures


def test_a_parent_ingredient_manifest_is_read_too() -> None:
    reading = read_asset(fixture_file("c2pa/video1.mp4"), Config())
    assert reading.c2pa is not None and len(reading.c2pa.manifests) == 2


def test_the_remote_manifest_is_read_from_its_sidecar_offline(tmp_path: Path) -> None:
    reading = read_asset(fixture_file("c2pa/cloud.jpg"), Config())
    assert reading.c2pa is not None and reading.c2pa.source == "c2pa-sidecar"
    assert reading.c2pa.validation is Validation.VALID
    alone = tmp_path / "cloud.jpg"
    shutil.copy(fixture_file("c2pa/cloud.jpg"), alone)
    reading = read_asset(alone, Config())
    assert reading.remote_manifest and reading.remote_manifest.startswith("https://")
    assert any(e.marker == "c2pa:remote" and "not fetched" in e.detail for e in reading.evidence)


_READ_IN_CHILD = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from provenance.pipeline.classify import read_asset
from provenance.config import Config
for name in sys.argv[1:]:
    read_asset(Path(name), Config())
"""

_READ_WITH_DEFAULTS = """
import c2pa, sys
with open(sys.argv[1], "rb") as fh:
    try:
        c2pa.Reader("image/jpeg", fh)
    except Exception:
        pass
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_reading_never_opens_a_network_connection(tmp_path: Path) -> None:
    """c2pa fetches remote manifests by default; ours must not even try (seen with strace)."""
    alone = tmp_path / "cloud.jpg"
    shutil.copy(fixture_file("c2pa/cloud.jpg"), alone)
    files = [str(alone)] + [str(p) for p in sorted((FIXTURES / "c2pa").glob("*.jpg"))]
    root = str(Path(__file__).resolve().parents[2])

    def connects(code: str, *args: str) -> list[str]:
        trace = tmp_path / "trace.txt"
        subprocess.run(
            [
                "strace",
                "-f",
                "-e",
                "trace=connect",
                "-o",
                str(trace),
                sys.executable,
                "-c",
                code,
                *args,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return [
            ln
            for ln in trace.read_text().splitlines()
            if "connect(" in ln and ("AF_INET" in ln or "AF_INET6" in ln)
        ]

    # The control: c2pa's own defaults do reach for the network on this file.
    assert connects(_READ_WITH_DEFAULTS, str(fixture_file("c2pa/cloud.jpg"))) or pytest.skip(
        "c2pa did not try the network even with defaults (no resolver here?)"
    )
    assert connects(_READ_IN_CHILD.format(root=root), *files) == []


@pytest.mark.parametrize(
    "name, payload",
    [
        ("empty.png", b""),
        ("truncated.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"),
        ("truncated.jpg", b"\xff\xd8\xff\xe1\xff\xf0Exif\x00\x00MM"),
    ],
    ids=["empty", "truncated-png", "truncated-jpeg"],
)
def test_empty_and_truncated_files_are_a_clear_error_naming_the_file(
    tmp_path: Path, name: str, payload: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(payload)
    with pytest.raises(MalformedAsset) as err:
        read_asset(path, Config())
    assert str(path) in str(err.value)


def test_a_wrong_extension_is_sniffed_from_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "actually_a_png.jpg"
    shutil.copy(fixture_file("generators/comfyui.png"), path)
    reading = read_asset(path, Config())
    assert reading.media_type == "image/png" and reading.origin is Origin.AI_GENERATED


def _xmp(source_type: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'Iptc4xmpExt:DigitalSourceType="{source_type}"/></rdf:RDF></x:xmpmeta>'
    ).encode()


@pytest.mark.parametrize(
    "source_type, origin",
    [
        ("http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture", Origin.NON_AI),
        (
            "https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
            Origin.AI_GENERATED,
        ),
        (
            "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
            Origin.AI_MODIFIED,
        ),
        ("http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia", Origin.UNKNOWN),
    ],
    ids=["digitalCapture", "https-trained", "composite", "algorithmic"],
)
def test_xmp_digital_source_type_decides_the_origin(
    tmp_path: Path, source_type: str, origin: Origin
) -> None:
    path = tmp_path / "still.jpg"
    Image.new("RGB", (32, 32), "gray").save(path, xmp=_xmp(source_type))
    assert read_asset(path, Config()).origin is origin


def test_the_policy_table_in_the_config_decides(tmp_path: Path) -> None:
    path = tmp_path / "still.jpg"
    Image.new("RGB", (32, 32), "gray").save(
        path, xmp=_xmp("http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia")
    )
    base = Config()
    from provenance.model import Signal

    strict = replace(
        base,
        policy=replace(
            base.policy,
            markers={**base.policy.markers, "dst:algorithmicMedia": Signal.AI_GENERATED},
        ),
    )
    assert read_asset(path, strict).origin is Origin.AI_GENERATED


def _png(path: Path) -> Path:
    Image.new("RGB", (48, 32), (90, 120, 200)).save(path)
    return path


def test_an_ai_declaration_only_in_an_ingredient_manifest_counts(
    tmp_path: Path, dev_config: Config
) -> None:
    """Like ChatGPT images: the generator's c2pa.created sits in the parent's manifest and the
    active manifest only says c2pa.opened."""
    source = _png(tmp_path / "gen.png")
    write_tag(
        source,
        Tag(origin=Origin.AI_GENERATED, tool="SomeGen"),
        dev_config,
        signer_from_config(dev_config),
    )
    ctx = c2pa_context(dev_config)
    builder = c2pa.Builder(
        {
            "claim_generator_info": [{"name": "an editor"}],
            "assertions": [
                {
                    "label": "c2pa.actions.v2",
                    "data": {
                        "actions": [
                            {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}}
                        ]
                    },
                }
            ],
        },
        ctx,
    )
    with open(source, "rb") as fh:
        builder.add_ingredient(
            {"title": "gen.png", "relationship": "parentOf", "label": "parent"}, "image/png", fh
        )
    out = tmp_path / "opened.png"
    with (
        signer_from_config(dev_config).session() as signer,
        open(source, "rb") as src,
        open(out, "w+b") as dst,
    ):
        builder.sign(signer, "image/png", src, dst)
    store = json.loads(c2pa.Reader("image/png", io.BytesIO(out.read_bytes()), None, ctx).json())
    active = store["manifests"][store["active_manifest"]]
    assert "trainedAlgorithmicMedia" not in json.dumps(active["assertions"])
    reading = read_asset(out, dev_config)
    assert reading.origin is Origin.AI_GENERATED
    assert any("ingredient manifest (parentOf)" in e.detail for e in reading.evidence)


def test_a_manifest_that_declares_ai_but_fails_validation_still_reads_as_ai(
    tmp_path: Path, dev_config: Config
) -> None:
    path = tmp_path / "gen.jpg"
    Image.new("RGB", (64, 64), (200, 40, 40)).save(path, quality=90)
    write_tag(
        path,
        Tag(origin=Origin.AI_GENERATED, status=Status.TEMPORARY, tool="Gen"),
        dev_config,
        signer_from_config(dev_config),
    )
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF  # inside the entropy-coded image data, after signing
    path.write_bytes(bytes(data))
    reading = read_asset(path, dev_config)
    assert reading.c2pa is not None and reading.c2pa.validation is Validation.INVALID
    assert reading.c2pa.failures
    assert reading.origin is Origin.AI_GENERATED
