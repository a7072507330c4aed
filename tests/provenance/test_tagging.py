"""Writing tags with the real c2pa library: what the manifest says, that media bytes survive,
that other people's manifests are kept, and that no failure or crash damages an asset."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import c2pa
import mutagen.mp3
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from provenance.c2pa.context import PROVGATE_ASSERTION, c2pa_context
from provenance.c2pa.identity import CA_CERT, SIGNER_CHAIN, SIGNER_KEY, create_dev_identity
from provenance.c2pa.reader import provgate_assertion
from provenance.c2pa.signing import CommandSigner, KeyFileSigner, TagSigner, signer_from_config
from provenance.c2pa.tagging import (
    Tag,
    is_tag_temp_file,
    sidecar_path,
    sniff_media_type,
    temp_path,
    write_tag,
)
from provenance.config import Config, SignerConfig
from provenance.errors import SigningError, TagWriteError
from provenance.model import USE_CATEGORIES, Origin, Status

ROOT = Path(__file__).resolve().parents[2]
SHARED_C2PA = ROOT.parent / "shared" / "fixtures" / "c2pa"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
AI_TAG = Tag(origin=Origin.AI_GENERATED, tool="Midjourney", use="ideation", note="mood board")


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("identity") / "keys"
    create_dev_identity(folder)
    return folder


@pytest.fixture(scope="module")
def config(keys: Path) -> Config:
    """Signer paths plus the development CA as a trust anchor: our tags read Trusted."""
    return Config(
        signer=SignerConfig(cert_chain=keys / SIGNER_CHAIN, key=keys / SIGNER_KEY),
        trust_anchors=(keys / CA_CERT,),
    )


@pytest.fixture(scope="module")
def signer(config: Config) -> TagSigner:
    return signer_from_config(config)


def shared_fixture(name: str, tmp_path: Path) -> Path:
    """A writable copy of a third-party sample from ../shared/fixtures/c2pa."""
    source = SHARED_C2PA / name
    if not source.exists():
        pytest.skip(f"../shared/fixtures/c2pa/{name} is not beside the checkout")
    copy = tmp_path / name
    shutil.copyfile(source, copy)
    return copy


def read_store(
    path: Path, config: Config, media_type: str, manifest_data: bytes | None = None
) -> tuple[str, dict[str, Any]]:
    with (
        open(path, "rb") as fh,
        c2pa.Reader(media_type, fh, manifest_data, c2pa_context(config)) as r,
    ):
        return str(r.get_validation_state()), json.loads(r.json())


def active(store: dict[str, Any]) -> dict[str, Any]:
    return store["manifests"][store["active_manifest"]]


def labels(manifest: dict[str, Any]) -> list[str]:
    return [a["label"] for a in manifest["assertions"]]


def actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    found = [a for a in manifest["assertions"] if a["label"] == "c2pa.actions.v2"]
    return list(found[0]["data"]["actions"])


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if is_tag_temp_file(p))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- small real media, and what must survive tagging bit for bit --------------------------------


def make_image(fmt: str, **options: Any) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        picture = Image.effect_noise((64, 48), 60).convert("RGB")
        if fmt == "GIF":
            picture = picture.convert("P")
        picture.save(path, fmt, **options)

    return make


def image_pixels(path: Path) -> Any:
    with Image.open(path) as picture:
        return picture.mode, picture.size, picture.tobytes(), picture.getpalette()


def make_wav(path: Path, frames: int = 8000) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(random.Random(7).randbytes(frames * 2))


def wav_samples(path: Path) -> Any:
    with wave.open(str(path), "rb") as audio:
        return audio.getparams()[:4], audio.readframes(audio.getnframes())


# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no CRC: 417-byte frames; zero side info is silence.
MP3_FRAME = b"\xff\xfb\x90\x00" + bytes(413)


def make_mp3(path: Path) -> None:
    path.write_bytes(MP3_FRAME * 40)


def mpeg_frames(path: Path) -> bytes:
    """The audio frames: everything after an ID3v2 tag (where c2pa puts its GEOB frame)."""
    data = path.read_bytes()
    assert mutagen.mp3.MP3(path).info.bitrate == 128000
    if data[:3] == b"ID3":
        size = 0
        for byte in data[6:10]:  # syncsafe integer
            size = (size << 7) | byte
        data = data[10 + size :]
    return data


def make_pdf(path: Path) -> None:
    content = b"BT /F1 12 Tf 20 100 Td (temporary) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))


def pdf_page_content(path: Path) -> bytes:
    """The page's content stream (c2pa rewrites the PDF's object syntax, not its content)."""
    match = re.search(
        rb"\n4 0 obj\s*<<.*?>>\s*stream\r?\n(.*?)\r?\n?endstream", path.read_bytes(), re.S
    )
    assert match, "page content stream not found"
    return match.group(1)


def mp4_boxes(data: bytes) -> list[tuple[bytes, int, int, int]]:
    """Top-level ISO BMFF boxes: (type, offset, header size, total size)."""
    boxes, pos = [], 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = len(data) - pos
        boxes.append((kind, pos, header, size))
        pos += size
    return boxes


def mdat_payload(path: Path) -> bytes:
    data = path.read_bytes()
    (found,) = [
        (pos, header, size) for kind, pos, header, size in mp4_boxes(data) if kind == b"mdat"
    ]
    pos, header, size = found
    return data[pos + header : pos + size]


def copy_video(path: Path) -> None:
    source = SHARED_C2PA / "video1.mp4"
    if not source.exists():
        pytest.skip("../shared/fixtures/c2pa/video1.mp4 is not beside the checkout")
    shutil.copyfile(source, path)


@dataclasses.dataclass(frozen=True)
class Media:
    name: str
    media_type: str
    make: Callable[[Path], None]
    decode: Callable[[Path], Any]


MEDIA = [
    Media("plate.jpg", "image/jpeg", make_image("JPEG", quality=90), image_pixels),
    Media("plate.png", "image/png", make_image("PNG"), image_pixels),
    Media("plate.webp", "image/webp", make_image("WEBP", lossless=True), image_pixels),
    Media("plate.tif", "image/tiff", make_image("TIFF"), image_pixels),
    Media("plate.gif", "image/gif", make_image("GIF"), image_pixels),
    Media("voice.wav", "audio/wav", make_wav, wav_samples),
    Media("voice.mp3", "audio/mpeg", make_mp3, mpeg_frames),
    Media("clip.mp4", "video/mp4", copy_video, mdat_payload),
    Media("board.pdf", "application/pdf", make_pdf, pdf_page_content),
]


# --- embedding --------------------------------------------------------------------------------


@pytest.mark.parametrize("media", MEDIA, ids=[m.media_type for m in MEDIA])
def test_embedded_tag_validates_and_media_is_unchanged(
    media: Media, tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = tmp_path / media.name
    media.make(path)
    before = media.decode(path)

    result = write_tag(path, AI_TAG, config, signer)

    assert (result.mode, result.written, result.media_type) == ("embed", path, media.media_type)
    assert result.content_id == sha256(path)
    state, store = read_store(path, config, media.media_type)
    assert state == "Trusted", store.get("validation_status")
    assert media.decode(path) == before
    manifest = active(store)
    assert labels(manifest)[-3:] == ["c2pa.actions.v2", "cawg.training-mining", PROVGATE_ASSERTION]
    assert provgate_assertion(manifest) == AI_TAG.assertion_data()
    assert temp_files(tmp_path) == []


def test_without_the_dev_ca_as_anchor_the_tag_reads_valid_not_trusted(
    tmp_path: Path, keys: Path, signer: TagSigner
) -> None:
    untrusted = Config(signer=SignerConfig(cert_chain=keys / SIGNER_CHAIN, key=keys / SIGNER_KEY))
    path = tmp_path / "plate.png"
    make_image("PNG")(path)
    write_tag(path, AI_TAG, untrusted, signer)
    state, store = read_store(path, untrusted, "image/png")
    assert state == "Valid"
    assert [s["code"] for s in store["validation_status"]] == ["signingCredential.untrusted"]


def test_new_file_manifest_says_created_by_the_tool_and_forbids_training(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = tmp_path / "plate.png"
    make_image("PNG")(path)
    write_tag(path, AI_TAG, config, signer)
    manifest = active(read_store(path, config, "image/png")[1])

    assert actions(manifest) == [
        {
            "action": "c2pa.created",
            "digitalSourceType": IPTC + "trainedAlgorithmicMedia",
            "softwareAgent": {"name": "Midjourney"},
        }
    ]
    (mining,) = [a["data"] for a in manifest["assertions"] if a["label"] == "cawg.training-mining"]
    assert mining == {
        "entries": {
            use: {"use": "notAllowed"}
            for use in (
                "cawg.ai_training",
                "cawg.ai_generative_training",
                "cawg.ai_inference",
                "cawg.data_mining",
            )
        }
    }
    assert manifest["claim_generator_info"][0]["name"] == "provgate"
    tag = provgate_assertion(manifest)
    assert (
        tag is not None
        and tag["status"] == "temporary"
        and tag["tagged_by"].startswith("provgate ")
    )
    assert "ingredients" not in manifest or manifest["ingredients"] == []


@pytest.mark.parametrize(
    ("origin", "source_type"),
    [
        (Origin.AI_GENERATED, "trainedAlgorithmicMedia"),
        (Origin.AI_MODIFIED, "compositeWithTrainedAlgorithmicMedia"),
        (Origin.NON_AI, "digitalCreation"),
    ],
    ids=["ai-generated", "ai-modified", "non-ai"],
)
def test_digital_source_type_follows_the_origin(
    origin: Origin, source_type: str, tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = tmp_path / "plate.jpg"
    make_image("JPEG")(path)
    write_tag(path, Tag(origin=origin), config, signer)
    (action,) = actions(active(read_store(path, config, "image/jpeg")[1]))
    assert action["digitalSourceType"] == IPTC + source_type
    assert "softwareAgent" not in action  # no tool named, none claimed


def test_unknown_origin_cannot_be_tagged() -> None:
    with pytest.raises(ValueError, match="unknown"):
        Tag(origin=Origin.UNKNOWN)


# --- other people's manifests, and our own earlier ones -----------------------------------------


def test_firefly_manifest_is_kept_as_the_parent_ingredient(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = shared_fixture("Firefly_tabby_cat.jpg", tmp_path)
    firefly = read_store(path, config, "image/jpeg")[1]["active_manifest"]
    pixels = image_pixels(path)

    result = write_tag(path, AI_TAG, config, signer)

    assert result.parent_manifest == firefly
    state, store = read_store(path, config, "image/jpeg")
    assert state == "Trusted", store.get("validation_status")
    assert firefly in store["manifests"]
    manifest = active(store)
    (ingredient,) = manifest["ingredients"]
    assert (ingredient["relationship"], ingredient["active_manifest"]) == ("parentOf", firefly)
    opened, declared = actions(manifest)
    assert opened["action"] == "c2pa.opened"
    assert declared["action"] == "c2pa.edited"
    assert declared["digitalSourceType"] == IPTC + "trainedAlgorithmicMedia"
    assert image_pixels(path) == pixels


def test_signed_video_keeps_its_manifests(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = shared_fixture("video1.mp4", tmp_path)
    earlier = set(read_store(path, config, "video/mp4")[1]["manifests"])
    write_tag(path, AI_TAG, config, signer)
    state, store = read_store(path, config, "video/mp4")
    assert state == "Trusted"
    assert earlier < set(store["manifests"])


def test_tagging_twice_keeps_one_tag_and_the_earlier_one_as_parent(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = tmp_path / "plate.png"
    make_image("PNG")(path)
    first = write_tag(path, AI_TAG, config, signer)
    first_label = read_store(path, config, "image/png")[1]["active_manifest"]
    approved = dataclasses.replace(
        AI_TAG,
        status=Status.APPROVED,
        approval_ref="STUDIO-4711",
        approved_by="Clearance",
        approved_content_id=first.content_id,
    )

    second = write_tag(path, approved, config, signer)

    assert second.parent_manifest == first_label
    state, store = read_store(path, config, "image/png")
    assert state == "Trusted"
    manifest = active(store)
    for label in ("c2pa.actions.v2", "cawg.training-mining", PROVGATE_ASSERTION):
        assert labels(manifest).count(label) == 1
    tag = provgate_assertion(manifest)
    assert tag is not None
    assert (tag["status"], tag["approval_ref"], tag["approved_content_id"]) == (
        "approved",
        "STUDIO-4711",
        first.content_id,
    )
    (ingredient,) = manifest["ingredients"]
    assert ingredient["active_manifest"] == first_label
    assert first.content_id is not None and first.content_id in ingredient["description"]
    assert provgate_assertion(store["manifests"][first_label])["status"] == "temporary"


def test_approved_content_without_a_manifest_becomes_the_parent(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = tmp_path / "voice.wav"
    make_wav(path)
    approved = Tag(origin=Origin.AI_GENERATED, status=Status.APPROVED, approval_ref="T-1",
                   approved_by="Legal", approved_content_id=sha256(path))  # fmt: skip
    write_tag(path, approved, config, signer)
    state, store = read_store(path, config, "audio/wav")
    assert state == "Trusted"
    manifest = active(store)
    assert [a["action"] for a in actions(manifest)] == ["c2pa.opened", "c2pa.edited"]
    assert manifest["ingredients"][0]["relationship"] == "parentOf"


def test_a_remote_manifest_is_kept_from_its_sidecar_or_not_replaced(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = shared_fixture("cloud.jpg", tmp_path)  # references a manifest on Adobe's server
    lone = tmp_path / "lone.jpg"
    shutil.copyfile(path, lone)
    with pytest.raises(TagWriteError, match="remote and provgate does not fetch it"):
        write_tag(lone, AI_TAG, config, signer)
    assert lone.read_bytes() == path.read_bytes()

    sidecar = shared_fixture("cloud.jpg.c2pa", tmp_path)
    remote = read_store(path, config, "image/jpeg", sidecar.read_bytes())[1]["active_manifest"]
    result = write_tag(path, AI_TAG, config, signer)
    assert result.parent_manifest == remote
    assert not sidecar.exists()  # folded into the embedded store
    state, store = read_store(path, config, "image/jpeg")
    assert state == "Trusted"
    assert remote in store["manifests"]


def test_an_unreadable_manifest_is_never_replaced(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = tmp_path / "plate.jpg"
    make_image("JPEG")(path)
    write_tag(path, AI_TAG, config, signer)
    data = bytearray(path.read_bytes())
    start = data.find(b"jumb") + 200
    data[start : start + 30] = b"A" * 30  # inside the JUMBF manifest store
    path.write_bytes(bytes(data))
    with pytest.raises(TagWriteError, match="its C2PA manifest cannot be read"):
        write_tag(path, AI_TAG, config, signer)
    assert path.read_bytes() == bytes(data)
    assert temp_files(tmp_path) == []


def test_approval_is_not_carried_onto_other_bytes(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = tmp_path / "plate.png"
    make_image("PNG")(path)
    original = path.read_bytes()
    wrong = dataclasses.replace(AI_TAG, status=Status.APPROVED, approved_content_id="0" * 64)
    with pytest.raises(TagWriteError, match="are no longer content 0000000000000000"):
        write_tag(path, wrong, config, signer)
    assert path.read_bytes() == original


# --- sidecars ---------------------------------------------------------------------------------

EXR_MAGIC = bytes.fromhex("762f3101")


def test_exr_gets_a_sidecar_that_validates_and_breaks_on_one_changed_byte(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = tmp_path / "shot_010.1001.exr"
    path.write_bytes(EXR_MAGIC + random.Random(3).randbytes(50_000))
    original = path.read_bytes()

    result = write_tag(path, AI_TAG, config, signer)

    assert (result.mode, result.written) == ("sidecar", tmp_path / "shot_010.1001.exr.c2pa")
    assert result.content_id is None
    assert path.read_bytes() == original
    manifest_data = sidecar_path(path).read_bytes()
    state, store = read_store(path, config, "application/octet-stream", manifest_data)
    assert state == "Trusted"
    assert provgate_assertion(active(store)) == AI_TAG.assertion_data()

    changed = bytearray(original)
    changed[20_000] ^= 0x01
    tampered = tmp_path / "tampered.exr"
    tampered.write_bytes(bytes(changed))
    state, store = read_store(tampered, config, "application/octet-stream", manifest_data)
    assert state == "Invalid"
    assert "assertion.dataHash.mismatch" in [s["code"] for s in store["validation_status"]]


def test_retagging_a_sidecar_keeps_the_old_sidecar_as_parent(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = tmp_path / "plate.psd"
    path.write_bytes(b"8BPS" + bytes(4000))
    write_tag(path, AI_TAG, config, signer)
    first = read_store(path, config, "application/octet-stream", sidecar_path(path).read_bytes())
    result = write_tag(path, dataclasses.replace(AI_TAG, use="previs"), config, signer)
    state, store = read_store(path, config, "application/octet-stream", result.written.read_bytes())
    assert state == "Trusted"
    assert result.parent_manifest == first[1]["active_manifest"] in store["manifests"]
    assert provgate_assertion(active(store))["use"] == "previs"
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "media_type", "make", "offset"),
    [
        ("plate.jpg", "image/jpeg", make_image("JPEG"), 400),
        ("clip.mp4", "video/mp4", copy_video, 500_000),
    ],
    ids=["jpeg", "mp4"],
)
def test_sidecar_mode_never_touches_the_asset(
    name: str,
    media_type: str,
    make: Callable[[Path], None],
    offset: int,
    tmp_path: Path,
    config: Config,
    signer: TagSigner,
) -> None:
    path = tmp_path / name
    make(path)
    original = path.read_bytes()
    result = write_tag(path, AI_TAG, config, signer, mode="sidecar")
    assert result.mode == "sidecar"
    assert path.read_bytes() == original
    manifest_data = sidecar_path(path).read_bytes()
    assert read_store(path, config, media_type, manifest_data)[0] == "Trusted"
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert read_store(path, config, media_type, manifest_data)[0] == "Invalid"


def test_embedding_folds_an_existing_sidecar_in(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = tmp_path / "plate.png"
    make_image("PNG")(path)
    write_tag(path, AI_TAG, config, signer, mode="sidecar")
    sidecar_label = read_store(path, config, "image/png", sidecar_path(path).read_bytes())[1][
        "active_manifest"
    ]
    result = write_tag(path, AI_TAG, config, signer, mode="embed")
    assert not sidecar_path(path).exists()
    state, store = read_store(path, config, "image/png")
    assert state == "Trusted"
    assert result.parent_manifest == sidecar_label in store["manifests"]


def test_mode_off_writes_nothing(tmp_path: Path, config: Config, signer: TagSigner) -> None:
    path = tmp_path / "plate.png"
    make_image("PNG")(path)
    original = path.read_bytes()
    result = write_tag(path, AI_TAG, config, signer, mode="off")
    assert (result.mode, result.written) == ("off", None)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plate.png"]


# --- how the file is replaced -----------------------------------------------------------------


def test_permission_bits_are_kept(tmp_path: Path, config: Config, signer: TagSigner) -> None:
    path = tmp_path / "plate.jpg"
    make_image("JPEG")(path)
    path.chmod(0o640)
    write_tag(path, AI_TAG, config, signer)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_symlink_tags_the_file_it_points_to(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    target = tmp_path / "real.png"
    make_image("PNG")(target)
    link = tmp_path / "link.png"
    link.symlink_to(target)
    result = write_tag(link, AI_TAG, config, signer)
    assert link.is_symlink()
    assert result.written == target
    assert read_store(target, config, "image/png")[0] == "Trusted"


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A small tmpfs at `where` (needs root and mount rights; the test is skipped without)."""
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


