"""The domain's values: origins, evidence, validation states, use categories, statuses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")


class Origin(StrEnum):
    AI_GENERATED = "ai-generated"
    AI_MODIFIED = "ai-modified"
    NON_AI = "non-ai"
    UNKNOWN = "unknown"

    @property
    def is_ai(self) -> bool:
        return self in (Origin.AI_GENERATED, Origin.AI_MODIFIED)


class Signal(StrEnum):
    """What one observation says about origin, after the policy has weighed it."""

    AI_GENERATED = "ai-generated"
    AI_MODIFIED = "ai-modified"
    NON_AI = "non-ai"
    WEAK = "weak"  # worth a reviewer's look; never changes the origin by itself
    NONE = "none"  # informational


class Validation(StrEnum):
    TRUSTED = "trusted"
    VALID = "valid"  # intact, signer not in our trust list
    INVALID = "invalid"


class Status(StrEnum):
    """Where an AI asset stands (decided by `provenance.history.status.status_of` alone)."""

    TEMPORARY = "temporary"  # no approval (or none that could ever clear it): not deliverable
    APPROVED = "approved"
    EXPIRED = "expired"  # its latest approval ran out
    REVOKED = "revoked"  # its latest approval was withdrawn


STATUSES = tuple(s.value for s in Status)

USE_CATEGORIES = (
    "ideation",
    "previs",
    "temp",
    "background-element",
    "key-story-element",
    "vfx-final",
    "talent-likeness",
    "voice",
    "performance-alteration",
    "third-party-ip",
    "personal-data",
    "other",
)


def tool_words(name: str) -> list[str]:
    """A tool name as lower-case words ("Adobe Firefly Image 3" -> adobe, firefly, image, 3)."""
    return re.findall(r"[a-z0-9]+", name.lower())


def tool_matches(named: str, tool: str | None) -> bool:
    """Whether `tool` (as recorded for an asset) is the tool `named` (in a policy's cleared
    list or a declaration): the named words appear, in order and together, in the tool's
    name, so "Firefly" names "Adobe Firefly Image 3" and "Midjourney v7" does not name
    "Midjourney v6". One rule for the cleared-tools list and for declarations."""
    want, have = tool_words(named), tool_words(tool or "")
    if not want:
        return False
    return any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))


EVIDENCE_SOURCES = (
    "c2pa",
    "c2pa-sidecar",
    "xmp",
    "xmp-sidecar",
    "png-text",
    "exif",
    "container-tag",
    "filename",
    "registry",
    "similar",
    "watermark",
    "user",
)

# Files kept beside an asset are named `<file><suffix>`: its C2PA manifest store (SPEC §7), and
# the XMP copy of our tag's facts (the naming darktable and digiKam use; Adobe's, which replaces
# the extension, would make plate.exr and plate.dpx share one). Each is read with its asset,
# never recorded on its own by scan or watch, and judged as a file of its own by the gate.
SIDECAR_SUFFIX = ".c2pa"
XMP_SIDECAR_SUFFIX = ".xmp"
SIDECAR_SUFFIXES = (SIDECAR_SUFFIX, XMP_SIDECAR_SUFFIX)
XMP_SIDECAR_TYPE = "application/rdf+xml"


def is_sidecar_name(name: str) -> bool:
    """Whether a file name is a sidecar's (as written: `.c2pa`, `.xmp`)."""
    return name.endswith(SIDECAR_SUFFIXES)


def sidecar_owner(name: str) -> str | None:
    """The name of the asset a sidecar's `name` belongs to, or None for any other name."""
    for suffix in SIDECAR_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


# The name shown where the tool that made AI material is not known (never provgate's own name:
# provgate records provenance, it generates nothing).
UNKNOWN_TOOL = "unknown tool"


@dataclass(frozen=True)
class Evidence:
    """One observation about a file, with where it came from.

    `marker` is a stable key the policy table looks up (e.g. ``dst:trainedAlgorithmicMedia``,
    ``generator:comfyui``, ``keyword:midjourney``); `signal` is what the policy made of it.
    """

    source: str
    detail: str
    marker: str = ""
    validation: Validation | None = None
    signal: Signal = Signal.NONE
    tool: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "detail": self.detail,
            "validation": self.validation.value if self.validation else None,
            "signal": self.signal.value,
            "marker": self.marker,
        }
