"""The media linker: from the media a timeline names (the edit bay's paths, clip names, reels)
to files on this storage.

Every reference ends as one `Link`: `linked` (with how: the path as written, a mapped path, the
file name, the name of a frame sequence, or a path the store has seen), `ambiguous` (the
candidates listed) or `offline`. For a frame sequence only the frames the clip uses (plus the
configured handles) are taken; a frame missing from that range makes the link offline.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from provenance.errors import ConfigError

# `name.0101.exr`, `name_0101.exr`, `name0101.exr`: a prefix, the frame number, the extension.
_FRAME = re.compile(r"^(?P<prefix>.*?)(?P<frame>\d+)(?P<ext>\.[A-Za-z][A-Za-z0-9]{0,7})$")
_DRIVE = re.compile(r"^[A-Za-z]:/")


@dataclass(frozen=True)
class PathMap:
    """A foreign path prefix (as the edit bay wrote it) and where that folder is here."""

    foreign: str  # normalised: forward slashes, no trailing slash
    local: Path

    def apply(self, foreign_path: str) -> Path | None:
        fold = _folds_case(self.foreign)
        a, b = (
            (foreign_path.lower(), self.foreign.lower()) if fold else (foreign_path, self.foreign)
        )
        if a == b:
            return self.local
        if a.startswith(b + "/"):
            return self.local / foreign_path[len(self.foreign) + 1 :]
        return None


def parse_map(spec: str) -> PathMap:
    """`FOREIGN=LOCAL` (split at the first `=`), as `--map` takes it."""
    foreign, sep, local = spec.partition("=")
    if not sep or not foreign.strip() or not local.strip():
        raise ConfigError(f"--map {spec!r}: expected FOREIGN=LOCAL, e.g. 'S:\\shows=/mnt/shows'")
    return PathMap(normalise_foreign(foreign.strip()).rstrip("/"), Path(local.strip()))


def _folds_case(path: str) -> bool:
    """Windows drive and UNC paths compare without case, as their file systems do."""
    return bool(_DRIVE.match(path)) or path.startswith("//")


def normalise_foreign(target: str) -> str:
    """A path or file URL as another machine wrote it, with forward slashes.

    `file://localhost/D%3a/media/x.mov` -> `D:/media/x.mov`; `file://HOST/share/x` ->
    `//HOST/share/x`; `S:\\path\\x.exr` -> `S:/path/x.exr`."""
    if target.lower().startswith("file:"):
        parsed = urlparse(target)
        # Percent-escapes of bytes that are not UTF-8 stay those bytes, as file names do here.
        path = unquote(parsed.path, errors="surrogateescape")
        if parsed.netloc and parsed.netloc.lower() != "localhost":
            path = f"//{parsed.netloc}{path}"
        elif re.match(r"^/[A-Za-z]:[/\\]", path):
            path = path[1:]
        target = path
    return target.replace("\\", "/")


@dataclass
class MediaItem:
    """A file, or a frame sequence (one folder, one prefix and extension, many frames)."""

    path: Path  # the file, or the sequence's first frame
    frames: dict[int, Path] | None = None
    prefix: str = ""
    ext: str = ""

    @property
    def label(self) -> str:
        if not self.frames:
            return str(self.path)
        lo, hi = min(self.frames), max(self.frames)
        pad = len(_FRAME.match(self.path.name).group("frame"))  # type: ignore[union-attr]
        return str(self.path.parent / f"{self.prefix}[{lo:0{pad}d}-{hi:0{pad}d}]{self.ext}")


@dataclass
class Link:
    """How one media reference of a clip was linked, and the files that stand for it."""

    status: str  # linked | ambiguous | offline
    how: str = ""
    files: list[Path] = field(default_factory=list)
    frames: str | None = None  # the frames taken, for a sequence: "86501-86531"
    candidates: list[str] = field(default_factory=list)
    reason: str = ""

    media: str = ""  # the file, or the sequence as `name.[86501-86531].exr`

    def to_json(self) -> dict[str, object]:
        return {
            "link": self.status,
            "how": self.how or None,
            "media": self.media or None,
            "file_count": len(self.files),
            "frames": self.frames,
            "candidates": self.candidates,
            "reason": self.reason or None,
        }


class MediaIndex:
    """The files under the media roots, by name and by frame sequence (one walk per check)."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = [Path(r) for r in roots]
        self.by_name: dict[str, list[Path]] = {}
        self.by_stem: dict[str, list[MediaItem]] = {}
        self._seqs: dict[tuple[str, str, str], MediaItem] = {}
        self._packages: dict[bytes, list[Path]] | None = None
        self._beside: dict[tuple[str, str, str], MediaItem] = {}
        for root in self.roots:
            if not root.is_dir():
                raise ConfigError(f"--media-root {root}: not a folder")
            for folder, dirs, files in os.walk(root):
                dirs.sort()
                for name in sorted(files):
                    self._add(Path(folder) / name)
        for item in self._seqs.values():
            if len(item.frames or ()) < 2:  # one numbered file is a file, not a sequence
                self._index(MediaItem(item.path), item.path.name)
            else:
                self._index(item, item.path.name)

    def _index(self, item: MediaItem, name: str) -> None:
        for stem in _stems(name):
            self.by_stem.setdefault(stem, []).append(item)

    def _add(self, path: Path) -> None:
        self.by_name.setdefault(path.name.lower(), []).append(path)
        m = _FRAME.match(path.name)
        if m is None:
            self._index(MediaItem(path), path.name)
            return
        key = (str(path.parent), m.group("prefix"), m.group("ext"))
        item = self._seqs.get(key)
        if item is None:
            item = self._seqs[key] = MediaItem(path, {}, m.group("prefix"), m.group("ext"))
        assert item.frames is not None
        item.frames.setdefault(int(m.group("frame")), path)
        if int(m.group("frame")) == min(item.frames):
            item.path = item.frames[min(item.frames)]

    def item_for(self, path: Path) -> MediaItem:
        """The file, or the sequence it is a frame of."""
        m = _FRAME.match(path.name)
        if m is not None:
            seq = self._seqs.get((str(path.parent), m.group("prefix"), m.group("ext")))
            if seq is not None and len(seq.frames or ()) > 1:
                return seq
            if seq is None and path.parent.is_dir():  # outside the roots: look at its folder
                return self.beside(path, m)
        return MediaItem(path)

    def beside(self, path: Path, m: re.Match[str]) -> MediaItem:
        """The sequence a numbered file outside the roots belongs to (each folder listed once:
        a cut names the same shot's folder in many events)."""
        key = (str(path.parent), m.group("prefix"), m.group("ext"))
        item = self._beside.get(key)
        if item is None:
            item = self._beside[key] = _sequence_beside(path, m)
        if not item.frames and item.path != path:
            return MediaItem(path)
        return item

    def mxf_with_package(self, umid: str) -> list[Path]:
        """The MXF files under the roots whose header metadata carries this package UMID
        (an Avid MXF holds its file and master mob ids); their headers are read on first use."""
        key = umid_bytes(umid)
        if key is None:
            return []
        if self._packages is None:
            self._packages = {}
            for paths in self.by_name.values():
                for path in paths:
                    if path.suffix.lower() == ".mxf":
                        for found in _header_umids(path):
                            self._packages.setdefault(found, []).append(path)
        return sorted(set(self._packages.get(key, [])))

    def named(self, name: str) -> list[MediaItem]:
        """Items holding a file of exactly this name (any case)."""
        items: dict[int, MediaItem] = {}
        for path in self.by_name.get(name.lower(), []):
            item = self.item_for(path)
            items[id(item)] = item
        return list(items.values())

    def stemmed(self, name: str) -> list[MediaItem]:
        """Items whose name, without extension or frame number, is this name's."""
        items: dict[int, MediaItem] = {}
        for stem in _stems(name):
            for item in self.by_stem.get(stem, []):
                items[id(item)] = item
        return list(items.values())


