"""What the store knows about a file's content, and the one judgement that weighs it.

`Registry.judge` decides an asset's origin from all of its evidence at once: what the file
says (read by `read_asset`), what people stated (`provgate tag`), what the store remembers of
these exact bytes (evidence that is no longer in the file, such as a sidecar since removed),
and near-duplicates of known AI assets. `scan`, `watch`, `check`, `inspect`, `ls`, `report`
and the review page all come through it, so one file has one origin everywhere.

The near-duplicate rule (SPEC §5.1): a perceptual near match to a known AI asset is AI evidence
unless this content has positive evidence of its own (a trusted non-ai manifest, a person's
`tag --origin non-ai`) or the store recorded it before that AI asset existed (a source plate
predates the AI edit made from it; a copy comes after). The relation is always reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from provenance.config import Config
from provenance.history.approvals import Approval, approvals_of
from provenance.history.status import AssetStatus, approval_state, status_of
from provenance.model import UNKNOWN_TOOL, Evidence, Origin, Signal, Validation
from provenance.pipeline.ahash import AudioPrint, match_audio
from provenance.pipeline.classify import AssetReading, decide_origin, needs_fingerprint, tool_of
from provenance.pipeline.fingerprints import FINGERPRINT_MEDIA, fingerprint, kind_of
from provenance.pipeline.phash import BITS, NEAR_DISTANCE
from provenance.pipeline.vhash import VideoPrint, match_video
from provenance.stores import Store

# Evidence the store keeps about content that the content's own bytes cannot show again:
# what people stated, what a sidecar said when it was read, and ("registry") what an earlier
# judgement carried of that, so the memory outlives the next judgement.
_REMEMBERED = ("user", "c2pa-sidecar", "xmp-sidecar", "registry")
# Evidence a judgement adds to a reading (never part of what the file itself says).
_ADDED = frozenset({"user", "registry", "similar"})


def _segments_of(bits: int, count: int) -> tuple[tuple[int, int], ...]:
    """`count` disjoint (shift, mask) segments covering `bits` bits, as even as can be."""
    widths = [bits // count + (1 if k < bits % count else 0) for k in range(count)]
    shifts = [sum(widths[:k]) for k in range(count)]
    return tuple((shift, (1 << width) - 1) for shift, width in zip(shifts, widths, strict=True))


_SEGMENTS = _segments_of(BITS, NEAR_DISTANCE + 1)


@dataclass(frozen=True)
class NearMatch:
    content_id: str
    origin: str
    distance: float  # still: Hamming of 128; clip: median of 63 per frame; sound: bit error rate
    first_seen: str
    paths: tuple[str, ...]
    # Clips and sounds: how much of this content shows the known one, when not all of it.
    partial_seconds: float | None = None
    measure: str = ""  # how the distance reads in a report ("distance 3")


def user_evidence(rows: Iterable[dict[str, Any]]) -> list[Evidence]:
    """Evidence a person recorded by hand (`provgate tag`), carried into every judgement."""
    return [
        Evidence(source=r["source"], detail=r["detail"], marker=r["marker"])
        for r in rows
        if r["source"] == "user"
    ]


class Registry:
    """Looks contents up in the store and judges readings; loads the AI fingerprints once."""

    def __init__(self, store: Store, config: Config, today: date | None = None) -> None:
        self.store = store
        self.config = config
        self.today = today
        self._hashes: list[tuple[int, str, str, str]] | None = None
        # The image hashes by segment value (see `_close_to`): segment -> value -> indexes.
        self._segments: list[dict[int, list[int]]] = [{} for _ in _SEGMENTS]
        # Clips and sounds: (kind, decoded print, content id, origin, first seen).
        self._prints: list[tuple[str, Any, str, str, str]] = []
        # A batch's asset rows and remembered evidence, read at once (see `prefetch`).
        self._batch: set[str] = set()
        self._assets: dict[str, dict[str, Any]] = {}
        self._remembered: dict[str, list[dict[str, Any]]] = {}

    # -- what the store holds ------------------------------------------------------------------

    def prefetch(self, content_ids: Iterable[str]) -> None:
        """Read what the store knows of a batch of contents in a few queries: a check of
        thousands of files spent more on two queries a file than on reading the files.
        Holds until the next batch or `forget`."""
        self._batch = set(content_ids)
        self._assets = self.store.assets_of(self._batch)
        self._remembered = self.store.evidence_of(self._assets, _REMEMBERED)

    def forget(self) -> None:
        self._batch, self._assets, self._remembered = set(), {}, {}

    def asset(self, content_id: str) -> dict[str, Any] | None:
        if content_id in self._batch:
            return self._assets.get(content_id)
        return self.store.asset(content_id)

    def _remembered_rows(self, content_id: str) -> list[dict[str, Any]]:
        if content_id in self._batch:
            return self._remembered.get(content_id, [])
        return [r for r in self.store.evidence(content_id) if r["source"] in _REMEMBERED]

    def _known_hashes(self) -> list[tuple[int, str, str, str]]:
        if self._hashes is None:
            self._hashes = []
            for value, cid, origin, first in self.store.ai_fingerprints():
                self._add(value, cid, origin, first)
        return self._hashes

    def _add(self, value: str, cid: str, origin: str, first: str) -> None:
        assert self._hashes is not None
        kind = kind_of(value)
        if kind == "image":
            known = int(value, 16)
            for table, (shift, mask) in zip(self._segments, _SEGMENTS, strict=True):
                table.setdefault((known >> shift) & mask, []).append(len(self._hashes))
            self._hashes.append((known, cid, origin, first))
            return
        decoded = VideoPrint.decode(value) if kind == "video" else AudioPrint.decode(value)
        if decoded is not None:
            self._prints.append((kind, decoded, cid, origin, first))

    def remember(self, phash: str, content_id: str, origin: str, first_seen: str) -> None:
        """An AI asset recorded while this registry is in use joins the near-duplicate test."""
        if self._hashes is not None and Origin(origin).is_ai:
            self._add(phash, content_id, origin, first_seen)

    @property
    def has_hashes(self) -> bool:
        """Whether any known AI asset has a fingerprint (else near matches cannot exist)."""
        return bool(self._known_hashes() or self._prints)

    def nearest(self, phash: str, exclude: Iterable[str] = ()) -> NearMatch | None:
        """The nearest known AI image, clip or sound within the threshold, other than
        `exclude` (for clips and sounds: a whole copy before a partial one, then the most
        seconds, then the closest)."""
        kind = kind_of(phash)
        if kind != "image":
            return self._nearest_print(kind, phash, set(exclude))
        hashes = self._known_hashes()
        if not hashes:
            return None
        value = int(phash, 16)
        skip = set(exclude)
        best: tuple[int, str, str, str] | None = None
        for d, i in self._close_to(value):
            if hashes[i][1] not in skip:
                best = (d, *hashes[i][1:])
                break
        if best is None:
            return None
        d, cid, origin, first = best
        return NearMatch(cid, origin, d, first, self._paths(cid), measure=f"distance {d}")

    def _close_to(self, value: int) -> list[tuple[int, int]]:
        """(distance, index) of the known AI image hashes within NEAR_DISTANCE of `value`,
        nearest first and, among equals, in the order they became known.

        Two 128-bit hashes within NEAR_DISTANCE bits of each other are equal in at least one of
        NEAR_DISTANCE + 1 disjoint segments (pigeonhole), so only the hashes sharing a segment
        with `value` are compared: a check compared every image with every known AI image,
        ~45 µs a file against 200 of them."""
        hashes = self._known_hashes()
        found: list[int] = []
        for table, (shift, mask) in zip(self._segments, _SEGMENTS, strict=True):
            hit = table.get((value >> shift) & mask)
            if hit:
                found += hit
        close = {
            (d, i) for i in found if (d := (value ^ hashes[i][0]).bit_count()) <= NEAR_DISTANCE
        }
        return sorted(close)

    def _paths(self, cid: str) -> tuple[str, ...]:
        rows = self.store.files_with_content(cid, live_only=False, everywhere=True)
        return tuple(f.path for f in rows)[:3]

    def _nearest_print(self, kind: str, value: str, skip: set[str]) -> NearMatch | None:
        self._known_hashes()
        query = VideoPrint.decode(value) if kind == "video" else AudioPrint.decode(value)
        if query is None:
            return None
        best: tuple[tuple[bool, float, float], Any, str, str, str] | None = None
        for known_kind, known, cid, origin, first in self._prints:
            if known_kind != kind or cid in skip:
                continue
            found = (
                match_video(query, known) if kind == "video" else match_audio(query, known)  # type: ignore[arg-type]
            )
            if found is None:
                continue
            distance = found.distance if kind == "video" else found.ber  # type: ignore[union-attr]
            rank = (found.full, found.matched_seconds, -distance)
            if best is None or rank > best[0]:
                best = (rank, found, cid, origin, first)
        if best is None:
            return None
        _, found, cid, origin, first = best
        if kind == "video":
            measure = f"median frame distance {found.distance:g}/63"
        else:
            measure = f"bit error rate {found.ber:.2f}"
        if not found.full or abs(found.offset) >= 0.5:
            measure += f"; {found.start:g} s here is {found.start + found.offset:g} s into it"
        return NearMatch(
            cid,
            origin,
            found.distance if kind == "video" else found.ber,
            first,
            self._paths(cid),
            partial_seconds=None if found.full else found.matched_seconds,
            measure=measure,
        )

    # -- the judgement -------------------------------------------------------------------------

    def judge(
        self,
        reading: AssetReading,
        *,
        phash: str | None = None,
        near: bool = True,
        stated: Iterable[Evidence] = (),
    ) -> AssetReading:
        """The reading with everything the store knows added and its origin decided once.

        `phash`: the image's perceptual hash if the caller computed it (in a worker); with
        `near` and none given, it is computed here when the near-duplicate test needs it.
        `stated`: what a person states about this content now (`provgate tag`). Judging a
        reading again gives the same result: only the file's own evidence is kept from it."""
        policy = self.config.policy
        cid = reading.content_id
        asset = self.asset(cid)
        own = [e for e in reading.evidence if e.source not in _ADDED]
        known = self._known_evidence(reading, own, asset) if asset is not None else []
        origin, weighed = decide_origin([*own, *known, *stated], policy)
        if near and reading.media_type in FINGERPRINT_MEDIA and self.has_hashes:
            if phash is None and needs_fingerprint(reading):
                phash = fingerprint(reading.path, reading.media_type).value
            if phash is not None:
                similar = self._near_evidence(cid, phash, weighed, asset)
                if similar is not None:
                    origin, weighed = decide_origin([*weighed, similar], policy)
        if origin is reading.origin and weighed == reading.evidence:
            return reading
        return replace(reading, origin=origin, evidence=weighed, tool=tool_of(weighed))

    def _known_evidence(
        self, reading: AssetReading, own: list[Evidence], asset: dict[str, Any]
    ) -> list[Evidence]:
        """What the store remembers of these bytes that the reading does not show itself."""
        rows = self._remembered_rows(reading.content_id)
        found = user_evidence(rows)
        fresh = {(e.source, e.marker) for e in own}
        carried: set[tuple[str, str]] = set()
        for row in rows:
            if row["source"] == "user" or (row["source"], row["marker"]) in fresh:
                continue
            if row["signal"] not in (Signal.AI_GENERATED.value, Signal.AI_MODIFIED.value):
                continue
            if row["source"] == "registry":  # carried by an earlier judgement: as it was
                if any(marker == row["marker"] for _, marker in fresh):
                    continue  # the sidecar is back and says it again
                detail = row["detail"]
            else:
                detail = (
                    f"known to the store as {asset['origin']} since "
                    f"{asset['first_seen'][:10]}: {row['detail']} (read from a "
                    f"{row['source']} that is no longer beside the file)"
                )
            if (row["marker"], detail) in carried:
                continue
            carried.add((row["marker"], detail))
            found.append(
                Evidence(
                    source="registry",
                    marker=row["marker"],
                    detail=detail,
                    validation=Validation(row["validation"]) if row["validation"] else None,
                )
            )
        return found

    def _near_evidence(
        self,
        content_id: str,
        phash: str,
        weighed: tuple[Evidence, ...],
        asset: dict[str, Any] | None,
    ) -> Evidence | None:
        match = self.nearest(phash, exclude=(content_id,))
        if match is not None and self.asset(content_id) is not None:
            lineage = self.store.linked(content_id)
            if match.content_id in lineage:  # itself before or after provgate rewrote its tag
                match = self.nearest(phash, exclude=lineage)
        if match is None:
            return None
        where = f", seen at {match.paths[0]}" if match.paths else ""
        if match.partial_seconds is not None:
            # Part of a known AI clip or sound cut into this one: AI material inside it.
            relation = f"contains {match.partial_seconds:g} seconds of {match.content_id}"
            marker = f"origin:{Origin.AI_MODIFIED.value}"
        else:
            relation = f"near-duplicate of {match.content_id}"
            marker = f"origin:{match.origin}"
        relation += f" ({match.measure}), known as {match.origin}{where}"
        extra: dict[str, Any] = {"content_id": match.content_id, "distance": match.distance}
        if match.partial_seconds is not None:
            extra["seconds"] = match.partial_seconds
        own = [
            e
            for e in weighed
            if e.signal is Signal.NON_AI
            and (e.source == "user" or e.validation is Validation.TRUSTED)
        ]
        if match.partial_seconds is not None and match.origin != Origin.AI_GENERATED.value:
            why = (
                f"not counted: that asset is {match.origin}, so the seconds shared with it"
                " need not be its AI part"
            )
        elif own:
            why = f"not counted: this content has evidence of its own ({own[0].detail})"
        elif asset is not None and asset["first_seen"] < match.first_seen:
            why = (
                f"not counted: the store recorded this content on {asset['first_seen'][:10]},"
                " before that AI asset existed (it may be the source it was made from)"
            )
        else:
            return Evidence(source="similar", marker=marker, detail=relation, extra=extra)
        return Evidence(source="similar", detail=f"{relation}; {why}", extra=extra)

    # -- approvals and status ------------------------------------------------------------------

    def approvals(self, content_id: str) -> list[Approval]:
        return approvals_of(self.store, [content_id], self.config).get(content_id, [])

    def use_category(self, content_id: str) -> str | None:
        asset = self.asset(content_id)
        return asset["use_category"] if asset else None

    def status(self, content_id: str, use: str | None) -> AssetStatus:
        """The status of AI material with this content id (the one rule, `status_of`)."""
        return status_of(self.approvals(content_id), self.config.policy, use, self.today)

    def statuses(self, uses: dict[str, str | None]) -> dict[str, AssetStatus]:
        """`status` for many contents at once (content id → its use category)."""
        found = approvals_of(self.store, uses, self.config)
        policy = self.config.policy
        return {
            cid: status_of(found.get(cid, []), policy, use, self.today) for cid, use in uses.items()
        }

    def describe(self, reading: AssetReading) -> dict[str, Any]:
        """inspect's view: the judged reading plus status, use and approvals from the store."""
        cid = reading.content_id
        asset = self.store.asset(cid) or {}
        use = asset.get("use_category") or (
            self.config.policy.default_use if reading.origin.is_ai else None
        )
        out = reading.to_json()
        out.update({"status": None, "status_reason": None, "use": use})
        if reading.origin.is_ai:
            st = self.status(cid, use)
            out.update({"status": st.status.value, "status_reason": st.reason})
            out["tool"] = reading.tool or UNKNOWN_TOOL
        policy = self.config.policy
        out.update(
            {
                "approvals": [
                    {
                        **a.to_json(),
                        "state": approval_state(a, policy, use, self.today),
                        "signed_by": a.signed_by,
                    }
                    for a in self.approvals(cid)
                ],
                "known_paths": [f.path for f in self.store.files_with_content(cid)],
                "first_seen": asset.get("first_seen"),
            }
        )
        return out


def inspect_file(path: Path, config: Config, store: Store) -> dict[str, Any]:
    """Everything known about one file, as `inspect --json` prints it."""
    from provenance.pipeline.classify import read_asset

    registry = Registry(store, config)
    return registry.describe(registry.judge(read_asset(path, config, pixels=True)))
