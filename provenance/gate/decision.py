"""The delivery gate: pass or block a package, asset by asset, failing closed."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import IO, Any

from provenance.config import Config
from provenance.errors import ProvgateError
from provenance.gate.archives import is_archive, iter_archive
from provenance.gate.members import Member, sniff_file
from provenance.gate.packages import iter_packages
from provenance.gate.timelines import TimelineOptions, TimelineReader, TimelineView
from provenance.history.recorder import save_asset
from provenance.history.registry import Registry
from provenance.markers.families import recognisers_of
from provenance.markers.watermark import WATERMARK_MEDIA, watermark_evidence
from provenance.model import UNKNOWN_TOOL, Evidence, Origin, Signal, Validation
from provenance.pipeline.classify import (
    AssetReading,
    decide_origin,
    is_sidecar_reading,
    needs_fingerprint,
    read_asset,
    tool_of,
)
from provenance.pipeline.fingerprints import fingerprint
from provenance.pipeline.phash import Fingerprint
from provenance.pipeline.pool import POOL_THRESHOLD, map_files
from provenance.pipeline.transport import Prepared, arrived
from provenance.stores import Store, now_iso

SCHEMA = "provgate.check/1"
# Revisions of provgate.check/1 that only add fields: 2 adds `timelines` (the per-clip view).
SCHEMA_REVISION = 2
# Files on disk read per batch (one worker pool each): at 512, a 2,000-image check spent ~13%
# of its time starting and stopping pools; 4,096 readings hold a few MB.
_BATCH = 4096


def prepare(path: Path, config: Config) -> Prepared:
    """Read one file for the gate; runs in worker processes, so it never touches the store.
    An archive is not read as an asset here: the gate opens it and judges its members (and
    the container itself when it carries a store, as `iter_archive` says)."""
    try:
        media_type = sniff_file(path)
    except OSError:
        media_type = None  # read_asset names the failure
    if media_type is not None and is_archive(media_type):
        return Prepared(None, f"an archive ({media_type}) that was not opened", archive=media_type)
    return read_prepared(path, config)


def read_prepared(path: Path, config: Config) -> Prepared:
    """One file read as an asset, whatever it is."""
    try:
        # Pixels (invisible watermarks) are read after the store is asked: once per content.
        return Prepared(read_asset(path, config))
    except ProvgateError as exc:
        return Prepared(None, exc.reason)


# The store's note that a still was decoded and carries no invisible watermark.
NO_WATERMARK = "watermark:none"


def _watermarks(item: tuple[Path, str]) -> list[Evidence]:
    return watermark_evidence(*item)


def _phash(item: tuple[Path, str]) -> Fingerprint:
    return fingerprint(*item)


@dataclass
class AssetVerdict:
    path: str
    decision: str  # pass | block
    reasons: list[str]
    reading: AssetReading | None = None
    approval: dict[str, Any] | None = None
    clear_with: str | None = None  # the command that would clear it
    error: str | None = None

    @property
    def origin(self) -> str:
        return self.reading.origin.value if self.reading else "unknown"

    @property
    def is_manifest_store(self) -> bool:
        """A sidecar (`.c2pa`, `.xmp`): evidence about its neighbour, not content of its own."""
        return is_sidecar_reading(self.reading)

    def to_json(self) -> dict[str, Any]:
        r = self.reading
        return {
            "path": self.path,
            "content_id": r.content_id if r else None,
            "media_type": r.media_type if r else None,
            "origin": self.origin,
            "tool": r.tool if r else None,
            "decision": self.decision,
            "reasons": self.reasons,
            "evidence": [e.to_json() for e in r.evidence] if r else [],
            "approval": self.approval,
            "error": self.error,
        }


@dataclass
class CheckReport:
    package: str | list[str]
    strict: bool
    checked_at: str = field(default_factory=now_iso)
    assets: list[AssetVerdict] = field(default_factory=list)
    timelines: list[TimelineView] = field(default_factory=list)
    # The generator families (recognisers) the check ran with, extensions named with origin.
    recognisers: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        return "blocked" if any(a.decision == "block" for a in self.assets) else "pass"

    @property
    def summary(self) -> dict[str, int]:
        return {
            "assets": len(self.assets),
            "blocked": sum(a.decision == "block" for a in self.assets),
            "ai": sum(a.origin in ("ai-generated", "ai-modified") for a in self.assets),
            "approved": sum(a.approval is not None for a in self.assets),
            "unknown": sum(
                a.origin == "unknown" and a.error is None and not a.is_manifest_store
                for a in self.assets
            ),
            "errors": sum(a.error is not None for a in self.assets),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "package": self.package,
            "verdict": self.verdict,
            "checked_at": self.checked_at,
            "strict": self.strict,
            "summary": self.summary,
            "assets": [a.to_json() for a in self.assets],
            "schema_revision": SCHEMA_REVISION,
            "timelines": [self.timeline_json(v) for v in self.timelines],
            "recognisers": list(self.recognisers),
        }

    def clip_verdict(self, clip: Any) -> tuple[str, list[str]]:
        """A clip passes when every member that stands for it passes."""
        by_name = self._by_name()
        reasons: list[str] = []
        block = not clip.members
        for name in clip.members:
            a = by_name.get(name)
            if a is None or a.decision == "block":
                block = True
                for r in a.reasons if a else ["not checked"]:
                    line = f"{Path(name).name}: {r}" if a and a.reading else r
                    if line not in reasons:
                        reasons.append(line)
        if not clip.members:
            reasons.append("no media checked for this clip")
        return ("block" if block else "pass"), reasons[:5]

    def _by_name(self) -> dict[str, AssetVerdict]:
        cached: dict[str, AssetVerdict] | None = getattr(self, "_names", None)
        if cached is None or len(cached) != len(self.assets):
            cached = {a.path: a for a in self.assets}
            self._names = cached
        return cached

    def timeline_json(self, view: TimelineView) -> dict[str, Any]:
        clips = []
        for c in view.clips:
            decision, reasons = self.clip_verdict(c)
            clips.append(
                {
                    "index": c.index,
                    "track": c.track,
                    "name": c.name,
                    "record_in": c.record_in,
                    "record_out": c.record_out,
                    "source_in": c.source_in,
                    "source_out": c.source_out,
                    "link": c.link,
                    "references": [r.to_json() for r in c.references],
                    "decision": decision,
                    "reasons": reasons,
                }
            )
        return {
            "path": view.path,
            "adapter": view.adapter,
            "name": view.name,
            "parent": view.parent,
            "clips": clips,
        }


class DeliveryGate:
    """Checks packages against the store's approvals under the workspace's policy."""

    def __init__(self, config: Config, store: Store, today: date | None = None) -> None:
        self.config = config
        self.store = store
        self.registry = Registry(store, config)
        self.today = today or date.today()
        self._approvers: frozenset[tuple[str, str]] | None = None
        self._revoked: set[str] | None = None

    def check(
        self,
        packages: list[str],
        *,
        strict: bool = False,
        stdin: IO[str] | None = None,
        progress: Any = None,
        timelines: TimelineOptions | None = None,
    ) -> CheckReport:
        """Check every asset of the packages; record the check as an event.

        A timeline among the packages stands for its clips' media, linked under `timelines`
        (media roots, path maps, handles); the report then holds a view per timeline."""
        report = CheckReport(
            package=packages[0] if len(packages) == 1 else list(packages),
            strict=strict,
            recognisers=recognisers_of(self.config),
        )
        reader = TimelineReader(
            timelines or TimelineOptions(), report.timelines, self.store.live_paths_named
        )
        members = iter_packages(packages, stdin, reader, open_archives=False)
        for member, prepared in self._prepared(members):
            if prepared is not None and prepared.archive and member.local is not None:
                # An archive among the files (the workers recognised it): its members are
                # the assets, each read and judged here as it is spooled.
                for inner in iter_archive(member.local, member.name + "/", prepared.archive):
                    report.assets.append(self.decide(inner, strict=strict))
                    if progress:
                        progress(1)
                continue
            report.assets.append(self.decide(member, strict=strict, prepared=prepared))
            if progress:
                progress(1)
        if not report.assets:
            report.assets.append(
                AssetVerdict(
                    path=", ".join(packages),
                    decision="block",
                    error="empty package",
                    reasons=["the package holds no files: nothing to deliver"],
                )
            )
        self.store.append_event(
            "checked",
            path=", ".join(packages),
            detail={
                "verdict": report.verdict,
                "strict": strict,
                "summary": report.summary,
                "recognisers": list(report.recognisers),
                "blocked": [
                    a.to_json()["content_id"] or a.path
                    for a in report.assets
                    if a.decision == "block"
                ][:1000],
            },
        )
        return report

    def _prepared(self, members: Iterable[Member]) -> Iterator[tuple[Member, Prepared | None]]:
        """Members with their files read on all cores, in package order.

        Files on disk are read in batches by worker processes, then the images the store does
        not know exactly are hashed (in workers too) for the near-duplicate test. While one
        batch is judged here, the workers read the next one. Archive members are read one at
        a time, as each exists only until the next member is spooled."""
        stream = iter(members)
        after: Member | None = None  # a spooled member drawn at the end of a batch

        def next_batch() -> list[Member]:
            nonlocal after
            batch: list[Member] = []
            for member in stream:
                if member.local is None or member.spooled:
                    after = member
                    break
                batch.append(member)
                if len(batch) >= _BATCH:
                    break
            return batch

        batch = next_batch()
        reading = self._start_reading(batch)
        while True:
            ready = self._finish_reading(batch, reading)
            alone, after = after, None
            if alone is None:
                # The next batch is drawn, and the workers start on it, before this one is
                # judged here (never across a spooled member: drawing past one would remove
                # its file). Its pool starts once this batch's own pools have ended.
                upcoming = next_batch()
                reading = self._start_reading(upcoming)
            try:
                yield from zip(batch, ready, strict=True)
            except BaseException:
                if alone is None:
                    reading[1].close()  # the workers stop; nothing is left running
                raise
            finally:
                self.registry.forget()
            if alone is not None:
                yield alone, None
                upcoming = next_batch()
                reading = self._start_reading(upcoming)
            if not upcoming and after is None:
                return
            batch = upcoming

    def _start_reading(
        self, batch: list[Member]
    ) -> tuple[list[Prepared], Generator[Prepared, None, None]]:
        """The batch's files being read by the workers: the first result is waited for, so
        that the rest are in the workers' hands when this returns."""
        if len(batch) >= POOL_THRESHOLD:
            _preload_decoders(_IMAGE_DECODER)
        results = map_files(prepare, [m.local for m in batch], self.config)
        first = next(results, None)
        return ([] if first is None else [first]), results

    def _finish_reading(
        self, batch: list[Member], reading: tuple[list[Prepared], Iterator[Prepared]]
    ) -> list[Prepared]:
        """The batch's readings, with what the store knows and what decoding adds: invisible
        watermarks, and fingerprints for the near-duplicate test."""
        paths = [m.local for m in batch]
        ready = [
            arrived(p, path) for p, path in zip([*reading[0], *reading[1]], paths, strict=True)
        ]  # type: ignore[arg-type]
        self.registry.prefetch(p.reading.content_id for p in ready if p.reading is not None)
        self._read_watermarks(paths, ready)  # type: ignore[arg-type]
        if self.registry.has_hashes:
            # Known or not, every image without positive evidence of its own is compared
            # with the known AI images, exactly as a scan compares it (one judgement).
            # Content the store has fingerprinted is compared by its stored fingerprint
            # (same bytes, same hash); the rest is decoded, and its fingerprint kept.
            unknown: list[int] = []
            for i, p in enumerate(ready):
                if p.reading is None or not needs_fingerprint(p.reading):
                    continue
                known = self.registry.asset(p.reading.content_id)
                if known is not None and known.get("phash"):
                    ready[i] = replace(p, phash=known["phash"])
                else:
                    unknown.append(i)
            items = [(paths[i], ready[i].reading.media_type) for i in unknown]  # type: ignore[union-attr]
            if len(items) >= POOL_THRESHOLD:
                _preload_decoders(_IMAGE_DECODER)
            learned: list[tuple[str, str]] = []
            for i, value in zip(unknown, map_files(_phash, items), strict=True):
                ready[i] = replace(ready[i], phash=value.value, phash_problem=value.problem)
                cid = ready[i].reading.content_id  # type: ignore[union-attr]
                if value.value and self.registry.asset(cid) is not None:
                    learned.append((cid, value.value))
            if learned:
                self.store.keep_fingerprints(learned)
        return ready

    def _read_watermarks(self, paths: list[Path], ready: list[Prepared]) -> None:
        """Add invisible-watermark evidence to the lossless stills of a batch. What the store
        already found for the same bytes (a watermark, or none) is used as it is; the rest is
        decoded on all cores (1-2 ms a still), and kept for content the store knows."""
        todo = [
            i
            for i, p in enumerate(ready)
            if p.reading is not None and p.reading.media_type in WATERMARK_MEDIA
        ]
        if not todo:
            return
        seen = self.store.evidence_of([ready[i].reading.content_id for i in todo], ("watermark",))  # type: ignore[union-attr]
        decode = [i for i in todo if ready[i].reading.content_id not in seen]  # type: ignore[union-attr]
        items = [(paths[i], ready[i].reading.media_type) for i in decode]  # type: ignore[union-attr]
        if len(items) >= POOL_THRESHOLD:
            _preload_decoders(_WATERMARK_DECODERS)
        found = dict(zip(decode, map_files(_watermarks, items), strict=True))
        learned: list[tuple[str, list[Evidence]]] = []
        for i in todo:
            reading = ready[i].reading
            assert reading is not None
            if i in found:
                marks = found[i]
                if self.registry.asset(reading.content_id) is not None:
                    learned.append((reading.content_id, marks))
            else:
                marks = [
                    Evidence(source=r["source"], detail=r["detail"], marker=r["marker"])
                    for r in seen[reading.content_id]
                    if r["marker"] != NO_WATERMARK
                ]
            if marks:
                origin, weighed = decide_origin([*reading.evidence, *marks], self.config.policy)
                reading = replace(reading, origin=origin, evidence=weighed, tool=tool_of(weighed))
                ready[i] = replace(ready[i], reading=reading)
        if learned:
            self.store.keep_watermark_findings(learned, none_marker=NO_WATERMARK)

    def decide(
        self, member: Member, *, strict: bool, prepared: Prepared | None = None
    ) -> AssetVerdict:
        if member.local is None:
            return AssetVerdict(
                member.name, "block", [member.problem or "cannot be read"], error=member.problem
            )
        if prepared is None:  # an archive member, read on its own: pixels are read here too
            ready = [read_prepared(member.local, self.config)]
            self._read_watermarks([member.local], ready)
            prepared = ready[0]
        if prepared.reading is None:
            reason = prepared.error or "cannot be read"
            return AssetVerdict(
                member.name, "block", [f"cannot be checked: {reason}"], error=reason
            )
        if is_sidecar_reading(prepared.reading) and not member.flags:
            # A readable sidecar: evidence about its neighbour, judged with it.
            return AssetVerdict(
                member.name,
                "pass",
                [prepared.reading.evidence[0].detail],
                prepared.reading,
            )
        phash, unprinted = prepared.phash, prepared.phash_problem
        if (
            phash is None
            and unprinted is None
            and self.registry.has_hashes
            and not prepared.reading.origin.is_ai
            and needs_fingerprint(prepared.reading)
        ):  # an archive member, read here rather than in a worker
            found = fingerprint(prepared.reading.path, prepared.reading.media_type)
            phash, unprinted = found.value, found.problem
        reading = self.registry.judge(prepared.reading, phash=phash)
        reasons: list[str] = list(member.flags)
        block = bool(member.flags)
        if unprinted and not reading.origin.is_ai:
            # The near-duplicate test could not run: it may be a copy of a known AI image.
            block = True
            reasons.append(f"cannot be compared with the known AI images: {unprinted}")
        verdict_approval = None
        clear = None
        stores = reading.manifest_stores
        if reading.remote_manifest and not any(s.source == "c2pa-sidecar" for s in stores):
            block = True
            reasons.append(
                f"its C2PA manifest is remote ({reading.remote_manifest}) and provgate"
                f" does not fetch: place it beside the file as "
                f"{Path(member.name).name}.c2pa"
            )
        if reading.origin.is_ai:
            use = self.registry.use_category(reading.content_id) or _tag_use(reading)
            status = self.registry.status(reading.content_id, use)
            approval = status.approval.to_json() if status.cleared and status.approval else None
            problems = list(status.problems)
            if status.approval is None:  # the store has no say: the file may
                approval, manifest_problem = self._manifest_approval(reading, use)
                if manifest_problem:
                    problems.append(manifest_problem)
            if approval is None:
                self._remember(reading, phash)
            tool = f" ({reading.tool or UNKNOWN_TOOL})"
            if approval is None:
                block = True
                reasons.append(
                    f"{reading.origin.value}{tool} without a valid written approval"
                    + (f": {'; '.join(problems)}" if problems else "")
                )
                consent = " --consent REF" if self.config.policy.needs_consent(use) else ""
                clear = (
                    f"provgate approve {reading.content_id[:16]} --ref TICKET --by NAME{consent}"
                )
            else:
                verdict_approval = approval
                reasons.append(
                    f"{reading.origin.value}{tool}, approved: {approval['reference']}"
                    f" by {approval['approver']}"
                )
        tool_problem = (
            self.config.policy.tool_problem(reading.tool) if reading.origin.is_ai else None
        )
        if tool_problem:
            block = block or strict
            reasons.append(tool_problem + ("" if strict else "; blocks under --strict"))
        conflict = _conflict(reading)
        if conflict:
            reasons.append(conflict)
        for c2pa in stores:
            if c2pa.validation is not Validation.INVALID:
                continue
            why = ", ".join(c2pa.failures) or "validation failed"
            if strict and not block:
                block = True
            where = "sidecar C2PA manifest" if c2pa.source == "c2pa-sidecar" else "C2PA manifest"
            reasons.append(
                f"{where} does not validate ({why})"
                + ("" if reading.origin.is_ai else "; blocks under --strict" if not strict else "")
            )
        if reading.incomplete:
            # What was not read may hold an AI declaration: a limit reached blocks.
            block = True
            reasons.append(f"metadata only partly read ({reading.incomplete}): cannot be judged")
        if reading.origin is Origin.UNKNOWN:
            if strict:
                block = True
                reasons.append("no provenance information (unknown origin; --strict)")
            else:
                reasons.append("no provenance information (unknown origin)")
        weak = [e.detail for e in reading.evidence if e.signal.value == "weak"]
        if weak:
            reasons.append("for review: " + "; ".join(weak[:3]))
        return AssetVerdict(
            member.name,
            "block" if block else "pass",
            reasons,
            reading,
            approval=verdict_approval,
            clear_with=clear,
        )

    def _remember(self, reading: AssetReading, phash: str | None) -> None:
        """Record blocked AI content the store has never seen (a near-duplicate in a delivery,
        an archive member), or whose recorded origin this judgement corrects (a copy recorded
        in the same first scan as its AI original, before the store could compare them), so
        that the gate's own "to clear" line names a content id that `provgate approve` knows,
        bound to exactly these bytes, and every view shows what the gate decided."""
        cid = reading.content_id
        known = self.registry.asset(cid) or self.store.asset(cid)
        if known is not None and known["origin"] == reading.origin.value:
            return
        with self.store.transaction():
            save_asset(
                self.store, reading, self.config, phash=phash, registry=self.registry, judged=True
            )
            if known is None:
                detail = {"origin": reading.origin.value, "in_check": str(reading.path.name)}
                self.store.append_event("seen", content_id=cid, detail=detail)
            else:
                detail = {"origin": reading.origin.value, "was": known["origin"], "by": "check"}
                self.store.append_event("judged", content_id=cid, detail=detail)

    def _manifest_approval(
        self, reading: AssetReading, use: str | None
    ) -> tuple[dict[str, Any] | None, str | None]:
        """An approval carried in our own tag, for a file the store has no approvals for.

        It counts only when it is signed by an identity trusted *for approvals* (never the
        tagging key every watcher host holds), when the store has not revoked its reference
        on any content, and never for a use that needs a consent reference (consent
        references live in the store's approvals)."""
        tagged = [
            s
            for s in reading.manifest_stores
            if s.provgate_tag
            and s.provgate_tag.get("status") == "approved"
            and s.provgate_tag.get("approval_ref")
        ]
        if not tagged:
            return None, None
        if self._approvers is None:
            from provenance.c2pa.signing import approval_identities

            self._approvers = approval_identities(self.config)
        c2pa = next(
            (
                s
                for s in tagged
                if s.validation is Validation.TRUSTED and s.signer_id in self._approvers
            ),
            next((s for s in tagged if s.validation is Validation.TRUSTED), tagged[0]),
        )
        tag = c2pa.provgate_tag
        assert tag is not None
        ref = tag["approval_ref"]
        if c2pa.validation is not Validation.TRUSTED:
            return None, (
                f"the file's tag claims approval {ref}, but its signature is "
                f"{c2pa.validation.value}, not trusted: not accepted"
            )
        if c2pa.signer_id not in self._approvers:
            return None, (
                f"the file's tag claims approval {ref}, but it is signed by "
                f"{c2pa.signer or 'an unnamed signer'}, an identity not trusted for approvals:"
                " not accepted"
            )
        if self._revoked is None:
            self._revoked = self.store.revoked_references()
        if ref in self._revoked:
            return None, f"the file's tag claims approval {ref}, which the store has revoked"
        if self.config.policy.needs_consent(use, tag.get("use")):
            return None, (
                f"the file's tag claims approval {ref} for a use that needs consent; "
                "only an approval recorded with its consent reference counts"
            )
        return {
            "reference": ref,
            "approver": tag.get("approved_by") or "?",
            "use": tag.get("use"),
            "source": "trusted manifest",
        }, None


