"""IMF packages (SMPTE ST 2067) as deliveries: a folder with an `ASSETMAP.xml`.

Every asset is resolved through the ASSETMAP (paths stay inside the package); every packing-list
asset is verified by size and hash (the PKL's `HashAlgorithm`, base64 digest); every CPL's track
files must be packing-list assets (of this package, or of another package given with it — the
original version of a supplemental package). Every file is then judged as an asset. What does
not verify or resolve blocks with its reason; a file the ASSETMAP does not list is judged and
blocks too.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from provenance.errors import PackageError
from provenance.gate.members import Member
from provenance.model import sidecar_owner

# The XML of an IMP is small; a bigger "ASSETMAP" is not one.
MAX_XML_BYTES = 16 << 20
_NAMES = ("ASSETMAP.xml", "ASSETMAP")
_HASHES = {
    "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha256": "sha256",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}


@dataclass
class PackedAsset:
    id: str
    size: int | None
    hash: str | None
    algorithm: str | None
    type: str
    original_name: str | None


@dataclass
class Package:
    root: Path
    assetmap: dict[str, list[str]] = field(default_factory=dict)  # asset id -> chunk paths
    packing_lists: list[str] = field(default_factory=list)  # asset ids of the PKLs
    packed: dict[str, PackedAsset] = field(default_factory=dict)  # from every PKL
    problems: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)


def is_imp(path: Path) -> bool:
    return path.is_dir() and any((path / n).is_file() for n in _NAMES)


def archive_holds_imp(path: Path) -> bool:
    """A zip or tar whose members include an ASSETMAP (at its root or one folder down).

    A compressed tar is only looked at over its first members: reading its whole stream twice
    would double the cost of every tar delivery."""
    import tarfile
    import zipfile

    from provenance.gate.archives import open_tar

    def assetmap(name: str) -> bool:
        parts = PurePosixPath(name).parts
        return 1 <= len(parts) <= 2 and parts[-1] in _NAMES

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                return any(assetmap(n) for n in z.namelist())
        with open_tar(path) as t:  # bounded headers: a 2 GiB long name is refused
            limit = None if t.fileobj is not None and _plain_tar(path) else 64
            for count, info in enumerate(t):
                if assetmap(info.name):
                    return True
                if limit is not None and count >= limit:
                    return False
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError):
        return False
    return False


def _plain_tar(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(4)
    return not head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zX"))


def iter_imp_archive(path: Path, members: Iterable[Member]) -> Iterator[Member]:
    """An IMP inside an archive: its members, spooled out by the package walk (with its limits),
    are kept together in a private folder, then checked as an IMP folder."""
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="provgate-imp-"))
    os.chmod(tmp, 0o700)
    try:
        for m in members:
            if m.local is None:
                yield m
                continue
            target = tmp.joinpath(*PurePosixPath(m.name.replace("\\", "/")).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(m.local, target)
            except OSError:
                shutil.copyfile(m.local, target)
        roots = sorted((p.parent for n in _NAMES for p in tmp.rglob(n)), key=lambda p: len(p.parts))
        if not roots:
            yield Member(path.name, None, "the archive's ASSETMAP could not be read out")
            return
        root = roots[0]
        prefix = f"{path.name}/" + ("" if root == tmp else f"{root.relative_to(tmp)}/")
        for m in iter_imp(root):
            # spooled: read before the walk goes on, as the folder goes when the walk ends.
            yield Member(prefix + m.name, m.local, m.problem, True, m.flags)
        for folder, _dirs, files in os.walk(tmp):
            for name in files:
                p = Path(folder) / name
                if not p.is_relative_to(root):  # outside the IMP's folder: still delivered
                    yield Member(
                        f"{path.name}/{p.relative_to(tmp)}",
                        p,
                        flags=("in the archive but outside its IMF package",),
                    )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: Any, name: str) -> Any:
    return next((c for c in el if _local(c.tag) == name), None)


def _text(el: Any, name: str) -> str | None:
    c = _child(el, name)
    return c.text.strip() if c is not None and c.text else None


def _parse(path: Path) -> Any:
    from defusedxml import ElementTree as DET

    size = path.stat().st_size
    if size > MAX_XML_BYTES:
        raise PackageError(f"{size} bytes: too large for IMF XML", path)
    try:
        return DET.fromstring(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - defusedxml and expat raise several types
        raise PackageError(f"not readable XML: {exc}", path) from exc


def _inside(root: Path, rel: str) -> Path | None:
    """A chunk path, if it stays inside the package (no absolute paths, `..` or links out)."""
    rel = rel.replace("\\", "/")
    if not rel or rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        return None
    parts = PurePosixPath(rel).parts
    if ".." in parts:
        return None
    path = root.joinpath(*parts)
    try:
        if not path.resolve().is_relative_to(root.resolve()):
            return None
    except OSError:
        return None
    return path


def load_package(root: Path) -> Package:
    """The ASSETMAP and packing lists of an IMP (the package's structure, not yet verified)."""
    pkg = Package(root)
    am_path = next(root / n for n in _NAMES if (root / n).is_file())
    am = _parse(am_path)
    if _local(am.tag) != "AssetMap":
        raise PackageError(f"not an ASSETMAP (root element {_local(am.tag)})", am_path)
    for asset in (a for lst in am if _local(lst.tag) == "AssetList" for a in lst):
        aid = (_text(asset, "Id") or "").lower()
        chunks = _child(asset, "ChunkList")
        paths = [_text(c, "Path") or "" for c in chunks] if chunks is not None else []
        pkg.assetmap[aid] = paths
        if (_text(asset, "PackingList") or "").lower() == "true":
            pkg.packing_lists.append(aid)
    for pid in pkg.packing_lists:
        for rel in pkg.assetmap[pid]:
            path = _inside(root, rel)
            if path is None or not path.is_file():
                continue  # reported with the other assets
            try:
                pkl = _parse(path)
            except PackageError as exc:
                pkg.problems.append((rel, exc.reason))
                continue
            for lst in (e for e in pkl if _local(e.tag) == "AssetList"):
                for a in lst:
                    alg = _child(a, "HashAlgorithm")
                    aid = (_text(a, "Id") or "").lower()
                    size = _text(a, "Size")
                    pkg.packed[aid] = PackedAsset(
                        aid,
                        int(size) if size and size.isdigit() else None,
                        _text(a, "Hash"),
                        alg.get("Algorithm") if alg is not None else None,
                        _text(a, "Type") or "",
                        _text(a, "OriginalFileName"),
                    )
    if not pkg.packing_lists:
        pkg.problems.append((am_path.name, "the ASSETMAP names no packing list"))
    return pkg


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return base64.b64encode(h.digest()).decode()


def _verify(path: Path, packed: PackedAsset) -> str | None:
    """Why this file is not the asset the packing list describes, or None."""
    size = path.stat().st_size
    wrong: list[str] = []
    if packed.size is None:
        wrong.append("the packing list gives no size")
    elif size != packed.size:
        wrong.append(f"{size} bytes where the packing list says {packed.size}")
    algorithm = _HASHES.get(packed.algorithm or "http://www.w3.org/2000/09/xmldsig#sha1")
    if algorithm is None:
        wrong.append(f"hash algorithm {packed.algorithm} not supported")
    elif not packed.hash:
        wrong.append("the packing list gives no hash")
    elif _digest(path, algorithm) != packed.hash:
        wrong.append(f"its {algorithm.upper()} is not the packing list's")
    if not wrong:
        return None
    return "not what was packed: " + "; ".join(wrong)


def _track_files(path: Path) -> list[str]:
    cpl = _parse(path)
    return [(e.text or "").strip().lower() for e in cpl.iter() if _local(e.tag) == "TrackFileId"]


def iter_imp(root: Path, others: Iterable[Path] = ()) -> Iterator[Member]:
    """Every file of an IMP, verified against its packing lists, then judged."""
    pkg = load_package(root)
    originals = [load_package(o) for o in others if o.resolve() != root.resolve()]
    reached: set[Path] = set()
    for name, why in pkg.problems:
        yield Member(name, None, why)
    for aid, chunks in sorted(pkg.assetmap.items(), key=lambda kv: kv[1]):
        packed = pkg.packed.get(aid)
        for rel in chunks:
            path = _inside(root, rel)
            if path is None:
                yield Member(rel, None, "ASSETMAP path leaves the package: refused")
                continue
            if not path.is_file():
                what = (
                    "the packing list and ASSETMAP list it" if packed else "the ASSETMAP lists it"
                )
                yield Member(rel, None, f"missing: {what} ({aid}) but the file is not there")
                continue
            reached.add(path.resolve())
            flags: tuple[str, ...] = ()
            if packed is not None:
                verified = _verify(path, packed)
                flags = (verified,) if verified else ()
            elif aid not in pkg.packing_lists:
                flags = (f"in the ASSETMAP ({aid}) but in no packing list: not verified",)
            yield Member(rel, path, flags=flags)
    for aid, packed in sorted(pkg.packed.items()):
        if aid in pkg.assetmap:
            continue
        unmapped = f"listed in the packing list ({aid}) but not in the ASSETMAP"
        shown = packed.original_name or aid
        path = _inside(root, packed.original_name) if packed.original_name else None
        if path is None or not path.is_file() or path.resolve() in reached:
            yield Member(shown, None, unmapped)
            continue
        # The file is there under its original name: judge it, and say what is wrong.
        reached.add(path.resolve())
        verified = _verify(path, packed)
        yield Member(shown, path, flags=(unmapped,) + ((verified,) if verified else ()))
    for aid, packed in sorted(pkg.packed.items()):
        if "xml" not in packed.type:
            continue
        # A CPL is read where the ASSETMAP puts it, else under its original name.
        rel = (pkg.assetmap.get(aid) or [packed.original_name or ""])[0]
        path = _inside(root, rel) if rel else None
        if path is None or not path.is_file():
            continue
        try:
            if _local(_parse(path).tag) != "CompositionPlaylist":
                continue
            tracks = _track_files(path)
        except PackageError as exc:
            yield Member(rel, None, exc.reason)
            continue
        for tid in dict.fromkeys(t for t in tracks if t):
            yield from _resolve_track(pkg, originals, path.name, tid)
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.resolve() in reached or (Path(folder) == root and name in _NAMES):
                continue
            rel = os.path.relpath(path, root)
            # A listed asset's sidecar (C2PA, XMP) is its provenance (MXF cannot embed a
            # manifest): judged, as every file is, but not a stray.
            owner = sidecar_owner(name)
            sidecar = owner is not None and Path(folder, owner).resolve() in reached
            stray = not sidecar and name.upper() != "VOLINDEX.XML"
            extra = ("not listed in the ASSETMAP",) if stray else ()
            yield Member(rel, path, flags=extra)


def _resolve_track(pkg: Package, originals: list[Package], cpl: str, tid: str) -> Iterator[Member]:
    """A CPL's track file must be a packing-list asset, here or in the original version."""
    if tid in pkg.packed and tid in pkg.assetmap:
        return
    for other in originals:
        if tid in other.packed and tid in other.assetmap:
            path = _inside(other.root, other.assetmap[tid][0]) if other.assetmap[tid] else None
            if path is not None and path.is_file():
                why = _verify(path, other.packed[tid])
                shown = f"{other.root.name}/{other.assetmap[tid][0]}"
                yield Member(shown, path, flags=(why,) if why else ())
                return
    if tid in pkg.packed:
        why = "not in the ASSETMAP"
    else:
        why = "in no packing list (unlisted)" + (
            "" if originals else "; give the original version's package too if this is supplemental"
        )
    yield Member(f"{cpl}: track file {tid}", None, f"unresolved track file: {why}")
