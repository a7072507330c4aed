"""The store on each backend: event appends by 1 and 4 writers, and `ls` over 1,000,000 files.

Measures, for SQLite (a file in a temp workspace) and PostgreSQL (a fresh schema in the
database named by --pg, $PROVGATE_BENCH_PG or $PROVGATE_TEST_PG; skipped without one):

  * events/s appended by 1 and by 4 concurrent writer processes, each event in its own
    transaction (a watcher's steady state: take the write lock, read the chain head, insert,
    commit), and in transactions of 100 (a scan's batches); the chain is verified afterwards;
  * `provgate ls --origin ai-generated` over --files recorded files (default 1,000,000; each
    its own asset, --ai-share of them AI-generated stills), run as a user runs it: a
    subprocess with Python start-up, the query, the sequence grouping and the whole table
    printed into a pipe (and again with --json). The rows are written straight into the
    store's tables (recording a million real files is the scan benchmark's job), then
    ANALYZE, as autovacuum or a nightly job would.

Goal (issue 8): `ls --origin ai-generated` under 1 s over 1,000,000 files on both backends.

    python bench/store.py [--files N] [--events N] [--pg URL] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from provenance.stores import Store, open_store  # noqa: E402
from provenance.workspace import CONFIG_NAME, init_workspace, open_workspace  # noqa: E402

LETTERS = "bcdfghjklmnpqrstvwxz"


def _writer(location: str, facility: str, count: int, per_txn: int, start_at: float, q) -> None:
    store = Store(location, facility=facility)
    time.sleep(max(0.0, start_at - time.time()))
    for i in range(0, count, per_txn):
        with store.transaction():
            for j in range(i, min(i + per_txn, count)):
                store.append_event("seen", path=f"/bench/{facility}/{j}.exr", detail={"n": j})
    q.put(time.time())
    store.close()


def appends(location: str, writers: int, per_writer: int, per_txn: int) -> float:
    """Events/s of `writers` processes appending `per_writer` events each, at once."""
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    start_at = time.time() + 2.0  # every writer has imported and connected by then
    procs = [
        ctx.Process(
            target=_writer, args=(location, f"w{k}-{per_txn}", per_writer, per_txn, start_at, q)
        )
        for k in range(writers)
    ]
    for p in procs:
        p.start()
    ends = [q.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
        assert p.exitcode == 0, f"writer failed ({p.exitcode})"
    return writers * per_writer / (max(ends) - start_at)


def _name(i: int) -> str:
    out = ""
    while True:
        i, r = divmod(i, len(LETTERS))
        out += LETTERS[r]
        if not i:
            return out


def fill(store: Store, files: int, ai_every: int) -> int:
    """`files` live files, each its own asset; every `ai_every`-th one an AI-generated still."""
    now = "2026-06-01T00:00:00.000000Z"
    ai = 0

    def cid(i: int) -> str:
        return hashlib.sha256(i.to_bytes(8, "big")).hexdigest()

    def assets() -> Iterator[tuple]:
        nonlocal ai
        for i in range(files):
            if i % ai_every == 0:
                ai += 1
                yield (
                    cid(i),
                    "image/png",
                    1_000_000,
                    "ai-generated",
                    "Midjourney",
                    "temp",
                    "temporary",
                    None,
                    1,
                    now,
                    now,
                )
            else:
                yield (
                    cid(i),
                    "image/x-exr",
                    12_000_000,
                    "non-ai",
                    None,
                    None,
                    None,
                    None,
                    0,
                    now,
                    now,
                )

    def paths() -> Iterator[tuple]:
        for i in range(files):
            if i % ai_every == 0:
                path = f"/mnt/show/art/sq{i // ai_every % 40:03d}/concept_{_name(i)}.png"
            else:
                path = f"/mnt/show/sq{i // 20000:03d}/sh{i // 500:05d}/plate.{i % 500 + 1001}.exr"
            yield (store.facility, path, cid(i), 12_000_000, 1, i, now, now, 0)

    asset_cols = (
        "content_id",
        "media_type",
        "size",
        "origin",
        "tool",
        "use_category",
        "status",
        "phash",
        "tagged",
        "first_seen",
        "updated_at",
    )
    file_cols = (
        "facility",
        "path",
        "content_id",
        "size",
        "mtime_ns",
        "inode",
        "first_seen",
        "last_seen",
        "gone",
    )
    with store.transaction():
        store.bulk_insert("assets", asset_cols, assets())
        store.bulk_insert("files", file_cols, paths())
    store.execute("ANALYZE")
    return ai


def timed_cli(ws: Path, *args: str) -> tuple[float, int]:
    """Seconds for a `provgate` command run as a user runs it, and the lines it printed."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "cli", "--workspace", str(ws), *args], capture_output=True, cwd=REPO
    )
    if done.returncode:
        raise SystemExit(f"provgate {' '.join(args)} failed: {done.stderr.decode()}")
    out = done.stdout
    return time.perf_counter() - t0, out.count(b"\n")


