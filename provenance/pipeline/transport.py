"""Outcomes crossing from the worker processes to the recording process, and how they cross.

A scan sends one `FileOutcome` per file from the workers, a check one `Prepared`. They are
pickled flat (a reading as the list of its fields, without the path the receiving side already
knows) and loaded without the frozen dataclasses' `__init__` (one guarded setattr per field):
the receiving process loads one for every file, and this is where that speed trick lives, not
in the model.
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
        values = None if r is None else _flat(r, keep_path=str(r.path) != st.path)
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
    reading = None if values is None else _unflat(values, values[_PATH] or Path(path))
    stat = FileStat(path, size, mtime_ns, inode)
    return made(FileOutcome, stat=stat, reading=reading, error=error, phash=phash, tag=tag)


@dataclass(frozen=True)
class Prepared:
    """What a worker read of one package file for the gate: its reading (or why not) and its
    image hash. Loaded from a worker, its reading has no path until `arrived` gives it the one
    the gate sent (a check loads one for every file of the package)."""

    reading: AssetReading | None
    error: str | None = None
    phash: str | None = None
    phash_problem: str | None = None  # why the image could not be fingerprinted
    # The file is an archive of this media type: not read as an asset, opened by the gate.
    archive: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        values = None if self.reading is None else _flat(self.reading, keep_path=False)
        return _prepared, (values, self.error, self.phash, self.phash_problem, self.archive)


def _prepared(
    values: list[Any] | None,
    error: str | None,
    phash: str | None,
    problem: str | None,
    archive: str | None,
) -> Prepared:
    reading = None if values is None else _unflat(values, None)
    return made(
        Prepared, reading=reading, error=error, phash=phash, phash_problem=problem, archive=archive
    )


def arrived(prepared: Prepared, path: Path) -> Prepared:
    """`prepared` as read from `path`: a reading loaded from a worker gets its path back (the
    worker read the file the gate named, and a reading's path is the one it was read from)."""
    reading = prepared.reading
    if reading is not None and reading.path is None:
        # Built by `_prepared` moments ago and seen by nobody else yet: completed in place.
        reading.__dict__["path"] = path
    return prepared


def _flat(reading: AssetReading, *, keep_path: bool) -> list[Any]:
    values = list(_reading_values(reading))
    if not keep_path:
        values[_PATH] = None
    values[_ORIGIN] = reading.origin.value
    return values


def _unflat(values: list[Any], path: Path | None) -> AssetReading:
    values[_PATH] = path
    values[_ORIGIN] = _ORIGINS[values[_ORIGIN]]
    return made(AssetReading, **dict(zip(_READING_FIELDS, values, strict=True)))
