"""`provgate watch` as a service runs it (issue 18, items 1, 3, 4 and 6)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.cli.terminal import PROVGATE, on_pty, user_env
from tests.conftest import copy_fixture

ODD_NAME = b"sh010_\xff\x1b[31m.png"  # not UTF-8, and an ESC that must not reach a terminal


def wait_for(what, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def test_a_watcher_whose_workspace_is_inside_the_show_ignores_it_and_logs_json(tmp_path):
    show = tmp_path / "show"
    copy_fixture("generators/comfyui.png", show / "sh010")
    odd = os.path.join(os.fsencode(show / "sh010"), ODD_NAME)
    with open(odd, "wb") as fh:
        fh.write((show / "sh010" / "comfyui.png").read_bytes() + b"\0")
    ws = show / "pipeline" / "provgate-ws"  # not named .provgate: only its location tells
    env = user_env(tmp_path / "home")
    assert subprocess.run([PROVGATE, "init", str(ws)], env=env, capture_output=True).returncode == 0
    log = tmp_path / "watch.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [
                PROVGATE,
                "watch",
                str(show),
                "--workspace",
                str(ws),
                "--log-format",
                "json",
                "--settle",
                "0.3",
                "--poll",
                "0.2",
            ],  # fmt: skip
            env=env,
            stderr=err,
            stdout=subprocess.DEVNULL,
        )
    try:
        wait_for(lambda: any(e["event"] == "reconciled" for e in json_lines(log)))
        copy_fixture("c2pa/no_manifest.jpg", show / "sh020")
        late = str(show / "sh020" / "no_manifest.jpg")
        wait_for(lambda: any(e.get("path") == late and "content_id" in e for e in json_lines(log)))
        time.sleep(2.0)  # several settle and poll intervals, while the store keeps writing
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0
    events = json_lines(log)
    for e in events:
        assert {"time", "level", "event"} <= e.keys(), e
        assert e["time"].endswith("Z") and dt.datetime.fromisoformat(e["time"]).tzinfo, e
        assert not str(e.get("path", "")).startswith(str(ws)), f"recorded its own file: {e}"
    seen = {os.fsencode(e["path"]): e for e in events if e["event"] in ("seen", "changed")}
    assert set(seen) == {
        os.fsencode(show / "sh010" / "comfyui.png"),
        odd,  # the name that is not UTF-8 round-trips to the same bytes
        os.fsencode(show / "sh020" / "no_manifest.jpg"),
    }
    assert all(len(e["content_id"]) == 64 and "message" not in e for e in seen.values())
    assert [e["event"] for e in events][-2:] == ["stopping", "stopped"]
    assert "message" not in events[-1], events[-1]  # free text only for what has no fields


def test_the_text_log_escapes_names_and_once_exits_2_after_a_bad_file(tmp_path):
    show = tmp_path / "show"
    copy_fixture("generators/comfyui.png", show)
    with open(os.path.join(os.fsencode(show), ODD_NAME), "wb") as fh:
        fh.write(b"")  # empty: cannot be read
    env = user_env(tmp_path / "home")
    ws = tmp_path / "ws"
    subprocess.run([PROVGATE, "init", str(ws)], env=env, capture_output=True, check=True)
    ran = on_pty([PROVGATE, "--workspace", str(ws), "watch", "--once", str(show)],
                 cwd=tmp_path, env=env)  # fmt: skip
    assert ran.code == 2, ran.output
    assert "\x1b[31m" not in ran.output and "sh010_\\xff\\x1b[31m.png: empty file" in ran.output
    assert "reconciling  " in ran.output  # the first pass shows progress on a terminal
    assert "Traceback" not in ran.output
