"""Near-duplicates and watermarks: false matches, transcodes matched, distances, and cost.

Made here, never downloaded: --ai-clips generated AI clips (bench/_media.make_clip) each
transcoded one way (ProRes, DNxHR, H.264 at 400 kb/s, 1/4 size, 30 fps, trimmed 1.7 s; the
kinds in turn) and --clips unrelated clips; --ai-sounds generated sounds re-encoded (44.1 kHz
WAV, FLAC, MP3, AAC, trimmed) and --sounds unrelated ones; --stills unrelated stills against
--ai-stills AI stills (their re-saved JPEGs must match). Every fingerprint is made by the
library exactly as scan and check make it; matching is the registry's.

Measures:
  * false matches: unrelated stills/clips/sounds that match any AI asset (goal 0), and stills
    where an invisible watermark is read (goal 0);
  * transcodes matched to their own AI asset as whole copies (goal >= 95%);
  * the distance distributions (percentiles) of true matches and of the nearest unrelated;
  * video cost: CPU seconds of one core per minute of 1080p H.264 and ProRes footage
    (--cost-seconds long each; goal <= 2 s/min).

    python bench/nearmatch.py [--stills N] [--clips N] [--ai-clips N] [--sounds N]
                              [--ai-sounds N] [--seconds S] [--cost-seconds S] [--keep]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import _common as c
import _media as m
import numpy as np

from provenance.markers.watermark import read_image
from provenance.pipeline.ahash import AudioPrint, fpcalc, match_audio
from provenance.pipeline.fingerprints import fingerprint
from provenance.pipeline.phash import NEAR_DISTANCE, distance, image_phash
from provenance.pipeline.vhash import VideoPrint, match_video


def options(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--stills", type=int, default=1000)
    p.add_argument("--ai-stills", type=int, default=50)
    p.add_argument("--clips", type=int, default=200)
    p.add_argument("--ai-clips", type=int, default=100)
    p.add_argument("--sounds", type=int, default=200)
    p.add_argument("--ai-sounds", type=int, default=100)
    p.add_argument("--seconds", type=float, default=6.0, help="length of generated clips")
    p.add_argument("--sound-seconds", type=float, default=12.0, help="length of generated sounds")
    p.add_argument("--size", default="384x216", help="generated clips' size")
    p.add_argument("--cost-seconds", type=float, default=20.0, help="0: skip the cost runs")
    p.add_argument("--keep", action="store_true")
    return p.parse_args(argv)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _pct(values: list[float]) -> str:
    if not values:
        return "-"
    q = np.percentile(values, [0, 5, 50, 95, 100])
    return " / ".join(f"{v:.3g}" for v in q)


def _clip_job(job: tuple[str, int, float, tuple[int, int]]) -> str:
    m.make_clip(Path(job[0]), job[1], job[2], job[3])
    return job[0]


def _print_job(job: tuple[str, str]) -> str | None:
    return fingerprint(Path(job[0]), job[1]).value


def stills(opts: argparse.Namespace, tmp: Path) -> tuple[list[tuple], bool]:
    if not opts.stills or not opts.ai_stills:
        return [], True
    ai = [c.natural_image(10_000 + i, 512, 384) for i in range(opts.ai_stills)]
    ai_hashes = []
    copies = []
    for i, img in enumerate(ai):
        src, copy = tmp / f"ai{i}.png", tmp / f"ai{i}.jpg"
        img.save(src)
        img.resize((384, 288)).save(copy, quality=80)  # re-saved smaller: must still match
        ai_hashes.append(image_phash(src, "image/png"))
        copies.append(image_phash(copy, "image/jpeg"))
    own = [distance(h, ai_hashes[i]) for i, h in enumerate(copies) if h]
    nearest, false, marked = [], 0, 0
    for i in range(opts.stills):
        path = tmp / f"u{i}.png"
        c.natural_image(i, 512, 384, grain=0.0).save(path)
        h = image_phash(path, "image/png")
        d = min(distance(h, a) for a in ai_hashes if a) if h else 128
        nearest.append(d)
        false += d <= NEAR_DISTANCE
        marked += bool(read_image(path))
        path.unlink()
    matched = sum(d <= NEAR_DISTANCE for d in own)
    rows = [
        ("stills: unrelated matching an AI still", opts.stills, false, "0", c.verdict(false == 0)),
        ("stills: watermark read on unrelated", opts.stills, marked, "0", c.verdict(marked == 0)),
        (
            "stills: re-saved AI copies matched",
            len(own),
            matched,
            "all",
            c.verdict(matched == len(own)),
        ),
    ]
    dists = [("stills (Hamming /128)", _pct(own), _pct(nearest), NEAR_DISTANCE)]
    return rows + [("dist", *d) for d in dists], false == 0 and marked == 0


def clips(opts: argparse.Namespace, tmp: Path) -> tuple[list[tuple], bool]:
    if not opts.clips or not opts.ai_clips:
        return [], True
    if m.ffmpeg() is None:
        print("ffmpeg not installed: clip transcodes skipped")
        return [], True
    w, h = (int(v) for v in opts.size.split("x"))
    kinds = list(m.VIDEO_TRANSCODES)
    jobs = [(str(tmp / f"ai{i}.mp4"), 1000 + i, opts.seconds, (w, h)) for i in range(opts.ai_clips)]
    jobs += [(str(tmp / f"u{i}.mp4"), 5000 + i, opts.seconds, (w, h)) for i in range(opts.clips)]
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_clip_job, jobs))
        copies = []
        for i in range(opts.ai_clips):
            kind = kinds[i % len(kinds)]
            dest = tmp / f"ai{i}.{kind}"
            m.transcode(tmp / f"ai{i}.mp4", dest, m.VIDEO_TRANSCODES[kind])
            copies.append(dest)
        refs = list(
            pool.map(
                _print_job, [(str(tmp / f"ai{i}.mp4"), "video/mp4") for i in range(opts.ai_clips)]
            )
        )
        cop = list(pool.map(_print_job, [(str(p), "video/mp4") for p in copies]))
        unrel = list(
            pool.map(_print_job, [(str(tmp / f"u{i}.mp4"), "video/mp4") for i in range(opts.clips)])
        )
    ref_prints = [VideoPrint.decode(r) if r else None for r in refs]
    queries = [VideoPrint.decode(fp) if fp else None for fp in cop]
    unrelated = [VideoPrint.decode(fp) for fp in unrel if fp]

    def closest(q: VideoPrint) -> float:
        a = np.asarray([s[1] for s in q.samples], dtype=np.uint64)
        best = 63
        for r in ref_prints:
            if r and r.samples and len(a):
                b = np.asarray([s[1] for s in r.samples], dtype=np.uint64)
                best = min(best, int(np.bitwise_count(a[:, None] ^ b[None, :]).min()))
        return best

    return _report(
        "clips", "transcodes", kinds, queries, ref_prints, unrelated, match_video,
        lambda f: f.distance, closest,
        "clips (median frame Hamming /63; unrelated: closest frame)", "12/frame",
    )  # fmt: skip


def _report(
    label, copies_label, kinds, queries, refs, unrelated, match, measure, closest, dist_label,
    threshold,
):  # fmt: skip
    """Tally the copies matched to their own reference (whole copies), the unrelated matching
    any reference, and the two distance distributions."""
    matched, own, by_kind = 0, [], {}
    for i, q in enumerate(queries):
        found = match(q, refs[i]) if q and refs[i] else None
        ok = bool(found and found.full)
        tally = by_kind.setdefault(kinds[i % len(kinds)], [0, 0])
        tally[0] += ok
        tally[1] += 1
        matched += ok
        if found:
            own.append(measure(found))
    false = 0
    for n, q in enumerate(unrelated):
        hits = [(i, match(q, r)) for i, r in enumerate(refs) if r]
        hits = [(i, f) for i, f in hits if f is not None]
        false += bool(hits)
        for i, f in hits:
            print(f"false {label} match: unrelated #{n} ~ AI #{i}: {f}")
    nearest = [closest(q) for q in unrelated]
    share = matched / max(1, len(queries))
    rows = [
        (f"{label}: unrelated matching any AI one", len(unrelated), false, "0",
         c.verdict(false == 0)),
        (f"{label}: {copies_label} matched (whole copy)", len(queries), matched, ">= 95%",
         c.verdict(share >= 0.95)),
    ]  # fmt: skip
    rows += [(f"  of which {k}", n, ok, "", "") for k, (ok, n) in by_kind.items()]
    rows.append(("dist", dist_label, _pct(own), _pct(nearest), threshold))
    return rows, false == 0 and share >= 0.95


def sounds(opts: argparse.Namespace, tmp: Path) -> tuple[list[tuple], bool]:
    if not opts.sounds or not opts.ai_sounds:
        return [], True
    if m.ffmpeg() is None or fpcalc() is None:
        print("ffmpeg or fpcalc not installed: audio skipped")
        return [], True
    kinds = list(m.AUDIO_TRANSCODES)
    refs, cop, unrel = [], [], []
    for i in range(opts.ai_sounds):
        src = tmp / f"ai{i}.wav"
        m.make_sound(src, 2000 + i, opts.sound_seconds)
        kind = kinds[i % len(kinds)]
        dest = tmp / f"ai{i}.{kind}"
        m.transcode(src, dest, m.AUDIO_TRANSCODES[kind])
        refs.append(AudioPrint.decode(fingerprint(src, "audio/wav").value or ""))
        cop.append(AudioPrint.decode(fingerprint(dest, "audio/wav").value or ""))
    for i in range(opts.sounds):
        src = tmp / f"u{i}.wav"
        m.make_sound(src, 7000 + i, opts.sound_seconds)
        unrel.append(AudioPrint.decode(fingerprint(src, "audio/wav").value or ""))

    def closest(q: AudioPrint) -> float:
        qa = np.asarray(q.items, dtype=np.uint32)
        best = 0.5
        for r in refs:
            if r is not None:
                ra = np.asarray(r.items, dtype=np.uint32)
                n = min(len(qa), len(ra))
                best = min(best, float(np.bitwise_count(qa[:n] ^ ra[:n]).mean() / 32))
        return best

    return _report(
        "sounds", "re-encodes", kinds, cop, refs, [q for q in unrel if q], match_audio,
        lambda f: f.ber, closest, "sounds (bit error rate; unrelated: at offset 0)",
        "0.3/window",
    )  # fmt: skip


def cost(opts: argparse.Namespace, tmp: Path) -> tuple[list[tuple], bool]:
    if not opts.cost_seconds or m.ffmpeg() is None:
        return [], True
    src = tmp / "hd.mp4"
    m.make_clip(src, 42, opts.cost_seconds, (1920, 1080))
    prores = tmp / "hd.mov"
    m.transcode(src, prores, ["-c:v", "prores_ks", "-profile:v", "2"])
    rows, ok = [], True
    for label, path in (("H.264 1080p", src), ("ProRes 422 1080p", prores)):
        t = _cpu()
        fp = fingerprint(path, "video/mp4").value
        spent = _cpu() - t
        per_min = spent / opts.cost_seconds * 60
        n = len(VideoPrint.decode(fp).samples) if fp else 0
        rows.append((f"video cost: {label} ({n} samples)", opts.cost_seconds, per_min, "<= 2 s/min",
                     c.verdict(per_min <= 2.0)))  # fmt: skip
        ok = ok and per_min <= 2.0
    return rows, ok


def main(argv: list[str] | None = None) -> int:
    opts = options(argv)
    c.header()
    tmp = Path(tempfile.mkdtemp(prefix="provgate-nearmatch-"))
    try:
        results, dists, ok = [], [], True
        for part in (stills, clips, sounds, cost):
            rows, good = part(opts, tmp)
            ok = ok and good
            results += [r for r in rows if r[0] != "dist"]
            dists += [r[1:] for r in rows if r[0] == "dist"]
        c.table("matches", ("measure", "of", "count or s/min", "goal", "verdict"), results)
        c.table(
            "distance distributions (min / p5 / median / p95 / max)",
            ("kind", "true matches", "nearest unrelated", "threshold"),
            dists,
        )
    finally:
        c.cleanup(tmp, opts.keep)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
