"""kill -9 during `approve`, `revoke` and `tag` of a large MP4; then look for inconsistencies.

An MP4 of --mb megabytes (default 200; ffmpeg's lossless x264 of `testsrc2`, made here) is
tagged ai-generated, then, --kills times (default 60), one of `approve` (a new reference),
`revoke` (the reference in force) or `tag --origin ai-generated` is started as its own process
(`python -m cli`) and killed with SIGKILL at a random moment of its run (uniform from the end
of the interpreter's start-up to just past the time an uninterrupted run of it took). After
each kill the next command a user would run, `inspect --json FILE`, settles what the crash
left (it resolves recorded intents), and these are checked:

  * `log verify` exits 0 (the chain verifies);
  * the file is whole (ffprobe reads it; no truncated or mixed bytes);
  * the store knows the file's current content (an asset row for its content id);
  * `check FILE` passes exactly when `inspect` says `approved`;
  * a file whose own tag says `approved` under a reference the store has revoked is blocked;
  * a file whose own tag says `approved` is blocked unless the store holds that approval,
    in force, for its exact content (no file carries an approval the store does not know).

Every violation is one inconsistency (goal: 0). Printed: a table of kills per command, how
many were killed mid-run (not after they finished), inconsistencies, and timings; exit 1 if
any inconsistency was found. The machine is shared: timings are noisy, the counts are not.

    python bench/faults.py [--mb 200] [--kills 60] [--seed 17] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli(ws: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "cli", "--workspace", str(ws), *args]


def run(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli(ws, *args), cwd=ROOT, capture_output=True, text=True, check=False)


def make_mp4(path: Path, megabytes: int) -> None:
    """A lossless x264 MP4 of at least `megabytes` MB (1080p testsrc2 is ~3.5 MB a second)."""
    seconds = max(1.0, megabytes / 3.0)
    while True:
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
             "testsrc2=size=1920x1080:rate=25", "-t", f"{seconds:.2f}", "-c:v", "libx264",
             "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", str(path)],
            check=True,
        )  # fmt: skip
        if path.stat().st_size >= megabytes * 1_000_000:
            return
        seconds *= megabytes * 1_000_000 / path.stat().st_size * 1.05


def store_facts(ws: Path, cid: str) -> dict[str, object]:
    conn = sqlite3.connect(f"file:{ws / 'provgate.db'}?mode=ro", uri=True)
    try:
        known = conn.execute("SELECT 1 FROM assets WHERE content_id = ?", (cid,)).fetchone()
        revoked = {
            r[0]
            for r in conn.execute("SELECT reference FROM approvals WHERE revoked_at IS NOT NULL")
        }
        for (detail,) in conn.execute("SELECT detail FROM events WHERE kind = 'revoked'"):
            revoked.add(json.loads(detail).get("reference"))
        pending = conn.execute("SELECT count(*) FROM intents").fetchone()[0]
    finally:
        conn.close()
    return {"known": bool(known), "revoked": revoked, "pending": pending}


def consistency(ws: Path, media: Path) -> tuple[list[str], dict[str, object]]:
    """The inconsistencies after a kill (settled by `inspect`, as the next command would)."""
    problems = []
    inspected = run(ws, "inspect", "--json", str(media))
    if inspected.returncode != 0:
        return [f"inspect failed: {inspected.stderr.strip()}"], {}
    info = json.loads(inspected.stdout)
    cid, status = info["content_id"], info.get("status")
    checked = run(ws, "check", "--format", "json", str(media))
    verdict = json.loads(checked.stdout)["verdict"] if checked.stdout.strip() else "error"
    if run(ws, "log", "verify").returncode != 0:
        problems.append("log verify failed")
    probe = subprocess.run(["ffprobe", "-v", "error", str(media)], capture_output=True, check=False)
    if probe.returncode != 0:
        problems.append(f"file damaged: {probe.stderr.decode()[:80]}")
    facts = store_facts(ws, cid)
    if not facts["known"]:
        problems.append(f"store does not know the file's content {cid[:12]}")
    if (verdict == "pass") != (status == "approved"):
        problems.append(f"check says {verdict} but inspect says {status}")
    tag = ((info.get("c2pa") or {}).get("provgate_tag")) or {}
    if tag.get("status") == "approved":
        ref = tag.get("approval_ref")
        if ref in facts["revoked"] and verdict == "pass":
            problems.append(f"revoked approval {ref} still passes")
        in_force = [a for a in info.get("approvals") or [] if a.get("reference") == ref]
        if verdict == "pass" and not in_force:
            problems.append(f"the file's approval {ref} is unknown to the store but passes")
    state = {"status": status, "verdict": verdict, "approvals": info.get("approvals") or []}
    return problems, {**state, "tag": tag.get("status"), **facts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--kills", type=int, default=60)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    top = Path(tempfile.mkdtemp(prefix="provgate-faults-"))
    ws, media = top / "ws", top / "show" / "sh010_gen.mp4"
    media.parent.mkdir(parents=True)
    started = time.perf_counter()
    make_mp4(media, args.mb)
    made = time.perf_counter() - started
    assert run(ws.parent, "init", str(ws)).returncode in (0, 2)
    if run(ws, "tag", str(media), "--origin", "ai-generated").returncode != 0:
        print("could not tag the clip", file=sys.stderr)
        return 2

    refs = iter(f"FAULT-{i}" for i in range(10**6))
    in_force: str | None = None

    def command(op: str) -> list[str]:
        if op == "approve":
            return ["approve", str(media), "--ref", next(refs), "--by", "clearance"]
        if op == "revoke":
            return ["revoke", str(media), "--ref", str(in_force), "--by", "clearance",
                    "--reason", "fault run"]  # fmt: skip
        return ["tag", str(media), "--origin", "ai-generated"]

    def next_op(i: int) -> str:
        if i % 3 == 2:
            return "tag"
        return "revoke" if in_force else "approve"

    # One uninterrupted run of each command gives the window the kills are spread over, from
    # the end of the interpreter's start-up (a kill before it proves nothing) to just past the end.
    t0 = time.perf_counter()
    subprocess.run(cli(ws, "--version"), cwd=ROOT, capture_output=True, check=False)
    startup = time.perf_counter() - t0
    took: dict[str, float] = {}
    for op in ("approve", "revoke", "tag"):
        if op == "revoke" and not in_force:
            continue
        t0 = time.perf_counter()
        argv = command(op)
        done = run(ws, *argv)
        took[op] = time.perf_counter() - t0
        if done.returncode != 0:
            print(f"{op} failed: {done.stderr.strip()}", file=sys.stderr)
            return 2
        in_force = argv[3] if op == "approve" else (None if op == "revoke" else in_force)

    rows: dict[str, list[int]] = {op: [0, 0, 0] for op in ("approve", "revoke", "tag")}
    found: list[str] = []
    for i in range(args.kills):
        op = next_op(i)
        argv = command(op)
        proc = subprocess.Popen(
            cli(ws, *argv), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(min(startup, took[op]), took[op] * 1.05))
        finished = proc.poll() is not None
        if not finished:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        rows[op][0] += 1
        rows[op][1] += 0 if finished else 1
        problems, state = consistency(ws, media)
        rows[op][2] += len(problems)
        found += [f"kill {i + 1} ({op}): {p}" for p in problems]
        # What the store now says decides the next command.
        live = [a["reference"] for a in state.get("approvals", []) if not a.get("revoked_at")]
        in_force = live[-1] if state.get("status") == "approved" and live else None

    size = media.stat().st_size / 1e6
    print(f"fault run: {size:.0f} MB MP4 (made in {made:.1f} s), seed {args.seed}; shared machine,"
          " timings are noisy")  # fmt: skip
    print(f"{'command':<10}{'uncut run s':>12}{'kills':>8}{'mid-run':>9}{'inconsistencies':>17}")
    for op, (kills, mid, bad) in rows.items():
        print(f"{op:<10}{took.get(op, 0):>12.1f}{kills:>8}{mid:>9}{bad:>17}")
    total = sum(r[2] for r in rows.values())
    kills = sum(r[0] for r in rows.values())
    print(f"{'total':<10}{'':>12}{kills:>8}{sum(r[1] for r in rows.values()):>9}{total:>17}")
    for line in found:
        print("  " + line)
    if not args.keep:
        import shutil

        shutil.rmtree(top, ignore_errors=True)
    else:
        print(f"kept {top}")
    return 1 if total else 0


if __name__ == "__main__":
    raise SystemExit(main())
