"""Archives in delivery packages, read in place: zip, tar (plain or compressed) and single
compressed files, opened recursively within archive-wide budgets.

Each member is streamed into a private spool under a name of our own (never the member's
name), judged, and deleted. What cannot be judged becomes a blocked member with its reason:
names that leave the archive, links that leave it or point at nothing, special files, a zip
whose local headers and central directory disagree, archive formats provgate cannot read,
tar headers too large to hold, archives nested too deep, and an archive that expands beyond
its budget (`Budget`: bytes and members, counted across everything nested in it).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import posixpath
import stat as statmod
import struct
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

from provenance.formats.misc import C2PA_ZIP_MEMBER
from provenance.formats.sniff import ARCHIVE_TYPES, READABLE_ARCHIVES, is_tar_header
from provenance.gate.members import (
    MAX_MEMBERS,
    MAX_NESTING,
    Budget,
    BudgetExceeded,
    Member,
    MemberTooLarge,
    Spool,
    sniff_file,
)
from provenance.model import SIDECAR_SUFFIXES, is_sidecar_name

# A tar header block that holds a long name or pax records larger than this is refused:
# tarfile reads such a block into memory whole (a 2 MB .tar.gz can declare 2 GiB).
MAX_TAR_HEADER = 1 << 20
_LINK_HOPS = 32
_COMPRESSORS: dict[str, Any] = {
    "application/gzip": gzip.open,
    "application/x-bzip2": bz2.open,
    "application/x-xz": lzma.open,
}


def is_archive(media_type: str) -> bool:
    return media_type in ARCHIVE_TYPES


def iter_archive(path: Path, prefix: str = "", media_type: str | None = None) -> Iterator[Member]:
    """Every member of the archive at `path` (and of archives inside it), names under `prefix`."""
    spool = Spool()
    budget = Budget(path.stat().st_size)
    try:
        yield from _expand(path, media_type or sniff_file(path), prefix, spool, budget, 0)
    except BudgetExceeded as exc:
        yield Member(prefix.rstrip("/") or path.name, None, str(exc))
    finally:
        spool.close()


def _expand(
    path: Path, media_type: str, prefix: str, spool: Spool, budget: Budget, depth: int
) -> Iterator[Member]:
    shown = prefix.rstrip("/") or path.name
    if depth >= MAX_NESTING:
        yield Member(shown, None, f"archives nested more than {MAX_NESTING} deep: refused")
    elif media_type not in READABLE_ARCHIVES:
        yield Member(shown, None, f"archive format provgate cannot read ({media_type}): refused")
    elif media_type == "application/zip":
        yield from _iter_zip(path, prefix, spool, budget, depth)
    elif media_type == "application/x-tar" or _is_compressed_tar(path, media_type):
        yield from _iter_tar(path, prefix, spool, budget, depth)
    else:
        yield from _iter_compressed(path, media_type, prefix, spool, budget, depth)


def _judge(
    local: Path, name: str, spool: Spool, budget: Budget, depth: int, aliases: tuple[str, ...] = ()
) -> Iterator[Member]:
    """A spooled member: an archive is opened in turn; anything else is an asset."""
    try:
        media_type = sniff_file(local)
        if is_archive(media_type):
            for shown in (name, *aliases):
                yield from _expand(local, media_type, shown + "/", spool, budget, depth + 1)
        else:
            for shown in (name, *aliases):
                yield Member(shown, local, spooled=True)
    finally:
        local.unlink(missing_ok=True)
        for suffix in SIDECAR_SUFFIXES:
            Path(str(local) + suffix).unlink(missing_ok=True)


def safe_name(name: str) -> str | None:
    """The member's path if it stays inside the archive, else None."""
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return None
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if any(p == ".." for p in parts):
        return None
    return "/".join(p for p in parts if p not in ("", "."))


def _link_target(name: str, target: str, hard: bool) -> str | None:
    """Where a link member points, as a member name, or None when that leaves the archive."""
    if hard:
        return safe_name(target)
    if target.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    return None if joined.startswith("../") or joined == ".." else safe_name(joined)


def _resolve(name: str, links: dict[str, tuple[str, bool]], files: set[str], dirs: set[str]):
    """Follow a chain of links to a regular member: (target, None), or (None, why not)."""
    seen = {name}
    current = name
    for _ in range(_LINK_HOPS):
        raw, hard = links[current]
        target = _link_target(current, raw, hard)
        if target is None:
            return None, f"link that leaves the archive (to {raw}): refused"
        if target in files:
            return target, None
        if target in dirs:
            return "", None  # a folder: its members are judged where they are
        if target in seen:
            return None, "link loop inside the archive: refused"
        if target not in links:
            return None, f"link to a member the archive does not hold ({raw}): refused"
        seen.add(target)
        current = target
    return None, "link chain too long inside the archive: refused"


