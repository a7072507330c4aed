"""Clips and sounds for the near-duplicate benchmark and its small version in the suite.

Each clip pans across generated "natural" pictures (bench/_common.natural_image) with a cut
half-way, so consecutive samples differ as in real footage; each sound is a few seconds of
chords with a rhythm, different for every seed. Transcodes are made with Debian's ffmpeg.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import _common as c
import numpy as np


def make_clip(
    path: Path, seed: int, seconds: float = 8.0, size: tuple[int, int] = (640, 360), fps: int = 24
) -> None:
    """An H.264 MP4 (2 s GOP) panning across two pictures, cut at half-time."""
    import av

    w, h = size
    shots = [np.asarray(c.natural_image(seed * 7 + k, w * 2, h * 2, grain=2.0)) for k in (1, 2)]
    rng = np.random.default_rng(seed)
    frames = int(seconds * fps)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20", "g": str(2 * fps)}
        paths = [rng.uniform(0, 1, 4) for _ in shots]
        for i in range(frames):
            half = 0 if i < frames // 2 else 1
            x0, y0, x1, y1 = paths[half]
            f = (i % (frames // 2)) / max(1, frames // 2 - 1)
            x = int((x0 + (x1 - x0) * f) * w)
            y = int((y0 + (y1 - y0) * f) * h)
            crop = np.ascontiguousarray(shots[half][y : y + h, x : x + w])
            for packet in stream.encode(av.VideoFrame.from_ndarray(crop, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def make_sound(path: Path, seed: int, seconds: float = 8.0, rate: int = 48000) -> None:
    """A WAV of chords changing on a beat, different for every seed."""
    import wave

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    beat = rng.uniform(0.25, 0.6)
    for start in np.arange(0, seconds, beat):
        notes = 220 * 2 ** (rng.integers(0, 24, 3) / 12)
        seg = (t >= start) & (t < start + beat)
        env = np.exp(-(t[seg] - start) * rng.uniform(2, 8))
        for f in notes:
            out[seg] += env * np.sin(2 * np.pi * f * t[seg]) / 3
    out += rng.normal(0, 0.01, len(t))
    pcm = (np.clip(out, -1, 1) * 20000).astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(pcm.tobytes())


# name -> ffmpeg output arguments (after -i SRC); the suffix decides the container.
VIDEO_TRANSCODES = {
    "prores.mov": ["-c:v", "prores_ks", "-profile:v", "1"],
    "dnxhr.mov": ["-c:v", "dnxhd", "-profile:v", "dnxhr_lb", "-pix_fmt", "yuv422p"],
    "h264-low.mp4": ["-c:v", "libx264", "-preset", "veryfast", "-b:v", "400k"],
    "quarter.mp4": [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-vf",
        "scale=trunc(iw/8)*2:trunc(ih/8)*2",
    ],
    "fps30.mp4": ["-c:v", "libx264", "-preset", "veryfast", "-r", "30"],
    "trim.mp4": ["-ss", "1.7", "-c:v", "libx264", "-preset", "veryfast"],
}
AUDIO_TRANSCODES = {
    "resample.wav": ["-ar", "44100"],
    "flac.flac": ["-c:a", "flac"],
    "mp3.mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
    "aac.m4a": ["-c:a", "aac", "-b:a", "96k"],
    "trim.wav": ["-ss", "1.7"],
}


def ffmpeg() -> str | None:
    return shutil.which("ffmpeg")


def transcode(src: Path, dest: Path, args: list[str]) -> None:
    seek = args[:2] if args[:1] == ["-ss"] else []
    rest = args[2:] if seek else args
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", *seek, "-i", str(src), "-an", *rest, str(dest)]
        if dest.suffix in (".mov", ".mp4")
        else ["ffmpeg", "-loglevel", "error", "-y", *seek, "-i", str(src), *rest, str(dest)],
        check=True,
    )
