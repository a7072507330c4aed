"""Hostile files in a delivery: the gate answers quickly and never passes what it could not
read under --strict."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

from provenance.gate.decision import DeliveryGate


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _padded_png(path: Path, chunks: int) -> None:
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    body = _chunk(b"tEXt", b"k\0v") * chunks
    marker = _chunk(b"tEXt", b"parameters\0a castle\nSteps: 20, Sampler: Euler a, Seed: 1")
    idat = _chunk(b"IDAT", zlib.compress(b"\0\0"))
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + body + marker + idat + _chunk(b"IEND", b"")
    )


def test_a_png_with_many_chunks_is_read_to_its_generator_marker(
    tmp_path: Path, workspace, store
) -> None:
    path = tmp_path / "pkg" / "padded.png"
    _padded_png(path, 30_000)
    report = DeliveryGate(workspace.config, store).check([str(path.parent)])
    (asset,) = report.assets
    assert asset.origin == "ai-generated" and asset.decision == "block"


def test_a_png_with_endless_chunks_blocks_naming_the_limit_without_strict(
    tmp_path: Path, workspace, store
) -> None:
    # The generator's marker sits after the bound: the walk cannot see it, so it blocks.
    path = tmp_path / "pkg" / "padded.png"
    _padded_png(path, 110_000)
    gate = DeliveryGate(workspace.config, store)
    started = time.monotonic()
    relaxed = gate.check([str(path.parent)])
    assert time.monotonic() - started < 5
    (asset,) = relaxed.assets
    assert asset.decision == "block"
    assert any("partly read (stopped after 100000 structures)" in r for r in asset.reasons)


def test_a_reader_failure_nobody_foresaw_blocks_the_file_not_the_check(
    tmp_path: Path, workspace, store, monkeypatch
) -> None:
    """Fault injection: the metadata reader raises something unexpected for one file."""
    import provenance.pipeline.classify as classify

    real = classify.scan_metadata

    def flaky(path, *args, **kwargs):
        if path.name == "cursed.png":
            raise RuntimeError("reader bug")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(classify, "scan_metadata", flaky)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "cursed.png").write_bytes(b"\x89PNG\r\n\x1a\nxx")
    (pkg / "fine.txt").write_text("notes")
    report = DeliveryGate(workspace.config, store).check([str(pkg)])
    assert report.verdict == "blocked"
    (cursed,) = [a for a in report.assets if a.path == "cursed.png"]
    assert cursed.decision == "block" and "unexpected error" in cursed.reasons[0]
    assert [a.decision for a in report.assets if a.path == "fine.txt"] == ["pass"]


def test_a_file_changed_while_being_read_blocks(
    tmp_path: Path, workspace, store, monkeypatch
) -> None:
    """The content id and the evidence must describe the same bytes: a file growing between
    the hash and the metadata read is blocked, not judged on a mix of two versions."""
    import provenance.pipeline.classify as classify

    real = classify.scan_metadata

    def append_then_read(path, *args, **kwargs):
        with open(path, "ab") as fh:
            fh.write(b"more bytes arriving")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(classify, "scan_metadata", append_then_read)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "growing.exr").write_bytes(b"v/1\x01" + b"\0" * 100)
    report = DeliveryGate(workspace.config, store).check([str(pkg)])
    assert report.verdict == "blocked"
    assert "changed while being read" in report.assets[0].reasons[0]
