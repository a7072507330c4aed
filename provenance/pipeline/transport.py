"""Outcomes crossing from the worker processes to the recording process, and how they cross.

A scan sends one `FileOutcome` per file from the workers. They are pickled flat and loaded
without the frozen dataclasses' `__init__` (one guarded setattr per field): the recording
process loads one for every file, and this is where that speed trick lives, not in the model.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from provenance.model import Origin
from provenance.pipeline.classify import AssetReading
from provenance.pipeline.walk import FileStat

T = TypeVar("T")


def made(cls: type[T], /, **fields: Any) -> T:
    """`cls(**fields)` for a frozen dataclass, built as pickle builds one, without the
    generated __init__ and its guarded setattr per field (3 us for a reading's ten). Every
    field must be given. For values loaded from a worker, one for every file of a scan."""
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


@dataclass(frozen=True)
class TagOutcome:
    content_id: str | None  # the content id of the bytes after tagging (None: sidecar only)
    stat: FileStat | None
    written: str | None
    error: str | None = None


@dataclass(frozen=True)
class FileOutcome:
    """What one file turned out to be; `error` is set when it could not be read."""

    stat: FileStat
    reading: AssetReading | None = None
    error: str | None = None
    phash: str | None = None
    tag: TagOutcome | None = None

    @property
    def path(self) -> str:
        return self.stat.path

    def __reduce__(self) -> tuple[Any, ...]:
        # A scan sends one outcome per file from the workers: flat, and without the reading's
        # path when it is the stat's, it pickles and loads in about half the time.
        st, r = self.stat, self.reading
        values = None
        if r is not None:
            values = list(_reading_values(r))
            values[_PATH] = None if str(r.path) == st.path else r.path
            values[_ORIGIN] = r.origin.value
        return _outcome, (st.path, st.size, st.mtime_ns, st.inode, values, self.error,
                          self.phash, self.tag)  # fmt: skip


# Every field of a reading, in order: one added later crosses between processes unchanged.
_READING_FIELDS = tuple(f.name for f in fields(AssetReading))
_reading_values = operator.attrgetter(*_READING_FIELDS)
_PATH, _ORIGIN = _READING_FIELDS.index("path"), _READING_FIELDS.index("origin")
_ORIGINS = {o.value: o for o in Origin}


def _outcome(
    path: str,
    size: int,
    mtime_ns: int,
    inode: int,
    values: list[Any] | None,
    error: str | None,
    phash: str | None,
    tag: TagOutcome | None,
) -> FileOutcome:
    # Built as pickle builds any dataclass, without the frozen __init__ (one guarded
    # setattr per field): the recorder's process loads one of these for every file.
    reading = None
    if values is not None:
        values[_PATH] = values[_PATH] or Path(path)
        values[_ORIGIN] = _ORIGINS[values[_ORIGIN]]
        reading = made(AssetReading, **dict(zip(_READING_FIELDS, values, strict=True)))
    stat = FileStat(path, size, mtime_ns, inode)
    return made(FileOutcome, stat=stat, reading=reading, error=error, phash=phash, tag=tag)