@pytest.fixture
def read_only_asset(tmp_path: Path) -> Iterator[Path]:
    """An asset in a folder nobody may write to (root ignores modes: a read-only mount)."""
    folder = tmp_path / "share"
    if os.geteuid() != 0:
        folder.mkdir()
        asset = folder / "plate.png"
        make_image("PNG")(asset)
        folder.chmod(0o555)
        yield asset
        folder.chmod(0o755)
        return
    with tmpfs(folder, "4m"):
        asset = folder / "plate.png"
        make_image("PNG")(asset)
        remount = ["mount", "-o", "remount,ro", str(folder)]
        if subprocess.run(remount, capture_output=True, check=False).returncode != 0:
            pytest.skip("cannot remount read-only")
        yield asset


def test_read_only_folder_leaves_the_asset_intact(
    read_only_asset: Path, config: Config, signer: TagSigner
) -> None:
    original = read_only_asset.read_bytes()
    with pytest.raises(TagWriteError) as caught:
        write_tag(read_only_asset, AI_TAG, config, signer)
    assert caught.value.path == str(read_only_asset)
    assert re.search(r"cannot write in .*share: (Read-only file system|Permission denied)",
                     caught.value.reason)  # fmt: skip
    assert "\n" not in str(caught.value)
    assert read_only_asset.read_bytes() == original
    assert temp_files(read_only_asset.parent) == []