def _sequence_beside(path: Path, m: re.Match[str]) -> MediaItem:
    prefix, ext = m.group("prefix"), m.group("ext")
    frames: dict[int, Path] = {}
    try:
        names = os.listdir(path.parent)
    except OSError:
        return MediaItem(path)
    for name in names:
        f = _FRAME.match(name)
        if f and f.group("prefix") == prefix and f.group("ext") == ext:
            frames.setdefault(int(f.group("frame")), path.parent / name)
    if len(frames) < 2:
        return MediaItem(path)
    return MediaItem(frames[min(frames)], frames, prefix, ext)


# SMPTE 330M basic UMID: a 12-byte universal label `06 0A 2B 34 01 01 01 0v 01 01 mm nn`, a
# length byte (0x13), the instance number and the 16-byte material number. MXF header metadata
# holds each package's UMID as 32 raw bytes; OTIO's AAF adapter spells mob ids as
# `urn:smpte:umid:060a2b34.01010101.01010f00.13000000.…`.
_UMID_LABEL = b"\x06\x0a\x2b\x34\x01\x01\x01"
MXF_HEADER_BYTES = 4 << 20


def umid_bytes(umid: str) -> bytes | None:
    digits = umid.lower().removeprefix("urn:smpte:umid:").replace(".", "")
    if len(digits) != 64 or not re.fullmatch(r"[0-9a-f]{64}", digits):
        return None
    return bytes.fromhex(digits)


