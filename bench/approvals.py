"""What reading approvals costs the gate: `check` of a package whose AI images are all approved,
and of the same package with no approvals, on this tree and on a baseline tree (A/B).

Each tree gets its own workspaces (its store is written by its own code): a package of --files
images (half of them AI, PNG/JPEG), scanned with `scan --no-tag`; in one workspace every AI
image is approved (one `approve` of all of them; the tags are rewritten, so each tree has its
own copy of the package); the other has no approvals. Then `check PKG` of each, in rounds that
alternate the trees' order; the medians are printed with the machine's load.

    python bench/approvals.py --baseline DIR [--files N] [--rounds R]

DIR is a checkout of the code to compare with (e.g. `git archive main | tar -x -C DIR`);
commands run as `python -m cli` from each tree, so each imports its own `provenance`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _common as c

HERE = Path(__file__).resolve().parent.parent


def _cli(tree: Path, ws: Path, *argv: str) -> list[str]:
    return [sys.executable, "-m", "cli", "--workspace", str(ws), *argv]


def _run(tree: Path, cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, done


def _prepare(tree: Path, work: Path, name: str, source: Path, approve: bool) -> tuple[Path, Path]:
    ws, pkg = work / f"ws-{name}", work / f"pkg-{name}"
    shutil.copytree(source, pkg)
    for cmd in (["init", str(ws)], ["--workspace", str(ws), "scan", "--no-tag", str(pkg)]):
        _, done = _run(tree, [sys.executable, "-m", "cli", *cmd])
        assert done.returncode == 0, done.stderr
    if approve:
        ai = sorted(str(p) for p in pkg.rglob("*") if p.is_file() and _is_ai(p))
        _, done = _run(tree, _cli(tree, ws, "approve", *ai, "--ref", "BENCH-1", "--by", "bench"))
        assert done.returncode == 0, done.stderr
        _, done = _run(tree, _cli(tree, ws, "check", str(pkg)))
        assert done.returncode == 0, f"{name}: the approved package does not pass: {done.stdout}"
    return ws, pkg


def _is_ai(path: Path) -> bool:
    # make_tree marks every second file from index 7 on (ai_every=2): odd indexes.
    return path.suffix in (".png", ".jpg") and int(path.stem[-6:]) % 2 == 1


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", type=Path, required=True, help="the tree to compare with")
    p.add_argument("--files", type=int, default=200)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    work = c.workdir("approvals")
    try:
        source = work / "source"
        made = c.make_tree(source, a.files, ai_every=2)
        trees = {"baseline": a.baseline.resolve(), "this tree": HERE}
        cases = {}
        for label, tree in trees.items():
            for approve in (True, False):
                key = (label, approve)
                name = f"{label.replace(' ', '-')}-{'approved' if approve else 'none'}"
                cases[key] = (tree, *_prepare(tree, work, name, source, approve))
        load0 = os.getloadavg()
        walls: dict[tuple[str, bool], list[float]] = {k: [] for k in cases}
        for k in range(a.rounds):
            order = list(cases) if k % 2 == 0 else list(reversed(cases))
            for key in order:
                tree, ws, pkg = cases[key]
                wall, done = _run(tree, _cli(tree, ws, "check", str(pkg)))
                assert done.returncode == (0 if key[1] else 1), (key, done.stdout[-300:])
                walls[key].append(wall)
        load1 = os.getloadavg()
        print(
            f"{made['files']} images ({made['ai']} AI), {a.rounds} interleaved rounds; "
            f"load average {load0[0]:.2f} before, {load1[0]:.2f} after (2 cores, shared)"
        )
        rows = []
        for approve in (True, False):
            base = statistics.median(walls[("baseline", approve)])
            new = statistics.median(walls[("this tree", approve)])
            what = f"check, {made['ai']} approved AI" if approve else "check, no approvals"
            rows.append((what, f"{base:.3f}", f"{new:.3f}", f"{new / base:.2f}"))
        c.table("check wall seconds (median)", ("case", "baseline", "this tree", "ratio"), rows)
    finally:
        c.cleanup(work, a.keep)


if __name__ == "__main__":
    main()
