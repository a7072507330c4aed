"""What the store knows about a file's content: the registry's evidence.

An exact content id wins over any near match; otherwise the nearest known image (by perceptual
hash) within the threshold decides, so a stripped, re-saved copy of an AI still is caught.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.config import Config
from provenance.history.approvals import Approval, approvals_for, effective_approval
from provenance.model import Evidence
from provenance.pipeline.classify import AssetReading
from provenance.pipeline.phash import NEAR_DISTANCE, PHASH_MEDIA, image_phash
from provenance.pipeline.workers import user_evidence
from provenance.stores import Store


@dataclass(frozen=True)
class NearMatch:
    content_id: str
    origin: str
    distance: int
    paths: tuple[str, ...]


class Registry:
    """Looks contents up in the store; loads the perceptual hashes once per instance."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self._hashes: list[tuple[int, str, str]] | None = None
        # A batch's asset rows and user evidence, read at once (see `prefetch`).
        self._batch: set[str] = set()
        self._assets: dict[str, dict[str, Any]] = {}
        self._user: dict[str, list[dict[str, Any]]] = {}

    def prefetch(self, content_ids: Iterable[str]) -> None:
        """Read what the store knows of a batch of contents in a few queries: a check of
        thousands of files spent more on two queries a file than on reading the files.
        Holds until the next batch or `forget`; nothing writes assets while a gate decides."""
        self._batch = set(content_ids)
        self._assets = self.store.assets_of(self._batch)
        self._user = self.store.evidence_of(self._assets, source="user")

    def forget(self) -> None:
        self._batch, self._assets, self._user = set(), {}, {}

    def asset(self, content_id: str) -> dict[str, Any] | None:
        if content_id in self._batch:
            return self._assets.get(content_id)
        return self.store.asset(content_id)

    def _user_evidence(self, content_id: str) -> list[Evidence]:
        if content_id in self._batch:
            return user_evidence(self._user.get(content_id, []))
        return user_evidence(self.store.evidence(content_id))

    def _known_hashes(self) -> list[tuple[int, str, str]]:
        if self._hashes is None:
            rows = self.store.query(
                "SELECT phash, content_id, origin FROM assets WHERE phash IS NOT NULL"
            )
            self._hashes = [(int(r[0], 16), r[1], r[2]) for r in rows]
        return self._hashes

    def nearest(self, phash: str) -> NearMatch | None:
        value = int(phash, 16)
        best: tuple[int, str, str] | None = None
        for known, cid, origin in self._known_hashes():
            d = (value ^ known).bit_count()
            if d <= NEAR_DISTANCE and (best is None or d < best[0]):
                best = (d, cid, origin)
        if best is None:
            return None
        paths = tuple(
            f.path for f in self.store.files_with_content(best[1], live_only=False, everywhere=True)
        )
        return NearMatch(content_id=best[1], origin=best[2], distance=best[0], paths=paths[:3])

    @property
    def has_hashes(self) -> bool:
        """Whether any known asset has a perceptual hash (else near matches cannot exist)."""
        return bool(self._known_hashes())

    def evidence_for(
        self, reading: AssetReading, *, near: bool = True, phash: str | None = None
    ) -> list[Evidence]:
        """Registry evidence for this reading: recorded origins, user tags, near-duplicates."""
        cid = reading.content_id
        asset = self.asset(cid)
        if asset is not None:
            found = self._user_evidence(cid)
            if asset["origin"] in ("ai-generated", "ai-modified"):
                found.append(
                    Evidence(
                        source="registry",
                        marker=f"origin:{asset['origin']}",
                        tool=asset["tool"],
                        detail=f"known to the store as {asset['origin']} "
                        f"since {asset['first_seen'][:10]}",
                    )
                )
            return found
        if not near or reading.media_type not in PHASH_MEDIA or not self.has_hashes:
            return []
        phash = phash or image_phash(reading.path, reading.media_type)
        match = self.nearest(phash) if phash else None
        if match is None or match.origin not in ("ai-generated", "ai-modified"):
            return []
        where = f" (seen at {match.paths[0]})" if match.paths else ""
        return [
            Evidence(
                source="similar",
                marker=f"origin:{match.origin}",
                detail=f"near-duplicate of {match.origin} asset {match.content_id[:12]}{where}, "
                f"distance {match.distance}/128",
                extra={"content_id": match.content_id, "distance": match.distance},
            )
        ]

    def enrich(
        self, reading: AssetReading, *, near: bool = True, phash: str | None = None
    ) -> AssetReading:
        extra = self.evidence_for(reading, near=near, phash=phash)
        return reading.with_evidence(extra, self.config.policy) if extra else reading

    def use_category(self, content_id: str) -> str | None:
        asset = self.asset(content_id)
        return asset["use_category"] if asset else None

    def approvals(self, content_id: str) -> list[Approval]:
        return approvals_for(self.store, content_id)

    def approval(self, content_id: str, use: str | None) -> tuple[Approval | None, list[str]]:
        return effective_approval(self.store, content_id, self.config.policy, use)

    def describe(self, reading: AssetReading) -> dict[str, Any]:
        """inspect's view: the reading plus status, use and approvals from the store."""
        cid = reading.content_id
        asset = self.store.asset(cid) or {}
        use = asset.get("use_category")
        status = asset.get("status")
        if reading.origin.is_ai:
            approval, _ = self.approval(cid, use)
            status = "approved" if approval else (status if status == "revoked" else "temporary")
        elif status:
            status = None
        out = reading.to_json()
        out.update(
            {
                "status": status,
                "use": use,
                "approvals": [a.to_json() for a in self.approvals(cid)],
                "known_paths": [f.path for f in self.store.files_with_content(cid)],
            }
        )
        return out


def inspect_file(path: Path, config: Config, store: Store) -> dict[str, Any]:
    """Everything known about one file, as `inspect --json` prints it."""
    from provenance.pipeline.classify import read_asset

    registry = Registry(store, config)
    return registry.describe(registry.enrich(read_asset(path, config, pixels=True)))
