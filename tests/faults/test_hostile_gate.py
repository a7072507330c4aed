"""Hostile files in a delivery: the gate answers quickly and never passes what it could not
read under --strict."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

from provenance.gate import DeliveryGate


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_a_png_with_endless_chunks_is_reported_partly_read_and_blocks_under_strict(
    tmp_path: Path, workspace, store
) -> None:
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    body = b"".join(_chunk(b"tEXt", b"k\0v") for _ in range(30_000))
    # The generator's marker sits after the bound: the walk cannot see it.
    marker = _chunk(b"tEXt", b"parameters\0a castle\nSteps: 20, Sampler: Euler a, Seed: 1")
    idat = _chunk(b"IDAT", zlib.compress(b"\0\0"))
    path = tmp_path / "pkg" / "padded.png"
    path.parent.mkdir()
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + body + marker + idat + _chunk(b"IEND", b"")
    )
    gate = DeliveryGate(workspace.config, store)
    started = time.monotonic()
    relaxed = gate.check([str(path.parent)])
    assert time.monotonic() - started < 5
    (asset,) = relaxed.assets
    assert any("partly read" in r for r in asset.reasons)
    strict = gate.check([str(path.parent)], strict=True)
    assert strict.verdict == "blocked"
