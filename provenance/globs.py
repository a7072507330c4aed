"""What makes a glob pattern (`[watch] ignore`, `declare --glob`) malformed.

fnmatch takes any text: an unclosed `[` silently becomes a literal, a backwards range
(`[z-a]`) matches nothing, a NUL matches no name at all. A pattern like that is almost
always a typo that would quietly watch, or declare, the wrong files, so it is refused.
"""

from __future__ import annotations

from typing import Any


def glob_problem(pattern: Any, *, names_only: bool = False) -> str | None:
    """Why `pattern` is not a usable glob (None when it is). `names_only`: it is matched
    against file names, so a `/` in it could never match."""
    if not isinstance(pattern, str):
        return f"must be a text pattern, not {type(pattern).__name__} {pattern!r}"
    if not pattern.strip():
        return "is empty"
    if "\0" in pattern:
        return "holds a NUL byte, which no file name can"
    if names_only and "/" in pattern:
        return f"{pattern!r} holds a '/': these patterns match file names, never folders"
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i] != "[":
            i += 1
            continue
        j = i + 1  # as fnmatch reads a set: an optional !, then a ] that is a member
        if j < n and pattern[j] == "!":
            j += 1
        if j < n and pattern[j] == "]":
            j += 1
        while j < n and pattern[j] != "]":
            j += 1
        if j >= n:
            return (
                f"{pattern!r}: the '[' at position {i + 1} is never closed "
                "(write [[] for a literal '[')"
            )
        members = pattern[i + 1 : j].removeprefix("!")
        for k in range(len(members) - 2):
            if members[k + 1] == "-" and members[k] > members[k + 2]:
                backwards = members[k : k + 3]
                return f"{pattern!r}: the range {backwards!r} is backwards and matches nothing"
        i = j + 1
    return None
