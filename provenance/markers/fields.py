"""The text fields one file's container walk found, as the generator recognisers see them.

A recogniser (one per generator family, in `provenance.markers.families`) looks up fields by
key, adds evidence through `FieldScan.add`, and marks the fields it explained as consumed, so
they are not reported again as weak keywords. Details summarise settings (steps, sampler,
model) and quote prompt text only when the policy allows storing prompts: prompts may hold
personal data or third-party IP.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from provenance.formats.base import Field
from provenance.model import Evidence

_MAX_JSON = 2 * 1024 * 1024
_MAX_PROMPT = 300
_MAX_PER_MARKER = 4


class FieldScan:
    """The fields of one file, the evidence made of them so far, and which fields it used."""

    def __init__(self, fields: Sequence[Field], store_prompts: bool) -> None:
        self.fields = fields
        self.store_prompts = store_prompts
        self.by_key: dict[str, list[int]] = {}
        for index, found in enumerate(fields):
            self.by_key.setdefault(found.key.lower(), []).append(index)
        self.consumed: set[int] = set()
        self.evidence: list[Evidence] = []
        self.markers: set[str] = set()

    def with_keys(self, *keys: str) -> list[int]:
        return sorted(i for key in keys for i in self.by_key.get(key, ()))

    def same_place(self, index: int, *keys: str) -> list[int]:
        """Fields with one of `keys` that sit where field `index` sits (same chunk family)."""
        where = self.fields[index].where
        return [i for i in self.with_keys(*keys) if self.fields[i].where == where]

    def add(
        self,
        indexes: Iterable[int],
        marker: str,
        tool: str | None,
        summary: str,
        prompt: str = "",
    ) -> None:
        used = sorted(set(indexes))
        self.consumed.update(used)
        self.markers.add(marker)
        if sum(e.marker == marker for e in self.evidence) >= _MAX_PER_MARKER:
            return  # a file repeating one mark a thousand times is reported a few times
        first = self.fields[used[0]]
        keys = ", ".join(dict.fromkeys(f"'{self.fields[i].key}'" for i in used))
        detail = f"{first.where} {keys}"
        if tool:
            detail += f" ({tool})"
        if summary:
            detail += f": {summary}"
        extra: dict[str, Any] = {}
        if prompt and self.store_prompts:
            prompt = " ".join(prompt.split())
            extra["prompt"] = prompt
            short = prompt if len(prompt) <= _MAX_PROMPT else prompt[:_MAX_PROMPT] + "..."
            detail += f"; prompt: {short!r}"
        self.evidence.append(
            Evidence(source=first.source, detail=detail, marker=marker, tool=tool, extra=extra)
        )


def json_value(text: str) -> Any:
    if len(text) > _MAX_JSON:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
