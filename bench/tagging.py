"""Time and peak memory to write provgate's signed C2PA tag into a 5 MB image and a 500 MB MP4.

Measures, for each file, in a fresh subprocess per measurement so each has its own peak RSS:
  * `write_tag` (provenance.c2pa.tagging, embed mode, the workspace's development signer): the time
    of the call itself, cold (first tag in the process: c2pa context and signer set up) and
    warm (a second, identical copy tagged in the same process), and the subprocess's wall time
    and peak RSS (Python start-up and imports included);
  * `provgate tag FILE --origin ai-generated` as a user runs it (read, record, tag);
  * `provgate inspect` of the tagged file, to show the tag validates and what reading it costs.
The files: a ~5 MB PNG and a ~5 MB JPEG (natural-ish generated content plus grain, see
_common.py), and an MP4 built from a 1 s 64x64 H.264 clip made with PyAV whose mdat is padded
with random bytes to --mp4-mb MB (default 500).

Goals (from the issues): tagging the image under 0.1 s; peak RSS under 300 MB for the MP4.

    python bench/tagging.py [--files N] [--keep]      (--files: MB of the MP4, default 500)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import _common as c
from PIL import Image

from provenance.workspace import init_workspace

# Runs in the measured subprocess: argv = workspace, file, copy of file.
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from provenance.model import Origin
from provenance.c2pa.signing import signer_from_config
from provenance.c2pa.tagging import Tag, write_tag
from provenance.workspace import open_workspace
ws = open_workspace(Path(sys.argv[1]))
signer = signer_from_config(ws.config)
imports = time.perf_counter() - t0
times = []
for path in sys.argv[2:]:
    t = time.perf_counter()
    result = write_tag(Path(path), Tag(origin=Origin.AI_GENERATED), ws.config, signer)
    times.append(time.perf_counter() - t)
print(json.dumps({"imports": imports, "times": times, "mode": result.mode,
                  "written": str(result.written)}))
"""


def make_image(path: Path, target: int) -> None:
    """A generated 3:2 image (with grain) grown until it is about `target` bytes."""
    w = 1800
    while True:
        img = c.natural_image(8, w, w * 2 // 3, grain=3.0)
        img.save(path, **({"compress_level": 6} if path.suffix == ".png" else {"quality": 97}))
        if path.stat().st_size >= target * 0.95 or w > 8000:
            return
        w = int(w * (target / path.stat().st_size) ** 0.5 * 1.02)


def measure(ws: Path, src: Path, work: Path) -> list[tuple]:
    rows = []
    a, b, d = (work / f"{k}{src.suffix}" for k in ("a", "b", "cli"))
    for dst in (a, b, d):
        shutil.copyfile(src, dst)
        c.warm(dst)
    size = f"{src.stat().st_size / c.MB:.1f} MB"
    r = c.must(c.run_rss([sys.executable, "-c", CHILD, str(ws), str(a), str(b)]), "write_tag")
    if r["rc"]:
        sys.exit(f"write_tag child failed:\n{r['err']}")
    got = json.loads(r["out"])
    cold, warm = got["times"]
    rows.append(
        (f"write_tag {src.name}", size, cold, warm, r["wall"], r["max_mb"], r["tree_mb"],
         f"{got['mode']}, imports {got['imports']:.2f} s")
    )  # fmt: skip
    r = c.must(c.run_rss(c.provgate(ws, "tag", str(d), "--origin", "ai-generated")), "tag")
    rows.append(
        (f"provgate tag {src.name}", size, None, None, r["wall"], r["max_mb"], r["tree_mb"],
         f"exit {r['rc']}")
    )  # fmt: skip
    r = c.must(c.run_rss(c.provgate(ws, "inspect", str(a))), "inspect")
    c2pa = next((ln.strip() for ln in r["out"].splitlines() if ln.strip().startswith("C2PA")), "")
    rows.append(
        (f"provgate inspect tagged {src.name}", size, None, None, r["wall"], r["max_mb"],
         r["tree_mb"], " ".join(c2pa.split()[1:5]) or r["err"].strip()[:60])
    )  # fmt: skip
    for dst in (a, b, d):
        dst.unlink()
    return rows


def main() -> None:
    opts = c.args(__doc__, files=500)
    c.header()
    tmp = c.workdir("tagging")
    try:
        ws = init_workspace(tmp / "ws").root
        src, work = tmp / "src", tmp / "work"
        src.mkdir()
        work.mkdir()
        make_image(src / "still.png", 5 * c.MB)
        make_image(src / "still.jpg", 5 * c.MB)
        c.tiny_mp4(tmp / "clip.mp4")
        c.padded_mp4(tmp / "clip.mp4", src / "plate.mp4", opts.files * c.MB)
        for p in sorted(src.iterdir()):
            with Image.open(p) if p.suffix != ".mp4" else open(p, "rb"):
                pass  # a valid image / file
        rows = [r for name in ("still.png", "still.jpg", "plate.mp4") for r in
                measure(ws, src / name, work)]  # fmt: skip
        c.table(
            "Tagging (each row a fresh subprocess; write_tag s = the call alone, cold = first"
            " in the process, warm = second copy; wall includes start-up)",
            ["what", "size", "write_tag s cold", "warm", "wall s", "peak RSS MB", "tree RSS MB",
             "note"],
            rows,
        )  # fmt: skip
        images = [r for r in rows if r[0].startswith("write_tag still")]
        mp4 = [r for r in rows if "plate.mp4" in r[0] and not r[0].startswith("provgate inspect")]
        for r in images:
            print(
                f"{r[0]}: {r[2]:.3f} s cold, {r[3]:.3f} s warm  (goal < 0.1 s:"
                f" cold {c.verdict(r[2] < 0.1)}, warm {c.verdict(r[3] < 0.1)})"
            )
        peak = max(max(r[5], r[6]) for r in mp4)
        print(f"MP4 tagging peak RSS {peak:.0f} MB  (goal < 300 MB: {c.verdict(peak < 300)})")
    finally:
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        c.cleanup(tmp, opts.keep)


if __name__ == "__main__":
    sys.exit(main())
