"""Content ids: the SHA-256 of a file's bytes, read in constant memory."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, BinaryIO

from .errors import UnreadableAsset

CHUNK = 1 << 20


def content_id_of_stream(stream: BinaryIO) -> str:
    """SHA-256 hex of everything left in `stream`, read in 1 MiB pieces (GIL released)."""
    fileobj: Any = stream  # typeshed wants readinto(); every binary file object has it
    return hashlib.file_digest(fileobj, "sha256").hexdigest()


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
