"""bench/scale.py, small: the trees are built, every measure is taken against its baseline in
the same run, and the table says for each whether its goal was met. No timing is asserted
(the machine is shared): only that each figure is a positive number and each verdict is one."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MEASURES = (
    "first scan, tiny files, empty store (files/s)",
    "first scan, tiny files, store holds a tree (files/s)",
    "unchanged rescan (files/s)",
    "polling cycle CPU (s)",
    "3 x 8 MB scan (s)",
    "peak RSS of any provgate process (MB)",
)
NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"


@pytest.mark.slow
def test_scale_table_small() -> None:
    done = subprocess.run(
        [sys.executable, "bench/scale.py", "--files", "10000", "--images", "60",
         "--big-mb", "8", "--poll", "0.5", "--cycles", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "load average" in out
    measures = list(MEASURES)
    if shutil.which("exiftool"):
        measures.insert(0, "first scan, images (files/s)")
    for measure in measures:
        line = next((ln for ln in out.splitlines() if ln.startswith(measure)), None)
        assert line is not None, f"no row for {measure!r} in:\n{out}"
        figures = re.findall(NUMBER, line[len(measure) :])
        assert figures and float(figures[0].replace(",", "")) > 0, line
        if "empty store" not in measure:  # the one row without a goal of its own
            assert line.rstrip().endswith(("MET", "MISSED")), line
