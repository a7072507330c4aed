"""Soak test of the watcher: files land continuously for --minutes; is every file recorded, and
does the watcher's memory stay flat?

`provgate watch ROOT --settle 1 --log-format json` (native observer, fresh workspace) runs as a
subprocess while a writer thread works on ROOT for --minutes, at --rate operations per second
on average (exponential gaps). Operations (share):
  * 64% a new image lands: a 128x128 PNG or JPEG (natural-ish content, made unique by an
    extra PNG tEXt chunk / JPEG COM segment), a quarter of them AI (PNG: an A1111 `parameters`
    chunk; JPEG: IPTC trainedAlgorithmicMedia XMP), so the watcher tags them. 75% are written
    under a `.tmp` name and renamed into place, 25% written in place in 3 chunks 0-0.4 s apart
    (a slow copy); now and then into a folder created just before;
  * 12% a file is renamed (half within its folder, half into another folder);
  * 8% a file is deleted;
  * 8% a file is replaced by new content (temp + rename over it);
  * 6% a file is copied (same bytes, new name);
  * 2% a whole folder is renamed.
The targets of renames, deletions and copies are picked from every file on disk, so some are
files the watcher is still settling or tagging.

Every 10 s the watcher's VmRSS (/proc/PID/status) is sampled. At the end, the backlog is left to
drain (until every file on disk is recorded and the watcher has logged nothing for 5 s, or
--drain seconds), then checked: every file on disk (the files the watcher records:
provenance.pipeline.walk.walk_files) has a `files` row with gone = 0 and its current content id
(SHA-256 of its bytes now); rows with gone = 0 whose file is no longer on disk (stale); AI files
(per the writer's ledger) whose current content is tagged; temporary files left behind. Then SIGTERM
(exit 0 expected) and `provgate log verify` (exit 0 expected).

Goals (issue 5): every file recorded; flat memory. "Flat" is taken here as an RSS slope (least
squares over the samples after the first minute) under 1 MB per minute.

    python bench/soak.py [--minutes 10] [--rate 3] [--drain 300] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import shutil
import sqlite3
import struct
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import _common as c
import numpy as np
from PIL import PngImagePlugin
from watch import AI_PARAMETERS, Watcher, load, png_chunk

from provenance.pipeline.walk import walk_files
from provenance.workspace import init_workspace

SAMPLE_EVERY = 10.0


def templates(n: int, seed: int) -> list[tuple[str, bool, bytes]]:
    """n small images (ext, ai, bytes): PNG and JPEG alternately, every 4th AI."""
    out = []
    for i in range(n):
        ext = ".png" if i % 2 == 0 else ".jpg"
        ai = i % 8 in (0, 1)  # one in four images: one PNG and one JPEG of every eight
        img = c.natural_image(seed + i, 128, 128, grain=0.0 if ext == ".png" else 3.0)
        buf = io.BytesIO()
        if ext == ".png":
            info = PngImagePlugin.PngInfo()
            if ai:
                info.add_text("parameters", AI_PARAMETERS)
            img.save(buf, format="PNG", pnginfo=info)
        else:
            img.save(buf, format="JPEG", quality=90, **({"xmp": c.XMP_AI.encode()} if ai else {}))
        out.append((ext, ai, buf.getvalue()))
    return out


def unique(data: bytes, ext: str, n: int) -> bytes:
    """The template made unique: a tEXt chunk after IHDR (PNG), a COM segment after SOI (JPEG)."""
    note = f"soak {n} {time.time_ns()}".encode()
    if ext == ".png":
        return data[:33] + png_chunk(b"tEXt", b"Comment\0" + note) + data[33:]
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(note) + 2) + note + data[2:]


class Writer(threading.Thread):
    def __init__(self, root: Path, minutes: float, rate: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.root, self.rate = root, rate
        self.deadline = time.monotonic() + minutes * 60
        self.rng = random.Random(seed)
        self.templates = templates(64, seed)
        self.ledger: dict[str, bool] = {}  # path on disk -> written as AI
        self.folders: list[Path] = []
        self.ops: Counter[str] = Counter()
        self.errors: list[str] = []
        self.n = 0
        for r in range(3):
            for s in range(4):
                self.new_folder(root / f"reel{r}" / f"shot{s:03d}")

    def new_folder(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        self.folders.append(folder)
        return folder

    def name(self, ext: str) -> str:
        self.n += 1
        return f"img{self.n:06d}{ext}"

    def pick(self) -> str | None:
        return self.rng.choice(list(self.ledger)) if self.ledger else None

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            time.sleep(self.rng.expovariate(self.rate))
            roll = self.rng.random()
            try:
                if roll < 0.64 or len(self.ledger) < 20:
                    self.land()
                elif roll < 0.76:
                    self.rename()
                elif roll < 0.84:
                    self.delete()
                elif roll < 0.92:
                    self.replace()
                elif roll < 0.98:
                    self.copy()
                else:
                    self.rename_folder()
            except OSError as exc:
                self.errors.append(f"{exc.filename}: {exc.strerror}")

    def land(self) -> None:
        ext, ai, data = self.rng.choice(self.templates)
        if self.rng.random() < 0.02:
            folder = self.new_folder(self.rng.choice(self.folders).parent / f"new{self.n:06d}")
            self.ops["folder created"] += 1
        else:
            folder = self.rng.choice(self.folders)
        path = folder / self.name(ext)
        body = unique(data, ext, self.n)
        if self.rng.random() < 0.75:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(body)
            os.rename(tmp, path)
            self.ops["new (temp + rename)"] += 1
        else:
            cut = sorted(self.rng.sample(range(1, len(body)), 2))
            with open(path, "wb") as fh:
                for a, b in zip([0, *cut], [*cut, len(body)], strict=True):
                    fh.write(body[a:b])
                    fh.flush()
                    if b < len(body):
                        time.sleep(self.rng.uniform(0, 0.4))
            self.ops["new (slow write in place)"] += 1
        self.ledger[str(path)] = ai

    def rename(self) -> None:
        src = self.pick()
        if src is None:
            return
        folder = Path(src).parent if self.rng.random() < 0.5 else self.rng.choice(self.folders)
        dest = folder / self.name(Path(src).suffix)
        os.rename(src, dest)
        self.ledger[str(dest)] = self.ledger.pop(src)
        self.ops["rename"] += 1

    def delete(self) -> None:
        src = self.pick()
        if src is None:
            return
        os.unlink(src)
        del self.ledger[src]
        self.ops["delete"] += 1

    def replace(self) -> None:
        src = self.pick()
        if src is None:
            return
        ext = Path(src).suffix
        _, ai, data = self.rng.choice([t for t in self.templates if t[0] == ext])
        tmp = Path(src + ".tmp")
        tmp.write_bytes(unique(data, ext, self.n))
        os.rename(tmp, src)
        self.ledger[src] = ai
        self.ops["replace content"] += 1

    def copy(self) -> None:
        src = self.pick()
        if src is None:
            return
        dest = Path(src).parent / self.name(Path(src).suffix)
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.copyfile(src, tmp)
        os.rename(tmp, dest)
        self.ledger[str(dest)] = self.ledger[src]
        self.ops["copy"] += 1

    def rename_folder(self) -> None:
        old = self.rng.choice(self.folders)
        new = old.with_name(f"{old.name.split('_')[0]}_r{self.n:06d}")
        self.n += 1
        os.rename(old, new)
        self.folders[self.folders.index(old)] = new
        prefix = str(old) + os.sep
        for path in [p for p in self.ledger if p.startswith(prefix)]:
            self.ledger[str(new) + os.sep + path[len(prefix) :]] = self.ledger.pop(path)
        self.ops["folder rename"] += 1


def sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def compare(root: Path, db: Path) -> dict:
    """The disk against the store's live `files` rows under root."""
    disk = {st.path: sha256(st.path) for st in walk_files(root)}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = dict(
            conn.execute(
                "SELECT path, content_id FROM files WHERE gone = 0 AND path LIKE ?",
                (str(root) + os.sep + "%",),
            ).fetchall()
        )
        tagged = {
            cid
            for (cid,) in conn.execute(
                "SELECT content_id FROM assets WHERE tagged = 1 AND origin LIKE 'ai-%'"
            )
        }
        origins = dict(conn.execute("SELECT content_id, origin FROM assets"))
    finally:
        conn.close()
    recorded = [p for p, cid in disk.items() if cid and rows.get(p) == cid]
    return {
        "disk": disk,
        "rows": rows,
        "recorded": len(recorded),
        "unrecorded": sorted(p for p in disk if p not in rows),
        "wrong_id": sorted(p for p, cid in disk.items() if p in rows and rows[p] != cid),
        "stale": sorted(p for p in rows if p not in disk),
        "tagged": tagged,
        "origins": origins,
    }


