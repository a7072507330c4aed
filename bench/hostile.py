"""Hostile delivery packages (issue 16's bombs): `provgate check` time and peak memory on each,
against a one-file package checked in the same run.

  * longname.tar.gz: 2 MB of gzip whose first tar header declares a 2 GiB GNU long name
    (tarfile would read it into memory whole: 4 GB seen).
  * overlap.zip: 20,000 directory entries that all point at one 60 MB deflate stream (each
    under the old per-member bomb limit; hashing them all took hours).
  * members.zip: a zip listing 300,000 members (over the 250,000 member budget).
  * nested.zip: zips nested 12 deep (over the depth bound of 8).
  * huge.png: a 300 KB PNG declaring 13000x13000 pixels, checked against a store that holds
    AI fingerprints (decoding it for the near-duplicate test cost ~850 MB a worker).
  * flood.png: a PNG with 150,000 empty chunks before its generator text (over the structure
    limit of 100,000: blocks, naming the limit).

Every package must block (exit 1) quickly and in bounded memory; the goal for each: under
10 s and under 300 MB peak RSS (largest process) on this 2-core VM.

    python bench/hostile.py [--keep]
"""

from __future__ import annotations

import io
import json
import os
import struct
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

import _common as c

from provenance.workspace import init_workspace


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def longname_tar_gz(path: Path, size: int = 2 << 30) -> None:
    """One gzip member per MiB of long name, concatenated (a valid multi-member gzip)."""
    header = tarfile.TarInfo("././@LongLink")
    header.type = tarfile.GNUTYPE_LONGNAME
    header.size = size
    block = zlib.compressobj(9, zlib.DEFLATED, 31)
    mib = block.compress(b"a" * (1 << 20)) + block.flush()
    with open(path, "wb") as out:
        first = zlib.compressobj(9, zlib.DEFLATED, 31)
        out.write(first.compress(header.tobuf(format=tarfile.GNU_FORMAT)) + first.flush())
        for _ in range(size >> 20):
            out.write(mib)


def _local(name: bytes, data: bytes, size: int, crc: int) -> bytes:
    fields = (b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), size, len(name), 0)
    return struct.pack("<4s5H3I2H", *fields) + name + data


def _central(name: bytes, csize: int, size: int, crc: int, offset: int) -> bytes:
    fields = (b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, csize, size, len(name), 0, 0, 0, 0, 0)
    return struct.pack("<4s6H3I5H2I", *fields, offset) + name


def _end(count: int, cd: bytes, offset: int) -> bytes:
    n = min(count, 0xFFFF)
    return struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, n, n, len(cd), offset, 0)


def overlap_zip(path: Path, entries: int = 20_000, size: int = 60 << 20) -> None:
    stream = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = b"\0" * (1 << 20)
    payload = b"".join(stream.compress(zeros) for _ in range(size >> 20)) + stream.flush()
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(zeros, crc)
    local = _local(b"000000.exr", payload, size, crc)
    cd = b"".join(
        _central(f"{i:06d}.exr".encode(), len(payload), size, crc, 0) for i in range(entries)
    )
    path.write_bytes(local + cd + _end(entries, cd, len(local)))


def members_zip(path: Path, count: int = 300_000) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(count):
            z.writestr(f"f/{i:06d}.txt", b"")
    path.write_bytes(buf.getvalue())


def nested_zip(path: Path, depth: int = 12) -> None:
    data = b"not an image"
    name = "leaf.txt"
    for level in range(depth):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(name, data)
        data, name = buf.getvalue(), f"level{level}.zip"
    path.write_bytes(data)


def huge_png(path: Path, width: int = 13000, height: int = 13000) -> None:
    stream = zlib.compressobj(9)
    rows = b"".join(stream.compress(b"\0" * (width * 3 + 1)) for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", rows + stream.flush())
        + _png_chunk(b"IEND", b"")
    )


def flood_png(path: Path, chunks: int = 150_000) -> None:
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    text = _png_chunk(b"tEXt", b"parameters\0a castle\nSteps: 20, Sampler: Euler a, Seed: 1")
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"juNk", b"") * chunks
        + text
        + _png_chunk(b"IDAT", zlib.compress(b"\0\0"))
        + _png_chunk(b"IEND", b"")
    )


BUILDERS = {
    "longname.tar.gz": longname_tar_gz,
    "overlap.zip": overlap_zip,
    "members.zip": members_zip,
    "nested.zip": nested_zip,
    "huge.png": huge_png,
    "flood.png": flood_png,
}


def rows(tmp: Path, ws: Path) -> list[tuple]:
    """One row per hostile package, checked against `ws` (which must know AI fingerprints),
    and a first row for a one-file package as the baseline of the ratios."""
    folder = tmp / "hostile"
    folder.mkdir()
    plain = folder / "plain"
    plain.mkdir()
    c.write_image(plain / "plain.png", seed=1, ai=False)
    out = []
    base = None
    for name in ["(baseline) one plain PNG", *BUILDERS]:
        if name in BUILDERS:
            target = folder / name
            BUILDERS[name](target)
        else:
            target = plain
        r = c.run_rss(c.provgate(ws, "check", "--json", str(target)))
        report = json.loads(r["out"]) if r["out"].startswith("{") else {"assets": []}
        blocked = [a for a in report["assets"] if a["decision"] == "block"]
        why = blocked[0]["reasons"][0] if blocked else (r["err"].strip()[-80:] or "-")
        base = base or r["wall"]
        size = sum(p.stat().st_size for p in [target] if p.is_file()) or plain.stat().st_size
        out.append(
            (name, size / c.MB, r["wall"], r["wall"] / base, r["max_mb"], r["tree_mb"],
             f"exit {r['rc']}", why[:90])
        )  # fmt: skip
        if target.is_file():
            target.unlink()
    return out


HEADERS = ["package", "MB", "seconds", "x baseline", "peak RSS MB", "tree RSS MB", "exit",
           "first reason"]  # fmt: skip


def report(table_rows: list[tuple]) -> None:
    c.table("Hostile packages (provgate check; subprocesses)", HEADERS, table_rows)
    hostile = table_rows[1:]
    ok = all(r[6] == "exit 1" and r[2] < 10 and r[4] < 300 for r in hostile)
    print(f"every hostile package blocked in < 10 s and < 300 MB: {c.verdict(ok)}")


def main() -> None:
    opts = c.args(__doc__, files=0)
    c.header()
    tmp = c.workdir("hostile")
    try:
        ws = init_workspace(tmp / "ws").root
        ai = tmp / "ai"
        c.make_tree(ai, 20, ai_every=1, seed0=100_000, kinds=(".png",))
        c.must(c.run(c.provgate(ws, "scan", "--no-tag", str(ai))), "scan AI set")
        report(rows(tmp, ws))
    finally:
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        c.cleanup(tmp, opts.keep)


if __name__ == "__main__":
    sys.exit(main())
