"""`provgate scan` throughput and memory: first scan, unchanged re-scan, and large files.

Every provgate figure is a subprocess as a user runs it (`python -m cli --workspace WS scan`),
so Python start-up, imports and the spawn worker pool are included. The tree: --files
generated 256x256 images (PNG and JPEG alternately, ~20-55 KB, natural-ish content, see
_common.py; 2% carry a generator marker) in 100-file folders, plus three 300 MB files in
big/: two MP4s (a 1 s PyAV H.264 clip with its mdat padded by random bytes) and a PCM WAV.
The page cache is warm for every run (every file is read again just before each timed run:
this VM pages out file pages left idle for a minute), and the tree is synced to disk before
the first timed run.

Measures:
  * first scan files/s of the whole tree, `scan --no-tag` (median of three runs, each into a
    fresh workspace) and (fresh workspace, one run: it tags the tree) with tagging, against
    `exiftool -json -r -q TREE` (median of three runs) on the same tree. Each of the three
    rounds runs exiftool, a first scan and a re-scan in turn, so that both sides of the ratio
    see the same spells of a busy machine. Timed runs have nothing sampling /proc beside
    them; one more run of each command measures memory;
  * unchanged re-scan files/s (median of three `scan --no-tag` into the first workspace,
    in the same rounds);
  * start-up: `provgate --version`;
  * large files: `scan --no-tag big/` (fresh workspace) MB/s against `sha256sum` of the files;
  * peak RSS of each scan: ru_maxrss of the largest process, and the sampled sum over the
    process tree (the main process plus its worker processes).

Goals (from the issues): first scan >= 10x exiftool's files/s on the same tree; re-scan of
unchanged files >= 20,000 files/s (start-up included); large files within 1.25x of sha256sum's
time; scan peak RSS under 250 MB.

    python bench/scan.py [--files N] [--keep]
"""

from __future__ import annotations

import os
import sys
import time

import _common as c

from provenance.workspace import init_workspace

BIG = 300 * c.MB


def scan_row(label: str, r: dict, files: int, mb: float) -> tuple:
    last = r["out"].strip().splitlines()[-1] if r["out"].strip() else r["err"].strip()[-80:]
    return (label, files, r["wall"], files / r["wall"], mb / r["wall"], r["max_mb"], r["tree_mb"],
            last.split(";")[-1].strip())  # fmt: skip