def slope_mb_per_min(series: list[tuple[float, float]]) -> float:
    if len(series) < 2:
        return float("nan")
    t = np.array([s[0] for s in series]) / 60
    mb = np.array([s[1] for s in series])
    return float(np.polyfit(t, mb, 1)[0])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="writing time (10)")
    p.add_argument("--rate", type=float, default=3.0, help="writer operations per second (3)")
    p.add_argument("--settle", type=float, default=1.0, help="watch --settle (1)")
    p.add_argument("--drain", type=float, default=300.0, help="max seconds to drain (300)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    opts = p.parse_args()
    tmp = c.workdir("soak")
    print(f"{os.cpu_count()} CPUs, {load()}")
    try:
        ws = init_workspace(tmp / "ws").root
        db = ws / "provgate.db"
        root = tmp / "show"
        root.mkdir()
        writer = Writer(root, opts.minutes, opts.rate, opts.seed)
        w = Watcher(ws, [root], opts.settle)
        try:
            w.wait_ready(120)
            t0 = time.monotonic()
            series: list[tuple[float, float]] = [(0.0, w.status()["VmRSS"] / 1024)]
            cpu0 = w.cpu()
            writer.start()
            while writer.is_alive():
                writer.join(SAMPLE_EVERY - (time.monotonic() - t0) % SAMPLE_EVERY)
                if w.proc.poll() is not None:
                    w.fail("exited during the soak")
                series.append((time.monotonic() - t0, w.status()["VmRSS"] / 1024))
            wrote = time.monotonic() - t0
            load_end_writing = load()
            # Drain: until every file on disk is recorded and the watcher has logged nothing
            # for 5 s (stale rows do not hold this up: they are reported), or the deadline.
            drain0 = time.monotonic()
            while time.monotonic() - drain0 < opts.drain:
                time.sleep(2)
                cmp = compare(root, db)
                quiet = time.monotonic() - max(t for t, _ in w.lines) >= 5
                if cmp["recorded"] == len(cmp["disk"]) and quiet:
                    break
            drained = time.monotonic() - drain0
            cmp = compare(root, db)
            status = w.status()
            series.append((time.monotonic() - t0, status["VmRSS"] / 1024))
            cpu = w.cpu() - cpu0
            rc = w.stop()
        finally:
            w.kill()
        verify = c.run(c.provgate(ws, "log", "verify"))

        c.table(
            f"Writer: {opts.minutes:g} min at {opts.rate:g} ops/s  [{load_end_writing}]",
            ["operation", "count"],
            [*sorted(writer.ops.items()), ("writer errors", len(writer.errors))],
        )
        logged = Counter(r.get("change") for _, r in w.lines if r.get("change"))
        tagged_lines = sum(1 for _, r in w.lines if r.get("tagged_content_id"))
        c.table(
            "Watcher log: records by kind",
            ["change", "lines"],
            [*sorted(logged.items()), ("(with a tag written)", tagged_lines),
             ("warnings/errors", len(w.problems()))],
        )  # fmt: skip
        for msg in w.problems()[:10]:
            print(f"  watcher log: {msg}")

        mbs = [s[1] for s in series]
        after1 = [s for s in series if s[0] >= 60] or series
        print(
            "\nRSS series, MB every 10 s: "
            + " ".join(f"{m:.0f}" for m in mbs[:-1])
            + f" | after drain {mbs[-1]:.0f}"
        )
        slope_all, slope_warm = slope_mb_per_min(series[:-1]), slope_mb_per_min(after1[:-1])
        half = [x for x in series[:-1] if x[0] >= wrote / 2]
        slope_half = slope_mb_per_min(half)
        at1 = after1[0][1]
        c.table(
            "Watcher RSS (VmRSS)",
            ["measure", "value"],
            [
                ("samples", len(series)),
                ("start MB (before the first file)", mbs[0]),
                ("at 1 min MB", at1),
                ("min MB", min(mbs)),
                ("max MB", max(mbs)),
                ("end MB (after drain)", mbs[-1]),
                ("peak (VmHWM) MB", status["VmHWM"] / 1024),
                ("slope MB/min, whole run", slope_all),
                ("slope MB/min, after the first minute", slope_warm),
                ("slope MB/min, second half", slope_half),
                ("watcher CPU s (writing + drain)", cpu),
            ],
        )

        disk = cmp["disk"]
        ai_on_disk = [p for p, ai in writer.ledger.items() if ai and p in disk]
        ai_tagged = [p for p in ai_on_disk if disk[p] in cmp["tagged"]]
        not_ai = [p for p in ai_on_disk if not cmp["origins"].get(disk[p], "").startswith("ai-")]
        temps = [q for q in root.rglob("*") if q.is_file() and str(q) not in disk]
        ledger_diff = set(writer.ledger) ^ set(disk)
        c.table(
            "Verification",
            ["check", "result"],
            [
                ("writing time s / drain time s", f"{wrote:.0f} / {drained:.0f}"),
                ("recorded (path, gone=0, current content id)", f"{cmp['recorded']}/{len(disk)}"),
                ("on disk, no live row", len(cmp["unrecorded"])),
                ("on disk, row has another content id", len(cmp["wrong_id"])),
                ("live rows whose file is gone (stale)", len(cmp["stale"])),
                ("AI files tagged (current content)", f"{len(ai_tagged)}/{len(ai_on_disk)}"),
                ("AI files not recorded as AI", len(not_ai)),
                ("other files left on disk (temporaries)", len(temps)),
                ("writer ledger vs disk mismatches", len(ledger_diff)),
                ("watcher exit code after SIGTERM", rc),
                ("provgate log verify exit code", verify["rc"]),
            ],
        )
        for label, paths in (
            ("no live row", cmp["unrecorded"]),
            ("other content id", cmp["wrong_id"]),
            ("stale row", cmp["stale"]),
            ("AI not tagged", [q for q in ai_on_disk if q not in ai_tagged]),
            ("left on disk", [str(q) for q in temps]),
            ("ledger vs disk", sorted(ledger_diff)),
        ):
            for q in paths[:8]:
                print(f"  {label}: {os.path.relpath(q, root)}")
        if verify["rc"]:
            print("  log verify: " + (verify["out"] + verify["err"]).strip()[-500:])

        all_recorded = cmp["recorded"] == len(disk) and not cmp["stale"]
        flat = slope_warm < 1.0
        c.table(
            "Goals (issue 5)",
            ["goal", "measured", "verdict"],
            [
                ("every file recorded", f"recorded {cmp['recorded']}/{len(disk)} files,"
                 f" {len(cmp['stale'])} stale rows", c.verdict(all_recorded)),
                ("flat memory (slope < 1 MB/min)", f"{slope_warm:+.2f} MB/min,"
                 f" {at1:.0f} MB at 1 min -> {mbs[-1]:.0f} MB", c.verdict(flat)),
                ("SIGTERM exit 0, log verify exit 0", f"{rc}, {verify['rc']}",
                 c.verdict(rc == 0 and verify["rc"] == 0)),
            ],
        )  # fmt: skip
        print(f"\nrecorded {cmp['recorded']}/{len(disk)} files; {load()}")
    finally:
        c.cleanup(tmp, opts.keep)


if __name__ == "__main__":
    sys.exit(main())