def _header_umids(path: Path) -> set[bytes]:
    try:
        with open(path, "rb") as f:
            head = f.read(MXF_HEADER_BYTES)
    except OSError:
        return set()
    found = set()
    at = head.find(_UMID_LABEL)
    while at >= 0 and at + 32 <= len(head):
        umid = head[at : at + 32]
        if umid[8:10] == b"\x01\x01" and umid[12] == 0x13:
            found.add(umid)
        at = head.find(_UMID_LABEL, at + 1)
    return found


def _legacy_bytes(name: str) -> str | None:
    """The name as this machine's file names would hold it if the timeline was written in a
    one-byte code page (an EDL in Latin-1 naming `caf\xe9.exr`), or None."""
    if name.isascii():
        return None
    try:
        raw = name.encode("latin-1")
    except UnicodeEncodeError:
        return None
    variant = os.fsdecode(raw)
    return variant if variant != name else None


def _stems(name: str) -> set[str]:
    """A name without its extension, and without extension and frame number, folded:
    `A.take_1.0001.exr` -> {`a.take_1.0001`, `a.take_1`}; `ZZ.LAY3.01` -> {`zz.lay3.01`}."""
    name = PurePosixPath(name.replace("\\", "/")).name.lower()
    stems = set()
    stem, dot, ext = name.rpartition(".")
    stems.add(stem if dot and stem and re.fullmatch(r"[a-z][a-z0-9]{0,7}", ext) else name)
    m = _FRAME.match(name)
    if m and m.group("prefix").rstrip("._- "):
        stems.add(m.group("prefix").rstrip("._- "))
    return stems


@dataclass(frozen=True)
class ClipSpan:
    """The source frames a clip uses, at its rate: first frame number and count."""

    first: int
    count: int