# --- zip -----------------------------------------------------------------------------------


_LOCAL = struct.Struct("<4s5H3I2H")
_LOCAL_SIG = b"PK\x03\x04"


def _iter_zip(
    path: Path, prefix: str, spool: Spool, budget: Budget, depth: int
) -> Iterator[Member]:
    shown = prefix.rstrip("/") or path.name
    listed = _zip_entry_count(path)
    if listed is not None and listed > MAX_MEMBERS:  # before zipfile holds them all
        yield Member(shown, None, f"zip lists {listed} members (more than {MAX_MEMBERS}): refused")
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        yield Member(shown, None, f"not a readable zip archive: {exc}")
        return
    with archive:
        infos = archive.infolist()
        for _ in infos:
            budget.member()
        problem = zip_structure_problem(path, archive)
        if problem:
            yield Member(shown, None, f"{problem}: refused")
            return
        if any(i.filename == C2PA_ZIP_MEMBER for i in infos):
            # c2pa embeds a store in the container itself (Office, EPUB): the container is
            # an asset, read with that store; the store member is read with it.
            yield Member(shown, path, spooled=depth > 0)
        files = {safe_name(i.filename) for i in infos if not i.is_dir()} - {None}
        dirs = {safe_name(i.filename.rstrip("/")) for i in infos if i.is_dir()}
        links: dict[str, tuple[str, bool]] = {}
        for info in infos:
            name = safe_name(info.filename)
            if name and statmod.S_ISLNK(info.external_attr >> 16) and info.file_size < 4096:
                links[name] = (archive.read(info).decode("utf-8", "replace"), False)
        files -= set(links)
        aliases: dict[str, list[str]] = {}
        for info in infos:
            if info.is_dir():
                continue
            name = safe_name(info.filename)
            member = prefix + info.filename
            mode = info.external_attr >> 16
            if name is None:
                yield Member(member, None, "unsafe member name (absolute or '..'): refused")
            elif name in links:
                target, why = _resolve(name, links, files, dirs)  # type: ignore[arg-type]
                if why:
                    yield Member(member, None, why)
                elif target:
                    aliases.setdefault(target, []).append(member)
            elif statmod.S_IFMT(mode) and not statmod.S_ISREG(mode):
                yield Member(member, None, "special file inside the archive: refused")
        for info in infos:
            name = safe_name(info.filename)
            if info.is_dir() or name is None or name in links or info.filename == C2PA_ZIP_MEMBER:
                continue
            mode = info.external_attr >> 16
            if statmod.S_IFMT(mode) and not statmod.S_ISREG(mode):
                continue
            extra = tuple(aliases.get(name, ()))
            if not budget.fits(info.file_size * (1 + len(extra))):
                budget.charge(info.file_size * (1 + len(extra)))  # raises: a bomb
            member = prefix + info.filename
            try:
                with archive.open(info) as src:
                    local = spool.copy(src, name, info.file_size, budget)
                for _ in extra:
                    budget.charge(info.file_size)  # each name is judged: each costs a read
            except MemberTooLarge as exc:
                yield Member(member, None, str(exc))
                continue
            except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, ValueError) as exc:
                yield Member(member, None, f"cannot be read from the archive: {exc}")
                continue
            _zip_sidecar(archive, info.filename, local, spool, budget)
            yield from _judge(local, member, spool, budget, depth, extra)


def zip_lists_too_many(path: Path) -> bool:
    """Whether the file is a zip whose end record declares more than `MAX_MEMBERS` members."""
    listed = _zip_entry_count(path)
    return listed is not None and listed > MAX_MEMBERS


def _zip_entry_count(path: Path) -> int | None:
    """The member count the zip's end record declares, read without parsing the directory."""
    try:
        with open(path, "rb") as fh:
            end = zipfile._EndRecData(fh)  # type: ignore[attr-defined]  # noqa: SLF001
    except (OSError, zipfile.BadZipFile, struct.error):
        return None
    return int(end[zipfile._ECD_ENTRIES_TOTAL]) if end else None  # type: ignore[attr-defined]


