"""Delivery packages: a folder, a file, a zip or tar archive, a timeline, an IMF package, or a
path list.

Archives are read in place: each member is streamed into a private temporary folder under a
name of our own (never the member's name), checked, and deleted. Unsafe members — absolute or
`..` names, links, special files, decompression bombs — become blocked entries, not files.
"""

from __future__ import annotations

import os
import shutil
import stat as statmod
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import IO

from provenance.errors import PackageError
from provenance.gate.imf import archive_holds_imp, is_imp, iter_imp, iter_imp_archive
from provenance.gate.members import Member
from provenance.gate.timelines import TimelineOptions, TimelineReader, sniff_timeline
from provenance.pipeline.walk import SIDECAR_SUFFIX, walk_files

# A member that inflates beyond this ratio, and beyond this size, is a decompression bomb.
BOMB_RATIO = 200
BOMB_MIN_BYTES = 64 << 20
# No member may inflate beyond this, whatever its ratio.
MAX_MEMBER_BYTES = 64 << 30
MAX_MEMBERS = 1_000_000

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def _is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def iter_package(
    spec: str,
    stdin: IO[str] | None = None,
    timelines: TimelineReader | None = None,
    imps: Sequence[Path] = (),
) -> Iterator[Member]:
    """Every asset in a package, in a stable order. A timeline (recognised by its content)
    stands for its clips' media, an IMF package (a folder with an ASSETMAP) for its assets."""
    if spec == "-":
        if stdin is None:
            raise PackageError("'-' given but no standard input", "-")
        for line in stdin:
            line = line.strip()
            if line:
                yield from _iter_path(Path(line), display_root=None)
        return
    path = Path(spec)
    if not path.exists() and not path.is_symlink():
        raise PackageError("no such file or folder", spec)
    adapter = sniff_timeline(path)
    if adapter is not None:
        reader = timelines or TimelineReader(TimelineOptions(), [])
        yield from reader.members(path, adapter)
    elif is_imp(path):
        yield from iter_imp(path, imps)
    elif _is_archive(path) and archive_holds_imp(path):
        yield from iter_imp_archive(path, iter_archive(path))
    elif _is_archive(path):
        yield from iter_archive(path)
    else:
        yield from _iter_path(path, display_root=path if path.is_dir() else path.parent)


def _iter_path(path: Path, display_root: Path | None) -> Iterator[Member]:
    if not path.exists():
        yield Member(str(path), None, "file not found")
        return
    errors: list[tuple[str, str]] = []
    # The walk's paths start with the absolute root: a member's name is what follows it.
    under = os.path.join(os.path.abspath(display_root), "") if display_root else ""
    for st in walk_files(path, include_all=True, on_error=lambda p, why: errors.append((p, why))):
        name = st.path
        if display_root:
            name = name[len(under) :] if name.startswith(under) else os.path.relpath(name, under)
        yield Member(name, Path(st.path))
    for where, why in errors:
        yield Member(where, None, f"cannot be read: {why}")


def _safe_name(name: str) -> str | None:
    """The member's path if it stays inside the package, else None."""
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return None
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if any(p == ".." for p in parts):
        return None
    return "/".join(p for p in parts if p not in ("", "."))


