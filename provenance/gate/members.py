"""What a package is made of: members (a file to judge, or why it cannot be), and the private
spool archive members are copied into while they are judged."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from provenance.formats.sniff import OCTET_STREAM, sniff_media_type

# A package (an archive and everything nested in it) that inflates beyond this ratio of its
# packed size, and beyond BOMB_MIN_BYTES, is a decompression bomb.
BOMB_RATIO = 200
BOMB_MIN_BYTES = 64 << 20
# Members of one archive, counting every archive nested in it.
MAX_MEMBERS = 250_000
# Archives inside archives.
MAX_NESTING = 8


@dataclass(frozen=True)
class Member:
    """One asset of a package: where it reads from now, or why it cannot be read."""

    name: str  # as the report shows it: relative to the package
    local: Path | None
    problem: str | None = None
    spooled: bool = False  # a temporary copy of an archive member, gone after the next one
    # Reasons the package's structure gives to block this asset whatever its own judgement
    # (an IMF file the ASSETMAP does not list); the asset is still read and judged.
    flags: tuple[str, ...] = ()


class BudgetExceeded(Exception):
    """An archive-wide bound was reached: the rest of the archive is not read."""


class Budget:
    """What one archive, with everything nested in it, may expand to: bytes and members."""

    def __init__(self, packed: int) -> None:
        self.limit = max(BOMB_MIN_BYTES, BOMB_RATIO * max(packed, 1))
        self.expanded = 0
        self.members = 0

    def member(self) -> None:
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise BudgetExceeded(f"more than {MAX_MEMBERS} members: refused")

    def charge(self, nbytes: int) -> None:
        self.expanded += nbytes
        if self.expanded > self.limit:
            raise BudgetExceeded(
                f"decompression bomb: expands beyond {self.limit} bytes "
                f"({BOMB_RATIO}x its packed size); refused"
            )

    def fits(self, nbytes: int) -> bool:
        return self.expanded + nbytes <= self.limit


class MemberTooLarge(Exception):
    """A member produced more bytes than it declared."""


class Spool:
    """A private temporary folder; each member gets a numbered file there, removed after use."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="provgate-check-"))
        os.chmod(self.dir, 0o700)
        self.count = 0

    def copy(self, src: IO[bytes], name: str, declared: int | None, budget: Budget) -> Path:
        """Copy a member's bytes under a name of our own (keeping only its extension)."""
        self.count += 1
        suffix = "".join(PurePosixPath(name).suffixes[-1:])[:16]
        target = self.dir / f"m{self.count:07d}{suffix}"
        written = 0
        try:
            with open(target, "xb") as out:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if declared is not None and written > declared:
                        raise MemberTooLarge(
                            f"decompression bomb: inflates beyond its declared {declared} bytes"
                        )
                    budget.charge(len(chunk))
                    out.write(chunk)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def sniff_file(path: Path | str) -> str:
    """The media type a file's first bytes declare (one unbuffered read: the package walk
    sniffs every file)."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        media_type = sniff_media_type(os.pread(fd, 1024, 0))
        if media_type == OCTET_STREAM:  # an ISO 9660 image shows itself only at 32 KiB
            media_type = sniff_media_type(os.pread(fd, 33 << 10, 0))
    finally:
        os.close(fd)
    return media_type


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
