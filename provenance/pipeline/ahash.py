"""Audio fingerprints: Chromaprint (Debian's libchromaprint-tools `fpcalc`), matched at an offset.

fpcalc decodes any format ffmpeg reads, resamples to 11,025 Hz mono and gives one 32-bit
sub-fingerprint per ~0.124 s; a resample, a format change (WAV/FLAC/MP3/AAC) flips a few of
their bits, a trim shifts them. Two sounds match where, at one offset, the sub-fingerprints
differ in few bits (bit error rate well under the ~0.5 of unrelated audio).
"""

from __future__ import annotations

import base64
import json
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

AUDIO_MEDIA = frozenset({"audio/wav", "audio/flac", "audio/mpeg", "audio/ogg", "audio/mp4"})
PREFIX = "a1:"
ITEM_SECONDS = 4096 / 11025 / 3  # Chromaprint's default: one item every 1/3 of a 4096 frame
MAX_SECONDS = 900  # fpcalc reads at most this much of a file
_TIMEOUT = 120
# Bit error rate over a ~1 s window at or below which that window is the same sound.
WINDOW_BER = 0.3
_WINDOW = 8
_MIN_WINDOWS = 3  # 3 s of matching sound at least
_MIN_DISTINCT = 0.3  # silence and drones repeat one value: such a print matches nothing


@dataclass(frozen=True)
class AudioPrint:
    duration: float
    items: tuple[int, ...]

    def encode(self) -> str:
        body = struct.pack(f"<f{len(self.items)}I", self.duration, *self.items)
        return PREFIX + base64.b64encode(body).decode("ascii")

    @classmethod
    def decode(cls, text: str) -> AudioPrint | None:
        if not text.startswith(PREFIX):
            return None
        try:
            raw = base64.b64decode(text[len(PREFIX) :])
            n = (len(raw) - 4) // 4
            duration, *items = struct.unpack(f"<f{n}I", raw[: 4 + 4 * n])
        except (ValueError, struct.error):
            return None
        return cls(duration, tuple(items))


def fpcalc() -> str | None:
    """The fpcalc binary, or None when libchromaprint-tools is not installed."""
    return shutil.which("fpcalc")


def audio_fingerprint(path: Path) -> str | None:
    """The sound's fingerprint as text for the store; None without fpcalc or decodable audio."""
    tool = fpcalc()
    if tool is None:
        return None
    try:
        done = subprocess.run(
            [tool, "-raw", "-json", "-length", str(MAX_SECONDS), "--", str(path)],
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        # fpcalc exits 1 on a trailing decoder error (seen with AAC) after a good print.
        data = json.loads(done.stdout) if done.stdout.strip() else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    if not isinstance(data, dict) or not data.get("fingerprint"):
        return None
    items = tuple(int(v) & 0xFFFFFFFF for v in data["fingerprint"])
    return AudioPrint(float(data.get("duration") or 0.0), items).encode()


@dataclass(frozen=True)
class AudioMatch:
    ber: float  # bit error rate of the matched windows (0 identical, ~0.5 unrelated)
    matched_seconds: float
    offset: float  # reference time = query time + offset
    full: bool
    start: float = 0.0  # query time of the first matching window


def match_audio(query: AudioPrint, ref: AudioPrint) -> AudioMatch | None:
    """How `query` relates to `ref`: a copy (full), a sound holding part of it, or None."""
    import numpy as np

    q = np.asarray(query.items, dtype=np.uint32)
    r = np.asarray(ref.items, dtype=np.uint32)
    if len(q) < _WINDOW * _MIN_WINDOWS or len(r) < _WINDOW * _MIN_WINDOWS:
        return None
    if len(np.unique(q)) < _MIN_DISTINCT * len(q):
        return None
    best: AudioMatch | None = None
    for shift in _candidate_offsets(q, r):
        lo_q, lo_r = max(0, -shift), max(0, shift)
        n = min(len(q) - lo_q, len(r) - lo_r)
        windows = n // _WINDOW
        if windows < _MIN_WINDOWS:
            continue
        a = q[lo_q : lo_q + windows * _WINDOW]
        b = r[lo_r : lo_r + windows * _WINDOW]
        errors = np.bitwise_count(a ^ b).reshape(windows, _WINDOW).sum(axis=1) / (32 * _WINDOW)
        good = errors <= WINDOW_BER
        if good.sum() < _MIN_WINDOWS or good.sum() < 0.5 * windows:
            continue
        seconds = float(good.sum() * _WINDOW * ITEM_SECONDS)
        # Full: the overlap is most of the query and most of it matches.
        full = n >= 0.8 * len(q) and good.sum() >= 0.8 * windows
        found = AudioMatch(
            ber=round(float(errors[good].mean()), 3),
            matched_seconds=round(query.duration if full else seconds, 1),
            offset=round(shift * ITEM_SECONDS, 2),
            full=bool(full),
            start=round((lo_q + int(np.argmax(good)) * _WINDOW) * ITEM_SECONDS, 2),
        )
        if best is None or (found.matched_seconds, -found.ber) > (best.matched_seconds, -best.ber):
            best = found
    return best


def _candidate_offsets(q: object, r: object, keep: int = 4) -> list[int]:
    """Offsets (in items) at which equal sub-fingerprints line up most often."""
    import numpy as np

    qa, ra = np.asarray(q), np.asarray(r)
    where: dict[int, list[int]] = {}
    for j, v in enumerate(ra.tolist()):
        where.setdefault(v >> 4, []).append(j)  # the low bits flip most under re-encoding
    votes: dict[int, int] = {}
    for i, v in enumerate(qa.tolist()):
        for j in where.get(v >> 4, ())[:8]:
            votes[j - i] = votes.get(j - i, 0) + 1
    ranked = sorted(votes, key=votes.__getitem__, reverse=True)[:keep]
    return ranked or [0]
