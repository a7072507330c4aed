"""What a package walk yields: one asset of a delivery, or why it cannot be read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