class _Spool:
    """A private temporary folder; each member gets a numbered file there, removed after use."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="provgate-check-"))
        os.chmod(self.dir, 0o700)
        self.count = 0

    def copy(self, src: IO[bytes], name: str, limit: int) -> tuple[Path | None, str | None]:
        self.count += 1
        suffix = "".join(PurePosixPath(name).suffixes[-1:])[:16]
        target = self.dir / f"m{self.count:07d}{suffix}"
        written = 0
        with open(target, "xb") as out:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                written += len(chunk)
                if written > limit:
                    out.close()
                    target.unlink()
                    return None, "decompression bomb: inflates far beyond its declared size"
                out.write(chunk)
        return target, None

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def iter_archive(path: Path) -> Iterator[Member]:
    spool = _Spool()
    try:
        if path.name.lower().endswith(".zip"):
            yield from _iter_zip(path, spool)
        else:
            yield from _iter_tar(path, spool)
    finally:
        spool.close()


def _bomb(declared: int, compressed: int) -> bool:
    return declared > MAX_MEMBER_BYTES or (
        declared > BOMB_MIN_BYTES and declared > BOMB_RATIO * max(compressed, 1)
    )


def _iter_zip(path: Path, spool: _Spool) -> Iterator[Member]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackageError(f"not a readable zip archive: {exc}", path) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise PackageError(f"archive lists {len(infos)} members (limit {MAX_MEMBERS})", path)
        for info in infos:
            if info.is_dir():
                continue
            name = _safe_name(info.filename)
            shown = info.filename
            mode = info.external_attr >> 16
            if name is None:
                yield Member(shown, None, "unsafe member name (absolute or '..'): refused")
                continue
            if statmod.S_ISLNK(mode):
                yield Member(shown, None, "symbolic link inside the archive: refused")
                continue
            if name.endswith(SIDECAR_SUFFIX):
                continue
            if _bomb(info.file_size, info.compress_size):
                yield Member(
                    shown,
                    None,
                    "decompression bomb: refused "
                    f"({info.file_size} bytes from {info.compress_size})",
                )
                continue
            try:
                with archive.open(info) as src:
                    local, problem = spool.copy(src, name, info.file_size)
            except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, ValueError) as exc:
                local, problem = None, f"cannot be read from the archive: {exc}"
            if local is not None:
                local = _with_sidecar(archive, info.filename, local, spool)
            yield Member(shown, local, problem, spooled=True)
            if local is not None:
                _unlink(local)


def _with_sidecar(archive: zipfile.ZipFile, member: str, local: Path, spool: _Spool) -> Path:
    """Place the member's `.c2pa` sidecar, if the archive has one, beside its spooled copy."""
    try:
        info = archive.getinfo(member + SIDECAR_SUFFIX)
    except KeyError:
        return local
    if info.file_size < (64 << 20):
        with archive.open(info) as src, open(str(local) + SIDECAR_SUFFIX, "wb") as out:
            shutil.copyfileobj(src, out)
    return local


def _unlink(local: Path) -> None:
    for p in (local, Path(str(local) + SIDECAR_SUFFIX)):
        p.unlink(missing_ok=True)


def _iter_tar(path: Path, spool: _Spool) -> Iterator[Member]:
    try:
        archive = tarfile.open(path, mode="r:*")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError) as exc:
        raise PackageError(f"not a readable tar archive: {exc}", path) from exc
    packed = max(path.stat().st_size, 1)
    total = 0
    count = 0
    with archive:
        try:
            for info in archive:
                count += 1
                if count > MAX_MEMBERS:
                    yield Member(path.name, None, f"more than {MAX_MEMBERS} members: refused")
                    return
                name = _safe_name(info.name)
                if info.isdir():
                    continue
                if name is None:
                    yield Member(info.name, None, "unsafe member name (absolute or '..'): refused")
                    continue
                if info.issym() or info.islnk():
                    yield Member(
                        info.name, None, f"link inside the archive (to {info.linkname}): refused"
                    )
                    continue
                if not info.isfile():
                    yield Member(info.name, None, "special file inside the archive: refused")
                    continue
                if name.endswith(SIDECAR_SUFFIX):
                    continue
                total += info.size
                if info.size > MAX_MEMBER_BYTES or (
                    total > BOMB_MIN_BYTES and total > BOMB_RATIO * packed
                ):
                    yield Member(
                        info.name,
                        None,
                        "decompression bomb: the archive inflates "
                        f"beyond {BOMB_RATIO}x its size; refused",
                    )
                    return
                src = archive.extractfile(info)
                if src is None:
                    yield Member(info.name, None, "cannot be read from the archive")
                    continue
                with src:
                    local, problem = spool.copy(src, name, info.size)
                yield Member(info.name, local, problem, spooled=True)
                if local is not None:
                    _unlink(local)
        except (tarfile.TarError, OSError, EOFError) as exc:
            yield Member(path.name, None, f"archive is damaged: {exc}")


def iter_packages(
    specs: Iterable[str], stdin: IO[str] | None = None, timelines: TimelineReader | None = None
) -> Iterator[Member]:
    specs = list(specs)
    # IMF packages given together resolve each other's track files (supplemental + original).
    imps = [Path(s) for s in specs if s != "-" and is_imp(Path(s))]
    for spec in specs:
        yield from iter_package(spec, stdin, timelines, imps)
