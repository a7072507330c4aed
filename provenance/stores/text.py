"""File names that are not UTF-8, kept in text columns that must be.

A name the OS allows may hold any bytes; Python holds the undecodable ones as lone surrogates
(U+DC80..U+DCFF, PEP 383), which neither SQLite's driver nor PostgreSQL will take as text. The
store keeps such a byte as U+FFFD and two hex digits (`plate_\udcff.exr` is stored as
`plate_\ufffdff.exr`), and a U+FFFD in a name as two of them, so the mapping is one to one and
reverses exactly: every name round-trips to the same bytes, and a prefix of a name (a folder)
stays a prefix of its stored form. Text without either is stored as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

MARK = "\ufffd"
MARK_BYTES = MARK.encode("utf-8")
_TO_STORE = re.compile("[\udc80-\udcff\ufffd]")
_FROM_STORE = re.compile("\ufffd(\ufffd|[0-9a-f]{2})")


def to_store(text: str) -> str:
    """The stored form of `text` (itself unless it holds undecodable bytes or U+FFFD)."""
    return _TO_STORE.sub(_escape, text)


def from_store(text: str) -> str:
    """The text whose stored form is `text`."""
    return _FROM_STORE.sub(_unescape, text) if MARK in text else text


def from_store_bytes(data: bytes) -> str:
    """sqlite3's text_factory: a stored UTF-8 value as the text it stands for."""
    text = data.decode("utf-8")
    return _FROM_STORE.sub(_unescape, text) if MARK_BYTES in data else text


def storable(params: Sequence[Any]) -> Sequence[Any]:
    """`params` with every text value in its stored form: the same sequence when none needs
    one (a text that is plain ASCII never does, so most statements pay one scan)."""
    if any(type(v) is str and not v.isascii() for v in params):
        return tuple(to_store(v) if isinstance(v, str) else v for v in params)
    return params


def storable_rows(rows: Iterable[Sequence[Any]]) -> Iterable[Sequence[Any]]:
    """Rows for executemany or COPY, each in its stored form."""
    for row in rows:
        yield storable(row)


def stored_row(values: Sequence[Any]) -> Sequence[Any]:
    """A result row as the values it stands for (for drivers without a text hook). A plain
    loop: a third cheaper than any() over a generator, and every row read pays it."""
    for value in values:
        if type(value) is str and MARK in value:
            return [from_store(v) if isinstance(v, str) else v for v in values]
    return values


def _escape(match: re.Match[str]) -> str:
    ch = match[0]
    return MARK + MARK if ch == MARK else f"{MARK}{ord(ch) - 0xDC00:02x}"


def _unescape(match: re.Match[str]) -> str:
    body = match[1]
    return MARK if body == MARK else chr(0xDC00 + int(body, 16))
