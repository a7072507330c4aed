"""Names as text for people: one escaping rule for every report and command that prints them.

A name the OS allows may hold bytes that are not UTF-8 (held as lone surrogates, PEP 383)
and control or invisible characters: a newline would start a forged report line, an ESC
drive the terminal, U+202E reverse the line. None of them reaches text output raw.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

_SURROGATES = re.compile("[\ud800-\udfff]")
_ESCAPED = re.compile(r"\\(\\|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")


def escaped_char(ch: str) -> str:
    """One character that must not be written raw, as `\\xNN`, `\\uNNNN` or `\\UNNNNNNNN`."""
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x80:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def shown(path: str | os.PathLike[str]) -> str:
    r"""A file name as text: undecodable bytes as `\xNN`, control and invisible characters
    (newlines included) as `\xNN`/`\uNNNN`, a backslash as `\\`; `unshown` reverses it."""
    text = os.fspath(path)
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(
        "\\\\" if ch == "\\" else ch if ch.isprintable() else escaped_char(ch) for ch in text
    )


def unshown(text: str) -> str:
    """The name that `shown` printed as `text`."""
    if "\\" not in text:
        return text

    def char(m: re.Match[str]) -> str:
        body = m[1]
        if body == "\\":
            return "\\"
        value = int(body[1:], 16)
        return os.fsdecode(bytes([value])) if body[0] == "x" else chr(value)

    return _ESCAPED.sub(char, text)


def one_line(text: str) -> str:
    """A message that may quote names, as one line: every character that is not printable
    (newlines included) is escaped; backslashes stay as they are."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else escaped_char(ch) for ch in text)


def printable_lines(text: str) -> str:
    """Text of several lines for a terminal: as `one_line`, but newlines and tabs stay."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\n\t" else escaped_char(ch) for ch in text)


def dumps_json(obj: Any, *, indent: int | None = 2) -> str:
    """JSON text; a name's undecodable bytes are written as `\\udcNN` escapes, which
    json.loads and os.fsencode turn back into the same bytes (raw, they cannot be encoded)."""
    text = json.dumps(obj, indent=indent, ensure_ascii=False, default=str)
    return _SURROGATES.sub(lambda m: f"\\u{ord(m[0]):04x}", text)