def _zip_sidecar(
    archive: zipfile.ZipFile, member: str, local: Path, spool: Spool, budget: Budget
) -> None:
    """Place the member's sidecars (`.c2pa`, `.xmp`), if the archive has them, beside its
    spooled copy."""
    for suffix in SIDECAR_SUFFIXES:
        try:
            info = archive.getinfo(member + suffix)
        except KeyError:
            continue
        if info.file_size >= (64 << 20):
            continue
        try:
            with archive.open(info) as src, open(str(local) + suffix, "wb") as out:
                while chunk := src.read(1 << 20):
                    budget.charge(len(chunk))
                    out.write(chunk)
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, ValueError):
            Path(str(local) + suffix).unlink(missing_ok=True)  # judged as itself


def zip_structure_problem(path: Path, archive: zipfile.ZipFile) -> str | None:
    """Why the zip's local headers and central directory disagree, or None.

    Extractors differ: most read the central directory, streaming ones the local headers.
    The gate judges what the directory lists, so anything a streaming extractor would write
    that the directory does not list (an unlisted entry), entries that share bytes (the
    overlapping-entry bomb), names listed twice, and a local header that names or sizes its
    entry differently, all block the archive.
    """
    infos = archive.infolist()
    seen: set[str] = set()
    for info in infos:
        key = safe_name(info.filename.rstrip("/")) or info.filename
        if key in seen:
            return f"zip lists {info.filename!r} twice"
        seen.add(key)
    start_dir = getattr(archive, "start_dir", None)
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        end_of_entries = start_dir if isinstance(start_dir, int) else size
        spans = []
        for info in sorted(infos, key=lambda i: i.header_offset):
            fh.seek(info.header_offset)
            header = fh.read(_LOCAL.size)
            if len(header) < _LOCAL.size or header[:4] != _LOCAL_SIG:
                return f"the central directory points at no local header for {info.filename!r}"
            (_, _, flags, _, _, _, _, csize, usize, nlen, xlen) = _LOCAL.unpack(header)
            local_name = fh.read(nlen).decode("utf-8" if flags & 0x800 else "cp437", "replace")
            if local_name != info.orig_filename:
                return f"the local header of {info.filename!r} names another file"
            sized = not flags & 0x08 and 0xFFFFFFFF not in (csize, usize)
            if sized and (csize, usize) != (info.compress_size, info.file_size):
                return f"local header and central directory disagree on {info.filename!r}'s size"
            data_end = info.header_offset + _LOCAL.size + nlen + xlen + info.compress_size
            spans.append((info.header_offset, data_end, info.filename))
        cursor = 0
        for start, end, name in spans:
            if start < cursor:
                return f"zip entries overlap ({name!r} shares bytes with the entry before it)"
            if _has_local_header(fh, cursor, start):
                return f"zip holds an entry its central directory does not list (before {name!r})"
            cursor = end
        if cursor > end_of_entries:
            return "zip entries run into the central directory"
        if _has_local_header(fh, cursor, end_of_entries):
            return "zip holds an entry its central directory does not list"
    return None


def _has_local_header(fh: IO[bytes], start: int, end: int) -> bool:
    """Whether bytes [start, end) of the file hold a local file header signature."""
    pos = start
    while pos < end:
        fh.seek(pos)
        at = fh.read(min(1 << 20, end - pos) + 3).find(_LOCAL_SIG)
        if at >= 0 and pos + at < end:
            return True
        pos += 1 << 20
    return False


# --- tar -----------------------------------------------------------------------------------


class _TarHeaderTooLarge(tarfile.TarError):
    pass


class BoundedTarInfo(tarfile.TarInfo):
    """A tar header reader that refuses header blocks too large to hold in memory, and the
    GNU sparse maps whose length the archive alone decides."""

    def _proc_gnulong(self, tarfile: Any) -> Any:  # type: ignore[override]
        if self.size > MAX_TAR_HEADER:
            raise _TarHeaderTooLarge(
                f"a {self.size}-byte GNU long-name header (limit {MAX_TAR_HEADER})"
            )
        return super()._proc_gnulong(tarfile)  # type: ignore[misc]

    def _proc_pax(self, tarfile: Any) -> Any:  # type: ignore[override]
        if self.size > MAX_TAR_HEADER:
            raise _TarHeaderTooLarge(f"a {self.size}-byte pax header (limit {MAX_TAR_HEADER})")
        return super()._proc_pax(tarfile)  # type: ignore[misc]

    def _proc_sparse(self, tarfile: Any) -> Any:  # type: ignore[override]
        raise _TarHeaderTooLarge("a GNU sparse member")

    def _proc_gnusparse_10(self, next: Any, pax_headers: Any, tarfile: Any) -> Any:  # type: ignore[override]
        raise _TarHeaderTooLarge("a GNU sparse member")