def _conflict(reading: AssetReading) -> str | None:
    """Sources that disagree about origin: an AI declaration from any of them stands."""
    ai = {
        e.source for e in reading.evidence if e.signal in (Signal.AI_GENERATED, Signal.AI_MODIFIED)
    }
    human = {e.source for e in reading.evidence if e.signal is Signal.NON_AI}
    if not ai or not human:
        return None
    return (
        f"evidence conflicts: {', '.join(sorted(ai))} declare AI, {', '.join(sorted(human))} "
        "declare non-AI; the AI declaration stands"
    )


_IMAGE_DECODER = ("PIL.Image",)
_WATERMARK_DECODERS = ("PIL.Image", "numpy", "pywt")


def _preload_decoders(names: tuple[str, ...]) -> None:
    """Import the decoders a pool of workers is about to use before the workers fork from this
    process: otherwise every forked worker imports them again on its first still, ~0.2 s for
    each pool (a check of 600 stills took 0.4-0.6 s instead of 0.12-0.2 s). Only for pools that
    decode: a check of content the store knows decodes nothing, and numpy with PyWavelets
    costs ~0.1 s to import."""
    for name in names:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _tag_use(reading: AssetReading) -> str | None:
    tag = reading.c2pa.provgate_tag if reading.c2pa else None
    return tag.get("use") if tag else None
