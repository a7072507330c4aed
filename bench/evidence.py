"""Evidence-reading throughput, and the memory `provgate inspect` needs for a 1 GB file.

Measures:
  * files/s of provenance.pipeline.classify.read_asset over a generated tree (one process, no store,
    no scan: just read_asset on every file), against `exiftool -json -r -q TREE` over the same
    tree in the same run. Both are run twice and the second (warm-cache) run is compared.
    The tree: --files images of 256x256 (PNG and JPEG alternately, ~20-55 KB, natural-ish
    generated content, see _common.py), 2% with a generator marker (PNG: an AUTOMATIC1111
    tEXt 'parameters' chunk; JPEG: XMP Iptc4xmpExt:DigitalSourceType trainedAlgorithmicMedia).
  * peak RSS and wall time of `provgate inspect FILE` (a subprocess, as a user runs it) for
    two 1 GB files: a PCM WAV (RIFF header + 1 GB of random samples) and an MP4 (a 1 s PyAV
    H.264 clip whose mdat is padded with random bytes to 1 GB); `sha256sum` of each for scale.

Goals (from the issues): read_asset at least 10x exiftool's files/s; inspect of a 1 GB file
under 150 MB peak RSS.

    python bench/evidence.py [--files N] [--keep]
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import _common as c

from provenance.errors import ProvgateError
from provenance.pipeline.classify import read_asset
from provenance.workspace import init_workspace

GB = 1 << 30


def read_all(files: list[Path], config) -> tuple[float, int, int]:
    """Seconds to read_asset every file; how many came out AI; how many failed."""
    ai = errors = 0
    t0 = time.perf_counter()
    for path in files:
        try:
            ai += read_asset(path, config).origin.is_ai
        except ProvgateError:
            errors += 1
    return time.perf_counter() - t0, ai, errors


def main() -> None:
    opts = c.args(__doc__, files=10_000)
    c.header()
    tmp = c.workdir("evidence")
    try:
        ws = init_workspace(tmp / "ws")
        tree = tmp / "tree"
        t0 = time.perf_counter()
        made = c.make_tree(tree, opts.files)
        files = sorted(p for p in tree.rglob("*") if p.is_file())
        print(
            f"tree: {made['files']} images, {made['bytes'] / c.MB:.0f} MB,"
            f" {made['ai']} with markers (generated in {time.perf_counter() - t0:.0f} s)"
        )

        rows = []
        runs = [read_all(files, ws.config) for _ in range(2)]
        for n, (secs, ai, errors) in enumerate(runs):
            rows.append(
                (f"read_asset, run {n + 1}", len(files), secs, len(files) / secs,
                 f"{ai} AI, {errors} errors")
            )  # fmt: skip
        ours = len(files) / runs[1][0]

        tool = c.exiftool()
        ratio = None
        if tool:
            for n in range(2):
                r = c.must(c.run([tool, "-json", "-r", "-q", str(tree)]), "exiftool")
                seen = len(json.loads(r["out"] or "[]"))
                rows.append(
                    (f"exiftool -json -r -q, run {n + 1}", seen, r["wall"], seen / r["wall"],
                     f"exit {r['rc']}")
                )  # fmt: skip
            ratio = ours / rows[-1][3]
        c.table(
            "Evidence reading (one process, warm page cache; run 2 is compared)",
            ["reader", "files", "seconds", "files/s", "note"],
            rows,
        )
        if ratio is not None:
            print(
                f"read_asset / exiftool files/s: {ratio:.1f}x  (goal >= 10x:"
                f" {c.verdict(ratio >= 10)})"
            )

        big = tmp / "big"
        big.mkdir()
        c.make_wav(big / "one_gb.wav", GB)
        c.tiny_mp4(tmp / "clip.mp4")
        c.padded_mp4(tmp / "clip.mp4", big / "one_gb.mp4", GB)
        rows = []
        worst = 0.0
        for path in sorted(big.iterdir()):
            c.warm(path)
            r = c.must(c.run_rss(c.provgate(ws.root, "inspect", str(path))), "inspect")
            worst = max(worst, r["max_mb"], r["tree_mb"])
            origin = next((ln.split()[1] for ln in r["out"].splitlines() if "origin" in ln), "?")
            rows.append(
                (f"provgate inspect {path.name}", r["wall"], GB / c.MB / r["wall"], r["max_mb"],
                 r["tree_mb"], f"exit {r['rc']}, origin {origin}")
            )  # fmt: skip
            s = c.run_rss(["sha256sum", str(path)])
            rows.append(
                (f"sha256sum {path.name}", s["wall"], GB / c.MB / s["wall"], s["max_mb"],
                 s["tree_mb"], "")
            )  # fmt: skip
        c.table(
            "inspect of a 1 GB file (subprocess; RSS: ru_maxrss of the largest process /"
            " sampled sum over the process tree)",
            ["command", "seconds", "MB/s", "peak RSS MB", "tree RSS MB", "note"],
            rows,
        )
        print(f"inspect peak RSS {worst:.0f} MB  (goal < 150 MB: {c.verdict(worst < 150)})")
    finally:
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        c.cleanup(tmp, opts.keep)


if __name__ == "__main__":
    sys.exit(main())