def _is_compressed_tar(path: Path, media_type: str) -> bool:
    opener = _COMPRESSORS.get(media_type)
    if opener is None:
        return False
    try:
        with opener(path, "rb") as fh:
            head = fh.read(512)
    except (OSError, EOFError, lzma.LZMAError):
        return True  # let the tar reader name the damage
    return is_tar_header(head)


def open_tar(path: Path) -> tarfile.TarFile:
    """A tar (plain or compressed) opened for reading with `BoundedTarInfo` headers: every
    reader of delivery tars must open them so (tarfile alone holds a huge header whole)."""
    return tarfile.open(path, mode="r:*", tarinfo=BoundedTarInfo)  # noqa: SIM115


def _tar_members(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The archive's headers one by one, without tarfile's ever-growing member list."""
    while True:
        info = archive.next()
        cast(Any, archive).members.clear()  # tarfile keeps every header it read
        if info is None:
            return
        yield info


def _iter_tar(
    path: Path, prefix: str, spool: Spool, budget: Budget, depth: int
) -> Iterator[Member]:
    shown = prefix.rstrip("/") or path.name
    # First pass, headers only: names, links and sidecars (kept, to sit beside their asset).
    files: set[str] = set()
    dirs: set[str] = set()
    links: dict[str, tuple[str, bool]] = {}
    sidecars: dict[str, Path] = {}
    declared = 0
    try:
        with open_tar(path) as archive:
            for info in _tar_members(archive):
                budget.member()
                name = safe_name(info.name)
                if name is None:
                    continue
                if info.isdir():
                    dirs.add(name)
                elif info.issym() or info.islnk():
                    links[name] = (info.linkname, info.islnk())
                elif info.isfile():
                    declared += info.size
                    if not budget.fits(declared):
                        budget.charge(declared)  # raises: a bomb, known from its headers
                    files.add(name)
                    if is_sidecar_name(name) and info.size < (64 << 20):
                        src = archive.extractfile(info)
                        if src is not None:
                            with src:
                                sidecars[name] = spool.copy(src, name, info.size, budget)
    except _TarHeaderTooLarge as exc:
        yield Member(shown, None, f"tar archive holds {exc}: refused")
        return
    except (tarfile.TarError, OSError, EOFError, RecursionError, lzma.LZMAError) as exc:
        yield Member(shown, None, f"not a readable tar archive: {exc}")
        return
    aliases: dict[str, list[str]] = {}
    for name in links:
        target, why = _resolve(name, links, files, dirs)
        if target:
            aliases.setdefault(target, []).append(prefix + name)
    try:
        with open_tar(path) as archive:
            for info in _tar_members(archive):
                name = safe_name(info.name)
                member = prefix + info.name
                if info.isdir():
                    continue
                if name is None:
                    yield Member(member, None, "unsafe member name (absolute or '..'): refused")
                    continue
                if name in links:
                    _, why = _resolve(name, links, files, dirs)
                    if why:
                        yield Member(member, None, why)
                    continue
                if not info.isfile():
                    yield Member(member, None, "special file inside the archive: refused")
                    continue
                extra = tuple(aliases.get(name, ()))
                budget.charge(info.size * len(extra))
                src = archive.extractfile(info)
                if src is None:
                    yield Member(member, None, "cannot be read from the archive")
                    continue
                with src:
                    local = spool.copy(src, name, info.size, budget)
                for suffix in SIDECAR_SUFFIXES:
                    sidecar = sidecars.get(name + suffix)
                    if sidecar is not None:
                        _place(sidecar, Path(str(local) + suffix))
                yield from _judge(local, member, spool, budget, depth, extra)
    except (tarfile.TarError, OSError, EOFError, RecursionError, lzma.LZMAError) as exc:
        yield Member(shown, None, f"archive is damaged: {exc}")
    finally:
        for p in sidecars.values():
            p.unlink(missing_ok=True)


def _place(src: Path, dest: Path) -> None:
    dest.unlink(missing_ok=True)
    dest.write_bytes(src.read_bytes())


# --- single compressed files ---------------------------------------------------------------


def _iter_compressed(
    path: Path, media_type: str, prefix: str, spool: Spool, budget: Budget, depth: int
) -> Iterator[Member]:
    """A .gz/.bz2/.xz that is not a tar: its one decompressed file, named without the suffix."""
    shown = prefix.rstrip("/") or path.name
    inner = posixpath.splitext(shown)[0] if "." in posixpath.basename(shown) else shown + "~"
    budget.member()
    try:
        with _COMPRESSORS[media_type](path, "rb") as src:
            local = spool.copy(src, inner, None, budget)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        yield Member(shown, None, f"compressed file cannot be read: {exc}")
        return
    yield from _judge(local, inner, spool, budget, depth)
