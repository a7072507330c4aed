"""Rendering helpers shared by commands: JSON lines, tables, progress bars."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

import click

from provenance.names import dumps_json, printable_lines, shown, unshown

__all__ = ["dumps_json", "shown", "unshown"]  # re-exported for the commands


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """click.echo for text that may hold names: characters that are not printable (but
    newlines and tabs) and undecodable bytes are escaped, never written raw. Names inside
    the text must already be `shown` (a newline in a name is escaped there)."""
    click.echo(printable_lines(text), err=err, nl=nl)


def echo_json(obj: Any, *, indent: int | None = 2) -> None:
    click.echo(dumps_json(obj, indent=indent))


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    cells = [[str(h) for h in headers]] + [
        ["" if c is None else shown(str(c)) for c in r] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Progress:
    """Counts and rate on one terminal line, redrawn at most ten times a second.

    With a known total it is a bar with a percentage and the time left. `clear()` wipes the
    line (before a log line is written under it); `close()` wipes it for good.
    """

    def __init__(
        self, label: str, stream: TextIO, total: int | None = None, unit: str = "files"
    ) -> None:
        self.label, self.stream, self.total, self.unit = label, stream, total, unit
        self.done = 0
        self.started = time.monotonic()
        self._drawn_at = -1.0  # the first call draws
        self._shown = False
        self._closed = False

    def __call__(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._drawn_at >= 0.1 and not self._closed:
            self._drawn_at = now
            self.draw(now)

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-6)
        rate = self.done / elapsed
        count = f"{self.done:,}" + (f"/{self.total:,}" if self.total else "") + f" {self.unit}"
        parts = [self.label, count, f"{rate:,.0f}/s", _clock(elapsed)]
        if self.total:
            share = min(self.done / self.total, 1.0)
            bar = "#" * int(share * 20)
            parts.insert(1, f"[{bar:<20}] {share:4.0%}")
            if rate > 0 and self.done < self.total:
                parts.append(f"{_clock((self.total - self.done) / rate)} left")
        width = shutil.get_terminal_size((80, 24)).columns - 1
        return "  ".join(parts)[:width]

    def draw(self, now: float | None = None) -> None:
        self.stream.write("\r\x1b[K" + self.line(now or time.monotonic()))
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def close(self) -> None:
        self.clear()
        self._closed = True


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _no_progress(n: int = 1) -> None:
    pass


def shows_progress(quiet: bool) -> bool:
    """Progress is drawn on a terminal only: never when stderr is piped, redirected or dumb."""
    return not quiet and sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


@contextmanager
def progress_bar(
    label: str, *, quiet: bool = False, total: int | None = None, unit: str = "files"
) -> Iterator[Callable[[int], None]]:
    """A Progress on a terminal (stderr); a no-op when stderr is piped or redirected."""
    if not shows_progress(quiet):
        yield _no_progress
        return
    bar = Progress(label, sys.stderr, total=total, unit=unit)
    try:
        yield bar
    finally:
        bar.close()
