"""Weak signals: a known AI tool's name in a free-text field, and generator-style file names.

Enough to put a file in front of a reviewer, never enough to decide its origin (the policy maps
``keyword`` and ``filename`` markers to ``weak``). Tool names are looked for loosely in fields
that name software (Software, CreatorTool, encoder...) and strictly in descriptions and comments,
where a bare "runway" or "flux" is more likely an ordinary word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from provenance.formats.base import Field
from provenance.markers.families import Families, active
from provenance.model import Evidence

_MAX_TEXT_PER_FIELD = 16 * 1024
_MAX_TEXT_PER_FILE = 512 * 1024
_MAX_KEYWORD_EVIDENCE = 32


class _Words:
    """The families' keywords compiled once: plain stems, one of which every pattern
    contains (a field without any of them, nearly all, never meets the slower alternation),
    and one alternation for software fields and one for free text."""

    def __init__(self, families: Families) -> None:
        keywords = families.keywords
        self.stems = tuple(dict.fromkeys(s for k in keywords for s in k.stems))
        self.display = {k.slug: k.display for k in keywords}
        self.tool = _alternation((k.slug, k.in_software) for k in keywords)
        self.free = _alternation((k.slug, k.in_text) for k in keywords)
        names = families.file_names
        self.file_names = names
        self.file_name = re.compile(
            "|".join(f"(?P<f{i}>{n.pattern})" for i, n in enumerate(names)) or "(?!)"
        )


@lru_cache(maxsize=8)
def _words(families: Families) -> _Words:
    return _Words(families)


def _alternation(patterns: Iterable[tuple[str, str | None]]) -> re.Pattern[str]:
    groups = [f"(?P<{slug.replace('-', '_')}>{p})" for slug, p in patterns if p]
    return re.compile(rf"\b(?:{'|'.join(groups) or '(?!)'})\b", re.IGNORECASE)


TOOL_KEYS = frozenset(
    {
        "software",
        "make",
        "model",
        "creatortool",
        "softwareagent",
        "encoder",
        "encodersettings",
        "encodedby",
        "vendor",
        "producer",
        "creator",
        "originator",
        "generator",
        "application",
        "©too",
        "©swr",
        "©enc",
        "©mak",
        "©mod",
        "com.apple.quicktime.software",
        "com.apple.quicktime.make",
        "com.apple.quicktime.model",
    }
)


def keyword_evidence(
    fields: Sequence[Field], skip: set[int] | None = None, families: Families | None = None
) -> list[Evidence]:
    """Weak evidence: a known tool's name in a field no recogniser explained."""
    words = _words(families or active())
    evidence: list[Evidence] = []
    budget = _MAX_TEXT_PER_FILE
    for index, found in enumerate(fields):
        if skip and index in skip:
            continue
        if budget <= 0 or len(evidence) >= _MAX_KEYWORD_EVIDENCE:
            break
        text = found.value[:_MAX_TEXT_PER_FIELD]
        budget -= len(text)
        lowered = text.lower()
        if not any(stem in lowered for stem in words.stems):
            continue
        is_tool = found.key.lower() in TOOL_KEYS
        pattern = words.tool if is_tool else words.free
        slugs = dict.fromkeys(
            m.lastgroup.replace("_", "-") for m in pattern.finditer(text) if m.lastgroup
        )
        for slug in slugs:
            name = words.display[slug]
            if is_tool:
                shown = " ".join(found.value.split())[:80]
                detail = f"{found.where} {found.key} = {shown!r} names {name}"
            else:
                detail = f"{found.where} '{found.key}' mentions {name}"
            evidence.append(
                Evidence(source=found.source, detail=detail, marker=f"keyword:{slug}", tool=name)
            )
    return evidence


def filename_evidence(name: str, families: Families | None = None) -> list[Evidence]:
    """Weak evidence: a file name in a generator's default naming scheme."""
    words = _words(families or active())
    match = words.file_name.fullmatch(name)
    if not match or not match.lastgroup:
        return []
    found = words.file_names[int(match.lastgroup[1:])]
    detail = f"file name follows {found.tool}'s output naming ({found.shown})"
    return [
        Evidence(source="filename", detail=detail, marker=f"filename:{found.slug}", tool=found.tool)
    ]
