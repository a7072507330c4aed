"""Shared helpers for the benchmark scripts: data generation, measured subprocesses, tables.

Generated images are "natural-ish": a linear gradient between two random colours, fractal
value noise (octaves from a 3x3 to a 96x96 grid, amplitude falling with frequency, like the
1/f spectrum of photographs), 3-12 random filled shapes (ellipses, rectangles, polygons),
and (JPEGs only) fine per-pixel grain. Each seed gives a different picture; none is flat
or pure noise.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, PngImagePlugin

REPO = Path(__file__).resolve().parent.parent
MB = 1 << 20
XMP_AI = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
    ' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""'
    ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
    " Iptc4xmpExt:DigitalSourceType="
    '"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>'
    "</rdf:RDF></x:xmpmeta>"
)


def a1111_parameters(seed: int) -> str:
    return (
        f"a lighthouse on a cliff at dusk, shot {seed}\nNegative prompt: blurry, watermark\n"
        f"Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: {seed}, Size: 512x512,"
        " Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: v1.7.0"
    )


def args(doc: str, files: int, only: Sequence[str] = ()) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--files", type=int, default=files, help=f"number of files (default {files})")
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    if only:
        p.add_argument("--only", choices=only, help="run one part of the benchmark")
    return p.parse_args()


def workdir(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"provgate-bench-{name}-", dir="/tmp"))


def cleanup(path: Path, keep: bool) -> None:
    if keep:
        print(f"\nkept {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- images


def natural_image(seed: int, w: int = 256, h: int = 256, grain: float = 3.0) -> Image.Image:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    t = (np.cos(angle) * xx / w + np.sin(angle) * yy / h + 1) / 2
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    img = c0 + (c1 - c0) * t[..., None] * rng.uniform(0.3, 0.8)
    for cells, amp in ((3, 70), (6, 45), (12, 28), (24, 16), (48, 9), (96, 5)):
        grid = rng.uniform(-1, 1, (cells, cells, 3)).astype(np.float32)
        up = np.stack(
            [
                np.asarray(Image.fromarray(grid[..., c]).resize((w, h), Image.Resampling.BICUBIC))
                for c in range(3)
            ],
            axis=-1,
        )
        img = img + amp * up * (1.0 if rng.random() < 0.5 else 0.6)
    pic = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pic)
    for _ in range(int(rng.integers(3, 13))):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * (w, h)
        x1, y1 = x0 + rng.uniform(0.05, 0.6) * w, y0 + rng.uniform(0.05, 0.6) * h
        kind = rng.integers(0, 3)
        if kind == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif kind == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            pts = [
                tuple(rng.uniform(-0.1, 1.1, 2) * (w, h)) for _ in range(int(rng.integers(3, 7)))
            ]
            draw.polygon(pts, fill=colour)
    if not grain:
        return pic
    arr = np.asarray(pic, dtype=np.float32) + rng.normal(0, grain, (h, w, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def write_image(path: Path, seed: int, ai: bool, size: tuple[int, int] = (256, 256)) -> int:
    """Write one PNG (.png) or JPEG (.jpg) with, when `ai`, a generator marker; its size."""
    png = path.suffix == ".png"
    img = natural_image(seed, *size, grain=0.0 if png else 3.0)  # PNG: smooth, ~20-55 KB
    if png:
        info = PngImagePlugin.PngInfo()
        if ai:
            info.add_text("parameters", a1111_parameters(seed))
        img.save(path, pnginfo=info, compress_level=6)
    else:
        img.save(path, quality=95, **({"xmp": XMP_AI.encode()} if ai else {}))
    return path.stat().st_size


def _write_job(job: tuple[str, int, bool]) -> int:
    return write_image(Path(job[0]), job[1], job[2])


def make_tree(
    root: Path, n: int, ai_every: int = 50, seed0: int = 0, kinds: Sequence[str] = (".png", ".jpg")
) -> dict[str, int]:
    """n images in 100-file folders; every `ai_every`-th carries a marker (0: none, 1: all)."""
    jobs = []
    for i in range(n):
        folder = root / f"reel{i // 1000:02d}" / f"shot{i // 100 % 10:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        ext = kinds[i % len(kinds)]
        ai = bool(ai_every) and (i - 7) % ai_every == 0  # ai_every=1: all of them
        jobs.append((str(folder / f"frame{i:06d}{ext}"), seed0 + i, ai))
    with Pool(os.cpu_count() or 1) as pool:
        sizes = pool.map(_write_job, jobs, chunksize=64)
    return {"files": n, "bytes": sum(sizes), "ai": sum(j[2] for j in jobs)}


# ---------------------------------------------------------------- big files


def _fill(fh: io.BufferedWriter, size: int, seed: int) -> None:
    block = np.random.default_rng(seed).bytes(16 * MB)
    while size > 0:
        fh.write(block[: min(size, len(block))])
        size -= len(block)


def make_wav(path: Path, size: int, seed: int = 1) -> None:
    """A PCM WAV (48 kHz stereo 24-bit) of `size` bytes of random samples."""
    data = size - 44
    with open(path, "wb") as fh:
        fh.write(b"RIFF" + struct.pack("<I", size - 8) + b"WAVE")
        fh.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 2, 48000, 48000 * 6, 6, 24))
        fh.write(b"data" + struct.pack("<I", data))
        _fill(fh, data, seed)


def tiny_mp4(path: Path) -> None:
    """A 1-second 64x64 H.264 MP4 made with PyAV (mdat before moov)."""
    import av

    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(24):
            arr = np.asarray(natural_image(i, 64, 64))
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def padded_mp4(template: Path, dest: Path, size: int, seed: int = 2) -> None:
    """`template` with random bytes appended inside its mdat box until the file is `size`
    bytes; mdat must come before moov so the chunk offsets stay right."""
    data = template.read_bytes()
    boxes, pos = [], 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos : pos + 8])
        boxes.append((kind, pos, n))
        pos += n
    kinds = [b[0] for b in boxes]
    if kinds.index(b"mdat") > kinds.index(b"moov"):
        raise SystemExit(f"{template}: moov before mdat; cannot pad")
    pad = size - len(data)
    with open(dest, "wb") as fh:
        for kind, start, n in boxes:
            if kind == b"mdat":
                fh.write(struct.pack(">I4s", n + pad, b"mdat") + data[start + 8 : start + n])
                _fill(fh, pad, seed)
            else:
                fh.write(data[start : start + n])


# ---------------------------------------------------------------- measuring


# Subprocesses get Python's bytecode cache, as an installed provgate has it: this environment
# sets PYTHONDONTWRITEBYTECODE, which made every start-up recompile ~50 modules (~0.1 s).
# The cache goes under /tmp (PYTHONPYCACHEPREFIX), not into the checkout.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = "/tmp/provgate-bench-pycache"


def header() -> None:
    """Machine load, since other jobs on the machine skew every figure."""
    load = os.getloadavg()
    print(f"cpus {os.cpu_count()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    subprocess.run(
        [sys.executable, "-m", "cli", "--version"],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        check=True,
    )  # fmt: skip  (fills the bytecode cache)


def provgate(ws: Path, *argv: str) -> list[str]:
    return [sys.executable, "-m", "cli", "--workspace", str(ws), *argv]


def _tree_rss_kb(pid: int) -> int:
    """Summed VmRSS of `pid` and its descendants (best effort, via /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next((int(ln.split()[1]) for ln in fh if ln.startswith("VmRSS:")), 0)
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            pass
    return total


def run(cmd: list[str], stdin: str | None = None, sample: bool = True) -> dict:
    """Run `cmd`: wall seconds, exit code, output, and the peak RSS summed over its process
    tree (sampled from /proc every 20 ms, so a peak shorter than that can be missed).
    `sample=False`: timing only, with no sampler beside the command (tree_mb is nan)."""
    if not sample:
        t0 = time.perf_counter()
        done_proc = subprocess.run(
            cmd, cwd=REPO, env=ENV, input=stdin, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - t0
        return {"wall": wall, "rc": done_proc.returncode, "out": done_proc.stdout,
                "err": done_proc.stderr, "tree_mb": float("nan")}  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=ENV, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate(stdin)
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    return {"wall": wall, "rc": proc.returncode, "out": out, "err": err, "tree_mb": peak[0] / 1024}


def median_walls(
    *commands: Callable[[int], list[str]],
    rounds: int = 3,
    before: Callable[[], object] | None = None,
) -> list[float]:
    """Each command's median wall time over `rounds` rounds that run the commands in turn
    (`command(k)` in round k), with no sampler beside them; `before()` (untimed) runs before
    each command."""
    walls: list[list[float]] = [[] for _ in commands]
    for k in range(rounds):
        for command, times in zip(commands, walls, strict=True):
            cmd = command(k)
            if before:
                before()
            times.append(must(run(cmd, sample=False), " ".join(cmd[3:5]))["wall"])
    return [statistics.median(times) for times in walls]


def run_rss(cmd: list[str], stdin: str | None = None) -> dict:
    """`run`, plus `max_mb`: ru_maxrss of the largest single process in the tree, from
    /usr/bin/time (wait4's rusage also covers the children the process reaped)."""
    if not Path("/usr/bin/time").exists():
        return {**run(cmd, stdin), "max_mb": float("nan")}
    fd, stats = tempfile.mkstemp(prefix="provgate-bench-time-")
    os.close(fd)
    r = run(["/usr/bin/time", "-f", "%M", "-o", stats, *cmd], stdin)
    text = Path(stats).read_text().strip().splitlines()
    os.unlink(stats)
    r["max_mb"] = int(text[-1]) / 1024 if text and text[-1].isdigit() else float("nan")
    return r


def warm(path: Path) -> None:
    """Read a file once so that it sits in the page cache. Not for long on every machine:
    a VM that hands idle memory back to its host (DAMON's `pageout`, as on the machine these
    figures come from) evicts pages left alone for a minute, so timed runs warm again first."""
    with open(path, "rb", buffering=0) as fh:
        while fh.read(8 * MB):
            pass


def must(r: dict, what: str) -> dict:
    if r["rc"] not in (0, 1):
        sys.exit(f"{what} failed (exit {r['rc']}):\n{r['err'][-3000:]}")
    return r


def exiftool() -> str | None:
    found = shutil.which("exiftool")
    if not found:
        print("exiftool not installed: ratio skipped")
    return found


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    def fmt(v: object) -> str:
        if isinstance(v, float):
            return "nan" if v != v else f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
        return "" if v is None else str(v)

    cells = [list(headers)] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    right = [i > 0 for i in range(len(headers))]
    print(f"\n{title}")
    for n, r in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if right[i] else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"
