"""Writing provgate's tag: a signed C2PA manifest, embedded in the asset or beside it as a sidecar.

The manifest (SPEC §7) holds a `c2pa.actions.v2` assertion with the IPTC digital source type, a
`cawg.training-mining` assertion forbidding every use, and our own `org.provgate.tag`. A manifest
store already on the file (Firefly's, a camera's, an earlier provgate tag) is kept as the parent
ingredient: c2pa would otherwise replace it and erase someone else's history.

Writes go through `provenance.atomic`: the signed bytes go to `.<name>.provgate-tmp-pending`
in the same folder (shortened for long names; see `is_tag_temp_file`, for watchers), are
fsynced, and replace the original with one rename, keeping its mode, owner, extended
attributes and ACLs. A crash leaves the original or the tagged file, never a mix; a temporary
file left by a killed process is reused and renamed away by the next write to the same asset.
A read-only file, or one with several hard links, is never replaced: it gets a sidecar, or
is refused when the workspace says `[tagging] protected = "refuse"`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import mimetypes
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import c2pa

from provenance import atomic
from provenance.atomic import TEMP_MARKER as TAG_TEMP_MARKER
from provenance.c2pa import tag_xmp
from provenance.c2pa.context import c2pa_settings
from provenance.c2pa.manifest import (
    _PARENT_ID,
    Tag,
    manifest_definition,
    xmp_facts,
)
from provenance.c2pa.reader import sidecar_path
from provenance.c2pa.signing import TagSigner
from provenance.config import TAG_MODES, Config
from provenance.content import content_id_of_stream
from provenance.errors import ProvgateError, TagWriteError
from provenance.formats.base import HEAD_BYTES
from provenance.formats.sniff import sniff_media_type as sniff_bytes
from provenance.model import SIDECAR_SUFFIX, XMP_SIDECAR_SUFFIX

TagMode = Literal["embed", "sidecar", "off"]

TEMP_MARKER = TAG_TEMP_MARKER  # watchers skip any name containing it
_PARENT_STORE_URI = "provgate-parent.c2pa"
_MAX_SIDECAR = 64 << 20
# ISO BMFF types (MP4, MOV, HEIF...): c2pa hashes their media data as a Merkle tree of fixed
# chunks when `core.merkle_tree_chunk_size_in_kb` is set. Otherwise c2pa-rs 0.91 hashes each
# range in 256 MB reads, two at a time (over 500 MB resident for a 500 MB MP4); with 4 MB
# chunks a 500 MB MP4 signs in about 50 MB. max_proofs 0 keeps the leaf hashes in the manifest
# instead of adding proof boxes to the file.
_MERKLE_SETTINGS = {"merkle_tree_chunk_size_in_kb": 4096, "merkle_tree_max_proofs": 0}
_BMFF_TYPES = frozenset(
    {
        "video/mp4", "application/mp4", "audio/mp4", "video/quicktime", "video/x-m4v",
        "image/heic", "image/heif", "image/avif", "mp4", "mov", "m4a", "m4v", "heic", "heif",
        "avif",
    }
)  # fmt: skip


@dataclass(frozen=True)
class TagResult:
    """What `write_tag` did.

    `written` is the file written: the asset itself (embed) or its `<file>.c2pa` sidecar; None
    with mode "off", which writes nothing. `content_id` is the SHA-256 of the asset's new bytes
    when they changed (embed), else None. `parent_manifest` is the label of the manifest kept
    as the parent ingredient, if there was one.
    """

    path: Path
    written: Path | None
    mode: TagMode
    media_type: str | None = None
    content_id: str | None = None
    parent_manifest: str | None = None


def write_tag(
    path: Path,
    tag: Tag,
    config: Config,
    signer: TagSigner,
    media_type: str | None = None,
    mode: str | None = None,
    *,
    expected_content_id: str | None = None,
    before_replace: Callable[[str], None] | None = None,
) -> TagResult:
    """Sign `tag` into the asset at `path` (or its sidecar) and return what was written.

    With `expected_content_id` (and always for an approved tag, whose approved content id it
    is), the bytes are first copied to a private, unlinked snapshot and hashed on the way: the
    signer is fed that snapshot, so the content id checked is that of the very bytes signed,
    and a file that changed before or while it was read is refused (TagWriteError), nothing
    written. `before_replace(new content id)` runs once the new bytes are complete and before
    they take the asset's name: the caller records its intent there (crash consistency).

    `mode` defaults to the workspace's tag mode. "embed" embeds when c2pa can embed into the
    format (never re-encoding) and the file may be replaced (not read-only, one hard link),
    and writes a sidecar otherwise; "sidecar" always writes
    `<file>.c2pa`; "off" writes nothing and returns a result whose `written` is None. A symlink
    is followed: the file it points to is tagged. Raises TagWriteError, with the asset left
    exactly as it was, when the file cannot be tagged, and SigningError when the signer fails.
    """
    chosen = mode or config.tag_mode
    if chosen not in TAG_MODES:
        raise ValueError(f"unknown tag mode {chosen!r}")
    if chosen == "off":
        return TagResult(path=path, written=None, mode="off", media_type=media_type)
    target = Path(os.path.realpath(path))
    try:
        before = os.stat(target)
        if not stat.S_ISREG(before.st_mode):
            raise TagWriteError("not a regular file", path)
        expected = (tag.approved_content_id or expected_content_id or "").lower() or None
        with open(target, "rb") as opened:
            mime = (media_type or sniff_media_type(target)).lower()
            src = _snapshot(opened, target, expected, path) if expected else opened
            with src:
                job = _Job(path, target, src, before, mime, tag, before_replace)
                ctx = _signing_context(config.trust_pem())
                if chosen == "embed" and job.media_type in _embeddable():
                    protected = _kept_as_is(before)
                    if protected is None:
                        return _embed(job, ctx, signer)
                    if config.tag_protected == "refuse":
                        raise TagWriteError(
                            f"{protected}: not tagged (the workspace's [tagging] protected ="
                            ' "refuse"; "sidecar" writes a .c2pa beside it instead)',
                            path,
                        )
                return _sidecar(job, ctx, signer)
    except ProvgateError:
        raise
    except c2pa.C2paError as exc:
        raise TagWriteError(f"c2pa could not sign: {_one_line(exc)}", path) from exc
    except OSError as exc:
        raise TagWriteError(_os_reason(exc), path) from exc


def _snapshot(src: BinaryIO, target: Path, expected: str, path: Path) -> BinaryIO:
    """A private copy of `src` (created 0600 beside the asset and unlinked at once, so a crash
    leaves nothing behind), checked to hash to `expected`: what the signer reads can no longer
    change under it, whatever anyone does to the asset meanwhile."""
    name = atomic.temp_path(target, f"snapshot-{os.getpid()}-{secrets.token_hex(3)}")
    fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    os.unlink(name)
    copy = os.fdopen(fd, "w+b")
    try:
        digest = hashlib.sha256()
        src.seek(0)
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            copy.write(chunk)
        copy.flush()
        if digest.hexdigest() != expected:
            raise TagWriteError(
                f"changed while it was being tagged: its bytes are no longer content "
                f"{expected[:16]}; nothing written, no approval carried",
                path,
            )
        copy.seek(0)
    except BaseException:
        copy.close()
        raise
    return copy


def _kept_as_is(st: os.stat_result) -> str | None:
    """Why the file must not be replaced (None when it may be): embedding would rewrite a
    read-only file, or split its hard links (the other names would keep the old bytes).
    Such a file gets a sidecar, or is refused, as `[tagging] protected` says; if the folder
    refuses the sidecar too, the write fails."""
    if not st.st_mode & 0o222:
        return f"read-only (mode {stat.S_IMODE(st.st_mode):04o})"
    if st.st_nlink > 1:
        return f"has {st.st_nlink} hard links"
    return None


@dataclass
class _Job:
    """One tag write: the asset as named and as resolved, its open bytes, and its stat."""

    path: Path
    target: Path
    src: BinaryIO
    before: os.stat_result
    media_type: str
    tag: Tag
    before_replace: Callable[[str], None] | None = None

    @property
    def sidecar(self) -> Path:
        return sidecar_path(self.target)

    @property
    def xmp_sidecar(self) -> Path:
        return self.target.with_name(self.target.name + XMP_SIDECAR_SUFFIX)

    def has_sidecar(self) -> bool:
        # os.path.isfile: for a name near the 255-byte limit the sidecar's name is too long
        # to exist, which Path.is_file raises (ENAMETOOLONG) rather than answers.
        return os.path.isfile(self.sidecar)

    def check_unchanged(self) -> None:
        """Refuse to replace a file that someone wrote to while we were signing it."""
        after = os.stat(self.target)
        if _fingerprint(after) != _fingerprint(self.before):
            raise TagWriteError("changed while tagging; left as it is", self.path)


def _embed(job: _Job, ctx: c2pa.Context, signer: TagSigner) -> TagResult:
    # Embedding replaces the embedded store, so that one is the parent. A sidecar without an
    # embedded store is folded in as the parent instead, then removed: left beside the new
    # bytes it would no longer validate.
    has_sidecar = job.has_sidecar()
    parent, _ = _embedded_parent(job, ctx, remote_ok=has_sidecar)
    folded = parent is None and has_sidecar
    if folded:
        parent = _sidecar_parent(job, ctx)
    parent = parent or _approved_parent(job)
    builder = _builder(job, ctx, parent)
    # The tag's key facts as XMP, inserted before signing so that the manifest covers them.
    with_xmp = tag_xmp.with_packet(job.src, job.media_type, xmp_facts(job.tag))
    with (
        with_xmp or contextlib.nullcontext(),  # first: closed whatever fails after it
        _atomic_file(job.target, job.before, job.path) as tmp,
        signer.session() as c2pa_signer,
    ):
        source = with_xmp or job.src
        source.seek(0)
        sink = _WriteRecorder(tmp)
        try:
            builder.sign(c2pa_signer, job.media_type, source, sink)
        except c2pa.C2paError:
            if sink.error is not None:  # c2pa reports a failed write only as a generic error
                raise sink.error from None
            raise
        tmp.seek(0)
        new_id = content_id_of_stream(tmp)
        job.check_unchanged()
        if job.before_replace is not None:
            job.before_replace(new_id)
    if folded:
        job.sidecar.unlink(missing_ok=True)
        atomic.fsync_dir(job.target.parent)
    _xmp_sidecar(job, create=False)
    label = parent.label if parent else None
    return TagResult(job.path, job.target, "embed", job.media_type, new_id, label)


def _sidecar(job: _Job, ctx: c2pa.Context, signer: TagSigner) -> TagResult:
    # A sidecar write replaces the old sidecar, so that one is the parent; else an embedded
    # store (left in the file untouched) is named as the parent.
    length = len(os.fsencode(job.sidecar.name))
    if length > atomic.NAME_MAX:
        raise TagWriteError(
            f"not tagged: its sidecar's name ({job.sidecar.suffix} added) would be {length}"
            f" bytes, past the {atomic.NAME_MAX}-byte limit on a file name; shorten the name",
            job.path,
        )
    embedded, has_store = _embedded_parent(job, ctx, remote_ok=True)
    parent = _sidecar_parent(job, ctx) if job.has_sidecar() else embedded
    parent = parent or _approved_parent(job)
    builder = _builder(job, ctx, parent)
    builder.set_no_embed()
    job.src.seek(0)
    # Every byte is hashed ("application/octet-stream"), except for ISO BMFF without a store
    # of its own, whose hashing is chunked (see _MERKLE_SETTINGS). c2pa 0.91's BMFF hash of a
    # sidecar for a file that has an embedded store does not validate (bmffHash.mismatch).
    bmff = job.media_type in _BMFF_TYPES and not has_store
    fmt = job.media_type if bmff else "application/octet-stream"
    with signer.session() as c2pa_signer:
        # With no_embed, c2pa still copies the whole asset to the destination: discard it
        # rather than hold a second copy in memory.
        manifest = builder.sign(c2pa_signer, fmt, job.src, _Discard())
    job.check_unchanged()
    like = _stat_or_none(job.sidecar) or job.before
    with _atomic_file(job.sidecar, like, job.path, mode_mask=0o666) as tmp:
        tmp.write(manifest)
    _xmp_sidecar(job, create=True)
    label = parent.label if parent else None
    return TagResult(job.path, job.sidecar, "sidecar", job.media_type, None, label)


def _xmp_sidecar(job: _Job, *, create: bool) -> None:
    """`<file>.xmp` with the tag's facts, for the tools that read XMP sidecars: written beside
    a `.c2pa` sidecar (`create`), and kept in step with every tag while one is there (someone
    else's gets our properties merged in). One that cannot be parsed safely, or is not a
    regular file (a link is never followed), is left as it is. Not covered by the signature:
    the manifest hashes the asset; the facts it carries are the signed ones."""
    dest = job.xmp_sidecar
    try:
        existing: os.stat_result | None = os.lstat(dest)
    except FileNotFoundError:
        existing = None
    except OSError:
        if create:
            raise
        return
    facts = xmp_facts(job.tag)
    if existing is None:
        if not create:
            return
        packet: bytes | None = tag_xmp.tag_packet(facts)
    elif not stat.S_ISREG(existing.st_mode) or existing.st_size > _MAX_SIDECAR:
        return
    else:
        packet = tag_xmp.merged_packet(dest.read_bytes(), facts)
    if packet is None:
        return
    with _atomic_file(dest, existing or job.before, job.path, mode_mask=0o666) as tmp:
        tmp.write(packet)


@dataclass
class _Parent:
    """The asset's previous state, kept as the new manifest's parentOf ingredient."""

    label: str | None  # active manifest of its store; None for content with no manifest
    ingredient: dict[str, Any]
    store: bytes | None = field(default=None, repr=False)  # a sidecar's manifest store


def _ingredient(job: _Job) -> dict[str, Any]:
    ingredient: dict[str, Any] = {
        "title": _title(job.target.name),
        "relationship": "parentOf",
        "label": _PARENT_ID,
    }
    if job.tag.approved_content_id:
        ingredient["description"] = f"approved content sha256:{job.tag.approved_content_id}"
    return ingredient


def _embedded_parent(
    job: _Job, ctx: c2pa.Context, *, remote_ok: bool
) -> tuple[_Parent | None, bool]:
    """The embedded manifest store as a parent, and whether the file points to any store."""
    reader = None
    if job.media_type in _readable():
        job.src.seek(0)
        try:
            reader = c2pa.Reader.try_create(job.media_type, job.src, None, ctx)
        except c2pa.C2paError as exc:
            # c2pa-python 0.38 raises a plain C2paError "Remote: must fetch remote manifests
            # from url ..." for a manifest stored elsewhere; we never fetch it (SPEC §8).
            # Any other failure is a store we cannot keep: never replace it (fail closed).
            if not str(exc).startswith("Remote"):
                reason = f"its C2PA manifest cannot be read ({_one_line(exc)}); left as it is"
                raise TagWriteError(reason, job.path) from exc
            if not remote_ok:
                raise TagWriteError(
                    f"its manifest is remote and provgate does not fetch it; place it beside "
                    f"the file as {job.target.name}{SIDECAR_SUFFIX} to keep it",
                    job.path,
                ) from exc
            return None, True
    if reader is None:
        return None, False
    with reader:
        label = json.loads(reader.json()).get("active_manifest")
    return _Parent(label, _ingredient(job)), True


def _approved_parent(job: _Job) -> _Parent | None:
    """Approved content with no manifest of its own still becomes the parent (SPEC §3)."""
    return _Parent(None, _ingredient(job)) if job.tag.approved_content_id else None


def _sidecar_parent(job: _Job, ctx: c2pa.Context) -> _Parent:
    """The existing sidecar's store as parent, with its validation against these bytes."""
    try:
        if job.sidecar.stat().st_size > _MAX_SIDECAR:
            raise TagWriteError(f"{job.sidecar.name} is too large to be a manifest", job.path)
        store = job.sidecar.read_bytes()
        job.src.seek(0)
        with c2pa.Reader(_ingredient_format(job), job.src, store, ctx) as reader:
            found = json.loads(reader.json())
    except c2pa.C2paError as exc:
        raise TagWriteError(
            f"existing {job.sidecar.name} cannot be read ({_one_line(exc)}); "
            "move it away to tag this file",
            job.path,
        ) from exc
    # c2pa wants the validation results of an ingredient that carries a manifest
    # ("Ingredient v3 activeManifest requires validationResults").
    ingredient = _ingredient(job) | {
        "format": _ingredient_format(job),
        "active_manifest": found.get("active_manifest"),
        "validation_results": found.get("validation_results") or {},
        "manifest_data": {"format": "application/c2pa", "identifier": _PARENT_STORE_URI},
    }
    return _Parent(found.get("active_manifest"), ingredient, store)


def _ingredient_format(job: _Job) -> str:
    return job.media_type if job.media_type in _readable() else "application/octet-stream"


def _builder(job: _Job, ctx: c2pa.Context, parent: _Parent | None) -> c2pa.Builder:
    title = _title(job.target.name)
    definition = manifest_definition(job.tag, title, job.media_type, parent is not None)
    if parent is not None and parent.store is not None:
        definition["ingredients"] = [parent.ingredient]
    builder = c2pa.Builder(definition, context=ctx)
    if parent is not None:
        if parent.store is not None:
            builder.add_resource(_PARENT_STORE_URI, io.BytesIO(parent.store))
        else:
            job.src.seek(0)
            builder.add_ingredient(parent.ingredient, _ingredient_format(job), job.src)
    return builder


def temp_path(dest: Path) -> Path:
    """The temporary file a tag write to `dest` goes through (see provenance.atomic)."""
    return atomic.temp_path(dest)


def is_tag_temp_file(path: str | os.PathLike[str]) -> bool:
    """True for provgate's temporary files, which watchers must ignore."""
    return atomic.is_temp_file(path)


@contextlib.contextmanager
def _atomic_file(
    dest: Path, like: os.stat_result, owner: Path, mode_mask: int = 0o7777
) -> Iterator[BinaryIO]:
    """A file that replaces `dest` in one rename when the block succeeds, and vanishes if not.

    It keeps `like`'s permission bits and owner (where allowed) and, when `dest` exists, its
    extended attributes and ACLs. The temporary name is fixed per destination and guarded by
    an exclusive flock: a second writer of the same asset (`owner`, for messages) is refused,
    and a file left by a killed process (no lock holder) is reused.
    """
    keep = dest if dest.exists() else None
    try:
        with atomic.atomic_write(
            dest, like=like, mode_mask=mode_mask, preserve_xattrs=keep, locked=True
        ) as fh:
            yield fh
    except atomic.TempBusy:
        raise TagWriteError("another process is tagging this file", owner) from None


class _WriteRecorder:
    """A file wrapper that remembers the OSError (ENOSPC, EIO) a write raised inside c2pa."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self._fh.write(data)
        except OSError as exc:
            self.error = self.error or exc
            raise

    def flush(self) -> None:
        try:
            self._fh.flush()
        except OSError as exc:
            self.error = self.error or exc
            raise

    def read(self, size: int = -1) -> bytes:
        return self._fh.read(size)

    def readinto(self, buffer: Any) -> int:
        # c2pa reads back what it wrote; readinto lets it fill its own buffer without a copy.
        return self._fh.readinto(buffer)  # type: ignore[attr-defined,no-any-return]

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()


class _Discard:
    """A write-only stream that keeps nothing: c2pa's copy of the asset when making a sidecar."""

    def __init__(self) -> None:
        self._pos = self._size = 0

    def write(self, data: bytes) -> int:
        self._pos += len(data)
        self._size = max(self._size, self._pos)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        pass


def sniff_media_type(path: Path) -> str:
    """The media type from the file's first bytes (the same sniffing the readers use), then
    its name; application/octet-stream when neither says."""
    with open(path, "rb") as fh:
        found = sniff_bytes(fh.read(HEAD_BYTES))
    if found not in ("application/octet-stream", "text/plain"):
        return found
    return mimetypes.guess_type(path.name)[0] or found


@functools.lru_cache(maxsize=8)
def _signing_context(trust_pem: str) -> c2pa.Context:
    """c2pa_context's offline settings and trust, plus chunked hashing for ISO BMFF."""
    settings = c2pa_settings(trust_pem)
    settings["core"] = {**settings.get("core", {}), **_MERKLE_SETTINGS}
    return c2pa.Context.from_dict(settings)


@functools.cache
def _embeddable() -> frozenset[str]:
    return frozenset(c2pa.Builder.get_supported_mime_types())


@functools.cache
def _readable() -> frozenset[str]:
    return frozenset(c2pa.Reader.get_supported_mime_types())


def _fingerprint(st: os.stat_result) -> tuple[int, int, int, int, int]:
    # ctime too: a write in place whose mtime was set back still moves it (no one can set it).
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _title(name: str) -> str:
    """A file name as a manifest title: JSON text, so undecodable bytes (lone surrogates,
    PEP 383) are written as U+FFFD."""
    return os.fsencode(name).decode("utf-8", "replace")


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _os_reason(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    name = os.fsdecode(exc.filename) if exc.filename is not None else None
    if name and TEMP_MARKER in os.path.basename(name):
        return f"cannot write in {os.path.dirname(name)}: {reason}"
    return f"{reason} ({name})" if name else reason
