"""Delivery packages: a folder, a file, an archive, a timeline, an IMF package, or a path
list.

Every regular file reachable in a package is a member, whatever its name; what cannot be
judged (links out of the package, special files, unreadable folders, archives that cannot be
opened) is a member with a problem, which the gate blocks. Archives are recognised by their
bytes, not their names, and opened wherever they sit (`archives`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from provenance.errors import PackageError
from provenance.gate.archives import is_archive, iter_archive, zip_lists_too_many
from provenance.gate.imf import archive_holds_imp, is_imp, iter_imp, iter_imp_archive
from provenance.gate.members import Member, sniff_file
from provenance.gate.timelines import TimelineOptions, TimelineReader, sniff_timeline
from provenance.pipeline.walk import walk_package


def iter_package(
    spec: str,
    stdin: IO[str] | None = None,
    timelines: TimelineReader | None = None,
    imps: Sequence[Path] = (),
    *,
    open_archives: bool = True,
) -> Iterator[Member]:
    """Every asset in a package, in a stable order. A timeline (recognised by its content)
    stands for its clips' media, an IMF package (a folder with an ASSETMAP) for its assets.

    `open_archives`: archives among a folder's files are opened here and stand for their
    members; without it they are members like any other file, for a caller that recognises
    them as it reads them (the gate's workers) and opens them with `iter_archive`."""
    if spec == "-":
        if stdin is None:
            raise PackageError("'-' given but no standard input", "-")
        for line in stdin:
            line = line.rstrip("\r\n")
            if line.strip():
                yield from _iter_path(Path(line), None, open_archives)
        return
    path = Path(spec)
    if not path.exists() and not path.is_symlink():
        raise PackageError("no such file or folder", spec)
    if path.is_file() and zip_lists_too_many(path):  # refused before anything parses it all
        yield from iter_archive(path)
        return
    adapter = sniff_timeline(path)
    if adapter is not None:
        reader = timelines or TimelineReader(TimelineOptions(), [])
        yield from reader.members(path, adapter)
    elif is_imp(path):
        yield from iter_imp(path, imps)
    elif path.is_file() and is_archive(_media_type(path)):
        if archive_holds_imp(path):
            yield from iter_imp_archive(path, iter_archive(path))
        else:
            yield from iter_archive(path)
    else:
        yield from _iter_path(path, path if path.is_dir() else path.parent, open_archives)


def _media_type(path: Path | str) -> str:
    try:
        return sniff_file(path)
    except OSError:
        return "application/octet-stream"  # read_asset names the failure


def _iter_path(path: Path, display_root: Path | None, open_archives: bool) -> Iterator[Member]:
    if not path.exists() and not path.is_symlink():
        yield Member(str(path), None, "file not found")
        return
    # The walk's paths start with the absolute root: a member's name is what follows it.
    under = os.path.join(os.path.abspath(display_root), "") if display_root else ""
    for entry in walk_package(path):
        name = entry.path
        if display_root:
            name = name[len(under) :] if name.startswith(under) else os.path.relpath(name, under)
        if entry.problem is not None:
            yield Member(name, None, entry.problem)
            continue
        if open_archives:
            media_type = _media_type(entry.path)
            if is_archive(media_type):
                yield from iter_archive(Path(entry.path), name + "/", media_type)
                continue
        yield Member(name, Path(entry.path))


def iter_packages(
    specs: Iterable[str],
    stdin: IO[str] | None = None,
    timelines: TimelineReader | None = None,
    *,
    open_archives: bool = True,
) -> Iterator[Member]:
    specs = list(specs)
    # IMF packages given together resolve each other's track files (supplemental + original).
    imps = [Path(s) for s in specs if s != "-" and is_imp(Path(s))]
    for spec in specs:
        yield from iter_package(spec, stdin, timelines, imps, open_archives=open_archives)
