"""Video fingerprints: perceptual hashes of frames sampled through a clip, matched as a sequence.

A transcode (ProRes, DNxHR, H.264 at another bitrate, a smaller size, another frame rate) keeps
the pictures at the same times; a trim shifts them all by one offset. So a fingerprint is a list
of (time, 63-bit DCT hash of a 32x32 grey thumbnail) samples, and two clips match when most
samples of the sparser one find a close hash in the other at one consistent time offset. The
DCT hash moves by at most 8 bits under the transcodes above and differs by 20+ between
unrelated frames, but motion changes it within a quarter second: samples must line up in time,
so whatever is decoded is hashed (every decoded frame of an inter-coded clip).

Decoding is what costs (a 1080p H.264 frame takes 4-25 ms): intra-only codecs (ProRes, DNxHR,
MJPEG) are sampled by seeking to a grid (0.5 s, wider when a frame costs more than the budget
allows), one frame each; inter-coded ones are decoded in order with non-reference frames
skipped while a CPU budget lasts (`BUDGET_PER_MINUTE`), then keyframes only (the decoder skips
everything else).
"""

from __future__ import annotations

import base64
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VIDEO_MEDIA = frozenset(
    {
        "video/mp4",
        "video/quicktime",
        "video/x-matroska",
        "video/webm",
        "video/x-msvideo",
        "application/mxf",
    }
)
PREFIX = "v1:"
STEP = 0.5  # seconds between the samples of an intra-only clip, where the budget allows
MAX_SAMPLES = 6000  # beyond this, samples are thinned evenly
# CPU seconds of one core per minute of footage spent decoding densely (the limit is
# 2 s in all; keyframes after the budget and hashing take the rest).
BUDGET_PER_MINUTE = 1.2
MIN_BUDGET = 0.2
# Hamming distance (of 63) at or below which two sampled frames show the same picture.
FRAME_DISTANCE = 12
MIN_SAMPLES = 3
# Samples of the two prints this far apart in picture time are compared (about 3 frames:
# decoding in order skips non-reference frames; motion changes the hash within 0.25 s).
TIME_TOLERANCE = 0.15
MIN_SECONDS = 2.0
# Frames flatter than this (std of the 32x32 thumbnail, grey levels) carry no picture: black,
# fades, slates. They are not sampled, or every clip that starts black would match.
_MIN_DETAIL = 3.0
_HEADER = struct.Struct("<BfI")
_SAMPLE = struct.Struct("<fQ")
_N = 32


@dataclass(frozen=True)
class VideoPrint:
    duration: float
    samples: tuple[tuple[float, int], ...]  # (seconds, 63-bit hash)

    def encode(self) -> str:
        body = _HEADER.pack(1, self.duration, len(self.samples)) + b"".join(
            _SAMPLE.pack(t, h) for t, h in self.samples
        )
        return PREFIX + base64.b64encode(body).decode("ascii")

    @classmethod
    def decode(cls, text: str) -> VideoPrint | None:
        if not text.startswith(PREFIX):
            return None
        try:
            raw = base64.b64decode(text[len(PREFIX) :])
            _v, duration, n = _HEADER.unpack_from(raw)
            samples = tuple(
                _SAMPLE.unpack_from(raw, _HEADER.size + i * _SAMPLE.size) for i in range(n)
            )
        except (ValueError, struct.error):
            return None
        return cls(duration, samples)


_DCT: Any = None


def _frame_hash(frame: Any) -> int | None:
    import numpy as np

    global _DCT
    if _DCT is None:
        n = np.arange(_N)
        dct = np.sqrt(2 / _N) * np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / (2 * _N))
        dct[0] /= np.sqrt(2)
        _DCT = dct.astype(np.float32)
    thumb = frame.reformat(width=_N, height=_N, format="gray", interpolation="AREA")
    grey = thumb.to_ndarray()[:_N, :_N].astype(np.float32)
    if float(grey.std()) < _MIN_DETAIL:
        return None
    low = (_DCT @ grey @ _DCT.T)[:8, :8].ravel()[1:]
    bits = 0
    for bit in low > np.median(low):
        bits = (bits << 1) | int(bit)
    return bits


