"""Content ids: one read pass gives the SHA-256 and the head, whatever size fstat reported."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from provenance.content import CHUNK, content_id, digest_fd


@pytest.mark.parametrize(
    "size",
    [0, 1, 4095, 70_000, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5],
    ids=lambda n: f"{n}B",
)
@pytest.mark.parametrize("hint", ["exact", "half", "one less", "one more", "100 KB more"])
def test_digest_covers_every_byte_the_file_holds(tmp_path: Path, size: int, hint: str) -> None:
    """The size from fstat is only a hint: a file that grew or shrank since is still hashed to
    its end, so the stat check after the read sees the change and refuses it."""
    data = os.urandom(size)
    path = tmp_path / "asset.bin"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        said = {
            "exact": size,
            "half": size // 2,
            "one less": max(0, size - 1),
            "one more": size + 1,
            "100 KB more": size + 100_000,
        }[hint]
        head, cid, total = digest_fd(fd, said, 64 * 1024)
    finally:
        os.close(fd)
    assert total == size
    assert cid == hashlib.sha256(data).hexdigest() == content_id(path)
    assert head == data[: 64 * 1024]
