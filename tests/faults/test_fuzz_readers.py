"""Mutated real files through the evidence readers: a clear per-file error or a reading, never
a crash, an unexpected exception type, or a hang."""

from __future__ import annotations

import io
import time
import wave
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from provenance.config import Config
from provenance.errors import ManifestError, ProvgateError
from provenance.pipeline.classify import read_asset
from tests.conftest import FIXTURES, fixture_file

CONFIG = Config()


def _made(kind: str) -> bytes:
    buf = io.BytesIO()
    if kind == "wav":
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"\x01\x02" * 800)
        return buf.getvalue()
    if kind == "pdf":
        return (
            b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/Metadata 3 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n3 0 obj<</Type/Metadata"
            b"/Subtype/XML/Length 60>>stream\n<x:xmpmeta xmlns:x='adobe:ns:meta/'>"
            b"</x:xmpmeta>\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
        )
    img = Image.new("RGB", (24, 16), (10, 200, 30))
    img.save(
        buf,
        {"webp": "WEBP", "tiff": "TIFF", "gif": "GIF"}[kind],
        **({"exif": img.getexif()} if kind == "webp" else {}),
    )
    return buf.getvalue()


def _seeds() -> dict[str, bytes]:
    seeds = {k: _made(k) for k in ("wav", "pdf", "webp", "tiff", "gif")}
    for rel in (
        "c2pa/Firefly_tabby_cat.jpg",
        "c2pa/CA.jpg",
        "c2pa/video1.mp4",
        "generators/comfyui.png",
        "generators/a1111_text_after_idat.png",
        "generators/a1111.jpg",
        "c2pa/sample1.wav",
    ):
        path = FIXTURES / rel
        if path.exists():
            seeds[rel] = path.read_bytes()
    return seeds


SEEDS = _seeds()

mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 30), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 1 << 30), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 30), st.integers(0, 255)),
    st.tuples(st.just("big-length"), st.integers(0, 1 << 30), st.just(0)),
)


def mutate(data: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for op, where, value in ops:
        if not out:
            break
        i = where % len(out)
        if op == "flip":
            out[i] ^= value
        elif op == "cut":
            del out[i:]
        elif op == "insert":
            out[i:i] = bytes([value]) * 64
        else:  # a length field claiming gigabytes
            out[i : i + 4] = b"\x7f\xff\xff\xf0"
    return bytes(out)


@pytest.mark.slow
@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.sampled_from(sorted(SEEDS)), ops=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_files_read_or_fail_cleanly(tmp_path: Path, seed: str, ops) -> None:
    path = tmp_path / ("fuzz" + Path(seed).suffix if "." in seed else "fuzz." + seed)
    path.write_bytes(mutate(SEEDS[seed], ops))
    started = time.monotonic()
    try:
        reading = read_asset(path, CONFIG)
        assert len(reading.content_id) == 64
    except ProvgateError as exc:
        assert exc.path == str(path)
        assert exc.reason and "\n" not in exc.reason.strip()
    assert time.monotonic() - started < 5.0


def test_a_manifest_claiming_gigabytes_fails_closed_without_allocating(tmp_path: Path) -> None:
    """A JPEG APP11 JUMBF 'c2pa' superbox whose length claims 4 GB: a ManifestError (the gate
    blocks on it), quickly, without c2pa trying to allocate the claimed size."""
    jumd_body = bytes.fromhex("6332706100110010800000aa00389b71") + b"\x03c2pa\x00"
    jumd = (8 + len(jumd_body)).to_bytes(4, "big") + b"jumd" + jumd_body
    payload = b"JP\x00\x01\x00\x00\x00\x01" + b"\xff\xff\xff\xf0jumb" + jumd + b"\x00" * 32
    segment = b"\xff\xeb" + (len(payload) + 2).to_bytes(2, "big") + payload
    base = fixture_file("c2pa/no_manifest.jpg").read_bytes()
    path = tmp_path / "huge_claim.jpg"
    path.write_bytes(base[:2] + segment + base[2:])
    started = time.monotonic()
    with pytest.raises(ManifestError) as err:
        read_asset(path, CONFIG)
    assert str(path) in str(err.value)
    assert time.monotonic() - started < 5.0