def main() -> None:
    opts = c.args(__doc__, files=10_000)
    c.header()
    tmp = c.workdir("scan")
    try:
        tree, big = tmp / "tree", tmp / "tree" / "big"
        t0 = time.perf_counter()
        made = c.make_tree(tree, opts.files)
        big.mkdir()
        c.tiny_mp4(tmp / "clip.mp4")
        c.padded_mp4(tmp / "clip.mp4", big / "plate1.mp4", BIG, seed=11)
        c.padded_mp4(tmp / "clip.mp4", big / "plate2.mp4", BIG, seed=12)
        c.make_wav(big / "stem.wav", BIG, seed=13)
        files = sorted(p for p in tree.rglob("*") if p.is_file())
        for p in files:
            c.warm(p)
        # The generated tree is still dirty in the page cache: written back in the middle of a
        # timed run it would stall that run's fsyncs (seen: a first scan at twice its time).
        os.sync()
        n, mb = len(files), sum(p.stat().st_size for p in files) / c.MB
        print(
            f"tree: {n} files, {mb:.0f} MB ({made['files']} images, {made['ai']} with markers;"
            f" 3 x 300 MB in big/), generated in {time.perf_counter() - t0:.0f} s"
        )
        ws_a, ws_b, ws_c = (init_workspace(tmp / k).root for k in ("ws_a", "ws_b", "ws_c"))

        rows = []
        tool = c.exiftool()
        exif_rate = None
        # Memory: one sampled run of each. Timing: the median of three rounds with nothing
        # sampling /proc beside them (a 1.3 s run on two cores feels both the sampler and this
        # VM's slow spells), each first scan into a fresh workspace. Each round runs exiftool,
        # a first scan and a re-scan in turn, so that a slow spell weighs on both sides of the
        # ratio alike.
        scan = ["scan", "--no-tag", str(tree)]
        first = c.must(c.run_rss(c.provgate(ws_a, *scan)), "scan")
        again = c.must(c.run_rss(c.provgate(ws_a, *scan)), "rescan")
        timed = [
            lambda k: c.provgate(init_workspace(tmp / f"ws_t{k}").root, *scan),
            lambda _k: c.provgate(ws_a, *scan),
        ]
        if tool:
            exif = [tool, "-json", "-r", "-q", str(tree)]
            r = c.must(c.run_rss(exif), "exiftool")  # memory, and Perl's modules cached
            r["wall"], first["wall"], again["wall"] = c.median_walls(
                lambda _k: exif, *timed, before=lambda: [c.warm(p) for p in files]
            )
            rows.append(scan_row("exiftool -json -r -q (median of 3)", {**r, "out": ""}, n, mb))
            exif_rate = rows[-1][3]
        else:
            first["wall"], again["wall"] = c.median_walls(
                *timed, before=lambda: [c.warm(p) for p in files]
            )
        rows.append(scan_row("provgate scan --no-tag (first, median of 3)", first, n, mb))
        rows.append(scan_row("provgate scan --no-tag (re-scan, median of 3)", again, n, mb))
        tagged = c.must(c.run_rss(c.provgate(ws_b, "scan", str(tree))), "scan with tagging")
        rows.append(scan_row("provgate scan, tagging on (first)", tagged, n, mb))
        up = c.must(c.run_rss(c.provgate(ws_a, "--version")), "--version")
        rows.append(("provgate --version (start-up)", None, up["wall"], None, None, up["max_mb"],
                     up["tree_mb"], up["out"].strip()))  # fmt: skip
        c.table(
            "Scan of the tree (subprocesses, warm page cache)",
            ["command", "files", "seconds", "files/s", "MB/s", "peak RSS MB", "tree RSS MB",
             "result"],
            rows,
        )  # fmt: skip
        if exif_rate:
            for r in rows[1:4]:
                print(f"{r[0]}: {r[3] / exif_rate:.2f}x exiftool's files/s")
        if exif_rate:
            ratio = rows[1][3] / exif_rate
            print(f"first scan: {ratio:.2f}x exiftool  (goal >= 10x: {c.verdict(ratio >= 10)})")
        rescan = n / again["wall"]
        print(
            f"unchanged re-scan: {rescan:,.0f} files/s  (goal >= 20,000:"
            f" {c.verdict(rescan >= 20_000)})"
        )

        bigs = sorted(big.iterdir())
        big_mb = sum(p.stat().st_size for p in bigs) / c.MB
        ours = c.must(c.run_rss(c.provgate(ws_c, "scan", "--no-tag", str(big))), "scan big")
        sha = c.must(c.run_rss(["sha256sum", *map(str, bigs)]), "sha256sum")
        rows2 = [
            scan_row("provgate scan --no-tag big/ (first)", ours, len(bigs), big_mb),
            scan_row("sha256sum big/*", {**sha, "out": ""}, len(bigs), big_mb),
        ]
        c.table(
            "Large files: 3 x 300 MB",
            ["command", "files", "seconds", "files/s", "MB/s", "peak RSS MB", "tree RSS MB",
             "result"],
            rows2,
        )  # fmt: skip
        ratio = ours["wall"] / sha["wall"]
        bare = (ours["wall"] - up["wall"]) / sha["wall"]
        print(
            f"scan time / sha256sum time: {ratio:.2f}  (goal <= 1.25: {c.verdict(ratio <= 1.25)});"
            f" {bare:.2f} without start-up ({up['wall']:.2f} s)"
        )
        peak = max(max(r["max_mb"], r["tree_mb"]) for r in (first, again, tagged, ours))
        worst = max(first["tree_mb"], tagged["tree_mb"])
        print(
            f"scan peak RSS: largest process {max(first['max_mb'], tagged['max_mb']):.0f} MB,"
            f" process tree {worst:.0f} MB  (goal < 250 MB: {c.verdict(peak < 250)})"
        )
    finally:
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        c.cleanup(tmp, opts.keep)


if __name__ == "__main__":
    sys.exit(main())
