"""Rendering helpers shared by commands: JSON lines, tables, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click


def echo_json(obj: Any, *, indent: int | None = 2) -> None:
    click.echo(json.dumps(obj, indent=indent, ensure_ascii=False, default=str))


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator[Any]:
    """A progress bar on a terminal; a no-op when stderr is piped or redirected."""
    if not sys.stderr.isatty():
        yield lambda n=1: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True) as bar:
        yield bar.update
