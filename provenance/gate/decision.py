"""The delivery gate: pass or block a package, asset by asset, failing closed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import IO, Any

from provenance.config import Config
from provenance.errors import ProvgateError
from provenance.gate.packages import Member, iter_packages
from provenance.history.registry import Registry
from provenance.model import Origin, Validation
from provenance.pipeline.classify import AssetReading, read_asset
from provenance.pipeline.phash import PHASH_MEDIA, image_phash
from provenance.pipeline.workers import map_files
from provenance.stores import Store, now_iso

SCHEMA = "provgate.check/1"
# Files on disk read per batch (one worker pool each): at 512, a 2,000-image check spent ~13%
# of its time starting and stopping pools; 4,096 readings hold a few MB.
_BATCH = 4096


@dataclass(frozen=True)
class Prepared:
    """What a worker read of one package file: its reading (or why not) and its image hash."""

    reading: AssetReading | None
    error: str | None = None
    phash: str | None = None


def prepare(path: Path, config: Config) -> Prepared:
    """Read one file for the gate; runs in worker processes, so it never touches the store."""
    try:
        return Prepared(read_asset(path, config, pixels=True))
    except ProvgateError as exc:
        return Prepared(None, exc.reason)


def _phash(item: tuple[Path, str]) -> str | None:
    return image_phash(*item)


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
            "unknown": sum(a.origin == "unknown" and a.error is None for a in self.assets),
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
        }


class DeliveryGate:
    """Checks packages against the store's approvals under the workspace's policy."""

    def __init__(self, config: Config, store: Store, today: date | None = None) -> None:
        self.config = config
        self.store = store
        self.registry = Registry(store, config)
        self.today = today or date.today()

    def check(
        self,
        packages: list[str],
        *,
        strict: bool = False,
        stdin: IO[str] | None = None,
        progress: Any = None,
    ) -> CheckReport:
        """Check every asset of the packages; record the check as an event."""
        report = CheckReport(
            package=packages[0] if len(packages) == 1 else list(packages), strict=strict
        )
        for member, prepared in self._prepared(iter_packages(packages, stdin)):
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
        not know exactly are hashed (in workers too) for the near-duplicate test. Archive members
        are read one at a time, as each exists only until the next member is spooled."""
        batch: list[Member] = []

        def flush() -> Iterator[tuple[Member, Prepared | None]]:
            paths = [m.local for m in batch]
            ready = list(map_files(prepare, paths, self.config))
            self.registry.prefetch(p.reading.content_id for p in ready if p.reading is not None)
            if self.registry.has_hashes:
                unknown = [
                    i
                    for i, p in enumerate(ready)
                    if p.reading is not None
                    and p.reading.media_type in PHASH_MEDIA
                    and self.registry.asset(p.reading.content_id) is None
                ]
                items = [(paths[i], ready[i].reading.media_type) for i in unknown]  # type: ignore[union-attr]
                for i, value in zip(unknown, map_files(_phash, items), strict=True):
                    ready[i] = replace(ready[i], phash=value)
            try:
                yield from zip(batch, ready, strict=True)
            finally:
                self.registry.forget()
            batch.clear()

        for member in members:
            if member.local is None or member.spooled:
                yield from flush()
                yield member, None
                continue
            batch.append(member)
            if len(batch) >= _BATCH:
                yield from flush()
        yield from flush()

    def decide(
        self, member: Member, *, strict: bool, prepared: Prepared | None = None
    ) -> AssetVerdict:
        if member.local is None:
            return AssetVerdict(
                member.name, "block", [member.problem or "cannot be read"], error=member.problem
            )
        prepared = prepared or prepare(member.local, self.config)
        if prepared.reading is None:
            reason = prepared.error or "cannot be read"
            return AssetVerdict(
                member.name, "block", [f"cannot be checked: {reason}"], error=reason
            )
        reading = self.registry.enrich(prepared.reading, phash=prepared.phash)
        reasons: list[str] = []
        block = False
        verdict_approval = None
        clear = None
        c2pa = reading.c2pa
        if reading.remote_manifest and (c2pa is None or c2pa.source != "c2pa-sidecar"):
            block = True
            reasons.append(
                f"its C2PA manifest is remote ({reading.remote_manifest}) and provgate"
                f" does not fetch: place it beside the file as "
                f"{Path(member.name).name}.c2pa"
            )
        if reading.origin.is_ai:
            use = self.registry.use_category(reading.content_id) or _tag_use(reading)
            stored, problems = self.registry.approval(reading.content_id, use)
            approval = stored.to_json() if stored else None
            if approval is None and not problems:  # the store has no say: the file may
                approval, manifest_problem = self._manifest_approval(reading, use)
                if manifest_problem:
                    problems.append(manifest_problem)
            tool = f" ({reading.tool})" if reading.tool else ""
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
        if c2pa is not None and c2pa.validation is Validation.INVALID:
            why = ", ".join(c2pa.failures) or "validation failed"
            if strict and not block:
                block = True
            reasons.append(
                f"C2PA manifest does not validate ({why})"
                + ("" if reading.origin.is_ai else "; blocks under --strict" if not strict else "")
            )
        if reading.incomplete:
            if strict and not block:
                block = True
            reasons.append(
                f"metadata only partly read ({reading.incomplete})"
                + ("" if strict else "; blocks under --strict")
            )
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

    def _manifest_approval(
        self, reading: AssetReading, use: str | None
    ) -> tuple[dict[str, Any] | None, str | None]:
        """An approval carried in our own tag, for a file the store has no approvals for.

        It counts only when its signer is trusted, and never for a use that needs a consent
        reference (consent references live in the store's approvals)."""
        c2pa = reading.c2pa
        tag = c2pa.provgate_tag if c2pa else None
        if not tag or tag.get("status") != "approved" or not tag.get("approval_ref"):
            return None, None
        assert c2pa is not None
        ref = tag["approval_ref"]
        if c2pa.validation is not Validation.TRUSTED:
            return None, (
                f"the file's tag claims approval {ref}, but its signature is "
                f"{c2pa.validation.value}, not trusted: not accepted"
            )
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


def _tag_use(reading: AssetReading) -> str | None:
    tag = reading.c2pa.provgate_tag if reading.c2pa else None
    return tag.get("use") if tag else None