@contextmanager
def pg_location(url: str, keep: bool = False) -> Iterator[str]:
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"
    finally:
        if keep:
            print(f"kept schema {name}")
        else:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {name} CASCADE")


def backend_rows(name: str, ws_root: Path, location: str | None, a: argparse.Namespace) -> list:
    ws = init_workspace(ws_root)
    if location:
        config = ws.root / CONFIG_NAME
        config.write_text(f'store = "{location}"\n' + config.read_text("utf-8"), "utf-8")
        ws = open_workspace(ws.root)
    target = location or str(ws.store_path)
    rows = []
    for writers in (1, 4):
        single = appends(target, writers, a.events // writers, 1)
        batched = appends(target, writers, a.events * 5 // writers, 100)
        rows.append(
            (
                name,
                f"append, {writers} writer{'s' * (writers > 1)}",
                f"{single:,.0f} events/s",
                f"{batched:,.0f} events/s (100 per txn)",
            )
        )
    with open_store(ws) as store:
        count, broken = store.verify_events()
        assert broken is None, broken
        rows.append((name, "log verify", f"{count:,} events", "intact"))
        t0 = time.perf_counter()
        ai = fill(store, a.files, max(1, round(1 / a.ai_share)))
        filled = time.perf_counter() - t0
        t0 = time.perf_counter()
        from provenance import api

        matched = len(api.list_files(store, origin="ai-generated"))
        query = time.perf_counter() - t0
    assert matched == ai, (matched, ai)
    table_s, table_lines = timed_cli(ws.root, "ls", "--origin", "ai-generated")
    json_s, _ = timed_cli(ws.root, "ls", "--origin", "ai-generated", "--json")
    rows += [
        (name, f"fill {a.files:,} files", f"{filled:.1f} s", "bulk insert + ANALYZE"),
        (name, "ls query (in process)", f"{query:.3f} s", f"{matched:,} rows matched"),
        (
            name,
            "provgate ls --origin ai-generated",
            f"{table_s:.3f} s",
            f"{matched:,} rows, {table_lines:,} lines printed",
        ),
        (name, "provgate ls --origin ai-generated --json", f"{json_s:.3f} s", f"{matched:,} rows"),
    ]
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=1_000_000)
    p.add_argument("--events", type=int, default=2_000, help="events per run (split by writers)")
    p.add_argument("--ai-share", type=float, default=0.02, help="share of AI-generated files")
    p.add_argument(
        "--pg", default=os.environ.get("PROVGATE_BENCH_PG") or os.environ.get("PROVGATE_TEST_PG")
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="provgate-bench-store-", dir="/tmp"))
    rows = []
    try:
        rows += backend_rows("sqlite", tmp / "ws-sqlite", None, a)
        if a.pg:
            with pg_location(a.pg, a.keep) as url:
                rows += backend_rows("postgresql", tmp / "ws-pg", url, a)
        else:
            print("postgresql: skipped (no --pg, PROVGATE_BENCH_PG or PROVGATE_TEST_PG)")
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    headers = ("backend", "measure", "result", "detail")
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(4)]
    for r in [headers, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