def video_fingerprint(path: Path) -> str | None:
    """The clip's fingerprint as text for the store, or None when it has no decodable video."""
    try:
        found = _sample(path)
    except Exception:  # noqa: BLE001 - a clip PyAV cannot decode simply has no fingerprint
        return None
    return found.encode() if found is not None and found.samples else None


def _sample(path: Path) -> VideoPrint | None:
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        ctx = stream.codec_context
        ctx.thread_count = 1
        base = stream.time_base
        if stream.duration is not None and base is not None:
            duration = float(stream.duration * base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        budget = max(MIN_BUDGET, BUDGET_PER_MINUTE * duration / 60)
        intra = bool(getattr(ctx.codec, "intra_only", False))
        if intra and duration and base is not None:
            samples = _seek_grid(container, stream, duration, budget)
        else:
            samples = _in_order(container, stream, budget)
    if len(samples) > MAX_SAMPLES:
        keep = len(samples) / MAX_SAMPLES
        samples = [samples[int(i * keep)] for i in range(MAX_SAMPLES)]
    return VideoPrint(duration, tuple(samples))


def _seek_grid(
    container: Any, stream: Any, duration: float, budget: float
) -> list[tuple[float, int]]:
    """One frame per grid point; the grid widens when decoding a frame costs more than the
    budget allows at STEP."""
    samples: list[tuple[float, int]] = []
    base = stream.time_base
    start = float(stream.start_time * base) if stream.start_time is not None else 0.0
    rate = float(stream.average_rate or stream.guessed_rate or 24)
    half_frame = 0.5 / rate
    began = time.process_time()
    step = STEP
    t = 0.0
    while t < duration:
        container.seek(int((start + t) / base), stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            at = float(frame.pts * base) - start
            if at < t - half_frame:
                continue  # the seek landed earlier than asked: decode on to the sample
            h = _frame_hash(frame)
            if h is not None:
                samples.append((at, h))
            break
        spent = time.process_time() - began
        left = max(budget - spent, 0.0)
        per_sample = spent / (t / step + 1)
        remaining = max(duration - t, 0.0)
        if per_sample and left:
            step = max(STEP, remaining * per_sample / left)
        elif not left:
            step = max(step, remaining / 4 or STEP)
        t += step
    return samples


def _in_order(container: Any, stream: Any, budget: float) -> list[tuple[float, int]]:
    """Every frame the decoder returns, non-reference frames skipped while the budget lasts,
    then keyframes only."""
    samples: list[tuple[float, int]] = []
    base = stream.time_base
    start = float(stream.start_time * base) if stream.start_time is not None else 0.0
    ctx = stream.codec_context
    ctx.skip_frame = "NONREF"
    began = time.process_time()
    dense = True
    for frame in container.decode(stream):
        if frame.pts is None:
            continue
        if dense and time.process_time() - began > budget:
            dense = False
            ctx.skip_frame = "NONKEY"  # from here on the decoder returns keyframes only
        if not dense and not frame.key_frame:
            continue
        h = _frame_hash(frame)
        if h is not None:
            samples.append((float(frame.pts * base) - start, h))
    samples.sort()
    return samples


@dataclass(frozen=True)
class VideoMatch:
    distance: float  # median Hamming distance (of 63) of the matched samples
    matched_seconds: float  # how much of the query shows the reference
    offset: float  # reference time = query time + offset
    full: bool  # the query is (nearly all) this reference
    start: float = 0.0  # query time of the first matching picture


def match_video(query: VideoPrint, ref: VideoPrint) -> VideoMatch | None:
    """How `query` relates to `ref`: a copy of it (full), a clip holding part of it, or None.

    The sparser print's samples are looked up in the denser one at one consistent offset (a
    trim): those with a picture of the other within TIME_TOLERANCE are comparable (a print is
    dense where its budget lasted, keyframes after), and most comparable ones must show a close
    hash."""
    import numpy as np

    if not query.samples or not ref.samples:
        return None
    flip = len(query.samples) > len(ref.samples)
    sparse, dense = (ref, query) if flip else (query, ref)
    tolerance = TIME_TOLERANCE
    pairs = _close_pairs(sparse, dense)
    if not pairs:
        return None
    offsets: dict[int, int] = {}
    for u, t, _d in pairs:
        key = round(2 * (t - u))
        offsets[key] = offsets.get(key, 0) + 1
    best = max(offsets, key=lambda k: offsets.get(k - 1, 0) + offsets[k] + offsets.get(k + 1, 0))
    # Within the best second, the offset at which the most sparse samples find their picture
    # (a still-ish shot matches its neighbours too, so a median would drift).
    us = np.asarray([u for u, _, _ in pairs])
    deltas = np.asarray([t - u for u, t, _ in pairs])
    window = np.abs(2 * deltas - best) <= 1.5
    candidates = np.unique(np.round(deltas[window] / 0.02) * 0.02)
    scores = [np.unique(us[np.abs(deltas - c) <= tolerance]).size for c in candidates]
    top = candidates[np.asarray(scores) == max(scores)]
    offset = float(top[len(top) // 2])  # the middle of the best plateau
    by_sample: dict[float, int] = {}
    for u, t, d in pairs:
        if abs((t - u) - offset) <= tolerance:
            by_sample[u] = min(d, by_sample.get(u, 99))
    times = np.asarray(sorted(t for t, _ in dense.samples))
    wanted = np.asarray([u for u, _ in sparse.samples]) + offset
    at = np.clip(np.searchsorted(times, wanted), 1, len(times) - 1) if len(times) > 1 else 0
    gap = np.minimum(np.abs(times[at] - wanted), np.abs(times[np.maximum(at - 1, 0)] - wanted))
    overlap = np.nonzero(gap <= tolerance)[0]
    matched = sorted(by_sample)
    spacing = _spacing(sparse)
    seconds = min(matched[-1] - matched[0] + spacing, query.duration or spacing) if matched else 0
    shorter = min(query.duration, ref.duration) or seconds
    # A few frames that look alike are chance (pictures of one style can): a match needs most
    # of the overlap, at least MIN_SAMPLES pictures and MIN_SECONDS (or most of a short clip).
    if len(matched) < MIN_SAMPLES or len(matched) < 0.6 * len(overlap):
        return None
    if seconds < min(MIN_SECONDS, 0.8 * shorter):
        return None
    distances = sorted(by_sample.values())
    return VideoMatch(
        distance=float(distances[len(distances) // 2]),
        matched_seconds=round(seconds, 1),
        offset=round(-offset if flip else offset, 2),
        full=seconds >= 0.8 * shorter,
        start=round(matched[0] + (offset if flip else 0.0), 2),
    )


def _close_pairs(sparse: VideoPrint, dense: VideoPrint) -> list[tuple[float, float, int]]:
    """(sparse time, dense time, distance) of every pair of samples within FRAME_DISTANCE."""
    import numpy as np

    a_t, a_h = (np.asarray(v) for v in zip(*sparse.samples, strict=True))
    b_t, b_h = (np.asarray(v) for v in zip(*dense.samples, strict=True))
    a_h, b_h = a_h.astype(np.uint64), b_h.astype(np.uint64)
    found: list[tuple[float, float, int]] = []
    for lo in range(0, len(a_h), 512):  # bounded memory: 512 x len(dense) distances at a time
        dist = np.bitwise_count(a_h[lo : lo + 512, None] ^ b_h[None, :])
        rows, cols = np.nonzero(dist <= FRAME_DISTANCE)
        found.extend(
            zip(
                a_t[lo + rows].tolist(),
                b_t[cols].tolist(),
                dist[rows, cols].tolist(),
                strict=True,
            )
        )
    return found


def _spacing(found: VideoPrint) -> float:
    """The typical time between samples (their median gap)."""
    times = [t for t, _ in found.samples]
    if len(times) < 2:
        return max(found.duration, STEP)
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    return max(gaps[len(gaps) // 2], 1e-3)