class Linker:
    """Links references to files: by path (as written, then through the maps), by file name and
    frame range under the media roots, then by the paths the store has seen."""

    def __init__(
        self,
        index: MediaIndex | None,
        maps: Sequence[PathMap] = (),
        handles: int = 0,
        seen_paths: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.index = index
        self.maps = list(maps)
        self.handles = max(0, handles)
        self.seen_paths = seen_paths
        self._no_roots = MediaIndex(())  # sequences beside linked paths, without media roots

    def link(
        self,
        target: str | None,
        hints: Iterable[str],
        base: Path,
        span: ClipSpan | None,
        frames: tuple[int, int] | None = None,
        package_ids: Iterable[str] = (),
    ) -> Link:
        """Link one reference. `target` is the path the timeline wrote (or None), `hints`
        further names (clip name, source file, reel); `frames` an exact frame range when the
        timeline itself says which frames (an OTIO image sequence); `package_ids` the AAF mob
        ids (UMIDs) an MXF file's header would carry."""
        tried: list[str] = []
        if target:
            foreign = normalise_foreign(target)
            for spelling in filter(None, (foreign, _legacy_bytes(foreign))):
                for how, path in self._paths(spelling, base):
                    tried.append(str(path))
                    if path.is_file():
                        return self._take(self._item(path), how, span, frames)
        names = [PurePosixPath(normalise_foreign(target)).name] if target else []
        names += [h for h in hints if h]
        names += [v for v in map(_legacy_bytes, names) if v]
        for name in dict.fromkeys(names):
            found = self._by_name(name)
            if found:
                return self._choose(found, f"file name {name!r}", span, frames)
        if self.index is not None:
            for umid in dict.fromkeys(package_ids):
                holders = self.index.mxf_with_package(umid)
                if holders:
                    mxf = [MediaItem(p) for p in holders]
                    return self._choose(mxf, f"MXF package id {umid}", span, frames)
        if self.seen_paths is not None:
            for name in dict.fromkeys(names):
                seen = [Path(p) for p in self.seen_paths(PurePosixPath(name).name)]
                live = [p for p in seen if p.is_file()]
                if live:
                    items = {str(i.path): i for i in (self._item(p) for p in live)}
                    return self._choose(
                        list(items.values()), f"seen by the store as {name!r}", span, frames
                    )
        where = (
            "; ".join(tried[:3])
            if tried
            else (
                f"{normalise_foreign(target)} is not a path here (no --map for it)"
                if target
                else "no path in the timeline"
            )
        )
        searched = (
            "no --media-root given" if self.index is None else "no match under the media roots"
        )
        return Link(
            "offline",
            reason=f"media offline: {where}; {searched}"
            + (f" for {', '.join(repr(n) for n in dict.fromkeys(names))}" if names else ""),
        )

    def _paths(self, foreign: str, base: Path) -> Iterable[tuple[str, Path]]:
        local_abs = foreign.startswith("/") and not foreign.startswith("//")
        if local_abs:
            yield "path", Path(foreign)
        elif not _DRIVE.match(foreign) and not foreign.startswith("//") and "://" not in foreign:
            yield "path (relative to the timeline)", base / foreign
        for m in self.maps:
            mapped = m.apply(foreign)
            if mapped is not None:
                yield f"mapped path ({m.foreign} -> {m.local})", mapped

    def _item(self, path: Path) -> MediaItem:
        return (self.index or self._no_roots).item_for(path)

    def _by_name(self, name: str) -> list[MediaItem]:
        if self.index is None:
            return []
        base = PurePosixPath(name.replace("\\", "/")).name
        return self.index.named(base) or self.index.stemmed(base)

    def _choose(
        self,
        items: list[MediaItem],
        how: str,
        span: ClipSpan | None,
        frames: tuple[int, int] | None,
    ) -> Link:
        if len(items) > 1:
            return Link(
                "ambiguous",
                how=how,
                candidates=sorted(i.label for i in items),
                reason=f"media offline: {len(items)} candidates match {how}; link one with --map",
            )
        return self._take(items[0], how, span, frames)

    def _take(
        self,
        item: MediaItem,
        how: str,
        span: ClipSpan | None,
        frames: tuple[int, int] | None,
    ) -> Link:
        if not item.frames:
            return Link("linked", how, [item.path], media=str(item.path))
        have = item.frames
        if frames is not None:
            lo, hi = frames
            why = ""
        elif span is not None and span.first in have:
            lo, hi = span.first, span.first + span.count - 1
            why = ""
        else:
            # The frame numbers do not follow the source timecode: which frames the cut uses
            # cannot be told, so all of them are checked.
            lo, hi = min(have), max(have)
            why = " (frame numbers do not follow the source timecode: every frame checked)"
        lo, hi = lo - self.handles, hi + self.handles
        first, last = max(lo, min(have)), min(hi, max(have))
        wanted = range(lo + self.handles, hi - self.handles + 1)
        missing = [f for f in wanted if f not in have]
        label = f"{first}-{last}"
        if missing:
            return Link(
                "offline",
                how + why,
                frames=label,
                candidates=[item.label],
                reason=f"media offline: {len(missing)} frames missing from {item.label} "
                f"(first {missing[0]})",
            )
        files = [have[f] for f in range(first, last + 1) if f in have]
        pad = len(_FRAME.match(item.path.name).group("frame"))  # type: ignore[union-attr]
        media = str(item.path.parent / f"{item.prefix}[{first:0{pad}d}-{last:0{pad}d}]{item.ext}")
        return Link("linked", how + why, files, frames=label, media=media)
