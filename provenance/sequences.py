"""Frame sequences (`shot_010.1001.exr` ...) shown as one row in terminal listings."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

# Only image formats form sequences: digits before `.mov` are a version, not a frame.
SEQUENCE_EXTENSIONS = frozenset(
    {".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".cin", ".tga", ".sgi", ".rgb"}
)


def group_sequences(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Collapse rows of the same folder, origin and status that form a frame sequence."""
    buckets: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    singles: list[dict[str, Any]] = []
    for row in rows:
        path = row["path"]
        ext = path[path.rfind(".") :].lower() if "." in path else ""
        name = path[path.rfind("/") + 1 :]
        # a name without a digit has no frame number: it can only stand alone
        if ext in SEQUENCE_EXTENSIONS and any(c.isdigit() for c in name):
            key = (
                row.get("facility"),
                path.rsplit("/", 1)[0],
                row.get("origin"),
                row.get("status"),
            )
            buckets[key].append(row)
        else:
            singles.append(row)
    import fileseq  # imported on use: it pulls in numpy

    out = list(singles)
    for members in buckets.values():
        if len(members) == 1:
            out.extend(members)
            continue
        by_path = {r["path"]: r for r in members}
        for seq in fileseq.findSequencesInList(list(by_path), pad_style=fileseq.PAD_STYLE_HASH1):
            files = [str(p) for p in seq]
            if len(files) == 1 or not seq.frameSet():
                out.extend(by_path[f] for f in files if f in by_path)
                continue
            first = by_path[files[0]]
            label = f"{seq.dirname()}{seq.basename()}[{seq.frameRange()}]{seq.extension()}"
            out.append({**first, "path": label, "content_id": f"{len(files)} files"})
    return sorted(out, key=lambda r: r["path"])
