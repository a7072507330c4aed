"""Jinja2 filters that turn store values into words a clearance contact reads easily."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def when(value: str | None) -> str:
    """`2025-03-01T12:34:56.123456Z` → `2025-03-01 12:34 UTC`."""
    if not value:
        return ""
    text = str(value)
    if len(text) >= 16 and text[10] == "T":
        return (
            f"{text[:10]} {text[11:16]} UTC" if text.endswith("Z") else f"{text[:10]} {text[11:16]}"
        )
    return text


def size(value: int | None) -> str:
    """Bytes in a human unit."""
    if value is None:
        return ""
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TB"


def summary(detail: Any, limit: int = 240) -> str:
    """An event's JSON detail as one line of `key: value` pairs."""
    if not isinstance(detail, dict):
        return "" if detail is None else str(detail)[:limit]
    parts = []
    for key, value in detail.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            shown = ", ".join(str(v)[:16] if len(str(v)) == 64 else str(v) for v in value[:5])
            value = shown + (f" (+{len(value) - 5} more)" if len(value) > 5 else "")
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        parts.append(f"{key}: {value}")
    text = "; ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short(content_id: str | None) -> str:
    return (content_id or "")[:12]


def basename(path: str | None) -> str:
    """A path's last part (a frame's name under its sequence's row)."""
    return (path or "").rsplit("/", 1)[-1]


FILTERS: dict[str, Callable[..., Any]] = {
    "when": when,
    "size": size,
    "summary": summary,
    "short": short,
    "basename": basename,
}