def test_full_disk_leaves_the_asset_intact(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    with tmpfs(tmp_path / "small", "1m") as folder:
        path = folder / "voice.wav"
        make_wav(path, frames=300_000)  # 600 kB: a tagged copy does not fit beside it
        original = path.read_bytes()
        with pytest.raises(TagWriteError, match="No space left on device"):
            write_tag(path, AI_TAG, config, signer)
        assert path.read_bytes() == original
        assert temp_files(folder) == []


def run_python(code: str, *args: str, **popen: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, **popen)


TAG_IN_CHILD = """
import sys
from pathlib import Path
from provenance.config import Config, SignerConfig
from provenance.errors import TagWriteError
from provenance.model import Origin
from provenance.c2pa.signing import KeyFileSigner
from provenance.c2pa.tagging import Tag, write_tag

asset, keys = Path(sys.argv[1]), Path(sys.argv[2])
config = Config(signer=SignerConfig(keys / "signer-chain.pem", keys / "signer-key.pem"))
signer = KeyFileSigner(keys / "signer-chain.pem", keys / "signer-key.pem")
{prepare}
print("ready", flush=True)
try:
    write_tag(asset, Tag(origin=Origin.AI_GENERATED), config, signer)
except TagWriteError as exc:
    print(exc.reason, flush=True)
    sys.exit(5)
print("done", flush=True)
"""


def test_a_write_failing_midway_leaves_the_asset_intact(tmp_path: Path, keys: Path) -> None:
    """A file-size limit makes the copy fail part-way, like a disk filling up (any user)."""
    path = tmp_path / "voice.wav"
    make_wav(path, frames=200_000)
    original = path.read_bytes()
    limit = """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
"""
    child = run_python(TAG_IN_CHILD.format(prepare=limit), str(path), str(keys),
                       stdout=subprocess.PIPE)  # fmt: skip
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 5
    assert out.decode().splitlines()[-1] == "File too large"
    assert path.read_bytes() == original
    assert temp_files(tmp_path) == []


class RacingSigner:
    """Signs with the development key, and appends to the asset while c2pa is signing it."""

    def __init__(self, keys: Path, victim: Path) -> None:
        self._chain = (keys / SIGNER_CHAIN).read_text("ascii")
        key = serialization.load_pem_private_key((keys / SIGNER_KEY).read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self._key = key
        self._victim = victim

    @property
    def description(self) -> str:
        return "racing test signer"

    @contextlib.contextmanager
    def session(self) -> Iterator[c2pa.Signer]:
        def sign(data: bytes) -> bytes:
            with open(self._victim, "ab") as fh:
                fh.write(b"written by someone else")
            return self._key.sign(data, ec.ECDSA(hashes.SHA256()))

        with c2pa.Signer.from_callback(sign, c2pa.C2paSigningAlg.ES256, self._chain, None) as s:
            yield s


def test_a_file_changed_while_tagging_is_left_alone(
    tmp_path: Path, keys: Path, config: Config
) -> None:
    path = tmp_path / "plate.png"
    make_image("PNG")(path)
    original = path.read_bytes()
    with pytest.raises(TagWriteError, match="changed while tagging"):
        write_tag(path, AI_TAG, config, RacingSigner(keys, path))
    assert path.read_bytes().startswith(original)
    assert path.read_bytes().endswith(b"written by someone else")
    assert c2pa.Reader.try_create("image/png", io.BytesIO(path.read_bytes())) is None
    assert temp_files(tmp_path) == []


def test_a_second_writer_of_the_same_asset_is_refused(
    tmp_path: Path, config: Config, signer: TagSigner, keys: Path
) -> None:
    path = tmp_path / "plate.png"
    make_image("PNG")(path)
    original = path.read_bytes()
    lock_holder = (
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    with run_python(lock_holder, str(temp_path(path)), stdout=subprocess.PIPE) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
            with pytest.raises(TagWriteError, match="another process is tagging"):
                write_tag(path, AI_TAG, config, signer)
            assert path.read_bytes() == original
        finally:
            holder.kill()
    write_tag(path, AI_TAG, config, signer)  # the lock died with its holder
    assert temp_files(tmp_path) == []


def test_a_temporary_file_left_by_a_crash_is_cleaned_up(
    tmp_path: Path, config: Config, signer: TagSigner
) -> None:
    path = tmp_path / "plate.png"
    make_image("PNG")(path)
    temp_path(path).write_bytes(b"half a file")
    temp_path(sidecar_path(path)).write_bytes(b"half a sidecar")
    write_tag(path, AI_TAG, config, signer)
    write_tag(path, AI_TAG, config, signer, mode="sidecar")
    assert temp_files(tmp_path) == []


@pytest.mark.slow
def test_kill_9_at_any_moment_never_damages_the_asset(tmp_path: Path, keys: Path) -> None:
    path = tmp_path / "voice.wav"
    make_wav(path, frames=10_000_000)  # 20 MB
    samples = wav_samples(path)
    trusting = Config(
        signer=SignerConfig(keys / SIGNER_CHAIN, keys / SIGNER_KEY), trust_anchors=(keys / CA_CERT,)
    )
    tag_in_child = TAG_IN_CHILD.format(prepare="")

    def start() -> subprocess.Popen[bytes]:
        child = run_python(tag_in_child, str(path), str(keys), stdout=subprocess.PIPE)
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        return child

    # One undisturbed run sets the window in which the kills land.
    with start() as child:
        started = time.monotonic()
        child.wait()
        duration = time.monotonic() - started
    assert child.returncode == 0
    rng = random.Random(9)
    outcomes = []
    for _ in range(15):
        before = sha256(path)
        with start() as child:
            time.sleep(rng.uniform(0.0, duration * 1.2))
            child.send_signal(signal.SIGKILL)
            child.wait()
        left = "temp left" if temp_files(tmp_path) else "no temp"
        if sha256(path) == before:
            outcomes.append(f"original, {left}")
        else:
            state, store = read_store(path, trusting, "audio/wav")
            assert state == "Trusted", outcomes
            assert provgate_assertion(active(store)) is not None, outcomes
            outcomes.append(f"tagged, {left}")
        assert wav_samples(path) == samples, outcomes
    signer = KeyFileSigner(keys / SIGNER_CHAIN, keys / SIGNER_KEY)
    write_tag(path, AI_TAG, trusting, signer)
    assert temp_files(tmp_path) == []
    assert wav_samples(path) == samples
    assert read_store(path, trusting, "audio/wav")[0] == "Trusted"


# --- signers ----------------------------------------------------------------------------------

SIGN_SCRIPT = """
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
if sys.argv[2] == "fail":
    sys.stderr.write("HSM offline: slot 3 not found\\nsecond line\\n")
    sys.exit(3)
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
sys.stdout.buffer.write(key.sign(sys.stdin.buffer.read(), ec.ECDSA(hashes.SHA256())))
"""


@pytest.fixture
def sign_script(tmp_path: Path) -> Path:
    script = tmp_path / "kms_sign.py"
    script.write_text(SIGN_SCRIPT)
    return script


def test_external_command_signer_produces_a_trusted_tag(
    tmp_path: Path, keys: Path, config: Config, sign_script: Path
) -> None:
    command = (sys.executable, str(sign_script), str(keys / SIGNER_KEY), "ok")
    external = Config(
        signer=SignerConfig(cert_chain=keys / SIGNER_CHAIN, command=command),
        trust_anchors=config.trust_anchors,
    )
    signer = signer_from_config(external)
    assert isinstance(signer, CommandSigner)
    path = tmp_path / "plate.png"
    make_image("PNG")(path)
    write_tag(path, AI_TAG, external, signer)
    assert read_store(path, external, "image/png")[0] == "Trusted"


def test_failing_command_raises_its_first_stderr_line_and_leaves_the_asset(
    tmp_path: Path, keys: Path, config: Config, sign_script: Path
) -> None:
    signer = CommandSigner(keys / SIGNER_CHAIN, [sys.executable, str(sign_script), "-", "fail"])
    path = tmp_path / "plate.png"
    make_image("PNG")(path)
    original = path.read_bytes()
    with pytest.raises(SigningError, match=r"failed \(exit 3\): HSM offline: slot 3 not found$"):
        write_tag(path, AI_TAG, config, signer)
    assert path.read_bytes() == original
    assert temp_files(tmp_path) == []


def test_slow_command_times_out(tmp_path: Path, keys: Path, config: Config) -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(10)"]
    signer = CommandSigner(keys / SIGNER_CHAIN, sleeper, timeout=0.5)
    path = tmp_path / "plate.png"
    make_image("PNG")(path)
    with pytest.raises(SigningError, match="timed out after 0.5 s"):
        write_tag(path, AI_TAG, config, signer)


@pytest.mark.parametrize(
    ("signer_config", "message"),
    [
        (SignerConfig(cert_chain=None, key=Path("k")), "no signer certificate chain configured"),
        (SignerConfig(cert_chain=Path("missing.pem"), key=Path("k")), "chain unreadable"),
        (SignerConfig(cert_chain=Path("CHAIN"), key=None), "no signing key configured"),
        (SignerConfig(cert_chain=Path("CHAIN"), key=Path("missing.pem")), "key unreadable"),
        (SignerConfig(cert_chain=Path("CA"), key=Path("CAKEY")), "self-signed"),
        (SignerConfig(cert_chain=Path("CHAIN"), key=Path("CAKEY")), "does not match"),
        (SignerConfig(cert_chain=Path("CHAIN"), key=Path("KEY"), algorithm="md5"), "algorithm"),
    ],
    ids=["no-chain", "chain-missing", "no-key", "key-missing", "self-signed", "wrong-key", "alg"],
)
def test_bad_signer_configuration_names_the_file(
    signer_config: SignerConfig, message: str, keys: Path
) -> None:
    named = {"CHAIN": SIGNER_CHAIN, "KEY": SIGNER_KEY, "CA": CA_CERT, "CAKEY": "dev-ca-key.pem"}

    def resolve(path: Path | None) -> Path | None:
        return None if path is None else keys / named.get(str(path), str(path))

    resolved = dataclasses.replace(
        signer_config, cert_chain=resolve(signer_config.cert_chain), key=resolve(signer_config.key)
    )
    with pytest.raises(SigningError, match=message) as caught:
        signer_from_config(Config(signer=resolved))
    if "missing" in str(signer_config.cert_chain) + str(signer_config.key):
        assert caught.value.path is not None and caught.value.path.endswith("missing.pem")


# --- helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"RIFF\0\0\0\0WEBPVP8L", "image/webp"),
        (b"RIFF\0\0\0\0WAVEfmt ", "audio/wav"),
        (b"II*\0", "image/tiff"),
        (b"%PDF-1.7", "application/pdf"),
        (b"ID3\x04", "audio/mpeg"),
        (MP3_FRAME[:4], "audio/mpeg"),
        (b"\0\0\0\x18ftypisom", "video/mp4"),
        (b"\0\0\0\x14ftypqt  ", "video/quicktime"),
        (b"\0\0\0\x18ftypheic", "image/heic"),
        (EXR_MAGIC, "image/x-exr"),
        (b"SDPX", "image/x-dpx"),
        (b"just some bytes", "application/octet-stream"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_media_type_is_sniffed_from_the_first_bytes(
    head: bytes, media_type: str, tmp_path: Path
) -> None:
    path = tmp_path / "no_extension"
    path.write_bytes(head + bytes(64))
    assert sniff_media_type(path) == media_type


@pytest.mark.parametrize(
    ("name", "is_temp"),
    [
        (".plate.png.provgate-tmp-pending", True),
        (".plate.png.c2pa.provgate-tmp-pending", True),
        (".plate.exr.provgate-tmp-1234", True),
        ("plate.png.provgate-tmp-pending", False),
        ("plate.png", False),
        (".plate.png", False),
    ],
)
def test_watchers_can_recognise_our_temporary_files(name: str, is_temp: bool) -> None:
    assert is_tag_temp_file(Path("/share") / name) is is_temp
    if name == ".plate.png.provgate-tmp-pending":
        assert temp_path(Path("/share/plate.png")).name == name


def test_provgate_assertion_is_found_by_label() -> None:
    manifest = {
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {}},
            {"label": "org.provgate.tag__1", "data": {"status": "approved"}},
        ]
    }
    assert provgate_assertion(manifest) == {"status": "approved"}
    assert provgate_assertion({"assertions": []}) is None
    assert provgate_assertion({}) is None


@pytest.fixture(scope="module")
def small_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tool=st.one_of(st.none(), st.text(min_size=1, max_size=40)),
    use=st.sampled_from(USE_CATEGORIES),
    note=st.one_of(st.none(), st.text(max_size=300)),
    status=st.sampled_from(list(Status)),
)
def test_tag_round_trips_through_the_manifest(
    config: Config,
    signer: TagSigner,
    small_png: bytes,
    tool: str | None,
    use: str,
    note: str | None,
    status: Status,
) -> None:
    tag = Tag(origin=Origin.AI_MODIFIED, status=status, tool=tool, use=use, note=note)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plate.png"
        path.write_bytes(small_png)
        write_tag(path, tag, config, signer)
        state, store = read_store(path, config, "image/png")
    assert state == "Trusted"
    assert provgate_assertion(active(store)) == tag.assertion_data()
