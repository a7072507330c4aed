"""ASSET and FILE arguments as people type them: a name as provgate printed it (escaped), or
a frame sequence as `ls` shows it (`shot.[1001-1020].exr`, `shot.####.exr`), for every frame."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from typing import Any

from provenance.names import unshown
from provenance.sequences import expand_sequence, parse_sequence

from .main import UsageFailure


def named_paths(values: Iterable[str], store: Any = None) -> list[str]:
    """Each value as the paths it names: itself when it exists (or is no path at all: a
    content-id prefix, left to the command), the file its escaped form names, or every frame
    of the sequence it names (on disk, or known to `store`). A sequence with no frame
    anywhere is a usage error naming it."""
    out: list[str] = []
    for value in values:
        if os.path.lexists(value):
            out.append(value)
            continue
        plain = unshown(value)
        if plain != value and os.path.lexists(plain):
            out.append(plain)
            continue
        pattern = parse_sequence(plain)
        if pattern is None:
            out.append(value)
            continue
        folder = os.path.abspath(pattern.folder or ".")
        pattern = dataclasses.replace(pattern, folder=folder)
        candidates = _listed(folder)
        if store is not None:
            candidates += [p for p in store.files_under(folder) if os.path.dirname(p) == folder]
        frames = expand_sequence(pattern, candidates)
        if not frames:
            raise UsageFailure(f"{value}: no frame of this sequence on disk or in the store")
        out.extend(frames)
    return out


def _listed(folder: str) -> list[str]:
    try:
        return [os.path.join(folder, name) for name in os.listdir(folder)]
    except OSError:
        return []
