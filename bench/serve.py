"""`provgate serve` (the review page) with 100,000 assets: how long the pages take to load.

The store is filled directly with SQL (no files are read or written): --assets assets
(default 100,000), 72% AI (60% ai-generated, 12% ai-modified; 75% of them temporary, 15%
approved, 10% revoked), one file row each under ten shows, 15% of the AI assets superseded
(their only file row is gone, as after a tag rewrite), 1-3 evidence rows each (generator
metadata, C2PA actions, a near-duplicate match with its distance), an approval for each
approved or revoked asset, a "seen" event per file and 300 "checked" events that each block
up to 400 assets: every event with its real chained hash.

Then the workspace is opened as `provgate serve` opens it (the store migrates on the first
open: that time is reported), a real uvicorn server runs in a thread on a free loopback port,
an approver signs in over http.client, and each page is loaded --loads times (default 20):
p50 and p95 of the whole request (connection reused, HTML read to the end).

Goal (issue 9): the queue loads in under 0.5 s with 100,000 assets.

    python bench/serve.py [--assets N] [--loads N] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import random
import re
import socket
import sqlite3
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import _common as c
import uvicorn

from cli.review.app import create_app
from cli.review.auth import USERS_NAME, User, hash_password, save_users
from provenance.model import USE_CATEGORIES
from provenance.stores import MIGRATIONS, Store
from provenance.stores.chain import GENESIS, event_hash
from provenance.workspace import init_workspace, open_workspace

TOOLS = (
    "ComfyUI",
    "AUTOMATIC1111",
    "Midjourney v7",
    "Adobe Firefly",
    "Runway Gen-3",
    "InvokeAI",
    "Flux",
    "Stable Diffusion XL",
)
RARE_TOOL = "ElevenLabs"  # on 20 of the oldest assets: the queue must scan to find them
SHOWS = [f"/mnt/shows/show{n:02d}" for n in range(10)]
PASSWORD = "bench-password"


def fill(db: Path, n: int, seed: int = 7) -> dict[str, int]:
    """Write n assets with their files, evidence, approvals and events in one transaction."""
    rng = random.Random(seed)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    assets, files, evidence, approvals, events = [], [], [], [], []
    ai_ids = []
    for i in range(n):
        cid = hashlib.sha256(f"asset {i}".encode()).hexdigest()
        at = (base + timedelta(seconds=30 * i)).isoformat(timespec="microseconds")[:-6] + "Z"
        media = ("image/png", "image/jpeg", "video/mp4", "image/tiff")[i % 4]
        roll = rng.random()
        origin = "ai-generated" if roll < 0.60 else "ai-modified" if roll < 0.72 else "non-ai"
        ai = origin != "non-ai"
        tool = (RARE_TOOL if i < 40 and i % 2 else rng.choice(TOOLS)) if ai else None
        status = None
        if ai:
            s = rng.random()
            status = "temporary" if s < 0.75 else "approved" if s < 0.90 else "revoked"
            ai_ids.append(cid)
        use = rng.choice(USE_CATEGORIES[:8]) if ai else None
        assets.append((cid, media, 40_000 + i, origin, tool, use, status, None, int(ai), at, at))
        show = SHOWS[i % len(SHOWS)]
        path = f"{show}/reel{i // 5000:02d}/sh{i // 50 % 100:03d}/frame_{i:06d}.{media[6:9]}"
        gone = int(ai and rng.random() < 0.15)
        files.append((path, cid, 40_000 + i, 1_700_000_000_000_000_000 + i, i, at, at, gone))
        if ai:
            evidence.append(
                (
                    cid,
                    "png-text",
                    f"generator:{tool.split()[0].lower()}",
                    "ai-generated",
                    f"PNG tEXt 'parameters' ({tool}): Steps: 30, Seed: {i}",
                    None,
                )
            )
            if i % 3 == 0:
                evidence.append(
                    (
                        cid,
                        "c2pa",
                        "dst:trainedAlgorithmicMedia",
                        "ai-generated",
                        "c2pa.created by " + tool,
                        "trusted",
                    )
                )
            if i % 7 == 0:
                other = hashlib.sha256(f"asset {i - 1}".encode()).hexdigest()
                evidence.append(
                    (
                        cid,
                        "similar",
                        "origin:ai-generated",
                        "ai-generated",
                        f"near-duplicate of ai-generated asset {other[:12]}, "
                        f"distance {rng.randint(0, 14)}/128",
                        None,
                    )
                )
            if status in ("approved", "revoked"):
                revoked = (at, "legal", "talent withdrew") if status == "revoked" else (None,) * 3
                approvals.append(
                    (
                        cid,
                        f"LEGAL-{i}",
                        "clearance",
                        at,
                        None,
                        use or "temp",
                        "[]",
                        None,
                        None,
                        *revoked,
                    )
                )
        else:
            evidence.append((cid, "exif", "dst:digitalCapture", "non-ai", "camera original", None))
        events.append((at, "seen", cid, path, "bench", json.dumps({"origin": origin})))
    last = (base + timedelta(seconds=30 * n)).isoformat(timespec="microseconds")[:-6] + "Z"
    for k in range(300):
        blocked = rng.sample(ai_ids, min(400, len(ai_ids)))
        detail = {
            "verdict": "blocked",
            "strict": False,
            "blocked": blocked,
            "summary": {
                "assets": 2000,
                "blocked": len(blocked),
                "ai": 900,
                "approved": 500,
                "unknown": 3,
                "errors": 0,
            },
        }
        events.append((last, "checked", None, f"/deliveries/d{k:03d}", "bench", json.dumps(detail)))
    # The first schema only, as a store written by an earlier provgate: the timed first open
    # below then runs the later migrations (the review page's indexes) over 100,000 rows.
    db.unlink(missing_ok=True)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for statement in MIGRATIONS[0].statements("sqlite"):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO assets VALUES (?,?,?,?,?,?,?,?,?,?,?)", assets)
    conn.executemany("INSERT INTO files VALUES (?,?,?,?,?,?,?,?)", files)
    conn.executemany(
        "INSERT INTO evidence (content_id, source, marker, signal, detail, validation)"
        " VALUES (?,?,?,?,?,?)",
        evidence,
    )
    conn.executemany(
        "INSERT INTO approvals (content_id, reference, approver, approved_at, expires,"
        " use_category, consent, note, carried_from, revoked_at, revoked_by, revoke_reason)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        approvals,
    )
    prev, rows = GENESIS, []
    for seq, (at, kind, cid, path, host, text) in enumerate(events, start=1):
        digest = event_hash(prev, seq, at, kind, cid, path, host, text)
        rows.append((seq, at, kind, cid, path, host, text, prev, digest))
        prev = digest
    conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    conn.close()
    return {"assets": n, "files": len(files), "evidence": len(evidence), "events": len(rows)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Browser:
    """One keep-alive connection with the session cookie, like a signed-in browser tab."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str, dict]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        if resp.getheader("Set-Cookie"):
            self.cookie = resp.getheader("Set-Cookie", "").split(";")[0]
        return resp.status, text, dict(resp.getheaders())

    def sign_in(self, name: str, password: str) -> None:
        _, page, _ = self.request("GET", "/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token, "no CSRF token on the sign-in page"
        form = urlencode({"csrf": token.group(1), "name": name, "password": password, "next": "/"})
        status, _, _ = self.request("POST", "/login", form)
        assert status == 303, f"sign-in failed: {status}"


def timed(browser: Browser, path: str, loads: int) -> tuple[list[float], int]:
    times = []
    size = 0
    for _ in range(loads):
        t0 = time.perf_counter()
        status, text, _ = browser.request("GET", path)
        times.append(time.perf_counter() - t0)
        assert status == 200, f"GET {path}: {status}"
        size = len(text)
    return times, size


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--assets", type=int, default=100_000)
    p.add_argument("--loads", type=int, default=20)
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = p.parse_args()
    tmp = c.workdir("serve")
    try:
        ws = init_workspace(tmp / "ws")
        t0 = time.perf_counter()
        counts = fill(ws.store_path, a.assets)
        fill_s = time.perf_counter() - t0
        print(f"filled {counts} in {fill_s:.1f} s")
        save_users(
            ws.root / USERS_NAME, {"bench": User("bench", "approver", hash_password(PASSWORD))}
        )
        t0 = time.perf_counter()
        Store(ws.store_path).close()  # the first open migrates: builds the new indexes
        migrate_s = time.perf_counter() - t0
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(open_workspace(ws.root)),
                host="127.0.0.1",
                port=port,
                log_level="warning",
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        browser = Browser(port)
        browser.sign_in("bench", PASSWORD)
        conn = Store(ws.store_path).conn
        deep = conn.execute(
            "SELECT first_seen, content_id FROM assets WHERE status = 'temporary'"
            " ORDER BY first_seen DESC, content_id DESC LIMIT 1 OFFSET 30000"
        ).fetchone()
        asset = conn.execute(
            "SELECT content_id FROM assets WHERE status = 'approved' LIMIT 1 OFFSET 500"
        ).fetchone()[0]
        conn.close()
        pages = [
            ("queue: awaiting decision, newest", "/", True),
            (
                "queue: 600 pages deep (keyset)",
                "/?" + urlencode({"before": f"{deep[0]}~{deep[1]}"}),
                True,
            ),
            (
                "queue: show path prefix (500 files)",
                "/?" + urlencode({"path": SHOWS[3] + "/reel07/"}),
                True,
            ),
            (
                "queue: show path prefix (10,000 files)",
                "/?" + urlencode({"path": SHOWS[3] + "/"}),
                True,
            ),
            ("queue: tool", "/?" + urlencode({"tool": "Flux"}), True),
            (
                "queue: use + approved",
                "/?" + urlencode({"use": "vfx-final", "status": "approved"}),
                True,
            ),
            ("queue: rare tool (oldest 40)", "/?" + urlencode({"tool": RARE_TOOL}), True),
            ("queue: every status", "/?status=any", True),
            ("asset page", f"/asset/{asset}", False),
            ("delivery checks", "/checks", False),
            ("disclosure report page", "/report", False),
        ]
        rows = []
        worst = 0.0
        for label, path, is_queue in pages:
            times, size = timed(browser, path, a.loads)
            p50, high = statistics.median(times), p95(times)
            if is_queue:
                worst = max(worst, high)
            rows.append((label, a.assets, p50, high, size / 1024))
        server.should_exit = True
        thread.join(10)
        rows = [(r[0], r[1], r[2] * 1000, r[3] * 1000, r[4]) for r in rows]
        c.table(
            f"page loads over {a.loads} requests each (ms; first store open and migration "
            f"{migrate_s * 1000:.0f} ms)",
            ["page", "assets", "p50 ms", "p95 ms", "KB"],
            rows,
        )
        print(
            f"\ngoal: queue under 500 ms at p95 -> worst queue p95 {worst * 1000:.0f} ms: "
            f"{c.verdict(worst < 0.5)}"
        )
    finally:
        c.cleanup(tmp, a.keep)


if __name__ == "__main__":
    main()
