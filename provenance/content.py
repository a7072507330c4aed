"""Content ids: the SHA-256 of a file's bytes, read in constant memory."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, BinaryIO

from provenance.errors import UnreadableAsset

CHUNK = 1 << 20


def content_id_of_stream(stream: BinaryIO) -> str:
    """SHA-256 hex of everything left in `stream`, read in 1 MiB pieces (GIL released)."""
    fileobj: Any = stream  # typeshed wants readinto(); every binary file object has it
    return hashlib.file_digest(fileobj, "sha256").hexdigest()


def digest_fd(fd: int, size_hint: int, head_bytes: int) -> tuple[bytes, str, int]:
    """One pass over the rest of an open file: its first `head_bytes` bytes, the SHA-256 hex of
    everything, and how many bytes that was. Reads in pieces of up to 1 MiB (the hash releases
    the GIL); a small file is read in one call, into bytes of its own size."""
    digest = hashlib.sha256()
    head = b""
    total = 0
    if size_hint < CHUNK:
        # Most files of a show by count: no buffer to clear and no copy for the head.
        data = os.read(fd, size_hint + 1)  # +1: EOF in the same read
        digest.update(data)
        head, total = data[:head_bytes], len(data)
        if total == size_hint:
            return head, digest.hexdigest(), total
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while n := os.readv(fd, [buf]):
        if total < head_bytes:
            head += view[: min(n, head_bytes - total)]
        digest.update(view[:n])
        total += n
        if total == size_hint and n < len(buf):
            break  # a short read that ends where fstat said the file ends: no EOF read
    return head, digest.hexdigest(), total


def content_id(path: Path) -> str:
    """SHA-256 hex of a file; raises UnreadableAsset with the OS's reason."""
    try:
        with open(path, "rb", buffering=0) as fh:
            return content_id_of_stream(fh)
    except OSError as exc:
        raise UnreadableAsset(exc.strerror or str(exc), path) from exc


def looks_like_content_id(text: str) -> bool:
    """True for a (prefix of a) lowercase hex SHA-256, at least 6 characters."""
    return 6 <= len(text) <= 64 and all(c in "0123456789abcdef" for c in text)
