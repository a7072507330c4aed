"""Editorial timelines as delivery definitions: what the editor cut is what the gate checks.

A timeline (OTIO JSON, `.otioz`/`.otiod` bundles, CMX 3600 EDL, AAF, FCP 7 XML, FCPXML — read
through OpenTimelineIO's adapters, recognised by content) stands for the media of its enabled
clips. Every media reference of every enabled clip is linked to files here (`linker.py`); a
clip whose media is another timeline is followed (bounded depth, cycles refused). Each linked
file becomes a package member; a reference that cannot be linked becomes a blocked member
("media offline"). The per-clip view (`TimelineView`) goes into the report.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from provenance.errors import PackageError
from provenance.gate.linker import ClipSpan, Link, Linker, MediaIndex, PathMap
from provenance.gate.members import Member

# Limits that real timelines never reach; past them a timeline blocks with the limit named.
# OTIO's JSON reader recurses natively and crashes the process on deep input (~10,000 levels),
# so nesting is measured before the file reaches it.
MAX_TIMELINE_BYTES = 256 << 20
MAX_JSON_DEPTH = 400
MAX_TIMELINE_NESTING = 8
MAX_CLIPS = 200_000
MAX_BUNDLE_MEMBER_BYTES = 64 << 30

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EDL_EVENT = re.compile(
    rb"^\s*\d{3,6}\s+\S+\s+(?:V|A\d*|AA|B|A\d*/V|AA/V|NONE)\s+(?:C|D|W\d{3}|K\s*B?|K\s*O?)\b",
    re.MULTILINE,
)
_EDL_RATES = (24, 25, 30, 48, 50, 60, 23.976, 29.97, 59.94)


@dataclass(frozen=True)
class TimelineOptions:
    """How a check links timeline media: where to look, how foreign paths map, the handles."""

    media_roots: tuple[Path, ...] = ()
    path_maps: tuple[PathMap, ...] = ()
    handles: int = 0


@dataclass
class ClipReference:
    key: str  # the media reference's key (OTIO: DEFAULT_MEDIA, or the AAF mob's name)
    kind: str  # external | sequence | missing | generator | timeline
    target: str | None  # what the timeline wrote
    link: Link

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "target": self.target, **self.link.to_json()}


@dataclass
class TimelineClip:
    index: int
    track: str
    name: str
    record_in: str
    record_out: str
    source_in: str
    source_out: str
    references: list[ClipReference] = field(default_factory=list)
    members: list[str] = field(default_factory=list)  # the package members that stand for it

    @property
    def link(self) -> str:
        states = {r.link.status for r in self.references}
        return next((s for s in ("offline", "ambiguous") if s in states), "linked")


@dataclass
class TimelineView:
    path: str
    adapter: str
    name: str
    clips: list[TimelineClip] = field(default_factory=list)
    parent: str | None = None  # the timeline whose clip named this one


def sniff_timeline(path: Path) -> str | None:
    """The OTIO adapter that reads this file or folder, judged by content; None if none."""
    try:
        if path.is_dir():
            return "otiod" if (path / "content.otio").is_file() else None
        if not path.is_file():
            return None
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return None
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                return "otioz" if "content.otio" in z.namelist() else None
        except (zipfile.BadZipFile, OSError):
            return None
    if head.startswith(_OLE):
        return "AAF" if _is_aaf(path) else None
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{") and b'"OTIO_SCHEMA"' in head:
        return "otio_json"
    if text.startswith(b"<"):
        if re.search(rb"<xmeml[\s>]", head):
            return "fcp_xml"
        if re.search(rb"<fcpxml[\s>]", head):
            return "fcpx_xml"
        return None
    if re.match(rb"(?:TITLE:|FCM:|\d{3,6}\s)", text) and _EDL_EVENT.search(head):
        return "cmx_3600"
    return None


def _is_aaf(path: Path) -> bool:
    import aaf2

    try:
        with aaf2.open(str(path), "r") as f:
            return f.content is not None
    except Exception:  # noqa: BLE001 - any OLE file that pyaaf2 cannot open is not an AAF
        return False


def json_depth(data: bytes) -> int:
    """The deepest bracket nesting of a JSON text, strings skipped (without parsing it)."""
    stripped = re.sub(rb'"(?:[^"\\]|\\.)*"', b"", data)
    depth = deepest = 0
    for m in re.finditer(rb"[\[\]{}]", stripped):
        if m.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _read_json_timeline(data: bytes, where: Path) -> Any:
    import opentimelineio as otio

    if len(data) > MAX_TIMELINE_BYTES:
        raise PackageError(
            f"timeline too large ({len(data)} bytes, limit {MAX_TIMELINE_BYTES})", where
        )
    depth = json_depth(data)
    if depth > MAX_JSON_DEPTH:
        raise PackageError(
            f"timeline nested too deep ({depth} levels, limit {MAX_JSON_DEPTH})", where
        )
    return otio.adapters.read_from_string(data.decode("utf-8"), adapter_name="otio_json")


def read_timeline(path: Path, adapter: str) -> Any:
    """The OTIO object of a timeline file; a PackageError with one line when it cannot be read."""
    import opentimelineio as otio

    try:
        if adapter == "otiod":
            return _read_json_timeline(_bounded_read(path / "content.otio"), path)
        if adapter == "otioz":
            with zipfile.ZipFile(path) as z:
                info = z.getinfo("content.otio")
                if info.file_size > MAX_TIMELINE_BYTES:
                    raise PackageError(f"timeline too large ({info.file_size} bytes)", path)
                with z.open(info) as f:
                    return _read_json_timeline(f.read(MAX_TIMELINE_BYTES + 1), path)
        if path.stat().st_size > MAX_TIMELINE_BYTES:
            raise PackageError(f"timeline too large ({path.stat().st_size} bytes)", path)
        if adapter == "otio_json":
            return _read_json_timeline(_bounded_read(path), path)
        if adapter == "cmx_3600":
            return _read_edl(path)
        return otio.adapters.read_from_file(str(path), adapter_name=adapter)
    except PackageError:
        raise
    except RecursionError as exc:
        raise PackageError("timeline nested too deep to read", path) from exc
    except Exception as exc:  # noqa: BLE001 - the adapters raise many types for a bad file
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise PackageError(f"cannot read timeline ({adapter}): {first}", path) from exc


def _bounded_read(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(MAX_TIMELINE_BYTES + 1)


def _read_edl(path: Path) -> Any:
    """CMX 3600 does not state its frame rate: the first common rate its timecodes fit."""
    import opentimelineio as otio

    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:  # an edit bay's code page: the linker maps its names back
        text = data.decode("latin-1")
    last: Exception | None = None
    for rate in _EDL_RATES:
        try:
            return otio.adapters.read_from_string(text, adapter_name="cmx_3600", rate=rate)
        except Exception as exc:  # noqa: BLE001 - a rate mismatch, or a bad file: try the next
            if "rate" not in str(exc).lower():
                raise
            last = exc
    assert last is not None
    raise last


def _enabled(item: Any) -> bool:
    """A clip counts unless it or any track/stack above it is disabled."""
    node = item
    while node is not None:
        if getattr(node, "enabled", True) is False:
            return False
        node = node.parent() if hasattr(node, "parent") else None
    return True


def _source_range(clip: Any) -> Any:
    """The source range the cut uses, or None when neither the clip nor its media says."""
    try:
        return clip.trimmed_range()
    except Exception:  # noqa: BLE001 - OTIO: no source range and no available range
        return None


def _timecode(t: Any) -> str:
    import opentimelineio as otio

    try:
        return otio.opentime.to_timecode(t, t.rate)
    except Exception:  # noqa: BLE001 - a non-integer rate or a negative time: say it in frames
        return f"{t.value:g}@{t.rate:g}"


def _mob_ids(clip: Any, ref: Any) -> list[str]:
    """AAF mob ids of the reference (its source mob), then of the clip (its master mob)."""
    ids = []
    for meta in (ref.metadata, clip.metadata):
        aaf = meta.get("AAF") if hasattr(meta, "get") else None
        mob = aaf.get("MobID") if aaf is not None and hasattr(aaf, "get") else None
        if isinstance(mob, str):
            ids.append(mob)
    return ids


def _hints(clip: Any, ref: Any) -> list[str]:
    """Names the timeline gives the media besides a path: clip name, source file, reel."""
    names = [getattr(ref, "name", "") or "", clip.name or ""]
    cmx = dict(clip.metadata.get("cmx_3600", {}) or {})
    for comment in cmx.get("comments", []) or []:
        m = re.match(r"\s*(?:SOURCE FILE|FROM FILE|FROM CLIP):\s*(.+?)\s*$", str(comment))
        if m:
            names.append(m.group(1))
    if cmx.get("reel"):
        names.append(str(cmx["reel"]))
    # FCP/Premiere keep a clip's source name as `name`; names in parentheses (`ZZ100_501
    # (LAY3)`) are labels, not files: keep the part before them too.
    names += [n.split(" (")[0] for n in list(names) if " (" in n]
    return [n.strip() for n in names if n and n.strip() and n.strip() != "/"]


class TimelineReader:
    """Reads one timeline (and those it names) into package members and timeline views."""

    def __init__(
        self,
        options: TimelineOptions,
        views: list[TimelineView],
        seen_paths: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.options = options
        self.views = views
        index = MediaIndex(options.media_roots) if options.media_roots else None
        self.linker = Linker(index, options.path_maps, options.handles, seen_paths)
        self._seen: set[str] = set()

    def members(self, path: Path, adapter: str) -> Iterator[Member]:
        """The members standing for a timeline; one that cannot be read is one blocked member."""
        try:
            yield from self._timeline(path, adapter, chain=(), parent=None)
        except PackageError as exc:
            yield Member(str(path), None, exc.reason)

    def _timeline(
        self, path: Path, adapter: str, chain: tuple[str, ...], parent: str | None
    ) -> Iterator[Member]:
        timeline = read_timeline(path, adapter)
        view = TimelineView(str(path), adapter, timeline.name or path.name, parent=parent)
        self.views.append(view)
        tmp: Path | None = None
        if adapter == "otioz":
            tmp = Path(tempfile.mkdtemp(prefix="provgate-otioz-"))
            os.chmod(tmp, 0o700)
        try:
            base = path if adapter in ("otiod", "otioz") else path.parent
            count = 0
            for clip in timeline.find_clips():
                count += 1
                if count > MAX_CLIPS:
                    raise PackageError(f"timeline has more than {MAX_CLIPS} clips", path)
                if not _enabled(clip):
                    continue
                row = self._row(timeline, clip, len(view.clips) + 1)
                view.clips.append(row)
                yield from self._clip(path, adapter, base, tmp, clip, row, chain + (_key(path),))
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)

    def _row(self, timeline: Any, clip: Any, index: int) -> TimelineClip:
        import opentimelineio as otio

        src = _source_range(clip)
        rec = None
        if src is not None:
            try:
                rec = clip.transformed_time_range(src, timeline.tracks)
                start = timeline.global_start_time
                if start is not None:
                    rec = otio.opentime.TimeRange(rec.start_time + start, rec.duration)
            except Exception:  # noqa: BLE001 - a clip outside a track: no record time
                rec = None
        track = clip.parent()
        track_name = (
            (getattr(track, "name", "") or getattr(track, "kind", "") or "track") if track else ""
        )
        return TimelineClip(
            index,
            track_name,
            clip.name or "",
            _timecode(rec.start_time) if rec else "",
            _timecode(rec.end_time_exclusive()) if rec else "",
            _timecode(src.start_time) if src else "",
            _timecode(src.end_time_exclusive()) if src else "",
        )

    def _clip(
        self,
        path: Path,
        adapter: str,
        base: Path,
        tmp: Path | None,
        clip: Any,
        row: TimelineClip,
        chain: tuple[str, ...],
    ) -> Iterator[Member]:
        import opentimelineio as otio

        src = _source_range(clip)
        span = (
            ClipSpan(round(src.start_time.to_frames()), max(1, round(src.duration.to_frames())))
            if src is not None
            else None
        )
        refs = dict(clip.media_references())
        real = [r for r in refs.values() if not isinstance(r, otio.schema.MissingReference)]
        label = f"{path.name} clip {row.index:03d} {row.name!r}" + (
            f" [{row.track}]" if row.track else ""
        )
        for key, ref in refs.items():
            if isinstance(ref, otio.schema.GeneratorReference):
                row.references.append(
                    ClipReference(
                        key,
                        "generator",
                        ref.generator_kind,
                        Link("linked", "generated by the editing system: no media"),
                    )
                )
                continue
            if isinstance(ref, otio.schema.MissingReference) and real:
                # Another reference of this clip names its media; this one names none.
                row.references.append(
                    ClipReference(
                        key,
                        "missing",
                        None,
                        Link("linked", "no media named (another reference names it)"),
                    )
                )
                continue
            kind, target, frames = "external", None, None
            if isinstance(ref, otio.schema.ExternalReference):
                target = ref.target_url
            elif isinstance(ref, otio.schema.ImageSequenceReference):
                kind = "sequence"
                try:
                    frames = ref.frame_range_for_time_range(src)
                except Exception:  # noqa: BLE001 - no range, or the cut runs past the sequence
                    frames = (ref.start_frame, ref.end_frame())
                target = ref.target_url_for_image_number(frames[0] - ref.start_frame)
            elif isinstance(ref, otio.schema.MissingReference):
                kind = "missing"
            else:
                row.references.append(
                    ClipReference(
                        key,
                        type(ref).__name__,
                        None,
                        Link(
                            "offline",
                            reason=f"media offline: a {type(ref).__name__} cannot be judged",
                        ),
                    )
                )
                name = f"{label} {key}"
                row.members.append(name)
                yield Member(name, None, f"media offline: a {type(ref).__name__} cannot be judged")
                continue
            # A bundle's relative media lives inside the bundle, never beside it.
            link: Link | None = None
            if target and _relative(target):
                if adapter == "otioz" and tmp is not None:
                    link = self._bundle_member(path, tmp, target)
                elif adapter == "otiod":
                    link = _inside_bundle(path, target)
            if link is None:
                link = self.linker.link(
                    target, _hints(clip, ref), base, span, frames, _mob_ids(clip, ref)
                )
            cref = ClipReference(key, kind, target, link)
            row.references.append(cref)
            if link.status != "linked":
                name = f"{label} {key}" if len(refs) > 1 else label
                row.members.append(name)
                yield Member(name, None, link.reason or "media offline")
                continue
            for file in link.files:
                adapter_of = sniff_timeline(file) if len(link.files) == 1 else None
                if adapter_of is not None:
                    cref.kind = "timeline"
                    yield from self._nested(file, adapter_of, chain, row, label, str(path))
                    continue
                shown = str(file)
                row.members.append(shown)
                if shown in self._seen:
                    continue
                self._seen.add(shown)
                yield Member(shown, file, spooled=tmp is not None and _under(file, tmp))

    def _nested(
        self,
        file: Path,
        adapter: str,
        chain: tuple[str, ...],
        row: TimelineClip,
        label: str,
        parent: str,
    ) -> Iterator[Member]:
        key = _key(file)
        if key in chain:
            row.members.append(f"{label} -> {file}")
            yield Member(f"{label} -> {file}", None, "timeline names itself (a cycle): refused")
            return
        if len(chain) >= MAX_TIMELINE_NESTING:
            row.members.append(f"{label} -> {file}")
            yield Member(
                f"{label} -> {file}",
                None,
                f"timelines nested more than {MAX_TIMELINE_NESTING} deep: refused",
            )
            return
        try:
            before = len(self.views)
            yield from self._timeline(file, adapter, chain, parent)
            row.members.extend(n for v in self.views[before:] for c in v.clips for n in c.members)
        except PackageError as exc:
            row.members.append(f"{label} -> {file}")
            yield Member(f"{label} -> {file}", None, exc.reason)

    def _bundle_member(self, bundle: Path, tmp: Path, target: str) -> Link | None:
        """A relative reference of an .otioz names a file inside the zip: spool it out."""
        name = _safe_relative(target)
        if name is None:
            return Link("offline", reason=f"media offline: {target!r} leaves the bundle")
        try:
            with zipfile.ZipFile(bundle) as z:
                try:
                    info = z.getinfo(name)
                except KeyError:
                    return Link("offline", reason=f"media offline: {name} is not in the bundle")
                if info.file_size > MAX_BUNDLE_MEMBER_BYTES:
                    return Link("offline", reason=f"media offline: {name} is too large to read")
                out = tmp / f"m{len(os.listdir(tmp)):07d}{PurePosixPath(name).suffix[:16]}"
                with z.open(info) as src, open(out, "xb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:
            return Link(
                "offline", reason=f"media offline: cannot read {name} from the bundle: {exc}"
            )
        return Link("linked", "inside the bundle", [out], media=f"{bundle.name}/{name}")


def _relative(target: str) -> bool:
    return (
        "://" not in target
        and not target.startswith(("/", "\\"))
        and not re.match(r"^[A-Za-z]:", target)
    )


def _safe_relative(target: str) -> str | None:
    from urllib.parse import unquote

    parts = PurePosixPath(unquote(target).replace("\\", "/")).parts
    if any(p == ".." for p in parts):
        return None
    return "/".join(p for p in parts if p not in ("", "."))


def _inside_bundle(bundle: Path, target: str) -> Link | None:
    """A relative reference of an .otiod names a file inside the bundle folder, never outside."""
    name = _safe_relative(target)
    if name is None:
        return Link("offline", reason=f"media offline: {target!r} leaves the bundle")
    path = bundle / name
    try:
        if not path.resolve().is_relative_to(bundle.resolve()):
            return Link("offline", reason=f"media offline: {target!r} leads out of the bundle")
    except OSError:
        return None
    if not path.is_file():
        return Link("offline", reason=f"media offline: {name} is not in the bundle")
    return Link("linked", "inside the bundle", [path], media=str(path))


def _under(file: Path, folder: Path) -> bool:
    try:
        return file.is_relative_to(folder)
    except ValueError:
        return False


def _key(path: Path) -> str:
    try:
        return str(path.resolve())
    except OSError:
        return str(path)
